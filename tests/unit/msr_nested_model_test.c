// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the model's rules for an L2 RDMSR/WRMSR under nested SVM
 * and nested VMX (rule 12): who gets the exit (L1's map, the indices it
 * has no bit for), the exit L1 sees, and which accesses the map merged at
 * nested VM-entry passes through.
 */
#include "msr_unit.h"

#define AMD	MSR_VENDOR_AMD
#define INTEL	MSR_VENDOR_INTEL

TEST(nested_in_l1_map)
{
	const struct { const char *desc; enum msr_vendor v; __u32 index; bool in; } cases[] = {
		{ "SVM low range start", AMD, 0x0, true },
		{ "SVM low range end", AMD, 0x1fff, true },
		{ "SVM past the low range", AMD, 0x2000, false },
		{ "SVM 0xc0000000 range", AMD, 0xc0000082, true },
		{ "SVM 0xc0000000 range end", AMD, 0xc0001fff, true },
		{ "SVM past it", AMD, 0xc0002000, false },
		{ "SVM 0xc0010000 range", AMD, 0xc0010117, true },
		{ "SVM 0xc0010000 range end", AMD, 0xc0011fff, true },
		{ "SVM past the third range", AMD, 0xc0012000, false },
		{ "SVM hypervisor range", AMD, 0x40000000, false },
		{ "VMX low range", INTEL, 0x1fff, true },
		{ "VMX high range", INTEL, 0xc0001fff, true },
		{ "VMX has no 0xc0010000 range", INTEL, 0xc0011029, false },
		{ "VMX past the low range", INTEL, 0x2000, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		bool in = msr_model_nested_in_l1_map(cases[i].v, cases[i].index);

		EXPECT_EQ(cases[i].in, in)
			TH_LOG("%s: index %#x", cases[i].desc, cases[i].index);
	}
}

TEST(nested_l1_exit)
{
	/* L1's bit decides inside its map; outside, L1 always gets the exit. */
	EXPECT_TRUE(msr_model_nested_l1_exit(AMD, 0xc0000081, true));
	EXPECT_FALSE(msr_model_nested_l1_exit(AMD, 0xc0000081, false));
	EXPECT_TRUE(msr_model_nested_l1_exit(AMD, 0xdeadbeef, false));
	EXPECT_FALSE(msr_model_nested_l1_exit(AMD, 0xc0011029, false));
	EXPECT_TRUE(msr_model_nested_l1_exit(INTEL, 0xc0011029, false));
	EXPECT_FALSE(msr_model_nested_l1_exit(INTEL, 0x808, false));
	EXPECT_TRUE(msr_model_nested_l1_exit(INTEL, 0x808, true));
}

TEST(nested_exit_code)
{
	EXPECT_EQ(0x7c, msr_model_nested_exit_code(AMD, MSR_RDMSR));
	EXPECT_EQ(0x7c, msr_model_nested_exit_code(AMD, MSR_WRMSR));
	EXPECT_EQ(0u, msr_model_nested_exit_info1(AMD, MSR_RDMSR));
	EXPECT_EQ(1u, msr_model_nested_exit_info1(AMD, MSR_WRMSR));
	EXPECT_EQ(31, msr_model_nested_exit_code(INTEL, MSR_RDMSR));
	EXPECT_EQ(32, msr_model_nested_exit_code(INTEL, MSR_WRMSR));
	EXPECT_EQ(0u, msr_model_nested_exit_info1(INTEL, MSR_WRMSR));
}

TEST(nested_l1_outcome)
{
	struct msr_outcome r = msr_model_nested_l1_outcome(MSR_RDMSR, 0x1122334455667788ull);
	struct msr_outcome w = msr_model_nested_l1_outcome(MSR_WRMSR, 0x1122334455667788ull);

	EXPECT_EQ(MSR_RESULT_DONE, r.result);
	EXPECT_RULE(MSR_RULE_NESTED_L1_EXIT, r.rule, "L1 answers the RDMSR");
	EXPECT_U64(0x55667788u, r.eax, "EAX");
	EXPECT_U64(0x11223344u, r.edx, "EDX");
	EXPECT_EQ(0, r.exit_reason);
	EXPECT_EQ(MSR_RESULT_DONE, w.result);
	EXPECT_FALSE(w.stored) TH_LOG("L1 skips the WRMSR: nothing stored");
}

TEST(nested_passthrough)
{
	const struct { const char *desc; enum msr_vendor v; __u32 kernel; __u32 index;
		       enum msr_access a; bool l0; bool want; } cases[] = {
		{ "SVM: L0's pass-through stays", AMD, 0, 0xc0000081, MSR_RDMSR, true, true },
		{ "SVM: L0's intercept stays (filter)", AMD, 0, 0xc0000081, MSR_RDMSR, false, false },
		{ "SVM: x2APIC always intercepted", AMD, 0, 0x808, MSR_RDMSR, true, false },
		{ "VMX: KERNEL_GS_BASE merged", INTEL, 0, 0xc0000102, MSR_WRMSR, true, true },
		{ "VMX: KERNEL_GS_BASE, L0 intercepts", INTEL, 0, 0xc0000102, MSR_RDMSR, false, false },
		{ "VMX: PRED_CMD write", INTEL, 0, 0x49, MSR_WRMSR, true, true },
		{ "VMX: FLUSH_CMD write on 6.12", INTEL, MSR_KERNEL(6, 12), 0x10b, MSR_WRMSR, true, true },
		{ "VMX: FLUSH_CMD write on 6.1", INTEL, MSR_KERNEL(6, 1), 0x10b, MSR_WRMSR, true, false },
		{ "VMX: TSC_AUX not in the merge list", INTEL, 0, 0xc0000103, MSR_RDMSR, true, false },
		{ "VMX: x2APIC without virtualize-x2APIC", INTEL, 0, 0x808, MSR_RDMSR, true, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		bool pass = msr_model_nested_passthrough(cases[i].v, cases[i].kernel,
							 cases[i].index, cases[i].a, cases[i].l0);

		EXPECT_EQ(cases[i].want, pass)
			TH_LOG("%s", cases[i].desc);
	}
}

TEST_HARNESS_MAIN
