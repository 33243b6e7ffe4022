// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the MSR catalog: table sanity, the curated access rules
 * of each MSR fed through the model, and the host lookup used for
 * KVM_GET_MSRS/KVM_SET_MSRS predictions.
 */
#include <errno.h>
#include <stdio.h>

#include "msr_catalog.h"
#include "msr_unit.h"

#define ALL_REASONS	KVM_MSR_EXIT_REASON_VALID_MASK

TEST(catalog_table_sanity)
{
	static struct msr_catalog cat;
	unsigned int i, j;

	msr_catalog_init(&cat);
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *e = &cat.entries[i];
		bool x2apic = e->index >= MSR_MODEL_X2APIC_FIRST &&
			      e->index <= MSR_MODEL_X2APIC_LAST;

		ASSERT_TRUE(e->name != NULL) TH_LOG("entry %u", i);
		EXPECT_TRUE(e->resolve != NULL) TH_LOG("%s", e->name);
		EXPECT_TRUE(e->why != NULL) TH_LOG("%s", e->name);
		EXPECT_FALSE(e->probe.probed) TH_LOG("%s", e->name);
		EXPECT_FLAG(x2apic, e->class == MSR_CLASS_X2APIC, e->name);
		EXPECT_STRNE("?", msr_class_name(e->class));
		EXPECT_TRUE(e == msr_catalog_find(&cat, e->index)) TH_LOG("%s", e->name);
		EXPECT_TRUE(e == msr_catalog_by_name(&cat, e->name)) TH_LOG("%s", e->name);
		EXPECT_TRUE(&msr_catalog_table[i] == msr_catalog_table_find(e->index))
			TH_LOG("%s", e->name);
		for (j = 0; j < i; j++)
			EXPECT_NE(cat.entries[j].index, e->index) TH_LOG("%s", e->name);
	}
	EXPECT_TRUE(msr_catalog_find(&cat, 0x12345678) == NULL);
	EXPECT_TRUE(msr_catalog_table_find(0x12345678) == NULL);
	EXPECT_TRUE(msr_catalog_by_name(&cat, "MSR_NONE") == NULL);
	EXPECT_STREQ("?", msr_class_name(MSR_CLASS_COUNT));
}

/* vCPU model knobs for the table below. */
#define VM_AMD		(1u << 0)	/* kvm_amd, AMD guest */
#define VM_X2APIC	(1u << 1)
#define VM_NO_PAGING	(1u << 2)
#define VM_LA57		(1u << 3)
#define VM_NO_TSC_AUX	(1u << 4)	/* host lacks RDTSCP/RDPID */
#define VM_NO_PLAT_INFO	(1u << 5)
#define VM_IGNORE_MSRS	(1u << 6)
#define VM_SFMASK_HI	(1u << 7)	/* CPU rejects SFMASK[63:32] */
#define VM_BARE_GUEST	(1u << 8)	/* guest CPUID without LM and NX */
#define VM_K6_1		(1u << 9)	/* running kernel 6.1 (version rules) */
#define VM_K6_13	(1u << 10)	/* running kernel 6.13 */
#define VM_NO_SCE	(1u << 11)	/* guest EFER without SCE */

struct access_case {
	const char *name;		/* catalog entry */
	unsigned int vm;		/* VM_* */
	__u32 guest_add;		/* MSR_FEAT_* added to the guest */
	__u32 host_add;			/* MSR_FEAT_* added to the host */
	enum msr_access access;
	__u64 value;
	enum msr_result result;		/* with every exit reason enabled */
	enum msr_rule cause;		/* EXIT: the cause, else the rule */
};

static void vcpu_model(const struct access_case *c, struct msr_vcpu_model *vm)
{
	msr_vcpu_model_init(vm, c->vm & VM_AMD ? MSR_VENDOR_AMD : MSR_VENDOR_INTEL);
	if (c->vm & VM_BARE_GUEST)
		vm->guest_features = 0;
	vm->guest_features |= c->guest_add;
	vm->host_features |= c->host_add;
	vm->x2apic_mode = c->vm & VM_X2APIC;
	vm->paging = !(c->vm & VM_NO_PAGING);
	vm->va_bits = c->vm & VM_LA57 ? 57 : 48;
	vm->host_tsc_aux = !(c->vm & VM_NO_TSC_AUX);
	vm->platform_info_readable = !(c->vm & VM_NO_PLAT_INFO);
	vm->ignore_msrs = c->vm & VM_IGNORE_MSRS;
	vm->sfmask_reserved = c->vm & VM_SFMASK_HI ? 0xffffffff00000000ull : 0;
	if (c->vm & VM_NO_SCE)
		vm->efer &= ~MSR_CAT_EFER_SCE;
	vm->kernel = c->vm & VM_K6_1 ? MSR_KERNEL(6, 1) :
		     c->vm & VM_K6_13 ? MSR_KERNEL(6, 13) : MSR_MODEL_BASE_KERNEL;
}

#define RD(name, vm, g, h, res, cause)						\
	{ name, vm, g, h, MSR_RDMSR, 0, MSR_RESULT_##res, MSR_RULE_##cause }
#define WR(name, vm, g, h, val, res, cause)					\
	{ name, vm, g, h, MSR_WRMSR, val, MSR_RESULT_##res, MSR_RULE_##cause }

#define EFER_NOW	(MSR_CAT_EFER_SCE | MSR_CAT_EFER_LME | MSR_CAT_EFER_LMA | \
			 MSR_CAT_EFER_NX)
#define FEAT_PRED	(MSR_FEAT_IBPB | MSR_FEAT_SBPB)

static const struct access_case access_cases[] = {
	RD("MSR_STAR", 0, 0, 0, DONE, ACCESS_HANDLED),
	WR("MSR_STAR", 0, 0, 0, ~0ull, DONE, ACCESS_HANDLED),
	WR("MSR_STAR", VM_AMD, 0, 0, ~0ull, DONE, ACCESS_PASSTHROUGH),
	WR("MSR_LSTAR", 0, 0, 0, 0x00007fffffffffffull, DONE, ACCESS_HANDLED),
	WR("MSR_LSTAR", 0, 0, 0, 0x0000800000000000ull, EXIT, VALUE_NONCANONICAL),
	WR("MSR_LSTAR", 0, 0, 0, 0xffff800000000000ull, DONE, ACCESS_HANDLED),
	WR("MSR_LSTAR", 0, 0, 0, 0xfffe800000000000ull, EXIT, VALUE_NONCANONICAL),
	WR("MSR_LSTAR", VM_LA57, 0, 0, 0x0000800000000000ull, DONE, ACCESS_HANDLED),
	WR("MSR_LSTAR", VM_LA57, 0, 0, 0x0100000000000000ull, EXIT, VALUE_NONCANONICAL),
	WR("MSR_LSTAR", VM_LA57, 0, 0, 0xff00000000000000ull, DONE, ACCESS_HANDLED),
	WR("MSR_LSTAR", VM_AMD, 0, 0, 0x0000800000000000ull, GP, ACCESS_PASSTHROUGH),
	WR("MSR_CSTAR", 0, 0, 0, 0x8000000000000000ull, EXIT, VALUE_NONCANONICAL),
	WR("MSR_SYSCALL_MASK", 0, 0, 0, ~0ull, DONE, ACCESS_HANDLED),
	WR("MSR_SYSCALL_MASK", VM_SFMASK_HI, 0, 0, 1ull << 32, EXIT,
	   VALUE_RESERVED_BITS),
	WR("MSR_SYSCALL_MASK", VM_SFMASK_HI, 0, 0, 0xffffffffull, DONE,
	   ACCESS_HANDLED),
	/* vmx.c: not loaded into the CPU without EFER.SCE, only stored */
	WR("MSR_SYSCALL_MASK", VM_SFMASK_HI | VM_NO_SCE, 0, 0, 1ull << 32, DONE,
	   ACCESS_HANDLED),
	WR("MSR_KERNEL_GS_BASE", 0, 0, 0, 0x0000800000000000ull, GP,
	   ACCESS_PASSTHROUGH),
	WR("MSR_KERNEL_GS_BASE", VM_AMD, 0, 0, 0xffff800000001000ull, DONE,
	   ACCESS_PASSTHROUGH),
	RD("MSR_KERNEL_GS_BASE", 0, 0, 0, DONE, ACCESS_PASSTHROUGH),
	WR("MSR_EFER", 0, 0, 0, EFER_NOW, DONE, ACCESS_HANDLED),
	WR("MSR_EFER", 0, 0, 0, EFER_NOW & ~MSR_CAT_EFER_LMA, DONE, ACCESS_HANDLED),
	WR("MSR_EFER", 0, 0, 0, EFER_NOW | 2, EXIT, VALUE_RESERVED_BITS),
	WR("MSR_EFER", 0, 0, 0, EFER_NOW | MSR_CAT_EFER_SVME, EXIT,
	   VALUE_RESERVED_BITS),
	WR("MSR_EFER", VM_AMD, MSR_FEAT_SVM, 0, EFER_NOW | MSR_CAT_EFER_SVME, EXIT,
	   VALUE_RESERVED_BITS),
	WR("MSR_EFER", VM_AMD, MSR_FEAT_SVM, MSR_FEAT_SVM,
	   EFER_NOW | MSR_CAT_EFER_SVME, DONE, ACCESS_HANDLED),
	WR("MSR_EFER", 0, MSR_FEAT_FFXSR | MSR_FEAT_AUTOIBRS,
	   MSR_FEAT_FFXSR | MSR_FEAT_AUTOIBRS,
	   EFER_NOW | MSR_CAT_EFER_FFXSR | MSR_CAT_EFER_AUTOIBRS, DONE,
	   ACCESS_HANDLED),
	/* version rule: commit 8c19b6f257fa (6.3) added AUTOIBRS */
	WR("MSR_EFER", VM_K6_1, MSR_FEAT_AUTOIBRS, MSR_FEAT_AUTOIBRS,
	   EFER_NOW | MSR_CAT_EFER_AUTOIBRS, EXIT, VALUE_RESERVED_BITS),
	WR("MSR_EFER", 0, 0, 0, EFER_NOW & ~MSR_CAT_EFER_LME, EXIT,
	   VALUE_LOCKED_BITS),
	WR("MSR_EFER", VM_NO_PAGING, 0, 0, MSR_CAT_EFER_SCE, DONE, ACCESS_HANDLED),
	WR("MSR_EFER", VM_BARE_GUEST, 0, 0, EFER_NOW, EXIT, VALUE_RESERVED_BITS),
	WR("MSR_EFER", VM_BARE_GUEST, MSR_FEAT_LM, 0, EFER_NOW, EXIT,
	   VALUE_RESERVED_BITS),
	WR("MSR_EFER", VM_BARE_GUEST, MSR_FEAT_LM, 0, EFER_NOW & ~MSR_CAT_EFER_NX,
	   DONE, ACCESS_HANDLED),
	WR("MSR_TSC_AUX", 0, MSR_FEAT_RDTSCP, 0, 0xffffffffull, DONE,
	   ACCESS_HANDLED),
	WR("MSR_TSC_AUX", 0, MSR_FEAT_RDPID, 0, 1ull << 32, EXIT,
	   VALUE_RESERVED_BITS),
	WR("MSR_TSC_AUX", VM_AMD, MSR_FEAT_RDTSCP, 0, 1ull << 32, DONE,
	   ACCESS_HANDLED),
	RD("MSR_TSC_AUX", 0, 0, 0, EXIT, ACCESS_INVALID),
	RD("MSR_TSC_AUX", VM_NO_TSC_AUX, MSR_FEAT_RDTSCP, 0, EXIT, ACCESS_INVALID),
	WR("MSR_IA32_CR_PAT", 0, 0, 0, 0x0007040600070406ull, DONE, ACCESS_HANDLED),
	WR("MSR_IA32_CR_PAT", 0, 0, 0, 0x0007040600070402ull, EXIT, VALUE_PAT_TYPE),
	WR("MSR_IA32_CR_PAT", 0, 0, 0, 0x0807040600070406ull, EXIT, VALUE_PAT_TYPE),
	RD("MSR_IA32_UCODE_REV", 0, 0, 0, DONE, ACCESS_HANDLED),
	WR("MSR_IA32_UCODE_REV", 0, 0, 0, 0, DONE, ACCESS_WRITE_DISCARDED),
	WR("MSR_IA32_UCODE_REV", VM_AMD, 0, 0, ~0ull, DONE, ACCESS_WRITE_DISCARDED),
	RD("MSR_IA32_ARCH_CAPABILITIES", 0, 0, 0, EXIT, ACCESS_INVALID),
	RD("MSR_IA32_ARCH_CAPABILITIES", 0, MSR_FEAT_ARCH_CAPS, 0, DONE,
	   ACCESS_HANDLED),
	WR("MSR_IA32_ARCH_CAPABILITIES", 0, MSR_FEAT_ARCH_CAPS, 0, 0, EXIT,
	   ACCESS_INVALID),
	/* version rule: commit a5d563890b8f (6.13): no CPUID bit, no MSR */
	RD("MSR_IA32_ARCH_CAPABILITIES", VM_K6_13, 0, 0, EXIT, ACCESS_UNKNOWN),
	WR("MSR_IA32_ARCH_CAPABILITIES", VM_K6_13, 0, 0, 0, EXIT, ACCESS_UNKNOWN),
	RD("MSR_IA32_ARCH_CAPABILITIES", VM_K6_13, MSR_FEAT_ARCH_CAPS, 0, DONE,
	   ACCESS_HANDLED),
	WR("MSR_IA32_ARCH_CAPABILITIES", VM_K6_13, MSR_FEAT_ARCH_CAPS, 0, 0, EXIT,
	   ACCESS_INVALID),
	RD("MSR_PLATFORM_INFO", 0, 0, 0, DONE, ACCESS_HANDLED),
	RD("MSR_PLATFORM_INFO", VM_NO_PLAT_INFO, 0, 0, EXIT, ACCESS_INVALID),
	WR("MSR_PLATFORM_INFO", 0, 0, 0, 0, EXIT, ACCESS_INVALID),
	RD("MSR_IA32_PRED_CMD", 0, FEAT_PRED, FEAT_PRED, EXIT, ACCESS_UNKNOWN),
	RD("MSR_IA32_PRED_CMD", VM_IGNORE_MSRS, 0, 0, DONE, IGNORE_MSRS),
	WR("MSR_IA32_PRED_CMD", 0, 0, FEAT_PRED, 1, EXIT, ACCESS_INVALID),
	WR("MSR_IA32_PRED_CMD", 0, MSR_FEAT_IBPB, MSR_FEAT_IBPB,
	   MSR_CAT_PRED_CMD_IBPB, DONE, ACCESS_PASSTHROUGH),
	WR("MSR_IA32_PRED_CMD", 0, MSR_FEAT_IBPB, MSR_FEAT_IBPB,
	   MSR_CAT_PRED_CMD_SBPB, GP, ACCESS_PASSTHROUGH),
	WR("MSR_IA32_PRED_CMD", 0, FEAT_PRED, MSR_FEAT_SBPB, MSR_CAT_PRED_CMD_IBPB,
	   EXIT, VALUE_RESERVED_BITS),
	WR("MSR_IA32_PRED_CMD", 0, FEAT_PRED, MSR_FEAT_SBPB, MSR_CAT_PRED_CMD_SBPB,
	   DONE, ACCESS_HANDLED),
	RD("MSR_IA32_FLUSH_CMD", 0, MSR_FEAT_FLUSH_L1D, MSR_FEAT_FLUSH_L1D, EXIT,
	   ACCESS_UNKNOWN),
	WR("MSR_IA32_FLUSH_CMD", 0, MSR_FEAT_FLUSH_L1D, MSR_FEAT_FLUSH_L1D,
	   MSR_CAT_L1D_FLUSH, DONE, ACCESS_PASSTHROUGH),
	WR("MSR_IA32_FLUSH_CMD", 0, 0, MSR_FEAT_FLUSH_L1D, MSR_CAT_L1D_FLUSH, EXIT,
	   ACCESS_INVALID),
	WR("MSR_IA32_FLUSH_CMD", 0, MSR_FEAT_FLUSH_L1D, 0, 0, EXIT, ACCESS_INVALID),
	/* version rule: commit da3db168fb67 (6.4) added the MSR */
	WR("MSR_IA32_FLUSH_CMD", VM_K6_1, MSR_FEAT_FLUSH_L1D, MSR_FEAT_FLUSH_L1D,
	   MSR_CAT_L1D_FLUSH, EXIT, ACCESS_UNKNOWN),
	RD("X2APIC_MSR_TPR", 0, 0, 0, EXIT, ACCESS_INVALID),
	WR("X2APIC_MSR_TPR", 0, 0, 0, 0, EXIT, ACCESS_INVALID),
	RD("X2APIC_MSR_TPR", VM_X2APIC | VM_AMD, 0, 0, DONE, ACCESS_HANDLED),
	WR("X2APIC_MSR_TPR", VM_X2APIC | VM_AMD, 0, 0, 0xff, DONE, ACCESS_HANDLED),
	WR("X2APIC_MSR_TPR", VM_X2APIC | VM_AMD, 0, 0, 1ull << 32, EXIT, VALUE_RESERVED_BITS),
	/* vmx.c: virtualize x2APIC mode, TPR not intercepted */
	RD("X2APIC_MSR_TPR", VM_X2APIC, 0, 0, DONE, ACCESS_PASSTHROUGH),
	WR("X2APIC_MSR_TPR", VM_X2APIC, 0, 0, 0xff, DONE, ACCESS_PASSTHROUGH),
	WR("X2APIC_MSR_TPR", VM_X2APIC, 0, 0, 1ull << 32, GP, ACCESS_PASSTHROUGH),
	RD("X2APIC_MSR_APIC_ID", VM_X2APIC, 0, 0, DONE, ACCESS_HANDLED),
	RD("X2APIC_MSR_APIC_ID", 0, 0, 0, EXIT, ACCESS_INVALID),
	WR("X2APIC_MSR_APIC_ID", VM_X2APIC, 0, 0, 0, EXIT, ACCESS_INVALID),
	RD("X2APIC_MSR_FIRST", VM_X2APIC, 0, 0, EXIT, ACCESS_INVALID),
	WR("X2APIC_MSR_LAST", VM_X2APIC, 0, 0, 0, EXIT, ACCESS_INVALID),
	RD("UNKNOWN_BELOW_X2APIC", VM_X2APIC, 0, 0, EXIT, ACCESS_UNKNOWN),
	WR("UNKNOWN_ABOVE_X2APIC", 0, 0, 0, 0, EXIT, ACCESS_UNKNOWN),
	RD("UNKNOWN_LOW", 0, 0, 0, EXIT, ACCESS_UNKNOWN),
	WR("UNKNOWN_DEADBEEF", VM_IGNORE_MSRS, 0, 0, 1, DONE, IGNORE_MSRS),
	RD("UNKNOWN_MAX", 0, 0, 0, EXIT, ACCESS_UNKNOWN),
};

TEST(catalog_guest_access_rules)
{
	static struct msr_model_filter_state s;
	static struct msr_catalog cat;
	struct msr_vcpu_model vm;
	struct msr_facts f;
	char desc[128];
	size_t i;

	msr_catalog_init(&cat);
	msr_model_filter_state_init(&s);
	for (i = 0; i < ARRAY_LEN(access_cases); i++) {
		const struct access_case *c = &access_cases[i];
		const struct msr_catalog_entry *e = msr_catalog_by_name(&cat, c->name);
		struct msr_outcome o;

		snprintf(desc, sizeof(desc), "%s %s 0x%llx (vm 0x%x)",
			 msr_model_access_str(c->access), c->name,
			 (unsigned long long)c->value, c->vm);
		ASSERT_TRUE(e != NULL) TH_LOG("%s: not in the catalog", desc);
		vcpu_model(c, &vm);
		msr_catalog_facts(e, &vm, &f);
		o = msr_model_guest_access(&s, ALL_REASONS, &f, c->access, c->value);
		EXPECT_RESULT(c->result, o.result, desc);
		EXPECT_RULE(c->cause, o.result == MSR_RESULT_EXIT ? o.cause : o.rule,
			    desc);
	}
}

/* x86.c:set_efer(): a guest WRMSR cannot set or clear LMA, KVM keeps it. */
TEST(catalog_efer_write_keeps_lma)
{
	static struct msr_model_filter_state s;
	static struct msr_catalog cat;
	const struct {
		const char *desc;
		unsigned int vm;
		__u64 value, stored;
	} cases[] = {
		{ "LMA cleared in long mode", 0, EFER_NOW & ~MSR_CAT_EFER_LMA, EFER_NOW },
		{ "SCE toggled in long mode", 0, EFER_NOW ^ MSR_CAT_EFER_SCE,
		  EFER_NOW ^ MSR_CAT_EFER_SCE },
		{ "LMA set without paging", VM_NO_PAGING, MSR_CAT_EFER_LMA | MSR_CAT_EFER_LME,
		  MSR_CAT_EFER_LME },
	};
	struct msr_vcpu_model vm;
	struct msr_facts f;
	size_t i;

	msr_catalog_init(&cat);
	msr_model_filter_state_init(&s);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct access_case c = { .vm = cases[i].vm };
		struct msr_outcome o;

		vcpu_model(&c, &vm);
		if (cases[i].vm & VM_NO_PAGING)
			vm.efer = 0;
		msr_catalog_facts(msr_catalog_find(&cat, MSR_CAT_EFER), &vm, &f);
		o = msr_model_guest_access(&s, 0, &f, MSR_WRMSR, cases[i].value);
		EXPECT_RESULT(MSR_RESULT_DONE, o.result, cases[i].desc);
		EXPECT_FLAG(true, o.stored, cases[i].desc);
		EXPECT_U64(cases[i].stored, o.data, cases[i].desc);
	}
}

TEST(catalog_pat_every_memory_type)
{
	static struct msr_model_filter_state s;
	static struct msr_catalog cat;
	const unsigned int shifts[] = { 0, 24, 56 };
	struct msr_vcpu_model vm;
	struct msr_facts f;
	unsigned int type, i;
	char desc[64];

	msr_catalog_init(&cat);
	msr_model_filter_state_init(&s);
	msr_vcpu_model_init(&vm, MSR_VENDOR_INTEL);
	msr_catalog_facts(msr_catalog_find(&cat, MSR_CAT_CR_PAT), &vm, &f);
	for (i = 0; i < ARRAY_LEN(shifts); i++) {
		for (type = 0; type < 256; type++) {
			bool valid = type <= 7 && type != 2 && type != 3;
			struct msr_outcome o;

			o = msr_model_guest_access(&s, 0, &f, MSR_WRMSR,
						   (__u64)type << shifts[i]);
			snprintf(desc, sizeof(desc), "type %u at bit %u", type, shifts[i]);
			EXPECT_RESULT(valid ? MSR_RESULT_DONE : MSR_RESULT_GP, o.result,
				      desc);
		}
	}
}

TEST(catalog_ucode_rev_guest_reads_host_value)
{
	const struct msr_ucode_facts intel = { MSR_VENDOR_INTEL, 0xf0, true };
	static struct msr_model_filter_state s;
	static struct msr_catalog cat;
	struct msr_catalog_entry *e = NULL;
	struct msr_vcpu_model vm;
	struct msr_facts f;
	struct msr_outcome o;
	unsigned int i;

	msr_catalog_init(&cat);
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		if (cat.entries[i].index == MSR_CAT_UCODE_REV)
			e = &cat.entries[i];
	ASSERT_TRUE(e != NULL);
	/* What the probe would record after KVM_SET_MSRS(UCODE_REV). */
	e->probe.probed = true;
	e->probe.host_readable = true;
	e->probe.host_value = msr_model_ucode_encode(MSR_VENDOR_INTEL, 0x2c);
	msr_vcpu_model_init(&vm, MSR_VENDOR_INTEL);
	msr_model_filter_state_init(&s);
	msr_catalog_facts(e, &vm, &f);

	o = msr_model_guest_access(&s, 0, &f, MSR_RDMSR, 0);
	EXPECT_RESULT(MSR_RESULT_DONE, o.result, "guest RDMSR");
	EXPECT_EQ(0x2cu, o.edx) TH_LOG("Intel revision is in EDX");
	EXPECT_EQ(0u, o.eax);
	EXPECT_EQ(0x2cu, msr_model_ucode_decode(intel.vendor, o.data));

	o = msr_model_guest_access(&s, 0, &f, MSR_WRMSR, 0);
	EXPECT_RULE(MSR_RULE_ACCESS_WRITE_DISCARDED, o.rule, "guest WRMSR 0");
	EXPECT_FALSE(o.stored);
	EXPECT_U64(0xf000000000ull, msr_model_ucode_system_value(&intel).value,
		   "system value");
}

/* Catalog host lookup: vCPU and system scope, feeding msr_model_msrs_io(). */
TEST(catalog_host_lookup)
{
	static struct msr_catalog cat;
	struct msr_vcpu_model vm;
	struct msr_catalog_ctx ctx = { &cat, &vm };
	struct msr_io_facts io = { .lookup = msr_catalog_host_lookup, .ctx = &ctx };
	struct kvm_msr_entry e[3];
	struct msr_io_result r;
	unsigned int i;

	msr_catalog_init(&cat);
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		struct msr_catalog_entry *c = &cat.entries[i];

		c->probe.probed = true;
		c->probe.in_index_list = c->class == MSR_CLASS_SYSCALL ||
					 c->index == MSR_CAT_UCODE_REV;
		c->probe.host_readable = c->probe.in_index_list;
		c->probe.host_value = 0x1000 + i;
		c->probe.system_value = 0x2000 + i;
		c->probe.in_feature_list = !!(c->flags & MSR_CAT_F_FEATURE);
	}
	msr_vcpu_model_init(&vm, MSR_VENDOR_INTEL);

	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_STAR, .data = 1 };
	e[1] = (struct kvm_msr_entry){ .index = MSR_CAT_PRED_CMD, .data = 1 };
	e[2] = (struct kvm_msr_entry){ .index = MSR_CAT_LSTAR, .data = 1 };
	r = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_GET, 3, e, &io);
	EXPECT_EQ(1, r.ret) TH_LOG("GET stops at the write-only PRED_CMD");
	EXPECT_U64(0x1000 + 0, e[0].data, "STAR");
	EXPECT_U64(0, e[1].data, "PRED_CMD");
	EXPECT_U64(1, e[2].data, "LSTAR untouched");

	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_LSTAR, .data = 1ull << 47 };
	r = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_SET, 1, e, &io);
	EXPECT_EQ(0, r.ret) TH_LOG("host write of a noncanonical LSTAR fails");

	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_TSC_AUX, .data = 5 };
	r = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_SET, 1, e, &io);
	EXPECT_EQ(1, r.ret) TH_LOG("host write skips the guest CPUID check");

	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_EFER,
				       .data = EFER_NOW & ~MSR_CAT_EFER_LME };
	r = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_SET, 1, e, &io);
	EXPECT_EQ(1, r.ret) TH_LOG("host write skips the LME lock");

	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_X2APIC_TPR };
	r = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_SET, 1, e, &io);
	EXPECT_EQ(0, r.ret) TH_LOG("host write of TPR outside x2APIC mode fails");

	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_UCODE_REV };
	e[1] = (struct kvm_msr_entry){ .index = MSR_CAT_STAR };
	e[2] = (struct kvm_msr_entry){ .index = MSR_CAT_PRED_CMD };
	r = msr_model_msrs_io(MSR_SCOPE_SYSTEM, MSR_IO_GET, 3, e, &io);
	EXPECT_EQ(2, r.ret) TH_LOG("system GET: feature, advertised, unadvertised");
	EXPECT_U64(0x2000 + 8, e[0].data, "system UCODE_REV");
	EXPECT_U64(0, e[1].data, "system STAR reads 0");

	/*
	 * Feature-ness is the probed KVM_GET_MSR_FEATURE_INDEX_LIST once
	 * probed (a backend may list more), the curated flag before.
	 */
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		struct msr_catalog_entry *c = &cat.entries[i];

		if (c->index == MSR_CAT_PLATFORM_INFO)
			c->probe.in_feature_list = true;
		if (c->index == MSR_CAT_UCODE_REV)
			c->probe = (struct msr_probe){ .system_value = 0x3000 };
	}
	e[0] = (struct kvm_msr_entry){ .index = MSR_CAT_PLATFORM_INFO };
	e[1] = (struct kvm_msr_entry){ .index = MSR_CAT_UCODE_REV };
	r = msr_model_msrs_io(MSR_SCOPE_SYSTEM, MSR_IO_GET, 2, e, &io);
	EXPECT_EQ(2, r.ret) TH_LOG("system GET: listed PLATFORM_INFO, unprobed UCODE_REV");
	EXPECT_U64(msr_catalog_find(&cat, MSR_CAT_PLATFORM_INFO)->probe.system_value, e[0].data,
		   "listed PLATFORM_INFO reads its system value");
	EXPECT_U64(0x3000, e[1].data, "unprobed UCODE_REV: curated feature flag");

	e[0] = (struct kvm_msr_entry){ .index = 0x12345678 };
	r = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_GET, 1, e, &io);
	EXPECT_EQ(0, r.ret) TH_LOG("index missing from the catalog");
}

TEST_HARNESS_MAIN
