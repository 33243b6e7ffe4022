// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of divergence signatures and the baseline matcher
 * (lib/msr_divergence.h): signature composition, entry parsing (malformed
 * entries are errors), first-match with wildcards and conditions, the
 * tally that run_tests.sh reads.
 */
#include <stdio.h>

#include "msr_divergence.h"
#include "msr_unit.h"

TEST(signature_names)
{
	const struct {
		const char *source;
		__u32 index;
		const char *op, *check;
		enum msr_rule cause;
		const char *want;
	} cases[] = {
		{ "matrix", 0x49, "wrmsr", "guest_result", MSR_RULE_VALUE_RESERVED_BITS,
		  "matrix.msr_ia32_pred_cmd.wrmsr.guest_result.value_reserved_bits" },
		{ "matrix", 0x808, "wrmsr", "readback", MSR_RULE_ACCESS_HANDLED,
		  "matrix.x2apic_msr_tpr.wrmsr.readback.access_handled" },
		{ NULL, 0xc0000082, "wrmsr", "exit", MSR_RULE_NONE, "msr_lstar.wrmsr.exit" },
		{ "msr_filter", 0x4b564d05, "rdmsr", "exit", MSR_RULE_NONE,
		  "msr_filter.unlisted.rdmsr.exit" },	/* no msr-index.h name */
		{ "msrs_ioctl", 0x10a, "set", "count", MSR_RULE_NONE,
		  "msrs_ioctl.msr_ia32_arch_capabilities.set.count" },
	};
	char buf[MSR_SIG_LEN];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++)
		EXPECT_STREQ(cases[i].want, msr_div_sig(buf, sizeof(buf), cases[i].source,
							cases[i].index, cases[i].op,
							cases[i].check, cases[i].cause));
}

TEST(baseline_entries_parse_or_fail)
{
	const struct {
		const char *line;
		bool ok;
		unsigned int nconds;
	} cases[] = {
		{ "# a comment only", true, 0 },
		{ "   ", true, 0 },
		{ "matrix.msr_ia32_*_cmd.wrmsr.*.access_invalid | r | e", true, 0 },
		{ "x.y.z.w vendor=amd guest:-ibpb host:+flush_l1d kernel>=6.13 kernel<7.0 | r", true, 5 },
		{ "x.y.z.w guest:+no_such_feature | r", false, 0 },
		{ "x.y.z.w vendor=arm | r", false, 0 },
		{ "x.y.z.w kernel>=6 | r", false, 0 },
		{ "no bar at all", false, 0 },
		{ "msr_filter_exit_matrix_test:msr_matrix.never_set.refused | old form", false, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		static struct msr_baseline b;
		bool ok;

		memset(&b, 0, sizeof(b));
		ok = msr_baseline_parse_line(&b, cases[i].line, "t.txt:1");
		EXPECT_EQ(cases[i].ok, ok) TH_LOG("'%s': %s", cases[i].line, b.error);
		if (ok && b.n)
			EXPECT_EQ(cases[i].nconds, b.e[0].nconds) TH_LOG("'%s'", cases[i].line);
	}
}

static const char *const entries[] = {
	"matrix.msr_ia32_*_cmd.wrmsr.*.access_invalid | PVM completes them",
	"msrs_ioctl.msr_ia32_pred_cmd.set.count host:-ibpb | no host IBPB",
	"matrix.x2apic_msr_tpr.wrmsr.readback.* vendor=amd kernel<6.14 | TPR nibble",
	"matrix.msr_tsc_aux.* guest:+rdtscp | with RDTSCP",
	"matrix.msr_tsc_aux.rdmsr.* | any other TSC_AUX read",
};

TEST(baseline_first_match_with_conditions)
{
	struct msr_div_case amd_612 = { MSR_VENDOR_AMD, MSR_FEAT_LM, MSR_FEAT_IBPB,
					MSR_KERNEL(6, 12) };
	struct msr_div_case intel_618 = { MSR_VENDOR_INTEL, MSR_FEAT_RDTSCP, 0,
					  MSR_KERNEL(6, 18) };
	const struct {
		const char *sig;
		const struct msr_div_case *c;
		int want;
	} cases[] = {
		{ "matrix.msr_ia32_pred_cmd.wrmsr.exits.access_invalid", &amd_612, 0 },
		{ "matrix.msr_ia32_flush_cmd.wrmsr.guest_result.access_invalid", &amd_612, 0 },
		{ "matrix.msr_ia32_pred_cmd.wrmsr.exits.access_handled", &amd_612, -1 },
		{ "msrs_ioctl.msr_ia32_pred_cmd.set.count", &amd_612, -1 },	/* host has it */
		{ "msrs_ioctl.msr_ia32_pred_cmd.set.count", &intel_618, 1 },
		{ "matrix.x2apic_msr_tpr.wrmsr.readback.access_handled", &amd_612, 2 },
		{ "matrix.x2apic_msr_tpr.wrmsr.readback.access_handled", &intel_618, -1 },
		{ "matrix.msr_tsc_aux.rdmsr.exits.access_invalid", &intel_618, 3 },
		{ "matrix.msr_tsc_aux.rdmsr.exits.access_invalid", &amd_612, 4 },
		{ "matrix.msr_tsc_aux.wrmsr.exits.access_invalid", &amd_612, -1 },
	};
	static struct msr_baseline b;
	size_t i;

	for (i = 0; i < ARRAY_LEN(entries); i++)
		ASSERT_TRUE(msr_baseline_parse_line(&b, entries[i], "t.txt:1")) TH_LOG("%s", b.error);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const char *desc = cases[i].sig;

		EXPECT_EQ(cases[i].want, msr_baseline_match(&b, cases[i].sig, cases[i].c))
			TH_LOG("%s", desc);
	}
}

TEST(tally_counts_covered_and_new)
{
	static struct msr_div_tally t, sum;
	struct msr_div_case c = { MSR_VENDOR_AMD, MSR_FEAT_LM, 0, MSR_KERNEL(6, 12) };

	setenv("MSR_BASELINE", "", 1);	/* no entries: everything is new */
	msr_div_check(&t, "matrix.a.rdmsr.exits.x", &c, false);
	msr_div_check(&t, "matrix.a.rdmsr.exits.x", &c, true);
	msr_div_check(&t, "matrix.a.rdmsr.exits.x", &c, true);
	msr_div_check(&t, "matrix.b.wrmsr.exits.x", &c, true);
	msr_div_fail_unnamed(&t);
	EXPECT_EQ(4u, t.failures);
	EXPECT_EQ(4u, t.unmatched);
	EXPECT_EQ(2u, t.nnew);
	EXPECT_EQ(2u, t.fresh[0].count);
	msr_div_tally_add(&sum, &t);
	msr_div_tally_add(&sum, &t);
	EXPECT_EQ(8u, sum.failures);
	EXPECT_EQ(2u, sum.nnew);
	EXPECT_EQ(4u, sum.fresh[0].count);
}

TEST_HARNESS_MAIN
