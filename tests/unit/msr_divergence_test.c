// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of divergence signatures and the baseline matcher
 * (lib/msr_divergence.h): signature composition, entry parsing (malformed
 * entries are errors), first-match with wildcards and conditions, the
 * tally that run_tests.sh reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "msr_divergence.h"
#include "msr_unit.h"

TEST(signature_names)
{
	const struct {
		const char *source;
		__u32 index;
		const char *op, *check;
		const char *want;
	} cases[] = {
		{ "matrix", 0x49, "wrmsr", "guest", "matrix.msr_ia32_pred_cmd.wrmsr.guest" },
		{ "matrix", 0x808, "wrmsr", "readback", "matrix.x2apic_msr_tpr.wrmsr.readback" },
		{ NULL, 0xc0000082, "wrmsr", "exit", "msr_lstar.wrmsr.exit" },
		{ "msr_filter", 0x4b564d05, "rdmsr", "exit",
		  "msr_filter.unlisted.rdmsr.exit" },	/* no msr-index.h name */
		{ "msrs_ioctl", 0x10a, "set", "count",
		  "msrs_ioctl.msr_ia32_arch_capabilities.set.count" },
	};
	char buf[MSR_SIG_LEN];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++)
		EXPECT_STREQ(cases[i].want, msr_div_sig(buf, sizeof(buf), cases[i].source,
							cases[i].index, cases[i].op,
							cases[i].check));
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
		{ "x.y.z.w cause=value_pat_type guest:+ibpb | r", true, 2 },
		{ "x.y.z.w cause=no_such_rule | r", false, 0 },
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
	"matrix.msr_ia32_*_cmd.wrmsr.* cause=access_invalid | PVM completes them",
	"msrs_ioctl.msr_ia32_pred_cmd.set.count host:-ibpb | no host IBPB",
	"matrix.x2apic_msr_tpr.wrmsr.readback vendor=amd kernel<6.14 | TPR nibble",
	"matrix.msr_tsc_aux.* guest:+rdtscp | with RDTSCP",
	"matrix.msr_tsc_aux.rdmsr.* | any other TSC_AUX read",
};

TEST(baseline_first_match_with_conditions)
{
	struct msr_div_case amd_612 = { MSR_VENDOR_AMD, MSR_FEAT_LM, MSR_FEAT_IBPB,
					MSR_KERNEL(6, 12), MSR_RULE_ACCESS_INVALID };
	struct msr_div_case amd_612_handled = { MSR_VENDOR_AMD, MSR_FEAT_LM, MSR_FEAT_IBPB,
						MSR_KERNEL(6, 12), MSR_RULE_ACCESS_HANDLED };
	struct msr_div_case intel_618 = { MSR_VENDOR_INTEL, MSR_FEAT_RDTSCP, 0,
					  MSR_KERNEL(6, 18), MSR_RULE_ACCESS_INVALID };
	const struct {
		const char *sig;
		const struct msr_div_case *c;
		int want;
	} cases[] = {
		{ "matrix.msr_ia32_pred_cmd.wrmsr.exit", &amd_612, 0 },
		{ "matrix.msr_ia32_flush_cmd.wrmsr.guest", &amd_612, 0 },
		{ "matrix.msr_ia32_pred_cmd.wrmsr.exit", &amd_612_handled, -1 },	/* cause */
		{ "msrs_ioctl.msr_ia32_pred_cmd.set.count", &amd_612, -1 },	/* host has it */
		{ "msrs_ioctl.msr_ia32_pred_cmd.set.count", &intel_618, 1 },
		{ "matrix.x2apic_msr_tpr.wrmsr.readback", &amd_612_handled, 2 },
		{ "matrix.x2apic_msr_tpr.wrmsr.readback", &intel_618, -1 },
		{ "matrix.msr_tsc_aux.rdmsr.exit", &intel_618, 3 },
		{ "matrix.msr_tsc_aux.rdmsr.exit", &amd_612, 4 },
		{ "matrix.msr_tsc_aux.wrmsr.exit", &amd_612, -1 },
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
	msr_div_check(&t, "matrix.a.rdmsr.exit", &c, false);
	msr_div_check(&t, "matrix.a.rdmsr.exit", &c, true);
	msr_div_check(&t, "matrix.a.rdmsr.exit", &c, true);
	msr_div_check(&t, "matrix.b.wrmsr.exit", &c, true);
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

/* A temporary directory with @name holding @text; returns the directory. */
static const char *tmp_file(char *dir, size_t len, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(dir, len, "/tmp/msr_divergence_test.XXXXXX");
	if (!mkdtemp(dir))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return dir;
}

static void tmp_remove(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	rmdir(dir);
}

/* What msr_div_tally_print() writes for @t as subtest @sub, in @buf. */
static bool tally_text(const struct msr_div_tally *t, const char *sub, char *buf, size_t len)
{
	FILE *out = fmemopen(buf, len - 1, "w");

	if (!out)
		return false;
	msr_div_tally_print(t, sub, out);
	fclose(out);
	return true;
}

/* The backend's file from $MSR_BASELINE, entries named <file>:<line>. */
TEST(baseline_loaded_for_the_backend)
{
	const struct msr_baseline *b;
	char dir[64];

	/* No /sys/module/kvm*: backend "none", as scripts/backend.sh says. */
	setenv("SYSFS_MODULE", "/nonexistent", 1);
	ASSERT_STREQ("none", msr_backend_name());
	ASSERT_TRUE(tmp_file(dir, sizeof(dir), "none.txt",
			     "# known divergences\n\nmatrix.a.rdmsr.exits.* | first | e\n"
			     "msr_exit.b.wrmsr.exit kernel>=6.13 | second | e\n") != NULL);
	setenv("MSR_BASELINE", dir, 1);
	b = msr_baseline_get();
	ASSERT_EQ(2u, b->n);
	EXPECT_STREQ("none.txt:3", b->e[0].where);
	EXPECT_STREQ("none.txt:4", b->e[1].where);
	EXPECT_STREQ("second", b->e[1].reason);
	EXPECT_TRUE(strstr(b->files, "none.txt") != NULL);
	tmp_remove(dir, "none.txt");
}

/* A malformed file: parsing stops at the bad line and says where. */
TEST(baseline_file_malformed)
{
	static struct msr_baseline b;
	char dir[64], path[128];

	ASSERT_TRUE(tmp_file(dir, sizeof(dir), "x.txt", "a.b.c.d | ok\na.b.c.d guest:+nothing | bad\n") != NULL);
	snprintf(path, sizeof(path), "%s/x.txt", dir);
	EXPECT_FALSE(msr_baseline_parse_file(&b, path));
	EXPECT_TRUE(strstr(b.error, "x.txt:2") != NULL) TH_LOG("%s", b.error);
	EXPECT_TRUE(msr_baseline_parse_file(&b, "/nonexistent/x.txt"));	/* no file: no entries */
	tmp_remove(dir, "x.txt");
}

/* msr_div_expect(): counted either way, reported with the signature when it fails. */
TEST(expect_reports_and_prints)
{
	static struct msr_div_tally t;
	struct msr_div_case c = { MSR_VENDOR_INTEL, MSR_FEAT_LM | MSR_FEAT_IBPB, MSR_FEAT_IBPB,
				  MSR_KERNEL(6, 18) };
	char buf[4096] = "";

	setenv("MSR_BASELINE", "", 1);
	EXPECT_TRUE(msr_div_expect(&t, &c, true, "msrs", 0x49, "set", "count", "never printed"));
	EXPECT_FALSE(msr_div_expect(&t, &c, false, "msrs", 0x49, "set", "count", "x %d", 1));
	EXPECT_FALSE(msr_div_expect_sig(&t, &c, false, "cap.none.enable_cap.errno", "y"));
	msr_div_check_n(&t, "swap.a.rdmsr.explained", &c, 10, 0);
	EXPECT_EQ(2u, t.failures);
	EXPECT_EQ(2u, t.nnew);
	ASSERT_TRUE(tally_text(&t, "global.t", buf, sizeof(buf)));
	EXPECT_TRUE(strstr(buf, "# DIVERGENCE-TALLY global.t failures=2 unmatched=2\n") != NULL)
		TH_LOG("%s", buf);
	EXPECT_TRUE(strstr(buf, "# DIVERGENCE-NEW global.t msrs.msr_ia32_pred_cmd.set.count "
			   "guest:+lm,-nx,-svm,-fxsr_opt,-auto_ibrs,-rdtscp,-rdpid,-arch_capabilities,"
			   "+ibpb,-sbpb,-flush_l1d cases=1") != NULL) TH_LOG("%s", buf);
}

/* Checks an entry covers: counted for it, passing or failing, and printed as KNOWN. */
TEST(tally_known_entry)
{
	static struct msr_div_tally t;
	struct msr_vcpu_model m;
	struct msr_div_case c;
	char dir[64], buf[4096] = "";

	msr_vcpu_model_init(&m, MSR_VENDOR_AMD);
	m.kernel = MSR_KERNEL(6, 13);
	msr_div_case_of(&c, &m);
	setenv("SYSFS_MODULE", "/nonexistent", 1);
	ASSERT_TRUE(tmp_file(dir, sizeof(dir), "none.txt", "msrs.* kernel>=6.13 vendor=amd | known | e\n") != NULL);
	setenv("MSR_BASELINE", dir, 1);
	EXPECT_EQ(0, msr_div_check(&t, "msrs.a.get.count", &c, false));
	EXPECT_EQ(0, msr_div_check(&t, "msrs.a.get.count", &c, true));
	EXPECT_EQ(0, msr_div_check_n(&t, "msrs.b.set.count", &c, 5, 2));
	EXPECT_EQ(-1, msr_div_check(&t, "matrix.a.rdmsr.exits.x", &c, false));
	EXPECT_EQ(7u, t.checked[0]);
	EXPECT_EQ(3u, t.failed[0]);
	EXPECT_EQ(3u, t.failures);
	EXPECT_EQ(0u, t.unmatched);
	ASSERT_TRUE(tally_text(&t, "global.k", buf, sizeof(buf)));
	EXPECT_TRUE(strstr(buf, "# DIVERGENCE-KNOWN global.k none.txt:1 checked=7 failed=3\n") != NULL)
		TH_LOG("%s", buf);
	tmp_remove(dir, "none.txt");
}

/* Feature names are /proc/cpuinfo's, in MSR_FEAT_* order. */
TEST(feature_names)
{
	char buf[160];
	unsigned int i;

	for (i = 0; i < MSR_FEAT_COUNT; i++)
		EXPECT_EQ(1u << i, msr_feature_by_name(msr_feature_name(i)));
	EXPECT_TRUE(msr_feature_name(MSR_FEAT_COUNT) == NULL);
	EXPECT_EQ(0u, msr_feature_by_name("sse"));
	msr_features_str(buf, sizeof(buf), MSR_FEAT_IBPB, MSR_FEAT_IBPB | MSR_FEAT_SBPB);
	EXPECT_STREQ("+ibpb,-sbpb", buf);
	msr_feature_names(buf, sizeof(buf), MSR_FEAT_SVM | MSR_FEAT_FLUSH_L1D);
	EXPECT_STREQ("svm,flush_l1d", buf);
	msr_features_str(buf, 4, MSR_FEAT_IBPB, ~0u);	/* truncated, never past the buffer */
	EXPECT_STREQ("-lm", buf);
	EXPECT_STREQ(".", msr_dir_next_to_exe("no-such-dir", "."));
}

TEST_HARNESS_MAIN
