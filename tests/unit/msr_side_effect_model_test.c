// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of rule 10 (lib/msr_model.h): MSR accesses that are side
 * effects of other instructions are never filtered (api.rst 4.97, the
 * warning), what each instruction records, and where KVM completes it
 * (vendor, forced emulation, guest CPUID, EFER.SCE).
 */
#include <stdio.h>

#include "msr_unit.h"

static const struct msr_side_effect_state state = {
	.tsc_aux = 0x5eac0de5, .star = 0x0013002800000000ull | 0x5ca11000u,
	.lstar = 0x401234, .cstar = 0xffffffffc57a0000ull, .sfmask = 0x4751,
	.sysenter_cs = 0x3b, .sysenter_esp = 0x7000f0, .sysenter_eip = 0x405678,
	.kernel_gs_base = 0x600008, .gs_base = 0x600000, .rflags = 0x8d7,
};

static struct msr_side_effect_facts facts(enum msr_vendor vendor, bool emulated)
{
	return (struct msr_side_effect_facts){
		.vendor = vendor, .emulated = emulated, .guest_rdtscp = true, .guest_rdpid = true,
		.efer_sce = true,
	};
}

/* Every filter state and exit mask gives the same verdict as no filter. */
TEST(side_effect_never_filtered)
{
	static struct msr_model_filter_state deny_all, none;
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };
	struct msr_model_mem_region region;
	struct msr_model_mem mem = { &region, 1 };
	unsigned int insn, path, mask;
	char desc[96];

	unit_bitmaps_init();
	f.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ |
		KVM_MSR_FILTER_WRITE, .base = 0, .nmsrs = 8, .bitmap = unit_zeros };
	region = (struct msr_model_mem_region){ (__u64)(unsigned long)unit_zeros,
						sizeof(unit_zeros), unit_zeros };
	msr_model_filter_state_init(&none);
	msr_model_filter_state_init(&deny_all);
	ASSERT_EQ(0, msr_model_filter_install(&deny_all, &f, &mem).err);
	for (insn = MSR_INSN_ACCESS + 1; insn < MSR_INSNS; insn++)
		for (path = 0; path < 2; path++)
			for (mask = 0; mask < 8; mask++) {
				struct msr_side_effect_facts a = facts(MSR_VENDOR_INTEL, path);
				struct msr_side_effect_facts b = a;
				struct msr_side_effect_verdict va, vb;

				a.filter = &none;
				b.filter = &deny_all;
				b.exit_mask = mask;
				va = msr_model_side_effect(&a, insn, &state);
				vb = msr_model_side_effect(&b, insn, &state);
				snprintf(desc, sizeof(desc), "%s%s, mask %u", msr_insn_name(insn),
					 path ? " (forced emulation)" : "", mask);
				EXPECT_FLAG(va.runs, vb.runs, desc);
				EXPECT_RULE(va.rule, vb.rule, desc);
				EXPECT_EQ(va.vector, vb.vector) TH_LOG("%s", desc);
				EXPECT_U64(va.value, vb.value, desc);
				EXPECT_U64(va.aux, vb.aux, desc);
				EXPECT_NE(MSR_MODEL_GP_VECTOR, vb.vector) TH_LOG("%s: #GP", desc);
			}
}

/* What the payload records, natively on Intel (every instruction completes). */
TEST(side_effect_values)
{
	const struct {
		enum msr_insn insn;
		bool tsc;
		__u64 value, aux;
		__u32 first_msr;
	} cases[] = {
		{ MSR_INSN_RDTSCP, true, 0, 0x5eac0de5, 0x10 },
		{ MSR_INSN_RDPID, false, 0x5eac0de5, 0, 0xc0000103u },
		{ MSR_INSN_RDTSC, true, 0, 0, 0x10 },
		/* RFLAGS & ~SFMASK | 2; CS 0x28, SS 0x30, R11 = RFLAGS before */
		{ MSR_INSN_SYSCALL, false, 0x886, 0x000008d700300028ull, 0xc0000081u },
		/* RSP = SYSENTER_ESP; CS = 0x3b & 0xfffc, SS = CS + 8 */
		{ MSR_INSN_SYSENTER, false, 0x7000f0, 0x00400038, 0x174 },
		{ MSR_INSN_SWAPGS, false, 0x600008, 0x600000, 0xc0000102u },
	};
	struct msr_side_effect_facts f = facts(MSR_VENDOR_INTEL, false);
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_side_effect_verdict v = msr_model_side_effect(&f, cases[i].insn, &state);
		const char *desc = msr_insn_name(cases[i].insn);

		EXPECT_FLAG(true, v.runs, desc);
		EXPECT_RULE(MSR_RULE_SIDE_EFFECT_UNFILTERED, v.rule, desc);
		EXPECT_EQ(0, v.vector) TH_LOG("%s", desc);
		EXPECT_FLAG(cases[i].tsc, v.tsc, desc);
		if (!cases[i].tsc)
			EXPECT_U64(cases[i].value, v.value, desc);
		EXPECT_U64(cases[i].aux, v.aux, desc);
		EXPECT_LT(0u, v.nmsrs) TH_LOG("%s reads no MSR", desc);
		EXPECT_EQ(cases[i].first_msr, v.msrs[0]) TH_LOG("%s", desc);
		EXPECT_EQ(v.msrs[v.nmsrs - 1] == msr_insn_msr(cases[i].insn) ||
			  v.msrs[0] == msr_insn_msr(cases[i].insn) ||
			  v.msrs[1] == msr_insn_msr(cases[i].insn), 1)
			TH_LOG("%s: its cases' MSR is not one it reads", desc);
	}
}

/* Where KVM completes it: vendor, path, guest CPUID, EFER.SCE. */
TEST(side_effect_where)
{
	const struct {
		const char *desc;
		enum msr_insn insn;
		enum msr_vendor vendor;
		bool emulated, no_rdtscp, no_rdpid, no_sce;
		bool runs;
		enum msr_rule rule;
		__u8 vector;
	} cases[] = {
		{ "RDTSCP emulated: no execute in group7_rm7", MSR_INSN_RDTSCP, MSR_VENDOR_AMD, true,
		  0, 0, 0, false, MSR_RULE_SIDE_EFFECT_NOT_EMULATED, 0 },
		{ "RDTSCP without CPUID", MSR_INSN_RDTSCP, MSR_VENDOR_AMD, false, 1, 0, 0, false,
		  MSR_RULE_SIDE_EFFECT_CPUID_ABSENT, 0 },
		{ "RDPID without CPUID, native", MSR_INSN_RDPID, MSR_VENDOR_AMD, false, 0, 1, 0, false,
		  MSR_RULE_SIDE_EFFECT_CPUID_ABSENT, 0 },
		{ "RDPID without CPUID, em_rdpid", MSR_INSN_RDPID, MSR_VENDOR_AMD, true, 0, 1, 0, true,
		  MSR_RULE_SIDE_EFFECT_UD, MSR_MODEL_UD_VECTOR },
		{ "RDPID emulated", MSR_INSN_RDPID, MSR_VENDOR_INTEL, true, 0, 0, 0, true,
		  MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "RDTSC emulated", MSR_INSN_RDTSC, MSR_VENDOR_AMD, true, 0, 0, 0, true,
		  MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "SYSCALL, EFER.SCE clear", MSR_INSN_SYSCALL, MSR_VENDOR_AMD, false, 0, 0, 1, true,
		  MSR_RULE_SIDE_EFFECT_UD, MSR_MODEL_UD_VECTOR },
		{ "SYSCALL emulated", MSR_INSN_SYSCALL, MSR_VENDOR_INTEL, true, 0, 0, 0, true,
		  MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "SYSENTER on AMD in long mode", MSR_INSN_SYSENTER, MSR_VENDOR_AMD, false, 0, 0, 0,
		  false, MSR_RULE_SIDE_EFFECT_NOT_EMULATED, 0 },
		{ "SYSENTER emulated in 64-bit mode", MSR_INSN_SYSENTER, MSR_VENDOR_INTEL, true, 0, 0,
		  0, false, MSR_RULE_SIDE_EFFECT_NOT_EMULATED, 0 },
		{ "SYSENTER on Intel", MSR_INSN_SYSENTER, MSR_VENDOR_INTEL, false, 0, 0, 0, true,
		  MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "SWAPGS emulated: not in the opcode tables", MSR_INSN_SWAPGS, MSR_VENDOR_AMD, true,
		  0, 0, 0, true, MSR_RULE_SIDE_EFFECT_UD, MSR_MODEL_UD_VECTOR },
		{ "SWAPGS on AMD", MSR_INSN_SWAPGS, MSR_VENDOR_AMD, false, 0, 0, 0, true,
		  MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "RDMSR itself is not this rule", MSR_INSN_ACCESS, MSR_VENDOR_AMD, false, 0, 0, 0,
		  false, MSR_RULE_NONE, 0 },
		{ "SYSCALL in compatibility mode on AMD", MSR_INSN_SYSCALL_COMPAT, MSR_VENDOR_AMD,
		  false, 0, 0, 0, true, MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "SYSCALL in compatibility mode on AMD, em_syscall()", MSR_INSN_SYSCALL_COMPAT,
		  MSR_VENDOR_AMD, true, 0, 0, 0, true, MSR_RULE_SIDE_EFFECT_UNFILTERED, 0 },
		{ "SYSCALL in compatibility mode on Intel", MSR_INSN_SYSCALL_COMPAT, MSR_VENDOR_INTEL,
		  false, 0, 0, 0, true, MSR_RULE_SIDE_EFFECT_UD, MSR_MODEL_UD_VECTOR },
		{ "SYSCALL in compatibility mode on Intel, em_syscall()", MSR_INSN_SYSCALL_COMPAT,
		  MSR_VENDOR_INTEL, true, 0, 0, 0, true, MSR_RULE_SIDE_EFFECT_UD, MSR_MODEL_UD_VECTOR },
		{ "SYSCALL in compatibility mode, EFER.SCE clear", MSR_INSN_SYSCALL_COMPAT,
		  MSR_VENDOR_AMD, false, 0, 0, 1, true, MSR_RULE_SIDE_EFFECT_UD, MSR_MODEL_UD_VECTOR },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_side_effect_facts f = facts(cases[i].vendor, cases[i].emulated);
		struct msr_side_effect_verdict v;

		f.guest_rdtscp = !cases[i].no_rdtscp;
		f.guest_rdpid = !cases[i].no_rdpid;
		f.efer_sce = !cases[i].no_sce;
		v = msr_model_side_effect(&f, cases[i].insn, &state);
		EXPECT_FLAG(cases[i].runs, v.runs, cases[i].desc);
		EXPECT_RULE(cases[i].rule, v.rule, cases[i].desc);
		EXPECT_EQ(cases[i].vector, v.vector) TH_LOG("%s", cases[i].desc);
		if (v.vector)
			EXPECT_FLAG(false, v.tsc, cases[i].desc);
	}
}

/* SYSCALL in compatibility mode on AMD: CSTAR, and what SYSCALL records. */
TEST(side_effect_syscall_compat)
{
	unsigned int emulated;

	for (emulated = 0; emulated < 2; emulated++) {
		struct msr_side_effect_facts f = facts(MSR_VENDOR_AMD, emulated);
		struct msr_side_effect_verdict v = msr_model_side_effect(&f, MSR_INSN_SYSCALL_COMPAT,
									 &state);
		const char *desc = emulated ? "em_syscall()" : "native";

		EXPECT_EQ(0xc0000083u, msr_insn_msr(MSR_INSN_SYSCALL_COMPAT)) TH_LOG("%s", desc);
		EXPECT_EQ(3u, v.nmsrs) TH_LOG("%s", desc);
		EXPECT_EQ(0xc0000081u, v.msrs[0]) TH_LOG("%s: STAR", desc);
		EXPECT_EQ(0xc0000083u, v.msrs[1]) TH_LOG("%s: CSTAR, not LSTAR", desc);
		EXPECT_EQ(0xc0000084u, v.msrs[2]) TH_LOG("%s: SFMASK", desc);
		EXPECT_U64(0x886, v.value, desc);
		EXPECT_U64(0x000008d700300028ull, v.aux, desc);
	}
}

TEST_HARNESS_MAIN
