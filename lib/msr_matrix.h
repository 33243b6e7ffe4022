/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The filter x exit-reason conformance matrix: guest RDMSR/WRMSR cases run
 * through the guest interpreter (guest_code/msr_guest.h), every observable
 * compared with the reference model (lib/msr_model.h) fed with catalog
 * facts and facts probed from this vCPU.
 *
 * A case is one guest instruction in one setting:
 *   filter state  never_set, allow_empty, allow_ranges, deny_ranges;
 *   layout        which ranges cover the test MSRs (READ / WRITE /
 *                 READ|WRITE ranges whose bitmaps allow and deny, MSRs no
 *                 range covers, overlapping ranges); one per filter state
 *                 without ranges;
 *   exit mask     the 8 subsets of INVAL | UNKNOWN | FILTER;
 *   MSR, access   a catalog MSR, RDMSR or WRMSR of a value (valid, with a
 *                 reserved bit, non-canonical, bad PAT type);
 *   response      what userspace answers if the access exits: data (a
 *                 distinctive value), error 1, error 0xff;
 *   path          native or forced emulation;
 *   APIC mode     xAPIC; x2APIC too for the x2APIC MSRs.
 * Where the model predicts an exit, each response is a case of its own;
 * where it predicts none, the response is never read and one case (with a
 * rotating response, should KVM exit after all) is run.
 *
 * Per case the matrix runs every check of the case engine (lib/msr_case.h:
 * the exits, their fields, the guest's value or #GP vector and that the
 * instruction retired, before and after the answer); after every program,
 * the MSRs written in it read back through KVM_GET_MSRS as the model says
 * (a value stored, or unchanged).
 *
 * Guest CPUID: every group runs on a VM whose guest CPUID is in state
 * absent (msr_guest_cpuid_set()), then, for the MSRs whose facts the CPUID
 * changes (msr_catalog_facts() differs), on one in state present, so a
 * case lands in the class the model gives it in that state (PRED_CMD with
 * IBPB: valid and reserved_bits; without: refused).
 *
 * Every failing check is named by its divergence signature
 * (lib/msr_case.h: matrix.<msr>.<op>.<check>) and every
 * check, failing or not, is counted against the baseline entry that covers
 * it; a group ends with the DIVERGENCE-* lines scripts/run_tests.sh reads.
 *
 * Cases are grouped by filter state x class (what the model says decides
 * the access: valid, unknown, reserved_bits, pat_type, non_canonical,
 * refused; the x2APIC MSRs in xAPIC and x2APIC mode) x path.  A group's
 * layouts (or masks) are shared out between worker processes, one VM each
 * (two cores: two processes; each keeps its own KVM_RUN bound).  Filters are never
 * installed on a VM less than MSR_INSTALL_GAP_NS after its previous install
 * finished (KVM_X86_SET_MSR_FILTER then waits for a normal SRCU grace
 * period, milliseconds, instead of an expedited one).
 */
#ifndef KVM_MSR_SUITE_MSR_MATRIX_H
#define KVM_MSR_SUITE_MSR_MATRIX_H

#include <stdio.h>

#include "msr_case.h"
#include "msr_values.h"
#include "msr_filter_specs.h"

enum mx_filter_state {
	MX_NEVER_SET,		/* KVM_X86_SET_MSR_FILTER never called */
	MX_ALLOW_EMPTY,		/* DEFAULT_ALLOW, no ranges: filtering off */
	MX_ALLOW_RANGES,	/* DEFAULT_ALLOW with ranges */
	MX_DENY_RANGES,		/* DEFAULT_DENY with ranges */
	MX_FILTER_STATES
};

enum mx_class {
	MX_CLASS_VALID,		/* KVM handles the access (or drops the write) */
	MX_CLASS_UNKNOWN,	/* no handler: KVM_MSR_RET_UNSUPPORTED */
	MX_CLASS_RESERVED_BITS,	/* WRMSR value with reserved bits */
	MX_CLASS_PAT_TYPE,	/* WRMSR of PAT with a reserved memory type */
	MX_CLASS_NON_CANONICAL,	/* WRMSR of a non-canonical address */
	MX_CLASS_REFUSED,	/* the handler refuses: read-only MSR, or the
				 * guest CPUID lacks the feature */
	MX_CLASS_X2APIC_OFF,	/* 0x800..0x8ff, APIC in xAPIC mode */
	MX_CLASS_X2APIC_ON,	/* 0x800..0x8ff, APIC in x2APIC mode */
	MX_CLASSES
};

enum mx_response {
	MX_RESPOND_DATA,	/* error 0, data = the case's value */
	MX_RESPOND_ERROR_1,
	MX_RESPOND_ERROR_FF,
	MX_RESPONSES
};

#define MX_MASKS		8	/* subsets of INVAL | UNKNOWN | FILTER */
#define MX_MAX_PRINTED		40	/* failing cases printed in full per group */
#define MX_WORKERS		2	/* processes per group */

const char *mx_filter_state_name(enum mx_filter_state s);
/* "none", "inval", "unknown_filter", ... (the reason bits in that order). */
const char *mx_mask_name(__u64 mask);

struct mx_stats {
	uint64_t cases;		/* guest instructions checked */
	uint64_t exits;		/* KVM_EXIT_X86_RDMSR/WRMSR handled */
	uint64_t installs;	/* KVM_X86_SET_MSR_FILTER calls */
	uint64_t install_waits;	/* installs delayed for MSR_INSTALL_GAP_NS */
	uint64_t runs;		/* guest programs */
	uint64_t groups;
	uint64_t cpuid_cases[MSR_CPUID_STATES];	/* cases per guest CPUID state */
};

/* What one process found; the processes of a group add theirs up. */
struct mx_result {
	struct mx_stats st;
	uint64_t failures;		/* failing checks, including ioctl ones */
	unsigned int printed;		/* failing checks seen (printed up to the limit) */
	unsigned int fail_count[MSR_CATALOG_SIZE][2][MSR_CHECKS];
	unsigned int print_limit;	/* 0: MX_MAX_PRINTED */
	bool silent;			/* count failing checks, print none */
	struct msr_div_tally tally;	/* every check against the baseline */
	bool known_printed[MSR_BASELINE_MAX];	/* one example per entry, per process */
};

/* Every failing check of @r counted by MSR, access and check (none: nothing). */
void mx_print_failure_summary(const struct mx_result *r, const char *group);

/* Cases per guest CPUID state (what the present state could not set, too). */
void mx_print_cpuid_cases(const struct mx_result *r, const char *group);

#define MX_CLASS_BIT(c)	(1u << (c))
#define MX_ALL_CLASSES	(MX_CLASS_BIT(MX_CLASSES) - 1)
#define MX_X2APIC_CLASSES (MX_CLASS_BIT(MX_CLASS_X2APIC_OFF) | MX_CLASS_BIT(MX_CLASS_X2APIC_ON))

/* One test: a filter state and a set of classes on one path. */
struct mx_group {
	enum mx_filter_state state;
	unsigned int classes;	/* MX_CLASS_BIT()s */
	enum msr_path path;
	const char *name;	/* fixture.variant.test, for the rerun command */
	/*
	 * Instead of the classes: the side-effect instructions
	 * (msr_model_side_effect()) under the side-effect layouts
	 * (msr_side_effect_filter_specs[]), in the same programs RDMSR and
	 * WRMSR of the catalog MSRs they read, in the guest CPUID state
	 * present only (RDTSCP, RDPID).
	 */
	bool side_effect;
};

/*
 * Worker @w of @n: its share of the group's cases on @vm (in the present
 * CPUID state: only the MSRs whose facts that state changes) (which must never
 * have had a filter for MX_NEVER_SET), each failing case printed (up to
 * the result's print limit) and counted in @res.
 */
void mx_run_share(struct msr_vm *vm, const struct mx_group *grp, unsigned int w,
		  unsigned int n, struct mx_result *res);

/*
 * The whole group on @n processes (this one and @n - 1 forked workers),
 * each on a VM of its own; prints the failures (the first MX_MAX_PRINTED,
 * or as many as MSR_MATRIX_PRINT=<n>|all says), a failure summary and one
 * line with the counts; adds to @res.  Returns the group's failures.
 */
uint64_t mx_run_group(const struct mx_group *grp, unsigned int n, struct mx_result *res);

/* Runs @fn(@w, @n, @arg) in @n processes (w = 0 here); merges their results. */
typedef void (*mx_worker_fn)(unsigned int w, unsigned int n, void *arg, struct mx_result *res);
void mx_run_workers(mx_worker_fn fn, void *arg, unsigned int n, struct mx_result *res);

/*
 * A session: the model's view of one VM (filter, exit mask, MSR values)
 * kept next to KVM's, and a program of cases being built.  The groups use
 * it, and so do tests that change the filter or the mask at run time.
 */
struct mx_session;

struct mx_session *mx_session_new(struct msr_vm *vm, const char *group_name,
				  struct mx_result *res);
/* Runs what is pending, frees; returns the failures of the session. */
uint64_t mx_session_end(struct mx_session *s);

/* The filter state printed with the cases added from now on. */
void mx_session_set_state(struct mx_session *s, enum mx_filter_state state);
/*
 * The <source> of the session's signatures from now on ("matrix"): a test
 * whose cases differ from the groups' only in when the setting changed
 * names them apart, so a baseline entry can cover just those.
 */
void mx_session_set_source(struct mx_session *s, const char *source);

/*
 * KVM_X86_SET_MSR_FILTER with @flags and @layout's ranges (NULL: none),
 * spaced from the previous install; KVM's result must be the model's
 * (msr_model_filter_install()); on success the model's filter state
 * follows.  Pending cases run first.  Returns the ioctl's errno (0: ok).
 */
int mx_set_filter(struct mx_session *s, __u32 flags, const struct msr_filter_spec *layout);
/*
 * KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) with @mask; KVM's result must
 * be the model's (msr_model_cap_user_space_msr()); on success the model's
 * mask follows.  Pending cases run first.  Returns the ioctl's errno.
 */
int mx_set_mask(struct mx_session *s, __u64 mask);

/*
 * The same, but done by the exit handler when the case added last exits
 * (the change lands between two instructions of one guest program); the
 * cases added afterwards are predicted with the new setting.
 */
void mx_set_mask_at_exit(struct mx_session *s, __u64 mask);
void mx_set_filter_at_exit(struct mx_session *s, __u32 flags, const struct msr_filter_spec *layout);

/* x2APIC (true) or xAPIC mode through KVM_SET_MSRS(APIC_BASE). */
void mx_set_x2apic(struct mx_session *s, bool on);

/*
 * Add the cases of one guest access (a WRMSR of a value of @kind; @kind
 * is not used for RDMSR): one per response where the model predicts an
 * exit, else one.  @index must be a catalog MSR.  Returns the number of
 * cases added (0: @kind does not apply to the MSR).
 */
unsigned int mx_add_access(struct mx_session *s, __u32 index, enum msr_access access,
			   enum msr_value_kind kind, enum msr_path path);
/*
 * Add side-effect instruction @insn (one case; 0 if the model says KVM
 * cannot complete it here, MSR_RULE_SIDE_EFFECT_NOT_EMULATED).  The
 * session's side-effect values must be loaded (mx_load_side_effect()).
 */
unsigned int mx_add_insn(struct mx_session *s, enum msr_insn insn, enum msr_path path);
/* Load the side-effect values into the VM; the model's MSR values follow. */
void mx_load_side_effect(struct mx_session *s);

/*
 * On the L2 path, what L1's map does with the accesses added from now on:
 * rotate (each (MSR, access) intercepted under a quarter of the exit
 * masks, passed through under the rest), or all passed through, or all
 * intercepted.  A WRMSR of EFER is always intercepted: passed through it
 * would change L2's EFER (SVME: svm_set_efer() leaves nested mode).
 */
enum mx_l1_policy {
	MX_L1_ROTATE,
	MX_L1_PASS,
	MX_L1_INTERCEPT,
};
void mx_set_l1_policy(struct mx_session *s, enum mx_l1_policy p);
/* Run the program built so far and check it. */
void mx_flush(struct mx_session *s);

/* The built-in layouts, for dynamic tests. */
const struct msr_filter_spec *mx_layout_by_name(const char *name);
/*
 * The slots (bits) of @layout that are the first match of some catalog MSR
 * for RDMSR or WRMSR, as the model looks them up with @flags.
 */
unsigned int mx_layout_deciding_slots(const struct msr_filter_spec *layout, __u32 flags);

#endif
