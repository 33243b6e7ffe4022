// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of rule 11 (lib/msr_model.c): the VMX VM-Enter/VM-Exit MSR
 * load/store lists under the userspace filter, the version rule that
 * makes them filtered from 6.12 on, and the dedicated VMCS fields that are
 * never filtered (api.rst 4.97's warning; vmx/nested.c).
 */
#include "msr_unit.h"

#define LSTAR		0xc0000082u
#define STAR		0xc0000081u
#define KGS_BASE	0xc0000102u
#define PAT		0x00000277u
#define EFER		0xc0000080u

#define K_6_1		MSR_KERNEL(6, 1)
#define K_6_11		MSR_KERNEL(6, 11)
#define K_6_12		MSR_KERNEL(6, 12)
#define K_6_18		MSR_KERNEL(6, 18)

/* A filter whose one range covers @index for @flags with its bit 0 (deny). */
static int deny_one(struct msr_model_filter_state *s, __u32 index, __u32 flags, bool default_deny)
{
	struct kvm_msr_filter f = {
		.flags = default_deny ? KVM_MSR_FILTER_DEFAULT_DENY : KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = flags, .nmsrs = 1, .base = index, .bitmap = unit_zeros },
	};
	struct msr_model_mem_region r = { (__u64)(uintptr_t)unit_zeros, sizeof(unit_zeros), unit_zeros };
	struct msr_model_mem mem = { &r, 1 };

	msr_model_filter_state_init(s);
	return msr_model_filter_install(s, &f, &mem).err;
}

TEST(lists_filtered_from_6_12)
{
	EXPECT_FALSE(msr_model_vmx_lists_filtered(K_6_1));
	EXPECT_FALSE(msr_model_vmx_lists_filtered(K_6_11));
	EXPECT_TRUE(msr_model_vmx_lists_filtered(K_6_12));
	EXPECT_TRUE(msr_model_vmx_lists_filtered(K_6_18));
	EXPECT_TRUE(msr_model_vmx_lists_filtered(MSR_MODEL_BASE_KERNEL));
}

TEST(list_entry_access_type)
{
	struct msr_model_filter_state s;
	struct msr_filter_verdict v;

	unit_bitmaps_init();
	EXPECT_EQ(KVM_MSR_FILTER_WRITE, msr_model_vmx_list_filter_type(MSR_VMX_ENTRY_LOAD));
	EXPECT_EQ(KVM_MSR_FILTER_WRITE, msr_model_vmx_list_filter_type(MSR_VMX_EXIT_LOAD));
	EXPECT_EQ(KVM_MSR_FILTER_READ, msr_model_vmx_list_filter_type(MSR_VMX_EXIT_STORE));

	/* Write denied: the loads fail, the store (a read) does not. */
	ASSERT_EQ(0, deny_one(&s, LSTAR, KVM_MSR_FILTER_WRITE, false));
	v = msr_model_vmx_list_entry(&s, K_6_12, MSR_VMX_ENTRY_LOAD, LSTAR);
	EXPECT_FALSE(v.allowed);
	EXPECT_RULE(MSR_RULE_FILTER_RANGE_BIT, v.rule, "entry load, write denied");
	EXPECT_FALSE(msr_model_vmx_list_entry(&s, K_6_12, MSR_VMX_EXIT_LOAD, LSTAR).allowed);
	EXPECT_TRUE(msr_model_vmx_list_entry(&s, K_6_12, MSR_VMX_EXIT_STORE, LSTAR).allowed);
	/* 6.1: nothing is filtered. */
	v = msr_model_vmx_list_entry(&s, K_6_1, MSR_VMX_ENTRY_LOAD, LSTAR);
	EXPECT_TRUE(v.allowed);
	EXPECT_RULE(MSR_RULE_VMX_LIST_UNFILTERED, v.rule, "6.1 entry load");

	/* Read denied: only the store fails. */
	ASSERT_EQ(0, deny_one(&s, LSTAR, KVM_MSR_FILTER_READ, false));
	EXPECT_TRUE(msr_model_vmx_list_entry(&s, K_6_12, MSR_VMX_ENTRY_LOAD, LSTAR).allowed);
	EXPECT_FALSE(msr_model_vmx_list_entry(&s, K_6_12, MSR_VMX_EXIT_STORE, LSTAR).allowed);
	/* Default deny reaches MSRs no range covers. */
	ASSERT_EQ(0, deny_one(&s, LSTAR, KVM_MSR_FILTER_READ, true));
	v = msr_model_vmx_list_entry(&s, K_6_12, MSR_VMX_EXIT_LOAD, STAR);
	EXPECT_FALSE(v.allowed);
	EXPECT_RULE(MSR_RULE_FILTER_DEFAULT_ACTION, v.rule, "default deny");
}

TEST(entry_load_denied_is_msr_load_fail_with_index_plus_one)
{
	const __u32 idx[MSR_VMX_LISTS][MSR_MODEL_VMX_LIST_MAX] = {
		[MSR_VMX_ENTRY_LOAD] = { STAR, KGS_BASE, LSTAR },
		[MSR_VMX_EXIT_STORE] = { STAR },
		[MSR_VMX_EXIT_LOAD] = { KGS_BASE },
	};
	const unsigned int n[MSR_VMX_LISTS] = { 3, 1, 1 };
	struct msr_model_filter_state s;
	struct msr_vmx_transition t;

	unit_bitmaps_init();
	ASSERT_EQ(0, deny_one(&s, LSTAR, KVM_MSR_FILTER_WRITE, false));
	t = msr_model_vmx_transition(&s, K_6_12, KVM_MSR_EXIT_REASON_FILTER, idx, n);
	EXPECT_FALSE(t.l2_ran);
	EXPECT_FALSE(t.vm_abort);
	EXPECT_EQ(0x80000022u, t.l1_exit_reason);
	EXPECT_U64(3, t.l1_exit_qual, "qualification: position 2, KVM's i + 1");
	EXPECT_RULE(MSR_RULE_VMX_ENTRY_LOAD_FAIL, t.list[MSR_VMX_ENTRY_LOAD].rule, "entry load");
	EXPECT_EQ(2u, t.list[MSR_VMX_ENTRY_LOAD].done);
	/* A VM-entry failure exit stores nothing, but loads the exit list. */
	EXPECT_FALSE(t.list[MSR_VMX_EXIT_STORE].processed);
	EXPECT_TRUE(t.list[MSR_VMX_EXIT_LOAD].processed);
	EXPECT_EQ(1u, t.list[MSR_VMX_EXIT_LOAD].done);
	EXPECT_EQ(0u, t.user_exit);
	EXPECT_RULE(MSR_RULE_VMX_LIST_FILTER_EXIT_IGNORED, t.user_exit_rule, "exit mask FILTER");

	/* The same lists on 6.1: L2 runs. */
	t = msr_model_vmx_transition(&s, K_6_1, KVM_MSR_EXIT_REASON_FILTER, idx, n);
	EXPECT_TRUE(t.l2_ran);
	EXPECT_EQ(MSR_MODEL_VMX_EXIT_VMCALL, t.l1_exit_reason);
	EXPECT_EQ(3u, t.list[MSR_VMX_ENTRY_LOAD].done);
	EXPECT_TRUE(t.list[MSR_VMX_EXIT_STORE].processed);
}

TEST(exit_lists_denied_are_vm_abort)
{
	const __u32 idx[MSR_VMX_LISTS][MSR_MODEL_VMX_LIST_MAX] = {
		[MSR_VMX_ENTRY_LOAD] = { STAR },
		[MSR_VMX_EXIT_STORE] = { KGS_BASE, LSTAR },
		[MSR_VMX_EXIT_LOAD] = { STAR, LSTAR },
	};
	const unsigned int n[MSR_VMX_LISTS] = { 1, 2, 2 };
	const __u64 masks[] = { 0, KVM_MSR_EXIT_REASON_FILTER, KVM_MSR_EXIT_REASON_VALID_MASK };
	struct msr_model_filter_state s;
	struct msr_vmx_transition t;
	size_t m;

	unit_bitmaps_init();
	/* Store (a read) denied: abort, and the exit load still runs in full. */
	ASSERT_EQ(0, deny_one(&s, LSTAR, KVM_MSR_FILTER_READ, false));
	for (m = 0; m < ARRAY_LEN(masks); m++) {
		t = msr_model_vmx_transition(&s, K_6_12, masks[m], idx, n);
		EXPECT_TRUE(t.l2_ran);
		EXPECT_TRUE(t.vm_abort);
		EXPECT_EQ(0u, t.user_exit);
		EXPECT_RULE(MSR_RULE_VMX_EXIT_LIST_ABORT, t.list[MSR_VMX_EXIT_STORE].rule, "store");
		EXPECT_EQ(1u, t.list[MSR_VMX_EXIT_STORE].done);
		EXPECT_RULE(MSR_RULE_VMX_LIST_DONE, t.list[MSR_VMX_EXIT_LOAD].rule, "exit load");
		EXPECT_EQ(2u, t.list[MSR_VMX_EXIT_LOAD].done);
	}
	/* Exit load (a write) denied at position 1: abort after STAR. */
	ASSERT_EQ(0, deny_one(&s, LSTAR, KVM_MSR_FILTER_WRITE, false));
	t = msr_model_vmx_transition(&s, K_6_12, KVM_MSR_EXIT_REASON_FILTER, idx, n);
	EXPECT_TRUE(t.vm_abort);
	EXPECT_FALSE(t.list[MSR_VMX_EXIT_STORE].failed);
	EXPECT_RULE(MSR_RULE_VMX_EXIT_LIST_ABORT, t.list[MSR_VMX_EXIT_LOAD].rule, "exit load");
	EXPECT_EQ(1u, t.list[MSR_VMX_EXIT_LOAD].done);
	/* 6.1: no abort. */
	t = msr_model_vmx_transition(&s, K_6_1, KVM_MSR_EXIT_REASON_FILTER, idx, n);
	EXPECT_FALSE(t.vm_abort);
	EXPECT_RULE(MSR_RULE_VMX_LIST_DONE, t.list[MSR_VMX_EXIT_LOAD].rule, "6.1 exit load");
}

TEST(dedicated_fields_never_filtered)
{
	const __u32 msrs[] = { PAT, EFER };
	struct msr_model_filter_state s;
	size_t i;

	unit_bitmaps_init();
	for (i = 0; i < ARRAY_LEN(msrs); i++) {
		struct msr_filter_verdict v;

		ASSERT_EQ(0, deny_one(&s, msrs[i], KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, true));
		EXPECT_FALSE(msr_model_filter_allows(&s, msrs[i], KVM_MSR_FILTER_WRITE).allowed);
		v = msr_model_vmx_dedicated_field(&s, msrs[i], KVM_MSR_FILTER_WRITE);
		EXPECT_TRUE(v.allowed);
		EXPECT_RULE(MSR_RULE_VMX_DEDICATED_UNFILTERED, v.rule, "dedicated field");
		EXPECT_TRUE(msr_model_vmx_dedicated_field(&s, msrs[i], KVM_MSR_FILTER_READ).allowed);
	}
	EXPECT_STREQ("exit_store", msr_model_vmx_list_str(MSR_VMX_EXIT_STORE));
}

TEST_HARNESS_MAIN
