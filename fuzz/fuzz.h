/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzzing runtime shared by the targets in fuzz/: total input decoding,
 * findings (model differences, kernel-log records, hangs) kept apart from
 * harness bugs, the per-backend baseline of known divergences, a coverage
 * signal keyed on model outcomes, and a KVM_RUN that cannot hang.
 *
 * A target is one source file that defines
 *
 *	const struct fuzz_target fuzz_target_<name> = { ... };
 *
 * and is built three ways from that same file (lib/selftests.mk):
 *   libFuzzer   clang -fsanitize=fuzzer; this file's LLVMFuzzerTestOneInput
 *               (fuzz_common.c) calls the target selected by FUZZ_TARGET;
 *   AFL++       afl-clang-fast, persistent mode with deferred init
 *               (fuzz/afl_driver.c);
 *   replay      gcc, no fuzzer runtime: msr_fuzz_replay (fuzz/replay_main.c)
 *               links every target, replays files and the regression
 *               corpus (kselftest TAP), and writes seeds and dictionaries.
 *
 * KVM refuses VM ioctls from any process but the VM's creator, and AFL++
 * forks after init: targets create their VMs lazily, in .one(), never in
 * .init(); fuzz_common.c calls .reset() when the process changed (fork).
 */
#ifndef KVM_MSR_SUITE_FUZZ_H
#define KVM_MSR_SUITE_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_util.h"
#include "msr_model.h"
#include "msr_divergence.h"
#include "msr_case.h"

/* Exit codes of the replay binary and of harness bugs. */
#define FUZZ_EXIT_OK		0
#define FUZZ_EXIT_DIVERGENCE	1	/* replay: KVM differs from the model */
#define FUZZ_EXIT_HARNESS	3	/* a bug of the harness, not of KVM */
#define FUZZ_EXIT_SKIP		4	/* KSFT_SKIP: no /dev/kvm, missing cap */

/* ---- Input decoding: total, any byte string is an input ---------------- */

/*
 * Reads past the end yield zero bytes, so every byte string decodes to
 * exactly one input and short inputs are the simple ones.
 */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
	size_t off;
};

static inline void fuzz_in_init(struct fuzz_in *in, const uint8_t *p, size_t n)
{
	in->p = p;
	in->n = n;
	in->off = 0;
}

static inline bool fuzz_in_left(const struct fuzz_in *in)
{
	return in->off < in->n;
}

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);	/* little endian */
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
/* Copy @len bytes (zero-filled past the end). */
void fuzz_bytes(struct fuzz_in *in, void *dst, size_t len);

/* ---- Input encoding: the same format, for seeds ----------------------- */

#define FUZZ_OUT_MAX	65536

struct fuzz_out {
	uint8_t buf[FUZZ_OUT_MAX];
	size_t n;
};

void fuzz_put_u8(struct fuzz_out *o, uint8_t v);
void fuzz_put_u16(struct fuzz_out *o, uint16_t v);
void fuzz_put_u32(struct fuzz_out *o, uint32_t v);
void fuzz_put_u64(struct fuzz_out *o, uint64_t v);
void fuzz_put_bytes(struct fuzz_out *o, const void *src, size_t len);

/* Seeds and dictionary entries a target emits (replay --seeds / --dict). */
struct fuzz_emit {
	/* A seed input named @name (a file name: [a-z0-9_]). */
	void (*seed)(struct fuzz_emit *e, const char *name, const struct fuzz_out *o);
	/* A dictionary token (raw bytes; written in AFL/libFuzzer syntax). */
	void (*token)(struct fuzz_emit *e, const char *name, const void *p, size_t len);
	void *ctx;
};

/* Seed @o as @name in lower case, "_" for anything but letters and digits. */
void fuzz_emit_seed(struct fuzz_emit *e, const char *name, const struct fuzz_out *o);
/*
 * Seed @o as @name (fuzz_emit_seed()), and again with @bit set in byte @byte as "<name>_cpuid":
 * for the targets whose input picks the guest CPUID state with that bit,
 * every seed in both states.
 */
void fuzz_emit_cpuid_states(struct fuzz_emit *e, const char *name, const struct fuzz_out *o,
			    size_t byte, uint8_t bit);

/* Tokens every target shares: catalog MSR indices (u32 LE), boundaries. */
void fuzz_emit_catalog_tokens(struct fuzz_emit *e);

/* ---- Targets ----------------------------------------------------------- */

struct fuzz_target {
	const char *name;		/* "msr_filter", the fuzz/<name>.c file */
	const char *summary;		/* one line */
	size_t max_len;			/* libFuzzer -max_len, AFL's input cap */
	/* Process-wide setup without KVM fds (may be NULL). */
	void (*init)(void);
	/* Forget VMs created by another process (after fork; may be NULL). */
	void (*reset)(void);
	/* Run one input; report differences with fuzz_divergence(). */
	void (*one)(const uint8_t *data, size_t size);
	/* Print the decoded input (what was done), for diagnoses. */
	void (*describe)(const uint8_t *data, size_t size, FILE *out);
	/* Seeds and dictionary, generated from the MSR catalog. */
	void (*seeds)(struct fuzz_emit *e);
	/* Release everything (replay, at exit; may be NULL). */
	void (*fini)(void);
};

extern const struct fuzz_target fuzz_target_msr_filter;
extern const struct fuzz_target fuzz_target_msr_exit;
extern const struct fuzz_target fuzz_target_msrs_ioctl;

/* ---- Findings ---------------------------------------------------------- */

/*
 * KVM did something the model does not predict.  @sig is the divergence's
 * stable name (fuzz_sig()); the rest says what was done, expected vs
 * actual.  A divergence listed in the backend baseline (a line
 * "msr_fuzz_replay:<target>.<sig> | reason | evidence") is counted and
 * returns true: the target must then stop checking this input (KVM's state
 * and the model's differ) and make its VM consistent again.  Any other
 * divergence prints the diagnosis and the input, then abort()s (the engines
 * save the input); in replay mode it is recorded and the input ends.
 */
bool fuzz_divergence(const char *sig, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The setting of the VM an input runs on (vendor, guest CPUID, kernel):
 * baseline entries may hold only in some (lib/msr_divergence.h).  Targets
 * call it whenever they pick a VM for an input.
 */
struct msr_vcpu_model;
void fuzz_set_case(const struct msr_vcpu_model *m);

/*
 * Check @k of case @c failed (lib/msr_case.h): fuzz_divergence() with the
 * case's signature, its cause for the baseline, @what the target says of
 * the case, then the engine's access and expected-vs-actual text.
 */
bool fuzz_case_diverged(const struct msr_case *c, enum msr_check k, const char *what);

/*
 * Replay TAP (msr_fuzz_replay's regression corpus): the DIVERGENCE-* lines
 * of the input just replayed, as subtest @subtest; @expected is the
 * signature the regression was saved under ("<target>.<name>"), counted as
 * a passing check when the input no longer diverges.
 */
void fuzz_tally_print(const char *subtest, const char *expected);

/*
 * Compose a signature: "<msr>.<op>.<check>", e.g.
 * "msr_ia32_pred_cmd.wrmsr.exit".  @index is named from the catalog (or the
 * kernel's msr-index.h names) in lower case, "unlisted" when unnamed;
 * @op is rdmsr/wrmsr/get/set/filter/cap/list...; @check what differed.
 */
const char *fuzz_sig(char *buf, size_t len, __u32 index, const char *op, const char *check);
#define FUZZ_SIG_LEN	MSR_SIG_LEN

/*
 * A bug of the harness itself (its own invariant broke, an ioctl failed in
 * a way no ABI rule covers): says so, never "KVM", exit FUZZ_EXIT_HARNESS.
 */
void fuzz_harness_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FUZZ_HARNESS_ASSERT(cond, fmt, ...)					\
	do {									\
		if (!(cond))							\
			fuzz_harness_bug("%s:%d: %s: " fmt, __FILE__, __LINE__,	\
					 #cond, ##__VA_ARGS__);			\
	} while (0)

/*
 * New WARN/BUG/"Call Trace"/KASAN/RCU stall records in /dev/kmsg, or a new
 * bit in /proc/sys/kernel/tainted, since the previous call: a finding
 * (abort with the log excerpt).  Called after every input.
 */
void fuzz_kernel_check(void);

/* ---- Coverage feedback from model outcomes ------------------------------ */

/*
 * Without KCOV the engines see only user-space edges; this adds one edge
 * per distinct key (a hash of what the model and KVM decided: rule, exit
 * reason, errno, access type...), in a switch compiled with the engine's
 * own instrumentation, so libFuzzer and AFL++ both count it as new
 * coverage.  With /sys/kernel/debug/kcov the KVM_RUN and ioctl thread's
 * kernel PCs are folded in the same way (fuzz_kcov_begin/end).
 */
#define FUZZ_FEEDBACK_SLOTS	4096
void fuzz_feedback(uint32_t key);
static inline uint32_t fuzz_key(uint32_t tag, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = tag * 0x9e3779b1u;

	h = (h ^ a) * 0x85ebca6bu;
	h = (h ^ b) * 0xc2b2ae35u;
	h = (h ^ c) * 0x27d4eb2fu;
	return h ^ (h >> 15);
}
/* Which feedback slots were hit in this process (replay: for the bench). */
unsigned int fuzz_feedback_distinct(void);

void fuzz_kcov_begin(void);
void fuzz_kcov_end(void);
bool fuzz_kcov_active(void);

/* ---- KVM helpers -------------------------------------------------------- */

/* Upper bound of one KVM_RUN in the fuzzers (a hang is a finding). */
#define FUZZ_KVM_RUN_TIMEOUT_S	5

/*
 * One KVM_RUN ioctl, no EINTR retry, bounded by FUZZ_KVM_RUN_TIMEOUT_S
 * (a timer armed once per input by the runtime, not per call).  Returns
 * the ioctl's result (0 or -1 with errno).
 */
int fuzz_vcpu_run(struct kvm_vcpu *vcpu);

/*
 * msr_filter_install_spaced() (lib/msr_case.h), counted in fuzz_stats.
 * Returns the ioctl's result (0 or -errno).
 */
int fuzz_set_msr_filter(struct kvm_vm *vm, const struct kvm_msr_filter *f,
			uint64_t *last_end_ns);

/* ---- Filter bitmaps at page edges -------------------------------------- */

/*
 * An arena of FUZZ_BITMAP_SLOTS slots, one per KVM_X86_SET_MSR_FILTER
 * range: each FUZZ_SLOT_PAGES readable pages between PROT_NONE guard pages.
 * A range's bitmap is placed in its slot as fuzz_bitmap says; the model is
 * told exactly the slots (fuzz_bitmap_mem()), so every other address a
 * placement produces is unreadable to it as it is to KVM.
 */
enum fuzz_place {
	FUZZ_PLACE_NORMAL,	/* slot + arg */
	FUZZ_PLACE_GUARD_END,	/* the last byte right before the guard page */
	FUZZ_PLACE_TRUNCATED,	/* the guard page cuts it 1 + arg % size bytes short */
	FUZZ_PLACE_NULL,
	FUZZ_PLACE_UNMAPPED,	/* in the guard page + arg */
	FUZZ_PLACE_WILD,	/* arg & 3: enum fuzz_wild, from the u64 wild */
	FUZZ_PLACES
};

enum fuzz_wild {
	FUZZ_WILD_PAGE0,	/* 1..0xfff: below mmap_min_addr */
	FUZZ_WILD_NONCANONICAL,
	FUZZ_WILD_KERNEL,
	FUZZ_WILD_WRAP,		/* addr + size wraps past 2^64 */
};

extern const char *const fuzz_place_names[FUZZ_PLACES];
extern const char *const fuzz_wild_names[4];

#define FUZZ_BITMAP_SLOTS	KVM_MSR_FILTER_MAX_RANGES

struct fuzz_bitmap {
	enum fuzz_place place;
	uint8_t arg;
	uint64_t wild;
	uint8_t pattern;	/* every byte (bit set: allowed) ... */
	uint8_t nexplicit;	/* ... but the first nexplicit, which are these */
	const uint8_t *bytes;
};

/* Slot @slot's bitmap of @nmsrs bits placed and laid out as @b says: its address. */
uint64_t fuzz_bitmap_place(unsigned int slot, uint32_t nmsrs, const struct fuzz_bitmap *b);
/* What the model is told of the arena's memory. */
void fuzz_bitmap_mem(struct msr_model_mem_region regions[FUZZ_BITMAP_SLOTS],
		     struct msr_model_mem *mem);

/* ---- Runtime state ------------------------------------------------------ */

struct fuzz_stats {
	uint64_t inputs;
	uint64_t known;			/* known divergences seen */
	uint64_t install_waits;		/* fuzz_set_msr_filter() had to wait */
	uint64_t kvm_runs;
	uint64_t exits;			/* userspace MSR exits (targets count) */
	uint64_t filter_installs;	/* KVM_X86_SET_MSR_FILTER calls */
	uint64_t guest_ops;		/* guest RDMSR/WRMSR executed */
	uint64_t ioctls;		/* KVM_GET/SET_MSRS and list calls */
};

extern struct fuzz_stats fuzz_stats;

/* True in the replay binary (divergences are recorded, not aborted). */
extern bool fuzz_replay_mode;
/*
 * The bench: an unknown divergence is printed and the input ends, without
 * abort(); known ones are counted silently, as in the engines.
 */
extern bool fuzz_keep_going;

/*
 * Run one input of @t: lazy per-process init (reset after fork), the
 * KVM_RUN timer, the target, the kernel-log check.  Every driver goes
 * through it.  Returns the input's verdict in replay mode
 * (FUZZ_EXIT_OK / FUZZ_EXIT_DIVERGENCE, or -1 for known divergences only).
 */
int fuzz_run_one(const struct fuzz_target *t, const uint8_t *data, size_t size);

/* The last divergence's signature in replay mode ("" if none). */
const char *fuzz_last_sig(void);

/* Process-wide init: /dev/kvm (SKIP, exit 4, without it), baseline, kmsg. */
void fuzz_init(const struct fuzz_target *t);

#endif
