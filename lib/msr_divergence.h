/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Divergences: one name for every failing check, and the baseline of known
 * ones that the matrix, the ioctl tests and the fuzz targets all match.
 *
 * Signature.  A failing check is named
 *
 *	<source>.<msr>.<op>.<check>
 *
 * source  who checked: "matrix", or the fuzz target (msr_filter, msr_exit,
 *         msrs_ioctl), or the test's own short name;
 * msr     the MSR's catalog name (else msr-index.h's) in lower case,
 *         "unlisted" without a name, "none" for checks of no MSR;
 * op      rdmsr, wrmsr, get, set, filter, cap, list, ...;
 * check   what differed: for guest accesses the checks of lib/msr_case.h
 *         (exit, exit_fields, guest, completion, previous, run,
 *         readback), the same in the matrix and in every fuzz target;
 *         else the test's own (count, errno, ...).
 *
 * e.g. matrix.msr_ia32_pred_cmd.wrmsr.guest.  How the model classified the
 * access (its cause) is a property of the case, not of the name: one
 * signature can fail for different causes, and a baseline entry can
 * require one.
 *
 * Baseline.  tests/baseline/<backend>.txt lists the known divergences of
 * one KVM backend (the module behind /dev/kvm), one per line:
 *
 *	<pattern> [<condition> ...] | <what the backend does> | <evidence>
 *
 * pattern   a signature, with shell wildcards (fnmatch(3): * ? [...]);
 * condition all must hold for the case (a case is the setting a check ran
 *           in): vendor=amd|intel (the model's vendor); guest:+FEATURE /
 *           guest:-FEATURE (the guest CPUID the suite set has / lacks it);
 *           host:+FEATURE / host:-FEATURE (/proc/cpuinfo); kernel>=X.Y,
 *           kernel<X.Y (the running kernel); cause=RULE (how the model
 *           classified the guest access: its msr_rule in lower case,
 *           access_invalid, value_reserved_bits, ...).  FEATURE is a
 *           msr_feature_name(): ibpb, sbpb, flush_l1d, arch_capabilities,
 *           rdtscp, rdpid, svm, fxsr_opt, auto_ibrs, lm, nx.
 * '#' starts a comment.  The first matching entry covers the check.
 *
 * Tally.  Every check of a case is counted against the entry that covers
 * it (msr_div_check()), passing or not, so that at the end of a subtest
 * msr_div_tally_print() can say, per entry, how many covered checks ran and
 * how many failed, and which failing checks no entry covers.  Those lines
 * are what scripts/run_tests.sh reads:
 *
 *	# DIVERGENCE-TALLY <subtest> failures=<n> unmatched=<n>
 *	# DIVERGENCE-KNOWN <subtest> <file>:<line> checked=<n> failed=<n>
 *	# DIVERGENCE-NEW <subtest> <signature> <case> cases=<n>
 *
 * The baseline is read from $MSR_BASELINE (a directory; empty: none), else
 * from baseline/ next to the executable (an installed suite), else from the
 * source tree's tests/baseline.
 */
#ifndef KVM_MSR_SUITE_MSR_DIVERGENCE_H
#define KVM_MSR_SUITE_MSR_DIVERGENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "msr_catalog.h"

#define MSR_SIG_LEN		128
#define MSR_BASELINE_MAX	96	/* entries of one backend */
#define MSR_DIV_NEW_MAX		16	/* distinct unmatched signatures kept */
#define MSR_DIV_CASE_LEN	160

/* The setting a check ran in, as the baseline's conditions see it. */
struct msr_div_case {
	enum msr_vendor vendor;
	__u32 guest_features;		/* MSR_FEAT_* of the guest CPUID */
	__u32 host_features;		/* MSR_FEAT_* of the host CPU */
	__u32 kernel;			/* MSR_KERNEL() of the running kernel */
	enum msr_rule cause;		/* the guest access's cause (MSR_RULE_NONE: none) */
};

void msr_div_case_of(struct msr_div_case *c, const struct msr_vcpu_model *m);

/*
 * The signature, composed as above; @source NULL leaves it out (the fuzz
 * runtime prefixes the target).  Returns @buf.
 */
const char *msr_div_sig(char *buf, size_t len, const char *source, __u32 index,
			const char *op, const char *check);

/* @rule's name in lower case, as signatures and cause= conditions spell it. */
const char *msr_div_rule_slug(char *buf, size_t len, enum msr_rule rule);

/* --- the baseline ------------------------------------------------------------ */

struct msr_baseline_entry {
	char where[96];			/* <file>:<line> */
	char pattern[MSR_SIG_LEN];
	char reason[320];
	unsigned int nconds;
	struct msr_baseline_cond {
		enum { MSR_COND_VENDOR, MSR_COND_GUEST, MSR_COND_HOST,
		       MSR_COND_KERNEL_MIN, MSR_COND_KERNEL_BELOW, MSR_COND_CAUSE } kind;
		bool present;		/* GUEST/HOST: +FEATURE */
		__u32 value;		/* vendor, feature bit, MSR_KERNEL() or rule */
	} conds[8];
};

struct msr_baseline {
	unsigned int n;
	struct msr_baseline_entry e[MSR_BASELINE_MAX];
	char files[256];		/* what was read, for the log */
	char error[256];		/* a malformed line: what and where */
};

/*
 * Parse one baseline file into @b (appends).  A malformed entry is an
 * error (false, b->error says where): a typo must not silently cover
 * nothing.  A missing file is no error.
 */
bool msr_baseline_parse_file(struct msr_baseline *b, const char *path);
/* One entry line (as in a file); for the unit tests. */
bool msr_baseline_parse_line(struct msr_baseline *b, const char *line, const char *where);
/* The first entry that covers @sig in @c, or -1. */
int msr_baseline_match(const struct msr_baseline *b, const char *sig,
		       const struct msr_div_case *c);

/*
 * This process's baseline, loaded once (see above for where from): the
 * backend's file.  A malformed file is reported on stderr and exits with
 * status 2 (it is the suite's own input).
 */
const struct msr_baseline *msr_baseline_get(void);

/*
 * The KVM backend, as scripts/backend.sh says: the vendor module behind
 * /dev/kvm (kvm_pvm, kvm_amd, kvm_intel), "unknown" with kvm but none of
 * those, "none" without kvm; $SYSFS_MODULE replaces /sys/module.
 */
const char *msr_backend_name(void);

/*
 * DIR/@name if the executable's directory DIR has such a directory (an
 * installed suite keeps its data there), else @fallback (the source tree's).
 */
const char *msr_dir_next_to_exe(const char *name, const char *fallback);

/* --- the tally ----------------------------------------------------------------- */

struct msr_div_tally {
	unsigned int failures;		/* failing checks */
	unsigned int unmatched;		/* ... that no entry covers */
	unsigned int checked[MSR_BASELINE_MAX];
	unsigned int failed[MSR_BASELINE_MAX];
	unsigned int nnew;
	struct {
		char sig[MSR_SIG_LEN];
		char casestr[MSR_DIV_CASE_LEN];
		unsigned int count;
	} fresh[MSR_DIV_NEW_MAX];
};

/*
 * Count one check of signature @sig run in @c; returns the covering entry
 * (or -1).  Cached: the matrix calls it for every check of every case.
 */
int msr_div_check(struct msr_div_tally *t, const char *sig, const struct msr_div_case *c,
		  bool failed);
/*
 * One check of a test: counted as msr_div_check() does, for the signature
 * <source>.<msr @index>.<op>.<check>; a failing one prints "# <message>"
 * and its signature (and whether the baseline covers it) on stderr.
 * Returns @ok.
 */
bool msr_div_expect(struct msr_div_tally *t, const struct msr_div_case *c, bool ok,
		    const char *source, __u32 index, const char *op, const char *check,
		    const char *fmt, ...) __attribute__((format(printf, 8, 9)));
/* The same for a signature composed by the caller ("<source>.none.filter.errno"). */
bool msr_div_expect_sig(struct msr_div_tally *t, const struct msr_div_case *c, bool ok,
			const char *sig, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * The line a failing check prints under its expected-vs-actual block:
 * "signature: <sig>: known divergence (<file>:<line>): <reason>" when entry
 * @id covers it, else "signature: <sig> (no baseline entry covers it)".
 */
int msr_div_note(char *buf, size_t len, const char *sig, int id);

/* @checked checks of one signature at once, @failed of them failing. */
int msr_div_check_n(struct msr_div_tally *t, const char *sig, const struct msr_div_case *c,
		    unsigned int checked, unsigned int failed);
/* A failure that no signature names (a harness-level check): unmatched. */
void msr_div_fail_unnamed(struct msr_div_tally *t);
void msr_div_tally_add(struct msr_div_tally *to, const struct msr_div_tally *from);
/* The DIVERGENCE-* lines for @subtest, one write. */
void msr_div_tally_print(const struct msr_div_tally *t, const char *subtest, FILE *out);

#endif
