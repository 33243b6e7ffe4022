/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The case engine: one guest RDMSR/WRMSR in a setting, what the model
 * predicts for it, the run that answers its exits, the comparison of every
 * observable, and the report.  The matrix (lib/msr_matrix.c) and the fuzz
 * targets msr_exit and msr_filter are tables or decoders around it; this
 * file is their only oracle.
 *
 * Vocabulary:
 *   setting  what the model says is in force: the filter (as the model's
 *            state), the exit mask, the vCPU model (vendor, guest CPUID,
 *            APIC mode, kernel), whether the last KVM_X86_SET_MSR_FILTER
 *            was refused;
 *   access   RDMSR or WRMSR of an index and a value, on a path (native, or
 *            the forced emulation prefix);
 *   answer   what userspace writes into kvm_run->msr if the access exits:
 *            error, data, scribbles on the fields KVM must not read back,
 *            and how KVM_RUN is re-entered (plainly, or first a KVM_RUN cut
 *            short by immediate_exit or a pending signal);
 *   case     an access and its answer, the model's prediction and what
 *            KVM did.
 *
 * Steps: msr_case_predict() per case, msr_case_run() for a batch of cases
 * as one guest program, msr_case_check() per case, then msr_case_sig() and
 * msr_case_describe() for the failing checks.  The read-back of the MSRs a
 * program wrote is msr_case_readback().  None of them allocates, copies a
 * filter state or formats text on the passing path: the fuzz targets call
 * them for every input.
 *
 * Checks (the <check> of a signature <source>.<msr>.<op>.<check>,
 * lib/msr_divergence.h):
 *   exit         how many exits KVM_RUN returned for the instruction (none
 *                or exactly one, as predicted);
 *   exit_fields  the exit's exit_reason, msr.reason, msr.index, msr.data,
 *                msr.error 0 and msr.pad zeroed;
 *   guest        the guest's EDX:EAX or #GP vector, and that it retired,
 *                for an instruction the model completes without an exit;
 *   completion   the same after userspace's answer to an exit, and the
 *                re-entry KVM_RUN (-1/EINTR before the guest runs);
 *   previous     exit or exit_fields, where the last filter install was
 *                refused and KVM's filter decision (a FILTER exit or not)
 *                is not the one in force: the refused call changed it;
 *   run          KVM_RUN failed or ended otherwise than with MSR exits
 *                and the program's end;
 *   readback     KVM_GET_MSRS after the program of an MSR it wrote;
 *   l1           on the L2 path: the #VMEXIT L1 recorded for the
 *                instruction (exit code, EXITINFO1, ECX, EDX:EAX of a
 *                WRMSR), or that it took none, as the model predicts.
 * The model's cause (how KVM classifies the access) is not part of the
 * signature: it is a property of the case, which baseline entries can
 * require (cause=...).
 */
#ifndef KVM_MSR_SUITE_MSR_CASE_H
#define KVM_MSR_SUITE_MSR_CASE_H

#include <stdint.h>

#include "msr_catalog.h"
#include "msr_divergence.h"
#include "msr_guest.h"
#include "msr_l1.h"
#include "msr_host.h"
#include "msr_model.h"

enum msr_path {
	MSR_PATH_NATIVE,
	MSR_PATH_FORCED_EMULATION,	/* emulate.c: never the hardware MSR bitmaps */
	MSR_PATH_L2,			/* L2 under the suite's L1 (guest_code/msr_l1.h) */
	MSR_PATHS
};

/* What the model knows of the index (the values are fuzz feedback). */
enum msr_case_kind {
	MSR_CASE_CATALOG,	/* catalog facts: everything predicted */
	MSR_CASE_X2APIC,	/* 0x800..0x8ff outside the catalog, xAPIC mode: predicted */
	MSR_CASE_RAW,		/* KVM's handler unknown: see msr_case_predict() */
};

enum msr_reentry {
	MSR_REENTRY_PLAIN,
	MSR_REENTRY_IMMEDIATE_EXIT,	/* a KVM_RUN with immediate_exit = 1 first */
	MSR_REENTRY_SIGNAL,		/* a KVM_RUN with a pending signal first */
	MSR_REENTRIES
};

struct msr_case_answer {
	__u8 error;
	__u64 data;
	__u32 index_xor;	/* msr.index ^= index_xor */
	bool scribble_reason;	/* msr.reason = reason */
	__u32 reason;
	bool scribble_pad;	/* every msr.pad byte = pad */
	__u8 pad;
	enum msr_reentry reentry;
};

struct msr_case_setting {
	const struct msr_model_filter_state *filter;
	__u64 mask;
	const struct msr_vcpu_model *model;
	bool install_refused;	/* the last KVM_X86_SET_MSR_FILTER failed */
	/* what the host set for side-effect instructions (NULL: none run) */
	const struct msr_side_effect_state *se;
};

enum msr_check {
	MSR_CHECK_RUN,
	MSR_CHECK_EXIT,
	MSR_CHECK_PREVIOUS,
	MSR_CHECK_EXIT_FIELDS,
	MSR_CHECK_COMPLETION,
	MSR_CHECK_GUEST,
	MSR_CHECK_READBACK,
	MSR_CHECK_L1,
	MSR_CHECKS		/* in this order: the first failing one is reported first */
};

#define MSR_CHECK_BIT(k)	(1u << (k))

const char *msr_check_name(enum msr_check k);		/* "exit_fields" */
const char *msr_check_title(enum msr_check k);		/* "exit fields" */
const char *msr_path_name(enum msr_path p);		/* "native" */
const char *msr_reentry_name(enum msr_reentry r);	/* "immediate_exit" */

enum msr_run_end {
	MSR_RUN_OK,
	MSR_RUN_FAILED,		/* KVM_RUN returned an error */
	MSR_RUN_EXIT_STORM,	/* more MSR exits than 2 per case + 4 */
	MSR_RUN_OTHER_EXIT,	/* neither an MSR exit nor the program's end */
	MSR_RUN_INCOMPLETE,	/* the program's end before every case ran */
	MSR_RUN_REENTRY,	/* the re-entry KVM_RUN failed otherwise than EINTR */
	MSR_RUN_ENDS
};

/*
 * How KVM_RUN left kvm_run when a program's run ended abnormally (what
 * msr_case_describe() and msr_case_run_clean() say of it).
 */
struct msr_run_stop {
	int err;		/* KVM_RUN's errno (MSR_RUN_FAILED, MSR_RUN_REENTRY) */
	__u32 exit_reason;	/* KVM_EXIT_* */
	__u32 suberror;		/* KVM_EXIT_INTERNAL_ERROR: internal.suberror */
	__u32 ndata;		/* ... internal.ndata */
	__u64 data[4];		/* ... the first of internal.data[] */
};

struct msr_case {
	/* the access: set by the caller */
	__u32 index;
	enum msr_access access;		/* RDMSR after a demotion */
	__u64 value;
	enum msr_path path;
	struct msr_case_answer answer;
	int entry;			/* catalog position, -1: not in the catalog */
	/*
	 * The instruction: MSR_INSN_ACCESS (0, the default) is the RDMSR or
	 * WRMSR of @access; any other reads the MSRs as a side effect
	 * (msr_model_side_effect()), and @index is msr_insn_msr()'s.
	 */
	enum msr_insn insn;
	bool l1_intercept;		/* MSR_PATH_L2: L1's map intercepts the access */
	/* the prediction: msr_case_predict() */
	enum msr_case_kind kind;
	bool full;			/* the whole outcome predicted (else the filter's part) */
	bool demoted;			/* a WRMSR turned into RDMSR (see msr_case_predict()) */
	bool l1_exit;			/* MSR_PATH_L2: L1 gets the #VMEXIT */
	struct guest_msr_l1_rec l1_want;	/* ... and records this (else all zero) */
	struct msr_filter_verdict fv;
	struct msr_outcome first;	/* KVM's handling of the instruction */
	struct msr_outcome final;	/* after the answer, if it exits */
	struct msr_side_effect_verdict se;	/* insn: what the rule says */
	/* what KVM did: msr_case_run() */
	unsigned int exits;
	__u32 exit_reason;		/* of the first exit */
	struct msr_exit_fields seen;	/* kvm_run->msr at the first exit, as KVM wrote it */
	bool ran;			/* the run got to it (else: not checked) */
	enum msr_run_end stop;		/* the run ended abnormally at it: check "run" */
	struct msr_run_stop stop_exit;	/* ... how */
	bool reentry_failed;		/* the re-entry KVM_RUN did not return -1/EINTR unrun */
	int reentry_rc, reentry_errno;
	__u8 reentry_vector;		/* the guest's record right after it */
	struct guest_msr_result r;	/* the guest's record */
	__u64 tsc_before, tsc_after;	/* insn reading the TSC: KVM_GET_MSRS around the program */
	struct guest_msr_l1_rec l1;	/* MSR_PATH_L2: L1's record */
};

/*
 * The model's prediction for @c (index, access, value, path, answer and
 * entry set) in @s.  @f: the facts of a catalog MSR (msr_case_facts(),
 * or the caller's), ignored for other indices.  Indices outside the
 * catalog: in 0x800..0x8ff in xAPIC mode, lapic.c fails every access
 * (INVAL); anything else has a handler the model does not know, so only
 * the filter's part is predicted (c->full false), and a WRMSR the filter
 * allows is demoted to RDMSR: never a write KVM may handle unmodelled.
 * The forced emulation path never uses the hardware MSR bitmaps
 * (emulate.c em_rdmsr()/em_wrmsr() through kvm_emulator_{get,set}_msr_with_filter()).
 * A side-effect instruction (c->insn) is predicted by msr_model_side_effect()
 * from @s->se: the filter and the exit mask play no part.
 * On the L2 path L1 gets the access if its map intercepts it
 * (c->l1_intercept) or has no bit for it (msr_model_nested_l1_exit());
 * else L0 decides as for L1 with the merged map's pass-through
 * (msr_model_nested_passthrough()).
 */
void msr_case_predict(const struct msr_case_setting *s, struct msr_case *c,
		      const struct msr_facts *f);

/*
 * Facts of catalog entry @entry on @path with the model's current values
 * @cur (bit i of @readable: cur[i] is KVM's value of entry i, else probed).
 */
void msr_case_facts(const struct msr_catalog *cat, const struct msr_vcpu_model *m,
		    const __u64 *cur, __u32 readable, unsigned int entry, enum msr_path path,
		    struct msr_facts *f);

/* --- running ------------------------------------------------------------------ */

struct msr_case_run;
typedef void (*msr_case_exit_fn)(struct msr_case_run *b, unsigned int i, struct kvm_run *run);

struct msr_case_run {
	struct guest_msr_vcpu *g;
	struct msr_case *c;
	unsigned int n;
	int (*vcpu_run)(struct kvm_vcpu *vcpu);		/* bounded, retried on its own EINTR */
	int (*vcpu_run_once)(struct kvm_vcpu *vcpu);	/* bounded, EINTR returned (re-entry) */
	/* called for every exit of a case after its answer is written (may be NULL) */
	msr_case_exit_fn on_exit;
	void *ctx;
	/* the outcome */
	enum msr_run_end end;
	unsigned int at;		/* the case running when it ended (n: none) */
	int err;			/* MSR_RUN_FAILED, MSR_RUN_REENTRY: errno */
	__u32 exit_reason;		/* the exit it ended with */
	unsigned int exits;		/* MSR exits answered */
	unsigned int extra_exits;	/* ... of them after the last case (answered error 1) */
	__u32 extra_index;		/* msr.index of the first of those */
	unsigned int runs;		/* KVM_RUN calls */
	struct msr_run_stop stop_exit;	/* kvm_run at the end (exit reason, internal error) */
	bool l1_other;			/* MSR_RUN_OTHER_EXIT: L1 reported a #VMEXIT */
};

/*
 * The cases as one guest program on @b->g: every MSR exit recorded for its
 * case, answered, and re-entered as the case says; every result copied to
 * its case.  Never asserts: the end says how it ended, and the case it
 * ended at is marked stopped (its check "run" fails), the cases after it
 * not ran.
 */
void msr_case_run(struct msr_case_run *b);

/*
 * Whether the program's run, as far as no case accounts for it, is what
 * the model predicts: it ended with the program's end and no MSR exit came
 * after the last case.  Else @buf says what happened.
 */
bool msr_case_run_clean(const struct msr_case_run *b, char *buf, size_t len);

/*
 * Signal re-entry: the signal is blocked except inside KVM_RUN.
 * msr_case_reentry_init() once per process, msr_case_reentry_vcpu() per vCPU.
 */
void msr_case_reentry_init(void);
void msr_case_reentry_vcpu(struct kvm_vcpu *vcpu);

/* --- checking and reporting ---------------------------------------------------------- */

struct msr_case_verdict {
	unsigned int checked;	/* MSR_CHECK_BIT()s evaluated */
	unsigned int failed;	/* ... and failed */
};

/* Every observable of @c (run and predicted) against the model. */
struct msr_case_verdict msr_case_check(const struct msr_case_setting *s, const struct msr_case *c);
/* The first failing check of @v in report order, MSR_CHECKS if none. */
enum msr_check msr_case_first(const struct msr_case_verdict *v);

/* <source>.<msr>.<op>.<check>; @source NULL: without it (the fuzz runtime adds it). */
const char *msr_case_sig(char *buf, size_t len, const char *source, const struct msr_case *c,
			 enum msr_check k);
/* The same for a check of no case (the program's run, an ioctl): <source>.none.<what>. */
const char *msr_case_sig_none(char *buf, size_t len, const char *source, const char *what);

/* The case in the baseline's terms: the vCPU model and the case's cause. */
void msr_case_div_case(struct msr_div_case *k, const struct msr_vcpu_model *m,
		       const struct msr_case *c);

/* "RDMSR of MSR_EFER (0xc0000080, catalog), native" and the value, the answer. */
int msr_case_describe_access(char *buf, size_t len, const struct msr_case *c);
/*
 * Three lines (no trailing newline, each after the first indented by
 * @indent): "expected: ...", the rules that decided it, "actual: ...".
 * @before: the MSR's value before a WRMSR, for "unchanged" (NULL: not said).
 */
int msr_case_describe(char *buf, size_t len, const struct msr_case *c, const __u64 *before,
		      const char *indent);

/* --- the MSRs a program wrote --------------------------------------------------------- */

/*
 * One KVM_GET_MSRS of the catalog entries in @entries (bits); got[i] is
 * KVM's value of entry i.  Returns the entries KVM could not read or whose
 * value is not @want[i]; *@ret: the ioctl's result.
 */
__u32 msr_case_readback(int vcpu_fd, const struct msr_catalog *cat, __u32 entries,
			const __u64 *want, __u64 *got, int *ret);
/* One KVM_SET_MSRS of @entries to @values[i]; true if all were set. */
bool msr_case_restore(int vcpu_fd, const struct msr_catalog *cat, __u32 entries,
		      const __u64 *values);

/* --- VMs ------------------------------------------------------------------------------- */

/* One VM running the guest payload, and what the cases need to know of it. */
struct msr_vm {
	struct guest_msr_vcpu g;
	enum msr_cpuid_state cpuid;	/* the guest CPUID the suite set */
	struct msr_host_info host;
	struct msr_catalog catalog;	/* probed on the fresh vCPU */
	struct msr_vcpu_model model;	/* current vCPU model */
	bool filter_installed;		/* KVM_X86_SET_MSR_FILTER succeeded once */
	uint64_t last_install_end_ns;
};

/*
 * A VM in guest CPUID state @cpuid, its memslot 0 @extra_pages larger (a
 * libFuzzer binary's .bss), catalog probed before the first KVM_RUN.
 */
void msr_vm_create(struct msr_vm *vm, enum msr_cpuid_state cpuid, uint64_t extra_pages);
/*
 * A VM for the L2 path: guest CPUID present (L1 needs SVM), its vCPU an L1
 * (guest_code/msr_l1.h) that has set itself up (EFER.SVME, VM_HSAVE_PA)
 * before any filter, in one empty program; the model read after it;
 * @extra_pages as for msr_vm_create().
 */
void msr_vm_create_l2(struct msr_vm *vm, uint64_t extra_pages);
void msr_vm_free(struct msr_vm *vm);
/* KVM_GET_MSRS of every catalog entry, one at a time: @values (0 if not), the readable ones. */
__u32 msr_vm_read(const struct msr_vm *vm, __u64 *values);

/* Pages this executable's image needs in memslot 0 beyond the library's default. */
uint64_t msr_image_pages(void);

uint64_t msr_now_ns(void);

/*
 * The gap between two KVM_X86_SET_MSR_FILTER calls on one VM: closer ones
 * wait for a normal SRCU grace period (milliseconds) instead of an
 * expedited one.
 */
#define MSR_INSTALL_GAP_NS	30000ull

/*
 * KVM_X86_SET_MSR_FILTER of @f on @vm, never within MSR_INSTALL_GAP_NS of
 * the end of the previous one (*@last_end_ns).  Returns 0 or -errno;
 * *@waited: whether it had to wait.
 */
int msr_filter_install_spaced(struct kvm_vm *vm, const struct kvm_msr_filter *f,
			      uint64_t *last_end_ns, bool *waited);

#endif
