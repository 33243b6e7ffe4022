// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the model's rule table, KVM_GET_MSRS/KVM_SET_MSRS,
 * the index lists and MSR_IA32_UCODE_REV (api.rst 4.3, 4.18, 4.19).
 */
#include <errno.h>
#include <stdio.h>

#include "msr_unit.h"

TEST(rule_table_is_complete)
{
	unsigned int i, j;

	for (i = 0; i < MSR_RULE_COUNT; i++) {
		const char *name = msr_rule_name(i);

		EXPECT_EQ(i, (unsigned int)msr_rules[i].id) TH_LOG("rule %s", name);
		ASSERT_TRUE(name != NULL) TH_LOG("rule %u has no name", i);
		EXPECT_NE(0, (int)strlen(msr_rule_citation(i))) TH_LOG("rule %s", name);
		EXPECT_EQ(strlen(name), strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"))
			TH_LOG("rule name %s is not an identifier", name);
		for (j = 0; j < i; j++)
			EXPECT_STRNE(msr_rules[j].name, name);
	}
	EXPECT_STREQ("INVALID_RULE", msr_rule_name(MSR_RULE_COUNT));
	EXPECT_STREQ("", msr_rule_citation(MSR_RULE_COUNT));
	EXPECT_STREQ("FILTER_RANGE_BIT", msr_rule_name(MSR_RULE_FILTER_RANGE_BIT));
}

/* A fake kernel: a few MSRs with fixed host-side behaviour. */
#define IDX_A		0x10u
#define IDX_B		0x20u
#define IDX_BAD		0xbadu		/* handler faults */
#define IDX_GONE	0x5u		/* unsupported, not advertised */
#define IDX_ADV		0x6u		/* unsupported, advertised */
#define IDX_FEATURE	MSR_MODEL_ARCH_CAPABILITIES
#define CALLER		0xaaaaaaaaaaaaaaaaull

static struct msr_host_answer fake_lookup(const void *ctx, enum msr_scope scope,
					  enum msr_io_op op, __u32 index,
					  __u64 data)
{
	struct msr_host_answer a = { .handler = MSR_HANDLER_UNSUPPORTED };

	(void)ctx;
	(void)op;
	(void)data;
	if (scope == MSR_SCOPE_SYSTEM && index != IDX_FEATURE && index != IDX_BAD) {
		a.advertised = index != IDX_GONE && index != IDX_BAD;
		return a;
	}
	switch (index) {
	case IDX_A:
	case IDX_B:
	case IDX_FEATURE:
		a.handler = MSR_HANDLER_OK;
		a.value = index * 0x1111ull;
		a.advertised = true;
		break;
	case IDX_BAD:
		a.handler = MSR_HANDLER_FAULT;
		a.advertised = true;
		break;
	case IDX_ADV:
		a.advertised = true;
		break;
	}
	return a;
}

struct io_case {
	const char *desc;
	enum msr_scope scope;
	enum msr_io_op op;
	bool ignore_msrs;
	bool has_run;
	__u32 nmsrs;
	__u32 index[4];
	__u64 data[4];		/* SET values; GET entries start as CALLER */
	int ret;
	enum msr_rule rule;
	__u64 want[4];		/* entry data afterwards */
	__u32 kernel;		/* msr_io_facts.kernel (0: the model's base) */
};

#define V(i)	((i) * 0x1111ull)

static void run_io_case(struct __test_metadata *_metadata, const struct io_case *c)
{
	struct msr_io_facts io = {
		.lookup = fake_lookup, .ignore_msrs = c->ignore_msrs,
		.vcpu_has_run = c->has_run, .kernel = c->kernel,
	};
	struct kvm_msr_entry e[4] = { { 0 } };
	struct msr_io_result r;
	__u32 i;

	for (i = 0; i < c->nmsrs && i < 4; i++) {
		e[i].index = c->index[i];
		e[i].data = c->op == MSR_IO_GET ? CALLER : c->data[i];
	}
	r = msr_model_msrs_io(c->scope, c->op, c->nmsrs, e, &io);
	EXPECT_EQ(c->ret, r.ret) TH_LOG("%s: returned %d", c->desc, r.ret);
	EXPECT_RULE(c->rule, r.rule, c->desc);
	for (i = 0; i < c->nmsrs && i < 4; i++)
		EXPECT_U64(c->want[i], e[i].data, c->desc);
}

TEST(msrs_io_counts_and_data)
{
	const __u64 C = CALLER;
	const struct io_case cases[] = {
		{ "GET nothing", MSR_SCOPE_VCPU, MSR_IO_GET, false, false, 0, {}, {},
		  0, MSR_RULE_IO_ALL_PROCESSED },
		{ "GET all good", MSR_SCOPE_VCPU, MSR_IO_GET, false, false, 3,
		  { IDX_A, IDX_B, IDX_A }, {}, 3, MSR_RULE_IO_ALL_PROCESSED,
		  { V(IDX_A), V(IDX_B), V(IDX_A) } },
		{ "GET fails first", MSR_SCOPE_VCPU, MSR_IO_GET, false, false, 3,
		  { IDX_BAD, IDX_A, IDX_B }, {}, 0, MSR_RULE_IO_ENTRY_FAILED,
		  { 0, C, C } },
		{ "GET fails in the middle", MSR_SCOPE_VCPU, MSR_IO_GET, false, false, 3,
		  { IDX_A, IDX_BAD, IDX_B }, {}, 1, MSR_RULE_IO_ENTRY_FAILED,
		  { V(IDX_A), 0, C } },
		{ "GET fails last", MSR_SCOPE_VCPU, MSR_IO_GET, false, false, 3,
		  { IDX_A, IDX_B, IDX_BAD }, {}, 2, MSR_RULE_IO_ENTRY_FAILED,
		  { V(IDX_A), V(IDX_B), 0 } },
		{ "GET unsupported, not advertised", MSR_SCOPE_VCPU, MSR_IO_GET, false,
		  false, 2, { IDX_GONE, IDX_A }, {}, 0, MSR_RULE_IO_ENTRY_FAILED,
		  { 0, C } },
		{ "GET unsupported, advertised, reads 0", MSR_SCOPE_VCPU, MSR_IO_GET,
		  false, false, 2, { IDX_A, IDX_ADV }, {}, 2, MSR_RULE_IO_ALL_PROCESSED,
		  { V(IDX_A), 0 } },
		{ "GET unsupported under ignore_msrs", MSR_SCOPE_VCPU, MSR_IO_GET, true,
		  false, 2, { IDX_GONE, IDX_A }, {}, 2, MSR_RULE_IO_ALL_PROCESSED,
		  { 0, V(IDX_A) } },
		{ "ignore_msrs does not hide a fault", MSR_SCOPE_VCPU, MSR_IO_GET, true,
		  false, 2, { IDX_BAD, IDX_A }, {}, 0, MSR_RULE_IO_ENTRY_FAILED,
		  { 0, C } },
		{ "SET fails in the middle, nothing copied back", MSR_SCOPE_VCPU,
		  MSR_IO_SET, false, false, 3, { IDX_A, IDX_BAD, IDX_B }, { 1, 2, 3 },
		  1, MSR_RULE_IO_ENTRY_FAILED, { 1, 2, 3 } },
		{ "SET all good", MSR_SCOPE_VCPU, MSR_IO_SET, false, false, 2,
		  { IDX_A, IDX_B }, { 7, 8 }, 2, MSR_RULE_IO_ALL_PROCESSED, { 7, 8 } },
		{ "SET 0 to advertised unsupported", MSR_SCOPE_VCPU, MSR_IO_SET, false,
		  false, 1, { IDX_ADV }, { 0 }, 1, MSR_RULE_IO_ALL_PROCESSED, { 0 } },
		{ "SET 1 to advertised unsupported", MSR_SCOPE_VCPU, MSR_IO_SET, false,
		  false, 1, { IDX_ADV }, { 1 }, 0, MSR_RULE_IO_ENTRY_FAILED, { 1 } },
		{ "SET unsupported under ignore_msrs", MSR_SCOPE_VCPU, MSR_IO_SET, true,
		  false, 1, { IDX_GONE }, { 1 }, 1, MSR_RULE_IO_ALL_PROCESSED, { 1 } },
		{ "SET immutable feature MSR after KVM_RUN", MSR_SCOPE_VCPU, MSR_IO_SET,
		  false, true, 2, { IDX_A, IDX_FEATURE }, { 1, 0 }, 1,
		  MSR_RULE_IO_IMMUTABLE_AFTER_RUN, { 1, 0 } },
		{ "SET immutable feature MSR to its value after KVM_RUN",
		  MSR_SCOPE_VCPU, MSR_IO_SET, false, true, 1, { IDX_FEATURE },
		  { V(IDX_FEATURE) }, 1, MSR_RULE_IO_ALL_PROCESSED, { V(IDX_FEATURE) } },
		{ "SET immutable feature MSR before KVM_RUN", MSR_SCOPE_VCPU,
		  MSR_IO_SET, false, false, 1, { IDX_FEATURE }, { 0 }, 1,
		  MSR_RULE_IO_ALL_PROCESSED, { 0 } },
		{ "system GET feature MSR", MSR_SCOPE_SYSTEM, MSR_IO_GET, false, false,
		  1, { IDX_FEATURE }, {}, 1, MSR_RULE_IO_ALL_PROCESSED,
		  { V(IDX_FEATURE) } },
		{ "system GET advertised non-feature MSR reads 0", MSR_SCOPE_SYSTEM,
		  MSR_IO_GET, false, false, 2, { IDX_FEATURE, IDX_A }, {}, 2,
		  MSR_RULE_IO_ALL_PROCESSED, { V(IDX_FEATURE), 0 } },
		{ "system GET unadvertised MSR fails", MSR_SCOPE_SYSTEM, MSR_IO_GET,
		  false, false, 2, { IDX_GONE, IDX_FEATURE }, {}, 0,
		  MSR_RULE_IO_ENTRY_FAILED, { 0, C } },
		{ "system GET fault reads 0", MSR_SCOPE_SYSTEM, MSR_IO_GET, false,
		  false, 2, { IDX_BAD, IDX_FEATURE }, {}, 0, MSR_RULE_IO_ENTRY_FAILED,
		  { 0, C } },
		{ "6.1: GET fault keeps the caller's data", MSR_SCOPE_VCPU, MSR_IO_GET,
		  false, false, 3, { IDX_A, IDX_BAD, IDX_B }, {}, 1,
		  MSR_RULE_IO_ENTRY_FAILED, { V(IDX_A), C, C }, MSR_KERNEL(6, 1) },
		{ "6.1: GET unsupported reads 0", MSR_SCOPE_VCPU, MSR_IO_GET, false,
		  false, 1, { IDX_GONE }, {}, 0, MSR_RULE_IO_ENTRY_FAILED, { 0 }, MSR_KERNEL(6, 1) },
		{ "6.1: no advertised-zero rule", MSR_SCOPE_VCPU, MSR_IO_GET, false,
		  false, 1, { IDX_ADV }, {}, 0, MSR_RULE_IO_ENTRY_FAILED, { 0 }, MSR_KERNEL(6, 1) },
		{ "6.1: SET 0 to advertised unsupported", MSR_SCOPE_VCPU, MSR_IO_SET,
		  false, false, 1, { IDX_ADV }, { 0 }, 0, MSR_RULE_IO_ENTRY_FAILED,
		  { 0 }, MSR_KERNEL(6, 1) },
		{ "6.1: ignore_msrs", MSR_SCOPE_VCPU, MSR_IO_GET, true, false, 2,
		  { IDX_GONE, IDX_A }, {}, 2, MSR_RULE_IO_ALL_PROCESSED,
		  { 0, V(IDX_A) }, MSR_KERNEL(6, 1) },
		{ "6.1: system GET fault reads 0", MSR_SCOPE_SYSTEM, MSR_IO_GET, false,
		  false, 2, { IDX_BAD, IDX_FEATURE }, {}, 0, MSR_RULE_IO_ENTRY_FAILED,
		  { 0, C }, MSR_KERNEL(6, 1) },
		{ "6.1: system GET of an advertised MSR fails", MSR_SCOPE_SYSTEM,
		  MSR_IO_GET, false, false, 1, { IDX_A }, {}, 0,
		  MSR_RULE_IO_ENTRY_FAILED, { 0 }, MSR_KERNEL(6, 1) },
		{ "system SET", MSR_SCOPE_SYSTEM, MSR_IO_SET, false, false, 1,
		  { IDX_FEATURE }, { 5 }, -EINVAL, MSR_RULE_IO_SYSTEM_SET, { 5 } },
		{ "system SET of too many is still EINVAL", MSR_SCOPE_SYSTEM,
		  MSR_IO_SET, false, false, 300, {}, {}, -EINVAL,
		  MSR_RULE_IO_SYSTEM_SET },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++)
		run_io_case(_metadata, &cases[i]);
}

TEST(msrs_io_max_entries)
{
	static struct kvm_msr_entry e[MSR_MODEL_MAX_IO_MSRS];
	const struct msr_io_facts io = { .lookup = fake_lookup };
	const struct { __u32 nmsrs; enum msr_scope scope; enum msr_io_op op;
		       int ret; } cases[] = {
		{ 255, MSR_SCOPE_VCPU, MSR_IO_GET, 255 },
		{ 255, MSR_SCOPE_VCPU, MSR_IO_SET, 255 },
		{ 255, MSR_SCOPE_SYSTEM, MSR_IO_GET, 255 },
		{ 256, MSR_SCOPE_VCPU, MSR_IO_GET, -E2BIG },
		{ 256, MSR_SCOPE_VCPU, MSR_IO_SET, -E2BIG },
		{ 256, MSR_SCOPE_SYSTEM, MSR_IO_GET, -E2BIG },
		{ 0xffffffffu, MSR_SCOPE_VCPU, MSR_IO_GET, -E2BIG },
	};
	char desc[64];
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_io_result r;

		for (j = 0; j < ARRAY_LEN(e); j++)
			e[j] = (struct kvm_msr_entry){ .index = IDX_FEATURE,
						       .data = CALLER };
		r = msr_model_msrs_io(cases[i].scope, cases[i].op, cases[i].nmsrs,
				      e, &io);
		snprintf(desc, sizeof(desc), "nmsrs %u", cases[i].nmsrs);
		EXPECT_EQ(cases[i].ret, r.ret) TH_LOG("%s", desc);
		EXPECT_RULE(cases[i].ret < 0 ? MSR_RULE_IO_TOO_MANY :
					       MSR_RULE_IO_ALL_PROCESSED, r.rule, desc);
		EXPECT_U64(cases[i].ret < 0 || cases[i].op == MSR_IO_SET ? CALLER :
			   V(IDX_FEATURE), e[0].data, desc);
	}
}

TEST(feature_msrs_immutable_after_run)
{
	const struct { __u32 index; __u32 kernel; bool immutable; } cases[] = {
		{ MSR_MODEL_VMX_FIRST - 1, MSR_MODEL_BASE_KERNEL, false },
		{ MSR_MODEL_VMX_FIRST, MSR_MODEL_BASE_KERNEL, true },
		{ MSR_MODEL_VMX_LAST, MSR_MODEL_BASE_KERNEL, true },
		{ MSR_MODEL_VMX_LAST + 1, MSR_MODEL_BASE_KERNEL, false },
		{ MSR_MODEL_ARCH_CAPABILITIES, MSR_MODEL_BASE_KERNEL, true },
		{ MSR_MODEL_PERF_CAPABILITIES, MSR_MODEL_BASE_KERNEL, true },
		{ MSR_MODEL_AMD64_DE_CFG, MSR_MODEL_BASE_KERNEL, true },
		{ MSR_MODEL_UCODE_REV, MSR_MODEL_BASE_KERNEL, false },
		{ MSR_MODEL_UCODE_REV, MSR_KERNEL(6, 18), false },
		/* version rule: commit bc2ca3680b30 (6.13) */
		{ MSR_MODEL_PLATFORM_INFO, MSR_KERNEL(6, 12), false },
		{ MSR_MODEL_PLATFORM_INFO, MSR_KERNEL(6, 13), true },
	};
	char desc[64];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_verdict v;

		snprintf(desc, sizeof(desc), "index 0x%x, kernel %#x", cases[i].index,
			 cases[i].kernel);
		EXPECT_FLAG(cases[i].immutable,
			    msr_model_feature_immutable(cases[i].index, cases[i].kernel), desc);
		v = msr_model_immutable_check(cases[i].index, cases[i].kernel, true, 1, 2);
		EXPECT_ERR(cases[i].immutable ? EINVAL : 0, v.err, desc);
		v = msr_model_immutable_check(cases[i].index, cases[i].kernel, false, 1, 2);
		EXPECT_ERR(0, v.err, desc);
	}
}

TEST(index_list_sizes)
{
	const struct { __u32 user, count; int err; } cases[] = {
		{ 0, 0, 0 },
		{ 0, 5, E2BIG },
		{ 4, 5, E2BIG },
		{ 5, 5, 0 },
		{ 6, 5, 0 },
		{ 0xffffffffu, 5, 0 },
		{ 0, 0xffffffffu, E2BIG },
	};
	char desc[64];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_list_verdict v = msr_model_index_list(cases[i].user,
								 cases[i].count);

		snprintf(desc, sizeof(desc), "user %u, true count %u",
			 cases[i].user, cases[i].count);
		EXPECT_ERR(cases[i].err, v.err, desc);
		EXPECT_RULE(cases[i].err ? MSR_RULE_LIST_TOO_SMALL :
					   MSR_RULE_LIST_COPIED, v.rule, desc);
		EXPECT_EQ(cases[i].count, v.nmsrs) TH_LOG("%s: count written back", desc);
		EXPECT_FLAG(!cases[i].err, v.indices_written, desc);
	}
}

TEST(ucode_rev_values)
{
	const struct { const char *desc; struct msr_ucode_facts u; __u64 sys, reset;
		       __u32 reset_rev; } cases[] = {
		{ "Intel", { MSR_VENDOR_INTEL, 0xde, true }, 0xde00000000ull,
		  0x100000000ull, 1 },
		{ "AMD", { MSR_VENDOR_AMD, 0x0a201210, true }, 0x0a201210ull,
		  0x01000065ull, 0x01000065 },
		{ "Intel without quirk", { MSR_VENDOR_INTEL, 0xffffffffu, false },
		  0xffffffff00000000ull, 0, 0 },
		{ "AMD without quirk", { MSR_VENDOR_AMD, 0xffffffffu, false },
		  0xffffffffull, 0, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct msr_ucode_facts *u = &cases[i].u;
		struct msr_ucode_verdict sys = msr_model_ucode_system_value(u);
		struct msr_ucode_verdict reset = msr_model_ucode_reset_value(u);

		EXPECT_U64(cases[i].sys, sys.value, cases[i].desc);
		EXPECT_RULE(MSR_RULE_UCODE_SYSTEM_VALUE, sys.rule, cases[i].desc);
		EXPECT_EQ(u->host_rev, msr_model_ucode_decode(u->vendor, sys.value))
			TH_LOG("%s: system revision", cases[i].desc);
		EXPECT_U64(cases[i].reset, reset.value, cases[i].desc);
		EXPECT_RULE(MSR_RULE_UCODE_RESET_VALUE, reset.rule, cases[i].desc);
		EXPECT_EQ(cases[i].reset_rev, msr_model_ucode_decode(u->vendor, reset.value))
			TH_LOG("%s: reset revision", cases[i].desc);
	}
}

TEST(ucode_rev_host_write_any_time)
{
	const bool has_run[] = { false, true };
	size_t i;

	for (i = 0; i < ARRAY_LEN(has_run); i++) {
		struct msr_verdict v = msr_model_ucode_host_write(has_run[i], 1, 2);

		EXPECT_ERR(0, v.err, has_run[i] ? "after KVM_RUN" : "before KVM_RUN");
		EXPECT_RULE(MSR_RULE_UCODE_HOST_WRITE, v.rule, "host write");
	}
}

TEST_HARNESS_MAIN
