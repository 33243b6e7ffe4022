// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzing runtime (fuzz/fuzz.h): decoding, findings, the baseline of
 * known divergences, the kernel-log watch, model-outcome feedback, KCOV, a
 * bounded KVM_RUN, spaced filter installs, and the libFuzzer entry points.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "msr_catalog.h"
#include "msr_divergence.h"
#include "msr_host.h"
#include "msr_names.h"

#ifndef FUZZ_REPLAY_BIN
#define FUZZ_REPLAY_BIN "msr_fuzz_replay"
#endif

struct fuzz_stats fuzz_stats;
bool fuzz_replay_mode;
bool fuzz_keep_going;

static const struct fuzz_target *cur_target;
static const uint8_t *cur_data;
static size_t cur_size;
static pid_t cur_pid;
static volatile int forked;
static bool initialised;
static volatile sig_atomic_t timer_pending;

/* fork() without a getpid() per input: AFL++'s fork server forks through libc. */
static void note_fork(void)
{
	forked = 1;
	timer_pending = 0;	/* timers are not inherited */
}

/* ---- decoding / encoding ------------------------------------------------ */

uint8_t fuzz_u8(struct fuzz_in *in)
{
	return in->off < in->n ? in->p[in->off++] : (in->off++, 0);
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v = fuzz_u8(in);

	return v | (uint16_t)fuzz_u8(in) << 8;
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = fuzz_u16(in);

	return v | (uint32_t)fuzz_u16(in) << 16;
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v = fuzz_u32(in);

	return v | (uint64_t)fuzz_u32(in) << 32;
}

void fuzz_bytes(struct fuzz_in *in, void *dst, size_t len)
{
	size_t have = in->off < in->n ? in->n - in->off : 0;

	if (have > len)
		have = len;
	memcpy(dst, in->p + in->off, have);
	memset((uint8_t *)dst + have, 0, len - have);
	in->off += len;
}

void fuzz_put_u8(struct fuzz_out *o, uint8_t v)
{
	FUZZ_HARNESS_ASSERT(o->n < FUZZ_OUT_MAX, "seed longer than %d bytes", FUZZ_OUT_MAX);
	o->buf[o->n++] = v;
}

void fuzz_put_u16(struct fuzz_out *o, uint16_t v)
{
	fuzz_put_u8(o, v);
	fuzz_put_u8(o, v >> 8);
}

void fuzz_put_u32(struct fuzz_out *o, uint32_t v)
{
	fuzz_put_u16(o, v);
	fuzz_put_u16(o, v >> 16);
}

void fuzz_put_u64(struct fuzz_out *o, uint64_t v)
{
	fuzz_put_u32(o, v);
	fuzz_put_u32(o, v >> 32);
}

void fuzz_put_bytes(struct fuzz_out *o, const void *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fuzz_put_u8(o, ((const uint8_t *)src)[i]);
}

void fuzz_emit_catalog_tokens(struct fuzz_emit *e)
{
	static const struct { const char *name; uint32_t v; } edges[] = {
		{ "x2apic_first", MSR_MODEL_X2APIC_FIRST },
		{ "x2apic_last", MSR_MODEL_X2APIC_LAST },
		{ "below_x2apic", MSR_MODEL_X2APIC_FIRST - 1 },
		{ "above_x2apic", MSR_MODEL_X2APIC_LAST + 1 },
		{ "u32_max", 0xffffffffu },
		{ "max_io_msrs", MSR_MODEL_MAX_IO_MSRS },
		{ "max_io_msrs_minus_one", MSR_MODEL_MAX_IO_MSRS - 1 },
		{ "bitmap_max_msrs", KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 },
		{ "bitmap_max_msrs_plus_one", KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 + 1 },
		{ "bitmap_max_bytes", KVM_MSR_FILTER_MAX_BITMAP_SIZE },
		{ "filter_read", KVM_MSR_FILTER_READ },
		{ "filter_write", KVM_MSR_FILTER_WRITE },
		{ "filter_deny", KVM_MSR_FILTER_DEFAULT_DENY },
		{ "exit_reasons", KVM_MSR_EXIT_REASON_VALID_MASK },
	};
	char name[64];
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *c = &msr_catalog_table[i];
		uint32_t v = c->index;

		snprintf(name, sizeof(name), "%s", c->name);
		e->token(e, name, &v, sizeof(v));
	}
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		e->token(e, edges[i].name, &edges[i].v, sizeof(edges[i].v));
}

void fuzz_emit_seed(struct fuzz_emit *e, const char *name, const struct fuzz_out *o)
{
	char sname[160];
	size_t i;

	for (i = 0; name[i] && i < sizeof(sname) - 1; i++)
		sname[i] = isalnum((unsigned char)name[i]) ? tolower((unsigned char)name[i]) : '_';
	sname[i] = 0;
	e->seed(e, sname, o);
}

void fuzz_emit_cpuid_states(struct fuzz_emit *e, const char *name, const struct fuzz_out *o,
			    size_t byte, uint8_t bit)
{
	static struct fuzz_out p;
	char pname[168];

	fuzz_emit_seed(e, name, o);
	p = *o;
	if (byte < p.n)
		p.buf[byte] |= bit;
	snprintf(pname, sizeof(pname), "%s_cpuid", name);
	fuzz_emit_seed(e, pname, &p);
}

/* ---- the baseline of known divergences ---------------------------------- */

/*
 * The backend's baseline (lib/msr_divergence.h, msr_baseline_get()): the
 * fuzzers' signatures are "<target>.<msr>.<op>.<check>", matched in the
 * setting of the VM the input ran on (fuzz_set_case()).  MSR_FUZZ_STRICT=1
 * reports every divergence, listed or not.
 */
static struct msr_div_case cur_case;
static struct msr_div_tally replay_tally;

void fuzz_set_case(const struct msr_vcpu_model *m)
{
	msr_div_case_of(&cur_case, m);
}

bool fuzz_case_diverged(const struct msr_case *c, enum msr_check k, const char *what)
{
	char sig[FUZZ_SIG_LEN], desc[1536], access[320], cause[64];
	bool known;

	msr_case_sig(sig, sizeof(sig), NULL, c, k);
	msr_case_describe_access(access, sizeof(access), c);
	msr_case_describe(desc, sizeof(desc), c, NULL, "  ");
	cur_case.cause = c->first.cause;
	known = fuzz_divergence(sig, "%s: %s (cause=%s)\n  %s", what, access,
				msr_div_rule_slug(cause, sizeof(cause), c->first.cause), desc);
	cur_case.cause = MSR_RULE_NONE;
	return known;
}

static bool strict(void)
{
	const char *s = getenv("MSR_FUZZ_STRICT");

	return s && *s && strcmp(s, "0");
}

/* The covering entry of <target>.<sig> here, or -1. */
static int known_entry(const char *sig, char *full, size_t len)
{
	snprintf(full, len, "%s.%s", cur_target ? cur_target->name : "?", sig);
	return strict() ? -1 : msr_baseline_match(msr_baseline_get(), full, &cur_case);
}

void fuzz_tally_print(const char *subtest, const char *expected)
{
	/* A regression that no longer diverges: its own signature passed. */
	if (expected && !replay_tally.failures)
		msr_div_check(&replay_tally, expected, &cur_case, false);
	msr_div_tally_print(&replay_tally, subtest, stdout);
}

/* ---- findings ----------------------------------------------------------- */

static char last_sig[FUZZ_SIG_LEN];
static int replay_verdict;

const char *fuzz_last_sig(void)
{
	return last_sig;
}

static void describe_input(FILE *out)
{
	size_t i;

	if (!cur_target || !cur_data)
		return;
	fprintf(out, "  input (%zu bytes):", cur_size);
	for (i = 0; i < cur_size && i < 256; i++)
		fprintf(out, "%s%02x", i % 32 ? " " : "\n    ", cur_data[i]);
	fprintf(out, "%s\n", cur_size > 256 ? " ..." : "");
	if (cur_target->describe) {
		fprintf(out, "  decoded:\n");
		cur_target->describe(cur_data, cur_size, out);
	}
}

static void print_where(FILE *out)
{
	struct msr_host_info h;
	struct utsname u;

	msr_host_info_get(&h);
	uname(&u);
	fprintf(out, "  backend %s, kernel %s, target %s\n", h.backend, u.release,
		cur_target ? cur_target->name : "?");
}

static void print_repro(FILE *out)
{
	fprintf(out, "  reproduce: %s --target %s <the saved input>\n"
		"  (libFuzzer prints the file it saved as \"Test unit written to ...\"; AFL++ keeps it in\n"
		"   <out>/<instance>/crashes/; scripts/fuzz-save.sh minimises and saves it as a regression)\n",
		FUZZ_REPLAY_BIN, cur_target ? cur_target->name : "<target>");
}

bool fuzz_divergence(const char *sig, const char *fmt, ...)
{
	char full[MSR_SIG_LEN];
	int id = known_entry(sig, full, sizeof(full));
	const char *reason = id >= 0 ? msr_baseline_get()->e[id].reason : NULL;
	va_list ap;

	fuzz_feedback(fuzz_key(0xd1, reason ? 1 : 2, 0, 0));
	if (reason && !fuzz_replay_mode) {
		fuzz_stats.known++;
		return true;
	}
	if (fuzz_replay_mode)
		msr_div_check(&replay_tally, full, &cur_case, true);

	fflush(stdout);
	fprintf(stderr, "==== kvm-msr-suite fuzz: DIVERGENCE %s.%s ====\n",
		cur_target ? cur_target->name : "?", sig);
	fprintf(stderr, "  KVM differs from the model (lib/msr_model.c):\n  ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (reason)
		fprintf(stderr, "  known divergence of this backend (%s): %s\n",
			msr_baseline_get()->e[id].where, reason);
	print_where(stderr);
	describe_input(stderr);
	if (fuzz_replay_mode || fuzz_keep_going) {
		if (!last_sig[0])
			snprintf(last_sig, sizeof(last_sig), "%s", sig);
		replay_verdict = FUZZ_EXIT_DIVERGENCE;
		return true;
	}
	print_repro(stderr);
	fflush(stderr);
	abort();
}

const char *fuzz_sig(char *buf, size_t len, __u32 index, const char *op, const char *check)
{
	return msr_div_sig(buf, len, NULL, index, op, check);
}

void fuzz_harness_bug(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "==== kvm-msr-suite fuzz: HARNESS BUG (a bug of the fuzzer, not a KVM finding) ====\n  ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	describe_input(stderr);
	fflush(stderr);
	exit(FUZZ_EXIT_HARNESS);
}

/* ---- kernel log and taint ------------------------------------------------ */

static int kmsg_fd = -1, taint_fd = -1;
static unsigned long taint_start;

static unsigned long read_taint(void)
{
	char buf[32];
	ssize_t n;

	if (taint_fd < 0)
		return 0;
	n = pread(taint_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoul(buf, NULL, 10);
}

static void kernel_watch_init(void)
{
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
	else
		fprintf(stderr, "# msr fuzz: /dev/kmsg unreadable (%s): kernel warnings are not watched\n",
			strerror(errno));
	taint_fd = open("/proc/sys/kernel/tainted", O_RDONLY | O_CLOEXEC);
	taint_start = read_taint();
}

static bool kmsg_is_finding(const char *msg)
{
	static const char *const pats[] = {
		"WARNING:", "BUG:", "BUG kvm", "kernel BUG", "Call Trace", "general protection fault",
		"KASAN", "UBSAN", "Oops", "rcu_sched detected stall", "rcu: INFO:",
		"unreferenced object", "refcount_t:",
	};
	unsigned int i;

	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (strstr(msg, pats[i]))
			return true;
	return false;
}

void fuzz_kernel_check(void)
{
	char rec[2048], excerpt[8192];
	size_t used = 0;
	bool found = false;
	unsigned long taint;
	int more = 40;
	ssize_t n;

	if (kmsg_fd >= 0) {
		for (;;) {
			n = read(kmsg_fd, rec, sizeof(rec) - 1);
			if (n < 0 && errno == EPIPE)
				continue;	/* records overwritten: go on */
			if (n <= 0)
				break;
			rec[n] = '\0';
			if (!found && !kmsg_is_finding(rec))
				continue;
			found = true;
			used += snprintf(excerpt + used, sizeof(excerpt) - used, "    %s", rec);
			if (used >= sizeof(excerpt) - 1 || !--more)
				break;
		}
	}
	taint = read_taint();
	if (!found && taint == taint_start)
		return;

	fflush(stdout);
	fprintf(stderr, "==== kvm-msr-suite fuzz: KERNEL %s after this input ====\n",
		found ? "WARNING/BUG in /dev/kmsg" : "TAINT changed");
	if (taint != taint_start)
		fprintf(stderr, "  /proc/sys/kernel/tainted %lu -> %lu\n", taint_start, taint);
	if (found)
		fprintf(stderr, "  kernel log:\n%s", excerpt);
	fprintf(stderr, "  (the record may come from another process of the same campaign: replay to confirm)\n");
	print_where(stderr);
	describe_input(stderr);
	if (fuzz_replay_mode) {
		snprintf(last_sig, sizeof(last_sig), "kernel.%s", found ? "log" : "taint");
		replay_verdict = FUZZ_EXIT_DIVERGENCE;
		taint_start = taint;
		return;
	}
	print_repro(stderr);
	abort();
}

/* ---- feedback ------------------------------------------------------------ */

static uint8_t slots_hit[FUZZ_FEEDBACK_SLOTS / 8];

/*
 * One basic block per slot, reached through a computed goto (a switch would
 * be traced case by case by -fsanitize=fuzzer's __sanitizer_cov_trace_switch,
 * a linear scan of 4096 cases per call), each with an asm statement of its
 * own so no compiler merges them: the engine's edge instrumentation sees a
 * distinct edge (and hit count) per key.
 */
#define FB1(n) fb_##n: __asm__ volatile("# fuzz feedback slot %c0" :: "i"(__COUNTER__)); return;
#define FBL1(n) &&fb_##n,
#define FB4(m, n) m(n##0) m(n##1) m(n##2) m(n##3)
#define FB16(m, n) FB4(m, n##0) FB4(m, n##1) FB4(m, n##2) FB4(m, n##3)
#define FB64(m, n) FB16(m, n##0) FB16(m, n##1) FB16(m, n##2) FB16(m, n##3)
#define FB256(m, n) FB64(m, n##0) FB64(m, n##1) FB64(m, n##2) FB64(m, n##3)
#define FB1024(m, n) FB256(m, n##0) FB256(m, n##1) FB256(m, n##2) FB256(m, n##3)
#define FB4096(m) FB1024(m, 0) FB1024(m, 1) FB1024(m, 2) FB1024(m, 3)

__attribute__((__noinline__)) void fuzz_feedback(uint32_t key)
{
	static void *const slot_label[FUZZ_FEEDBACK_SLOTS] = { FB4096(FBL1) };
	uint32_t slot = key % FUZZ_FEEDBACK_SLOTS;

	slots_hit[slot / 8] |= 1u << (slot % 8);
	goto *slot_label[slot];
	FB4096(FB1)
}

unsigned int fuzz_feedback_distinct(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < sizeof(slots_hit); i++)
		n += __builtin_popcount(slots_hit[i]);
	return n;
}

/* ---- KCOV: kernel coverage of this thread, where the kernel has it -------- */

#define KCOV_INIT_TRACE	_IOR('c', 1, unsigned long)
#define KCOV_ENABLE	_IO('c', 100)
#define KCOV_TRACE_PC	0
#define KCOV_WORDS	(64 << 10)

static unsigned long *kcov_area;

static void kcov_init(void)
{
	int fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return;
	if (ioctl(fd, KCOV_INIT_TRACE, KCOV_WORDS))
		goto fail;
	p = mmap(NULL, KCOV_WORDS * sizeof(unsigned long), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(p, KCOV_WORDS * sizeof(unsigned long));
		goto fail;
	}
	kcov_area = p;
	fprintf(stderr, "# msr fuzz: KCOV enabled: kernel PCs of this thread feed the engine\n");
	return;
fail:
	fprintf(stderr, "# msr fuzz: /sys/kernel/debug/kcov present but unusable: %s\n", strerror(errno));
	close(fd);
}

bool fuzz_kcov_active(void)
{
	return kcov_area;
}

void fuzz_kcov_begin(void)
{
	if (kcov_area)
		__atomic_store_n(&kcov_area[0], 0, __ATOMIC_RELAXED);
}

void fuzz_kcov_end(void)
{
	unsigned long n, i, prev = 0;

	if (!kcov_area)
		return;
	n = __atomic_load_n(&kcov_area[0], __ATOMIC_RELAXED);
	if (n > KCOV_WORDS - 1)
		n = KCOV_WORDS - 1;
	for (i = 1; i <= n; i++) {
		fuzz_feedback(fuzz_key(0xc0, (uint32_t)prev, (uint32_t)kcov_area[i], 0));
		prev = kcov_area[i] >> 1;
	}
}

/* ---- KVM helpers ---------------------------------------------------------- */

/*
 * The hang bound without a system call per input: a one-shot timer of its
 * own (libFuzzer uses SIGALRM for -timeout) is armed only when it is not
 * already pending, for the bound from the current input's start (a vDSO
 * clock read).  When it fires, the handler re-arms it for the time the
 * current input has left, or reports the hang; between inputs it just
 * disarms.  A KVM_RUN it interrupts is retried by fuzz_vcpu_run().
 */
static timer_t run_timer;
static bool run_timer_ok;
static volatile sig_atomic_t in_input, timer_interrupted;
static volatile uint64_t input_start_ns;

static void timer_set(uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = ns / 1000000000ull,
						.tv_nsec = ns % 1000000000ull } };

	timer_settime(run_timer, 0, &its, NULL);
}

static void run_timeout(int sig)
{
	static const char msg[] = "==== kvm-msr-suite fuzz: HANG: an input did not finish within "
		"the bound (a KVM_RUN or ioctl did not return) ====\n";
	uint64_t bound = FUZZ_KVM_RUN_TIMEOUT_S * 1000000000ull, ran;

	(void)sig;
	timer_interrupted = 1;
	if (!in_input) {
		timer_pending = 0;
		return;
	}
	ran = msr_now_ns() - input_start_ns;
	if (ran < bound) {
		timer_set(bound - ran);
		return;
	}
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		abort();
	if (fuzz_replay_mode)
		_exit(FUZZ_EXIT_DIVERGENCE);
	abort();
}

static void run_timer_init(void)
{
	struct sigaction sa = { .sa_handler = run_timeout, .sa_flags = SA_RESTART };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 3 };

	sigaction(SIGRTMIN + 3, &sa, NULL);
	run_timer_ok = !timer_create(CLOCK_MONOTONIC, &sev, &run_timer);
}

static void input_begin(void)
{
	input_start_ns = msr_now_ns();
	in_input = 1;
	if (run_timer_ok && !timer_pending) {
		timer_pending = 1;
		timer_set(FUZZ_KVM_RUN_TIMEOUT_S * 1000000000ull);
	}
}

static void input_end(void)
{
	in_input = 0;
}

int fuzz_vcpu_run(struct kvm_vcpu *vcpu)
{
	int rc;

	for (;;) {
		timer_interrupted = 0;
		fuzz_stats.kvm_runs++;
		rc = ioctl(vcpu->fd, KVM_RUN, NULL);
		/* Only the runtime's own timer is retried; any other EINTR is the caller's. */
		if (!(rc < 0 && errno == EINTR && timer_interrupted))
			return rc;
	}
}


int fuzz_set_msr_filter(struct kvm_vm *vm, const struct kvm_msr_filter *f, uint64_t *last_end_ns)
{
	bool waited;
	int rc = msr_filter_install_spaced(vm, f, last_end_ns, &waited);

	fuzz_stats.filter_installs++;
	fuzz_stats.install_waits += waited;
	return rc;
}

/* ---- filter bitmaps at page edges ------------------------------------------- */

#define FUZZ_SLOT_PAGES	2

const char *const fuzz_place_names[FUZZ_PLACES] = {
	"normal", "guard_end", "truncated", "NULL", "unmapped", "wild",
};
const char *const fuzz_wild_names[4] = { "page 0", "non-canonical", "kernel half", "wraps 2^64" };

static uint8_t *arena;
static size_t page_size;

static size_t slot_len(void)
{
	return FUZZ_SLOT_PAGES * page_size;
}

static uint8_t *slot_at(unsigned int i)
{
	return arena + page_size + i * (slot_len() + page_size);
}

static void arena_init(void)
{
	size_t len;
	unsigned int i;

	if (arena)
		return;
	page_size = getpagesize();
	FUZZ_HARNESS_ASSERT(slot_len() >= 2 * KVM_MSR_FILTER_MAX_BITMAP_SIZE + 256, "page size %zu",
			    page_size);
	len = page_size + FUZZ_BITMAP_SLOTS * (slot_len() + page_size);
	arena = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_HARNESS_ASSERT(arena != MAP_FAILED, "mmap of the bitmap arena: %s", strerror(errno));
	for (i = 0; i < FUZZ_BITMAP_SLOTS; i++)
		FUZZ_HARNESS_ASSERT(!mprotect(slot_at(i), slot_len(), PROT_READ | PROT_WRITE),
				    "mprotect: %s", strerror(errno));
	/* Page 0 must be unmapped for FUZZ_WILD_PAGE0 (msync: ENOMEM if unmapped). */
	FUZZ_HARNESS_ASSERT(msync(NULL, page_size, MS_ASYNC) && errno == ENOMEM,
			    "page 0 is mapped");
}

static uint64_t wild_addr(uint8_t arg, uint64_t raw)
{
	switch (arg & 3) {
	case FUZZ_WILD_PAGE0:
		return 1 + raw % (page_size - 1);
	case FUZZ_WILD_NONCANONICAL:
		return 0x8000000000000000ull | (raw & 0x00007fffffffffffull);
	case FUZZ_WILD_KERNEL:
		return 0xffff800000000000ull | raw;
	default:
		return ~0ull - (raw & 0x7ff);
	}
}

static void fill_bitmap(uint8_t *p, size_t len, const struct fuzz_bitmap *b)
{
	memset(p, b->pattern, len);
	memcpy(p, b->bytes, b->nexplicit < len ? b->nexplicit : len);
}

uint64_t fuzz_bitmap_place(unsigned int slot, uint32_t nmsrs, const struct fuzz_bitmap *b)
{
	uint64_t size = msr_model_bitmap_bytes(nmsrs, MSR_MODEL_KERNEL_LONG_BYTES);
	/* Laid out with KVM's size, or the maximum. */
	size_t len = size && size <= KVM_MSR_FILTER_MAX_BITMAP_SIZE ? size :
		     KVM_MSR_FILTER_MAX_BITMAP_SIZE, k;
	uint8_t *base, *end;

	arena_init();
	base = slot_at(slot);
	end = base + slot_len();
	switch (b->place) {
	case FUZZ_PLACE_NORMAL:
		fill_bitmap(base + b->arg, len, b);
		return (uintptr_t)(base + b->arg);
	case FUZZ_PLACE_GUARD_END:
		fill_bitmap(end - len, len, b);
		return (uintptr_t)(end - len);
	case FUZZ_PLACE_TRUNCATED:
		k = 1 + b->arg % len;
		fill_bitmap(end - len + k, len - k, b);
		return (uintptr_t)(end - len + k);
	case FUZZ_PLACE_NULL:
		return 0;
	case FUZZ_PLACE_UNMAPPED:
		return (uintptr_t)(end + b->arg);
	default:
		return wild_addr(b->arg, b->wild);
	}
}

void fuzz_bitmap_mem(struct msr_model_mem_region regions[FUZZ_BITMAP_SLOTS],
		     struct msr_model_mem *mem)
{
	unsigned int i;

	arena_init();
	for (i = 0; i < FUZZ_BITMAP_SLOTS; i++)
		regions[i] = (struct msr_model_mem_region){ (uintptr_t)slot_at(i), slot_len(),
							     slot_at(i) };
	*mem = (struct msr_model_mem){ regions, FUZZ_BITMAP_SLOTS };
}

/* ---- the driver side -------------------------------------------------------- */

/* Each target's .init() once per process (the replay binary and the bench run several). */
static void target_init(const struct fuzz_target *t)
{
	static const struct fuzz_target *done[8];
	unsigned int i;

	for (i = 0; i < 8 && done[i]; i++)
		if (done[i] == t)
			return;
	FUZZ_HARNESS_ASSERT(i < 8, "more than 8 targets in one process");
	done[i] = t;
	if (t->init)
		t->init();
}

void fuzz_init(const struct fuzz_target *t)
{
	int fd;

	if (initialised)
		return;
	initialised = true;
	cur_target = t;
	fd = open(KVM_DEV_PATH, O_RDWR);
	if (fd < 0) {
		int err = errno;

		fprintf(stderr, "SKIP: msr fuzz %s: cannot open %s: %s (needs a kernel with KVM and "
			"permission to open it)\n", t->name, KVM_DEV_PATH, strerror(err));
		exit(FUZZ_EXIT_SKIP);
	}
	close(fd);
	msr_div_case_host(&cur_case);
	if (msr_baseline_get()->n && !fuzz_replay_mode && !strict())
		fprintf(stderr, "# msr fuzz %s: %u known divergences of this backend from %s\n",
			t->name, msr_baseline_get()->n, msr_baseline_get()->files);
	kernel_watch_init();
	kcov_init();
	run_timer_init();
	pthread_atfork(NULL, NULL, note_fork);
	target_init(t);
}

int fuzz_run_one(const struct fuzz_target *t, const uint8_t *data, size_t size)
{
	if (!initialised)
		fuzz_init(t);
	else if (t != cur_target)
		target_init(t);
	if (forked)
		run_timer_init();	/* timers are not inherited by fork() */
	if (forked || !cur_pid) {
		/* A forked child (AFL++): the parent's VMs are not ours. */
		if (cur_pid && t->reset)
			t->reset();
		cur_pid = getpid();
		forked = 0;
	}
	cur_target = t;
	cur_data = data;
	cur_size = size;
	last_sig[0] = '\0';
	replay_verdict = FUZZ_EXIT_OK;

	input_begin();
	fuzz_kcov_begin();
	t->one(data, size);
	fuzz_kcov_end();
	input_end();
	fuzz_kernel_check();
	fuzz_stats.inputs++;
	cur_data = NULL;
	return replay_verdict;
}

#ifdef FUZZ_TARGET
/* The engine builds: one target per binary (-DFUZZ_TARGET=fuzz_target_<name>). */
extern const struct fuzz_target FUZZ_TARGET;
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(&FUZZ_TARGET);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_one(&FUZZ_TARGET, data, size);
	return 0;
}
#endif
