// SPDX-License-Identifier: GPL-2.0
/*
 * The filter x exit-reason matrix; see msr_matrix.h.  Expectations come
 * only from the model (msr_model_*) fed with catalog facts, facts probed on
 * this vCPU and the values the model itself says the guest stored.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msr_matrix.h"
#include "msr_values.h"
#include "msr_probe.h"

#define MX_APIC_BASE		0x0000001bu
#define MX_APIC_BASE_EXTD	(1ull << 10)
#define MX_APIC_BASE_ENABLE	(1ull << 11)
/* What the exit handler leaves in the fields KVM must not read back. */
#define MX_SCRIBBLE_REASON	0x5c5c5c5cu
#define MX_SCRIBBLE_PAD		0xa5

uint64_t mx_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* --- names ---------------------------------------------------------------- */

const char *mx_filter_state_name(enum mx_filter_state s)
{
	static const char *const names[MX_FILTER_STATES] = {
		[MX_NEVER_SET] = "never_set", [MX_ALLOW_EMPTY] = "allow_empty",
		[MX_ALLOW_RANGES] = "allow_ranges", [MX_DENY_RANGES] = "deny_ranges",
	};

	return (unsigned int)s < MX_FILTER_STATES ? names[s] : "?";
}

const char *mx_value_kind_name(enum mx_value_kind k)
{
	static const char *const names[MX_VALUE_KINDS] = {
		[MX_VALUE_NONE] = "", [MX_VALUE_VALID] = "valid value",
		[MX_VALUE_RESERVED_HIGH] = "highest reserved bit set",
		[MX_VALUE_RESERVED_LOW] = "lowest reserved bit set",
		[MX_VALUE_NON_CANONICAL] = "non-canonical address",
		[MX_VALUE_PAT_TYPE] = "reserved PAT memory type",
	};

	return (unsigned int)k < MX_VALUE_KINDS ? names[k] : "?";
}

const char *mx_mask_name(__u64 mask)
{
	static const char *const names[MX_MASKS] = {
		"none", "inval", "unknown", "inval_unknown", "filter",
		"inval_filter", "unknown_filter", "inval_unknown_filter",
	};

	_Static_assert(KVM_MSR_EXIT_REASON_INVAL == 1 && KVM_MSR_EXIT_REASON_UNKNOWN == 2 &&
		       KVM_MSR_EXIT_REASON_FILTER == 4, "mask names follow the reason bits");
	return mask < MX_MASKS ? names[mask] : "invalid";
}

static const char *response_name(enum mx_response r)
{
	static const char *const names[MX_RESPONSES] = {
		[MX_RESPOND_DATA] = "data", [MX_RESPOND_ERROR_1] = "error 1",
		[MX_RESPOND_ERROR_FF] = "error 0xff",
	};

	return names[r];
}

static __u8 response_error(enum mx_response r)
{
	return r == MX_RESPOND_DATA ? 0 : r == MX_RESPOND_ERROR_1 ? 1 : 0xff;
}

static void stats_add(struct mx_stats *to, const struct mx_stats *from)
{
	to->cases += from->cases;
	to->exits += from->exits;
	to->installs += from->installs;
	to->install_waits += from->install_waits;
	to->runs += from->runs;
	to->groups += from->groups;
	to->cpuid_cases[MSR_CPUID_ABSENT] += from->cpuid_cases[MSR_CPUID_ABSENT];
	to->cpuid_cases[MSR_CPUID_PRESENT] += from->cpuid_cases[MSR_CPUID_PRESENT];
}

static void result_add(struct mx_result *to, const struct mx_result *from)
{
	unsigned int i, a, k;

	stats_add(&to->st, &from->st);
	to->failures += from->failures;
	to->printed += from->printed;
	msr_div_tally_add(&to->tally, &from->tally);
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		for (a = 0; a < 2; a++)
			for (k = 0; k < MX_CHECKS; k++)
				to->fail_count[i][a][k] += from->fail_count[i][a][k];
}

/* --- layouts ---------------------------------------------------------------- */

#define R	KVM_MSR_FILTER_READ
#define W	KVM_MSR_FILTER_WRITE
#define RW	(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

/*
 * The windows that hold every catalog MSR.  The last one ends at 2^32: in
 * KVM's u32 arithmetic (base + nmsrs == 0) it covers nothing, so
 * 0xffffffff is never inside a range whatever the layout says.
 */
#define REGIONS(fl, b)							\
	{ fl, 0x00000000u, 0x1000, MX_BITS_##b },			\
	{ fl, 0xc0000000u, 0x200, MX_BITS_##b },			\
	{ fl, 0xdeadbe00u, 0x100, MX_BITS_##b },			\
	{ fl, 0xffffff00u, 0x100, MX_BITS_##b }

/* Slot k allows when k is even (@e) or odd (@o); slot 15 is @o's. */
#define SLOTS16(name_, e, o) { name_, 16, {					\
	{ RW, 0x00000277u, 1, MX_BITS_##e }, { RW, 0x0000008bu, 1, MX_BITS_##o },	\
	{ RW, 0x000000ceu, 1, MX_BITS_##e }, { RW, 0x0000010au, 1, MX_BITS_##o },	\
	{ RW, 0x00000049u, 1, MX_BITS_##e }, { RW, 0x0000010bu, 1, MX_BITS_##o },	\
	{ RW, 0x00000003u, 1, MX_BITS_##e }, { RW, 0x000007ffu, 1, MX_BITS_##o },	\
	{ RW, 0x00000900u, 1, MX_BITS_##e }, { RW, 0xdeadbeefu, 1, MX_BITS_##o },	\
	{ RW, 0xc0000081u, 1, MX_BITS_##e }, { RW, 0xc0000082u, 1, MX_BITS_##o },	\
	{ RW, 0xc0000083u, 1, MX_BITS_##e }, { RW, 0xc0000084u, 1, MX_BITS_##o },	\
	{ RW, 0xc0000080u, 1, MX_BITS_##e }, { RW, 0xc0000000u, 0x200, MX_BITS_##o },	\
} }

static const struct mx_layout layouts_none[] = { { "none", 0, { { 0 } } } };
static const struct mx_layout layouts_empty[] = { { "empty", 0, { { 0 } } } };

static const struct mx_layout layouts_ranges[] = {
	{ "read_odd", 4, { REGIONS(R, ODD) } },
	{ "read_even", 4, { REGIONS(R, EVEN) } },
	{ "write_odd", 4, { REGIONS(W, ODD) } },
	{ "write_even", 4, { REGIONS(W, EVEN) } },
	{ "rw_odd", 4, { REGIONS(RW, ODD) } },
	{ "rw_even", 4, { REGIONS(RW, EVEN) } },
	/* Deny-all ranges that end right before or start right after test MSRs. */
	{ "uncovered", 11, {
		{ RW, 0x00000004u, 0x45, MX_BITS_DENY },	/* up to PRED_CMD */
		{ RW, 0x0000004au, 0x41, MX_BITS_DENY },	/* after it, up to UCODE_REV */
		{ RW, 0x0000008cu, 0x42, MX_BITS_DENY },	/* up to PLATFORM_INFO */
		{ RW, 0x00000278u, 0x587, MX_BITS_DENY },	/* after PAT, up to 0x7ff */
		{ RW, 0x00000901u, 0x6ff, MX_BITS_DENY },	/* after 0x900 */
		{ RW, 0xc0000000u, 0x80, MX_BITS_DENY },	/* up to EFER */
		{ RW, 0xc0000085u, 0x7d, MX_BITS_DENY },	/* after SFMASK, up to KERNEL_GS_BASE */
		{ RW, 0xc0000104u, 0xfc, MX_BITS_DENY },	/* after TSC_AUX */
		{ RW, 0xdeadbe00u, 0xef, MX_BITS_DENY },	/* up to 0xdeadbeef */
		{ RW, 0xdeadbef0u, 0x10, MX_BITS_DENY },	/* after it */
		{ RW, 0xfffffe00u, 0x1ff, MX_BITS_DENY },	/* up to 0xffffffff */
	} },
	{ "overlap_allow_first", 8, { REGIONS(RW, ALLOW), REGIONS(RW, DENY) } },
	{ "overlap_deny_first", 8, { REGIONS(RW, DENY), REGIONS(RW, ALLOW) } },
	/* The first range matches only one access type; the other goes on. */
	{ "overlap_read_deny_first", 8, { REGIONS(R, DENY), REGIONS(RW, ALLOW) } },
	{ "overlap_write_deny_first", 8, { REGIONS(W, DENY), REGIONS(RW, ALLOW) } },
	/* Small deny ranges over some test MSRs, inside allow-all ranges. */
	{ "overlap_partial", 7, {
		{ RW, 0x00000000u, 0x100, MX_BITS_DENY },	/* 0x3, 0x49, 0x8b, 0xce */
		{ RW, 0xc0000080u, 0x3, MX_BITS_DENY },		/* EFER, STAR, LSTAR */
		{ RW, 0xdeadbeefu, 0x1, MX_BITS_DENY },
		REGIONS(RW, ALLOW),
	} },
	/*
	 * Long bitmaps (up to 0x1000 MSRs) whose every 64-bit long differs:
	 * a bit found in the wrong long or byte shows, which the periodic
	 * odd/even patterns cannot show.
	 */
	{ "rw_hash", 4, { REGIONS(RW, HASH) } },
	{ "rw_hash_inv", 4, { REGIONS(RW, HASH_INV) } },
	/*
	 * All 16 slots, each the first match of at least one test MSR: slots
	 * 0..14 one MSR each, slot 15 the 0xc0000000 window, which also covers
	 * the MSRs of slots 10..14 but decides only KERNEL_GS_BASE and TSC_AUX.
	 */
	SLOTS16("slots16_even_allow", ALLOW, DENY),
	SLOTS16("slots16_odd_allow", DENY, ALLOW),
};

#undef R
#undef W
#undef RW

static const struct mx_layout *state_layouts(enum mx_filter_state state, unsigned int *n)
{
	switch (state) {
	case MX_NEVER_SET:
		*n = ARRAY_SIZE(layouts_none);
		return layouts_none;
	case MX_ALLOW_EMPTY:
		*n = ARRAY_SIZE(layouts_empty);
		return layouts_empty;
	default:
		*n = ARRAY_SIZE(layouts_ranges);
		return layouts_ranges;
	}
}

const struct mx_layout *mx_layout_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(layouts_ranges); i++) {
		if (!strcmp(layouts_ranges[i].name, name))
			return &layouts_ranges[i];
	}
	return NULL;
}

static const char *bits_name(enum mx_bits b)
{
	static const char *const names[] = {
		[MX_BITS_ALLOW] = "all allow", [MX_BITS_DENY] = "all deny",
		[MX_BITS_ODD] = "odd indices allowed", [MX_BITS_EVEN] = "even indices allowed",
		[MX_BITS_HASH] = "hashed pattern", [MX_BITS_HASH_INV] = "inverse hashed pattern",
	};

	return names[b];
}

static const char *flags_name(__u32 flags)
{
	static const char *const names[] = { "no access", "READ", "WRITE", "READ|WRITE" };

	return flags < 4 ? names[flags] : "invalid flags";
}

static bool bit_for(enum mx_bits b, __u32 index)
{
	switch (b) {
	case MX_BITS_ALLOW:
		return true;
	case MX_BITS_ODD:
		return index & 1;
	case MX_BITS_EVEN:
		return !(index & 1);
	case MX_BITS_HASH:
	case MX_BITS_HASH_INV:
		return ((mx_mix(index) >> 17) & 1) ^ (b == MX_BITS_HASH_INV);
	default:
		return false;
	}
}

/* --- VM ---------------------------------------------------------------------- */

void mx_vm_create(struct mx_vm *vm, enum msr_cpuid_state cpuid)
{
	memset(vm, 0, sizeof(*vm));
	guest_msr_vcpu_create(&vm->g);
	vm->cpuid = cpuid;
	msr_guest_cpuid_set(vm->g.vcpu, cpuid);
	guest_msr_prog_done_port(&vm->g, true);
	msr_host_info_get(&vm->host);
	msr_catalog_init(&vm->catalog);
	/* Before the first KVM_RUN, with no filter (lib/msr_catalog.h). */
	msr_probe_catalog(&vm->catalog, vm->g.vcpu);
	msr_vcpu_model_from_host(&vm->model, &vm->host, vm->g.vcpu);
}

void mx_vm_free(struct mx_vm *vm)
{
	guest_msr_vcpu_free(&vm->g);
}

/* --- session ----------------------------------------------------------------- */

#define MX_ALL_ENTRIES	((__u32)((1ull << MSR_CATALOG_SIZE) - 1))

static const char *const check_names[MX_CHECKS] = {
	"exits", "exit fields", "guest result", "KVM_GET_MSRS read-back",
};

/* The <check> of a signature (lib/msr_divergence.h). */
static const char *const check_sigs[MX_CHECKS] = {
	"exits", "exit_fields", "guest_result", "readback",
};

struct mx_case {
	__u64 seq;			/* case number in the group */
	unsigned int entry;		/* catalog position */
	enum msr_access access;
	enum mx_value_kind kind;
	enum mx_response resp;
	enum mx_path path;
	__u64 value;			/* WRMSR value */
	__u64 data;			/* msr.data answered on an exit */
	/* the setting */
	enum mx_filter_state state;
	const struct mx_layout *layout;
	__u32 filter_flags;
	__u64 mask;
	bool x2apic;
	/* the model */
	struct msr_filter_verdict filter;
	struct msr_outcome first;	/* KVM's handling of the instruction */
	struct msr_outcome final;	/* after userspace's answer, if it exits */
	__u64 value_before;		/* the MSR before the case (model) */
	int action;			/* at-exit action, -1: none */
	/* what happened */
	unsigned int exits;
	__u32 exit_reason;
	struct msr_exit_fields seen;
};

struct mx_action {
	bool is_mask;			/* else a filter */
	__u64 mask;
	__u32 flags;
	const struct mx_layout *layout;
	struct msr_verdict expect;	/* the model's verdict on the ioctl */
	bool done;			/* the ioctl ran */
};

#define MX_MAX_ACTIONS	16

/* KVM_X86_SET_MSR_FILTER's argument and the model's view of its memory. */
struct mx_filter_buf {
	struct kvm_msr_filter kfilter;
	__u8 bitmaps[KVM_MSR_FILTER_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct msr_model_mem_region regions[KVM_MSR_FILTER_MAX_RANGES];
};

struct mx_session {
	struct mx_vm *vm;
	const char *group;
	struct mx_result *res;
	struct mx_stats *st;		/* &res->st */
	uint64_t failures_before;
	char rerun[512];
	enum mx_filter_state state;
	unsigned int worker, workers;	/* this process's share of the group */
	__u32 only;			/* catalog entries (bits) to run */
	/* the model's view of the VM */
	struct msr_model_filter_state fstate;
	const struct mx_layout *layout;
	__u32 filter_flags;
	__u64 mask;
	__u64 cur[MSR_CATALOG_SIZE];
	bool readable[MSR_CATALOG_SIZE];
	/* the program */
	unsigned int n;
	bool written[MSR_CATALOG_SIZE];
	bool stored[MSR_CATALOG_SIZE];
	int last_writer[MSR_CATALOG_SIZE];
	struct mx_case cases[GUEST_MSR_MAX_OPS];
	struct mx_action actions[MX_MAX_ACTIONS];
	unsigned int nactions;
	__u64 seq;
	struct mx_filter_buf fb;
};

static const struct msr_catalog_entry *entry_of(const struct mx_session *s, unsigned int i)
{
	return &s->vm->catalog.entries[i];
}

static int entry_pos(const struct mx_session *s, __u32 index)
{
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (entry_of(s, i)->index == index)
			return i;
	}
	return -1;
}

static bool is_x2apic_index(__u32 index)
{
	return index >= MSR_MODEL_X2APIC_FIRST && index <= MSR_MODEL_X2APIC_LAST;
}

/* Host view of every catalog MSR: what the model takes as current values. */
static void read_current_values(struct mx_session *s)
{
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		uint64_t v = 0;

		s->readable[i] = msr_ioctl_one(s->vm->g.vcpu->fd, KVM_GET_MSRS,
					       entry_of(s, i)->index, &v) == 1;
		s->cur[i] = s->readable[i] ? v : 0;
	}
}

struct mx_session *mx_session_new(struct mx_vm *vm, const char *group_name,
				  struct mx_result *res)
{
	struct mx_session *s = calloc(1, sizeof(*s));
	char exe[400];
	ssize_t n;

	TEST_ASSERT(s, "out of memory");
	s->vm = vm;
	s->group = group_name;
	s->res = res;
	s->only = MX_ALL_ENTRIES;
	s->st = &res->st;
	s->failures_before = res->failures;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	snprintf(s->rerun, sizeof(s->rerun), "%s -r %s", exe, group_name);
	msr_model_filter_state_init(&s->fstate);
	if (vm->filter_installed) {
		/* Whatever an earlier user left: replace it by "filtering off". */
		s->state = MX_ALLOW_EMPTY;
		mx_set_filter(s, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL);
	}
	mx_set_mask(s, 0);
	read_current_values(s);
	guest_msr_prog_clear(&vm->g);
	return s;
}

void mx_session_set_state(struct mx_session *s, enum mx_filter_state state)
{
	s->state = state;
}

/* --- failure reporting ------------------------------------------------------- */

/*
 * Diagnostics: "# " lines, a block at a time in one write(), so that the
 * blocks of the processes of a group do not interleave (stderr is the
 * kselftest runner's pipe; writes up to PIPE_BUF are atomic).
 */
struct mx_text {
	char buf[4096];
	size_t len;
};

static void mx_line(struct mx_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mx_line(struct mx_text *t, const char *fmt, ...)
{
	size_t room = sizeof(t->buf) - t->len;
	va_list ap;
	int n;

	if (room < 4)
		return;
	memcpy(t->buf + t->len, "# ", 2);
	t->len += 2;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room - 3, fmt, ap);
	va_end(ap);
	t->len += n < 0 ? 0 : (size_t)n < room - 3 ? (size_t)n : room - 4;
	t->buf[t->len++] = '\n';
}

static void mx_text_flush(struct mx_text *t)
{
	fflush(stdout);
	if (t->len && write(STDERR_FILENO, t->buf, t->len) < 0)
		t->len = 0;
	t->len = 0;
}

/* One "# <prefix><message>" line, and a rerun line if @rerun, in one write. */
static void vlog(const char *prefix, const char *rerun, const char *fmt, va_list ap)
{
	struct mx_text t = { .len = 0 };
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	mx_line(&t, "%s%s", prefix, line);
	if (rerun)
		mx_line(&t, "  rerun: %s", rerun);
	mx_text_flush(&t);
}

static void mx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mx_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", NULL, fmt, ap);
	va_end(ap);
}

/* EDX:EAX as the model says an RDMSR leaves them. */
static __u64 edx_eax(const struct msr_outcome *o)
{
	return (__u64)o->edx << 32 | o->eax;
}

static void describe_outcome(char *buf, size_t len, const struct mx_case *c)
{
	const struct msr_outcome *o = &c->final;
	int n = 0;

	if (c->first.result == MSR_RESULT_EXIT)
		n += snprintf(buf + n, len - n,
			      "one exit %s (reason %s, index %#x, data %#llx, error 0, pad 0), then ",
			      exit_reason_str(c->first.exit_reason),
			      msr_model_reason_str(c->first.msr.reason), c->first.msr.index,
			      (unsigned long long)c->first.msr.data);
	else
		n += snprintf(buf + n, len - n, "no exit; ");
	if (o->result == MSR_RESULT_GP)
		snprintf(buf + n, len - n, "#GP (vector %u), not retired", MSR_MODEL_GP_VECTOR);
	else if (c->access == MSR_RDMSR)
		snprintf(buf + n, len - n, "retired, EDX:EAX = %#llx", (unsigned long long)edx_eax(o));
	else if (o->stored)
		snprintf(buf + n, len - n, "retired, %#llx stored", (unsigned long long)o->data);
	else
		snprintf(buf + n, len - n, "retired, MSR unchanged (%#llx)",
			 (unsigned long long)c->value_before);
}

static void describe_rules(char *buf, size_t len, const struct mx_case *c)
{
	const struct msr_outcome *o = &c->final;
	int n;

	n = snprintf(buf, len, "rule %s (%s); access classified %s; filter %s",
		     msr_rule_name(o->rule), msr_rule_citation(o->rule),
		     msr_rule_name(c->first.cause), msr_rule_name(c->filter.rule));
	if (c->filter.range >= 0 && c->layout) {
		const struct mx_range_spec *r = &c->layout->ranges[c->filter.range];

		snprintf(buf + n, len - n, " by ranges[%d] = %s [%#x, +%#x) %s: %s",
			 c->filter.range, flags_name(r->flags), r->base, r->nmsrs,
			 bits_name(r->bits), c->filter.allowed ? "allowed" : "denied");
	} else {
		snprintf(buf + n, len - n, ": %s", c->filter.allowed ? "allowed" : "denied");
	}
}

static void describe_observed(char *buf, size_t len, const struct mx_case *c,
			      const struct guest_msr_result *r)
{
	static const __u8 zero[7];
	int n = 0;

	if (!c->exits)
		n += snprintf(buf, len, "no exit; ");
	else
		n += snprintf(buf, len,
			      "%u exit%s, first %s (reason %s, index %#x, data %#llx, error %u, pad %s); ",
			      c->exits, c->exits > 1 ? "s" : "", exit_reason_str(c->exit_reason),
			      msr_model_reason_str(c->seen.reason), c->seen.index,
			      (unsigned long long)c->seen.data, c->seen.error,
			      memcmp(c->seen.pad, zero, sizeof(zero)) ? "NOT zero" : "0");
	if (r->vector == GUEST_MSR_NOT_RUN)
		snprintf(buf + n, len - n, "the instruction never completed");
	else if (r->vector)
		snprintf(buf + n, len - n, "exception vector %u, %sretired", r->vector,
			 r->retired ? "" : "not ");
	else if (c->access == MSR_RDMSR)
		snprintf(buf + n, len - n, "%sretired, EDX:EAX = %#llx", r->retired ? "" : "NOT ",
			 (unsigned long long)r->value);
	else
		snprintf(buf + n, len - n, "%sretired", r->retired ? "" : "NOT ");
}

/* The guest CPUID state of the case's VM, the toggled features by name. */
static void print_cpuid(struct mx_text *t, const struct mx_vm *vm)
{
	char st[256], f[160];

	msr_cpuid_state_describe(st, sizeof(st), vm->cpuid);
	msr_features_str(f, sizeof(f), vm->model.guest_features, MSR_CPUID_TOGGLED);
	mx_line(t, "  guest CPUID %s: %s", st, f);
}

static void print_case_context(struct mx_text *t, const struct mx_session *s,
			       const struct mx_case *c, const char *what)
{
	const struct msr_catalog_entry *e = entry_of(s, c->entry);
	char value[96] = "";

	if (c->access == MSR_WRMSR)
		snprintf(value, sizeof(value), " %#llx (%s)", (unsigned long long)c->value,
			 mx_value_kind_name(c->kind));
	if (s->workers > 1)
		mx_line(t, "FAIL %s, case %llu of process %u/%u: %s", s->group,
			(unsigned long long)c->seq, s->worker + 1, s->workers, what);
	else
		mx_line(t, "FAIL %s, case %llu: %s", s->group, (unsigned long long)c->seq, what);
	mx_line(t, "  filter %s, layout %s (%s), exit mask %s (%#llx)",
		mx_filter_state_name(c->state), c->layout ? c->layout->name : "none",
		c->filter_flags & KVM_MSR_FILTER_DEFAULT_DENY ? "DEFAULT_DENY" : "DEFAULT_ALLOW",
		mx_mask_name(c->mask), (unsigned long long)c->mask);
	mx_line(t, "  %s (%#x) %s%s, response %s, path %s, APIC %s", e->name, e->index,
		msr_model_access_str(c->access), value, response_name(c->resp),
		c->path == MX_PATH_NATIVE ? "native" : "forced emulation",
		c->x2apic ? "x2APIC" : "xAPIC");
	print_cpuid(t, s->vm);
}

static void count_failure(struct mx_session *s)
{
	s->res->failures++;
}

/*
 * Count one check of @c against the baseline: its signature
 * matrix.<msr>.<op>.<check>.<cause>, in the setting the model had (vendor,
 * guest CPUID, kernel).  Returns the covering entry or -1.
 */
static int tally(struct mx_session *s, const struct mx_case *c, enum mx_check check,
		 bool failed, char *sig, size_t len)
{
	char buf[MSR_SIG_LEN];
	struct msr_div_case k;

	if (!sig) {
		sig = buf;
		len = sizeof(buf);
	}
	msr_div_sig(sig, len, "matrix", entry_of(s, c->entry)->index,
		    c->access == MSR_RDMSR ? "rdmsr" : "wrmsr", check_sigs[check], c->first.cause);
	msr_div_case_of(&k, &s->vm->model);
	return msr_div_check(&s->res->tally, sig, &k, failed);
}

/*
 * In full: failing checks no baseline entry covers (up to the print limit),
 * and the first failing check of each known entry in this process.
 */
static bool may_print(struct mx_session *s, int known)
{
	unsigned int limit = s->res->print_limit ? s->res->print_limit : MX_MAX_PRINTED;

	if (s->res->silent)
		return false;
	if (known >= 0 && !getenv("MSR_MATRIX_PRINT")) {
		if (s->res->known_printed[known])
			return false;
		s->res->known_printed[known] = true;
		return true;
	}
	return s->res->printed++ < limit;
}

static void case_failed(struct mx_session *s, const struct mx_case *c, enum mx_check check,
			const struct guest_msr_result *r, const char *detail)
{
	struct mx_text t = { .len = 0 };
	char buf[512], sig[MSR_SIG_LEN];
	int known;

	count_failure(s);
	s->res->fail_count[c->entry][c->access][check]++;
	known = tally(s, c, check, true, sig, sizeof(sig));
	if (!may_print(s, known))
		return;
	print_case_context(&t, s, c, check_names[check]);
	describe_outcome(buf, sizeof(buf), c);
	mx_line(&t, "  expected: %s", buf);
	describe_rules(buf, sizeof(buf), c);
	mx_line(&t, "            %s", buf);
	if (r) {
		describe_observed(buf, sizeof(buf), c, r);
		mx_line(&t, "  actual:   %s", buf);
	}
	if (detail)
		mx_line(&t, "  %s", detail);
	msr_div_note(buf, sizeof(buf), sig, known);
	mx_line(&t, "  %s", buf);
	if (known >= 0)
		mx_line(&t, "  (the first failure of this entry in this process; the others are counted)");
	mx_line(&t, "  rerun: %s", s->rerun);
	mx_text_flush(&t);
}

/*
 * A check of the session rather than of a case (an ioctl's errno, an exit
 * no case accounts for), named matrix.none.<what>: counted against the
 * baseline, reported when it fails.
 */
static void session_check(struct mx_session *s, bool ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void session_check(struct mx_session *s, bool ok, const char *what, const char *fmt, ...)
{
	char sig[MSR_SIG_LEN], msg[1024], note[512];
	struct mx_text t = { .len = 0 };
	struct msr_div_case k;
	va_list ap;
	int known;

	snprintf(sig, sizeof(sig), "matrix.none.%s", what);
	msr_div_case_of(&k, &s->vm->model);
	known = msr_div_check(&s->res->tally, sig, &k, !ok);
	if (ok)
		return;
	count_failure(s);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msr_div_note(note, sizeof(note), sig, known);
	mx_line(&t, "FAIL %s: %s", s->group, msg);
	mx_line(&t, "  %s", note);
	mx_line(&t, "  rerun: %s", s->rerun);
	mx_text_flush(&t);
}

/* --- filter and mask --------------------------------------------------------- */

/* Build the ioctl argument and the model's view of the bitmaps' memory. */
static void build_filter_in(struct mx_filter_buf *b, __u32 flags, const struct mx_layout *layout)
{
	unsigned int i, nranges = layout ? layout->nranges : 0;

	memset(&b->kfilter, 0, sizeof(b->kfilter));
	b->kfilter.flags = flags;
	for (i = 0; i < nranges; i++) {
		const struct mx_range_spec *r = &layout->ranges[i];
		__u8 *bm = b->bitmaps[i];
		__u32 n;

		memset(bm, 0, KVM_MSR_FILTER_MAX_BITMAP_SIZE);
		for (n = 0; n < r->nmsrs; n++) {
			if (bit_for(r->bits, r->base + n))
				bm[n / 8] |= 1u << (n % 8);
		}
		b->kfilter.ranges[i] = (struct kvm_msr_filter_range){
			.flags = r->flags, .base = r->base, .nmsrs = r->nmsrs, .bitmap = bm,
		};
		b->regions[i] = (struct msr_model_mem_region){
			.addr = (__u64)(uintptr_t)bm, .len = KVM_MSR_FILTER_MAX_BITMAP_SIZE,
			.data = bm,
		};
	}
}

static void build_filter(struct mx_session *s, __u32 flags, const struct mx_layout *layout)
{
	build_filter_in(&s->fb, flags, layout);
}

unsigned int mx_layout_deciding_slots(const struct mx_layout *layout, __u32 flags)
{
	struct mx_filter_buf *b = calloc(1, sizeof(*b));
	struct msr_model_filter_state *st = calloc(1, sizeof(*st));
	unsigned int i, a, slots = 0;

	TEST_ASSERT(b && st, "out of memory");
	build_filter_in(b, flags, layout);
	msr_model_filter_state_init(st);
	TEST_ASSERT(!msr_model_filter_install(st, &b->kfilter,
					      &(struct msr_model_mem){ b->regions, layout->nranges }).err,
		    "the model refuses layout %s", layout->name);
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		for (a = 0; a < 2; a++) {
			struct msr_filter_verdict v = msr_model_filter_allows(st,
				msr_catalog_table[i].index, a ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ);

			if (v.range >= 0)
				slots |= 1u << v.range;
		}
	free(st);
	free(b);
	return slots;
}

/* KVM_X86_SET_MSR_FILTER, never within MX_INSTALL_GAP_NS of the previous one. */
static int install_filter(struct mx_session *s)
{
	struct mx_vm *vm = s->vm;
	uint64_t t = mx_now_ns();
	int r;

	if (vm->last_install_end_ns && t - vm->last_install_end_ns < MX_INSTALL_GAP_NS) {
		s->st->install_waits++;
		while (mx_now_ns() - vm->last_install_end_ns < MX_INSTALL_GAP_NS)
			;
	}
	r = __vm_ioctl(vm->g.vm, KVM_X86_SET_MSR_FILTER, &s->fb.kfilter);
	vm->last_install_end_ns = mx_now_ns();
	s->st->installs++;
	return r ? errno : 0;
}

/*
 * A change of the filter or the exit mask, now or at an MSR exit.  The
 * model takes it when it is asked for (model_change()), KVM when the
 * ioctl runs (kvm_change()), and KVM's result must be the model's.
 */
static void model_change(struct mx_session *s, struct mx_action *a)
{
	struct msr_model_mem mem = { s->fb.regions, a->layout ? a->layout->nranges : 0 };
	struct msr_model_filter_state *next;

	if (a->is_mask) {
		a->expect = msr_model_cap_user_space_msr(a->mask, 0);
		if (!a->expect.err)
			s->mask = a->mask;
		return;
	}
	next = malloc(sizeof(*next));
	TEST_ASSERT(next, "out of memory");
	*next = s->fstate;
	build_filter(s, a->flags, a->layout);
	a->expect = msr_model_filter_install(next, &s->fb.kfilter, &mem);
	if (!a->expect.err) {
		s->fstate = *next;
		s->layout = a->layout;
		s->filter_flags = a->flags;
	}
	free(next);
}

static int kvm_change(struct mx_session *s, struct mx_action *a, const char *when)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { a->mask } };
	char what[128];
	int err;

	a->done = true;
	if (a->is_mask) {
		err = __vm_ioctl(s->vm->g.vm, KVM_ENABLE_CAP, &cap) ? errno : 0;
		snprintf(what, sizeof(what), "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, %#llx)",
			 (unsigned long long)a->mask);
	} else {
		build_filter(s, a->flags, a->layout);
		err = install_filter(s);
		if (!err)
			s->vm->filter_installed = true;
		snprintf(what, sizeof(what), "KVM_X86_SET_MSR_FILTER(flags %#x, layout %s)",
			 a->flags, a->layout ? a->layout->name : "none");
	}
	session_check(s, err == a->expect.err, a->is_mask ? "cap.errno" : "filter.errno",
		      "%s%s: errno %d (%s), model expects %d (rule %s: %s)", what, when,
		      err, strerror(err), a->expect.err, msr_rule_name(a->expect.rule),
		      msr_rule_citation(a->expect.rule));
	return err;
}

static int change_now(struct mx_session *s, struct mx_action a)
{
	if (s->n)
		mx_flush(s);
	model_change(s, &a);
	return kvm_change(s, &a, "");
}

int mx_set_filter(struct mx_session *s, __u32 flags, const struct mx_layout *layout)
{
	return change_now(s, (struct mx_action){ .flags = flags, .layout = layout });
}

int mx_set_mask(struct mx_session *s, __u64 mask)
{
	return change_now(s, (struct mx_action){ .is_mask = true, .mask = mask });
}

/* Attach the change to the case added last; the model takes it right away. */
static void change_at_exit(struct mx_session *s, struct mx_action a)
{
	TEST_ASSERT(s->n && s->nactions < MX_MAX_ACTIONS, "no case to attach the change to");
	model_change(s, &a);
	s->actions[s->nactions] = a;
	s->cases[s->n - 1].action = s->nactions++;
}

void mx_set_mask_at_exit(struct mx_session *s, __u64 mask)
{
	change_at_exit(s, (struct mx_action){ .is_mask = true, .mask = mask });
}

void mx_set_filter_at_exit(struct mx_session *s, __u32 flags, const struct mx_layout *layout)
{
	change_at_exit(s, (struct mx_action){ .flags = flags, .layout = layout });
}

static void run_action(struct mx_session *s, struct mx_action *a)
{
	if (!a->done)
		kvm_change(s, a, " at an exit");
}

void mx_set_x2apic(struct mx_session *s, bool on)
{
	uint64_t base = 0;

	if (s->n)
		mx_flush(s);
	TEST_ASSERT(msr_ioctl_one(s->vm->g.vcpu->fd, KVM_GET_MSRS, MX_APIC_BASE, &base) == 1,
		    "KVM_GET_MSRS(APIC_BASE) failed");
	base = on ? base | MX_APIC_BASE_EXTD | MX_APIC_BASE_ENABLE :
		    (base & ~MX_APIC_BASE_EXTD) | MX_APIC_BASE_ENABLE;
	TEST_ASSERT(msr_ioctl_one(s->vm->g.vcpu->fd, KVM_SET_MSRS, MX_APIC_BASE, &base) == 1,
		    "KVM_SET_MSRS(APIC_BASE, %#llx) failed: cannot switch the APIC to %s mode",
		    (unsigned long long)base, on ? "x2APIC" : "xAPIC");
	s->vm->model.x2apic_mode = on;
	read_current_values(s);
}

/* --- values ------------------------------------------------------------------ */

/* msr.data answered on an exit: both halves distinctive and nonzero. */
static __u64 case_data(__u64 seq)
{
	return ((__u64)(0xda7a0000u | (seq & 0xffff)) << 32) |
	       (0x5eed0000u ^ (__u32)mx_mix(seq) ^ (__u32)(seq >> 16));
}

static void facts_for(const struct mx_session *s, unsigned int entry, enum mx_path path,
		      struct msr_facts *f)
{
	struct msr_vcpu_model m = s->vm->model;
	int efer = entry_pos(s, MSR_CAT_EFER);

	if (efer >= 0 && s->readable[efer])
		m.efer = s->cur[efer];
	msr_catalog_facts(entry_of(s, entry), &m, f);
	if (s->readable[entry])
		f->rd_value = s->cur[entry];
	/*
	 * emulate.c em_rdmsr()/em_wrmsr() go through
	 * kvm_emulator_{get,set}_msr_with_filter(): an emulated instruction
	 * never uses the hardware MSR bitmaps.
	 */
	if (path == MX_PATH_FORCED_EMULATION)
		f->rd_passthrough = f->wr_passthrough = false;
}

/* The WRMSR value of @kind, from the current value; false: not applicable. */
static bool value_for(const struct mx_session *s, unsigned int entry, enum mx_value_kind kind,
		      __u64 seq, const struct msr_facts *f, __u64 *out)
{
	const struct msr_catalog_entry *e = entry_of(s, entry);
	__u64 safe = mx_safe_bits(e->index), p = mx_mix(seq ^ ((__u64)e->index << 20));
	__u64 valid = (s->cur[entry] & ~safe) | (p & safe);
	enum msr_handler wr = f->wr;

	if (e->index == MSR_CAT_EFER)
		valid = s->cur[entry] ^ MSR_CAT_EFER_SCE;	/* every store shows */
	if (f->wr_check == MSR_CHECK_CANONICAL)
		valid = mx_canonical48(p);
	if (f->wr_check == MSR_CHECK_PAT)
		valid = mx_valid_pat(p);

	switch (kind) {
	case MX_VALUE_VALID:
		*out = valid;
		return true;
	case MX_VALUE_RESERVED_HIGH:
		if (wr != MSR_HANDLER_OK || !f->wr_reserved)
			return false;
		*out = valid | 1ull << (63 - __builtin_clzll(f->wr_reserved));
		return true;
	case MX_VALUE_RESERVED_LOW:
		if (wr != MSR_HANDLER_OK || !f->wr_reserved ||
		    __builtin_ctzll(f->wr_reserved) == 63 - __builtin_clzll(f->wr_reserved))
			return false;
		*out = valid | 1ull << __builtin_ctzll(f->wr_reserved);
		return true;
	case MX_VALUE_NON_CANONICAL:
		if (wr != MSR_HANDLER_OK || f->wr_check != MSR_CHECK_CANONICAL)
			return false;
		/* bit 63 set, bits 62:47 clear: not canonical for 48 or 57 bits */
		*out = 0x8000000000000000ull | (p & 0x00007ffffffff000ull);
		return true;
	case MX_VALUE_PAT_TYPE: {
		static const __u8 bad[] = { 2, 3, 8 };
		unsigned int byte = 1 + p % 7;

		if (wr != MSR_HANDLER_OK || f->wr_check != MSR_CHECK_PAT)
			return false;
		*out = (valid & ~(0xffull << (8 * byte))) |
		       (__u64)bad[(p >> 8) % ARRAY_SIZE(bad)] << (8 * byte);
		return true;
	}
	default:
		return false;
	}
}

/* What the model says decides the access, as a class. */
static enum mx_class class_of(const struct mx_session *s, unsigned int entry,
			      enum msr_access access, __u64 value, const struct msr_facts *f)
{
	static struct msr_model_filter_state none;
	struct msr_outcome o;

	if (is_x2apic_index(entry_of(s, entry)->index))
		return s->vm->model.x2apic_mode ? MX_CLASS_X2APIC_ON : MX_CLASS_X2APIC_OFF;
	o = msr_model_guest_access(&none, 0, f, access, value);
	switch (o.cause) {
	case MSR_RULE_ACCESS_UNKNOWN:
	case MSR_RULE_IGNORE_MSRS:
		return MX_CLASS_UNKNOWN;
	case MSR_RULE_ACCESS_INVALID:
		return MX_CLASS_REFUSED;
	case MSR_RULE_VALUE_RESERVED_BITS:
	case MSR_RULE_VALUE_LOCKED_BITS:
		return MX_CLASS_RESERVED_BITS;
	case MSR_RULE_VALUE_PAT_TYPE:
		return MX_CLASS_PAT_TYPE;
	case MSR_RULE_VALUE_NONCANONICAL:
		return MX_CLASS_NON_CANONICAL;
	default:
		return MX_CLASS_VALID;
	}
}

/* --- cases ------------------------------------------------------------------- */

static void predict(const struct mx_session *s, struct mx_case *c)
{
	const struct msr_catalog_entry *e = entry_of(s, c->entry);
	struct msr_exit_fields user;
	struct msr_facts f;

	facts_for(s, c->entry, c->path, &f);
	c->filter = msr_model_filter_allows(&s->fstate, e->index,
					    c->access == MSR_RDMSR ? KVM_MSR_FILTER_READ :
								     KVM_MSR_FILTER_WRITE);
	c->first = msr_model_guest_access(&s->fstate, s->mask, &f, c->access, c->value);
	c->final = c->first;
	c->value_before = s->cur[c->entry];
	if (c->first.result != MSR_RESULT_EXIT)
		return;
	/* What the exit handler leaves in kvm_run->msr (mx_on_exit()). */
	user = c->first.msr;
	user.error = response_error(c->resp);
	user.data = c->data;
	user.reason = MX_SCRIBBLE_REASON;
	user.index = ~e->index;
	memset(user.pad, MX_SCRIBBLE_PAD, sizeof(user.pad));
	c->final = msr_model_complete_exit(&c->first, &user);
}

static bool stores(const struct mx_case *c)
{
	return c->final.result == MSR_RESULT_DONE && c->final.stored;
}

static __u32 op_kind(enum msr_access access, enum mx_path path)
{
	if (path == MX_PATH_FORCED_EMULATION)
		return access == MSR_RDMSR ? GUEST_RDMSR_FEP : GUEST_WRMSR_FEP;
	return access == MSR_RDMSR ? GUEST_RDMSR : GUEST_WRMSR;
}

static void add_case(struct mx_session *s, struct mx_case *c)
{
	predict(s, c);
	/* One stored write per MSR per program, so the read-back sees each. */
	if ((stores(c) && s->stored[c->entry]) || s->n == GUEST_MSR_MAX_OPS) {
		mx_flush(s);
		predict(s, c);
	}
	c->seq = s->seq++;
	c->action = -1;
	if (c->access == MSR_WRMSR) {
		s->written[c->entry] = true;
		s->last_writer[c->entry] = s->n;
	}
	if (stores(c)) {
		s->stored[c->entry] = true;
		s->cur[c->entry] = c->final.data;
	}
	guest_msr_prog_add(&s->vm->g, op_kind(c->access, c->path), entry_of(s, c->entry)->index,
			   c->value);
	s->cases[s->n++] = *c;
}

unsigned int mx_add_access(struct mx_session *s, __u32 index, enum msr_access access,
			   enum mx_value_kind kind, enum mx_path path)
{
	int entry = entry_pos(s, index);
	struct mx_case c = {
		.entry = entry, .access = access, .kind = kind, .path = path,
		.state = s->state, .layout = s->layout, .filter_flags = s->filter_flags,
		.x2apic = s->vm->model.x2apic_mode,
	};
	unsigned int r, n = 1, first;
	struct msr_facts f;

	TEST_ASSERT(entry >= 0, "MSR %#x is not in the catalog", index);
	facts_for(s, entry, path, &f);
	if (access == MSR_WRMSR && !value_for(s, entry, kind, s->seq, &f, &c.value))
		return 0;
	c.mask = s->mask;
	c.resp = MX_RESPOND_DATA;
	c.data = case_data(s->seq);
	predict(s, &c);
	/* Each answer is a case where the model says it is read; else one. */
	if (c.first.result == MSR_RESULT_EXIT) {
		n = MX_RESPONSES;
		first = 0;
	} else {
		first = s->seq % MX_RESPONSES;
	}
	for (r = 0; r < n; r++) {
		c.resp = (first + r) % MX_RESPONSES;
		c.data = case_data(s->seq);
		c.mask = s->mask;
		c.layout = s->layout;
		c.filter_flags = s->filter_flags;
		add_case(s, &c);
	}
	return n;
}

/* --- running and checking ---------------------------------------------------- */

static void mx_on_exit(struct kvm_run *run, uint32_t op, void *ctx)
{
	struct mx_session *s = ctx;
	struct mx_case *c;

	s->st->exits++;
	if (op >= s->n) {
		session_check(s, false, "run.exits", "%s of %#x after the last instruction of the program",
			      exit_reason_str(run->exit_reason), run->msr.index);
		run->msr.error = 1;
		return;
	}
	c = &s->cases[op];
	if (!c->exits++) {
		c->exit_reason = run->exit_reason;
		c->seen.error = run->msr.error;
		memcpy(c->seen.pad, run->msr.pad, sizeof(c->seen.pad));
		c->seen.reason = run->msr.reason;
		c->seen.index = run->msr.index;
		c->seen.data = run->msr.data;
	}
	run->msr.error = response_error(c->resp);
	run->msr.data = c->data;
	/* KVM reads back error and data only (msr_model_complete_exit()). */
	run->msr.reason = MX_SCRIBBLE_REASON;
	run->msr.index = ~run->msr.index;
	memset(run->msr.pad, MX_SCRIBBLE_PAD, sizeof(run->msr.pad));
	if (c->action >= 0)
		run_action(s, &s->actions[c->action]);
}

static void check_exit_fields(struct mx_session *s, const struct mx_case *c,
			      const struct guest_msr_result *r)
{
	static const __u8 zero[7];
	const struct msr_exit_fields *e = &c->first.msr, *a = &c->seen;
	char detail[256];

	if (c->exit_reason == c->first.exit_reason && a->reason == e->reason &&
	    a->index == e->index && a->data == e->data && !a->error &&
	    !memcmp(a->pad, zero, sizeof(zero))) {
		tally(s, c, MX_CHECK_EXIT_FIELDS, false, NULL, 0);
		return;
	}
	snprintf(detail, sizeof(detail),
		 "kvm_run: exit_reason %s/%s, msr.reason %#x/%#x, msr.index %#x/%#x, "
		 "msr.data %#llx/%#llx, msr.error %u/0 (actual/expected)",
		 exit_reason_str(c->exit_reason), exit_reason_str(c->first.exit_reason),
		 a->reason, e->reason, a->index, e->index, (unsigned long long)a->data,
		 (unsigned long long)e->data, a->error);
	case_failed(s, c, MX_CHECK_EXIT_FIELDS, r, detail);
}

static bool guest_matches(const struct mx_case *c, const struct guest_msr_result *r)
{
	if (c->final.result == MSR_RESULT_GP)
		return r->vector == MSR_MODEL_GP_VECTOR && !r->retired;
	if (r->vector || !r->retired)
		return false;
	return c->access == MSR_WRMSR || r->value == edx_eax(&c->final);
}

static void check_case(struct mx_session *s, const struct mx_case *c,
		       const struct guest_msr_result *r)
{
	unsigned int want = c->first.result == MSR_RESULT_EXIT;

	s->st->cases++;
	s->st->cpuid_cases[s->vm->cpuid]++;
	if (c->exits != want)
		case_failed(s, c, MX_CHECK_EXITS, r, NULL);
	else
		tally(s, c, MX_CHECK_EXITS, false, NULL, 0);
	if (c->exits == want && want)
		check_exit_fields(s, c, r);
	if (!guest_matches(c, r))
		case_failed(s, c, MX_CHECK_GUEST, r, NULL);
	else
		tally(s, c, MX_CHECK_GUEST, false, NULL, 0);
}

/*
 * After a read-back mismatch: go on from what KVM holds (the kvm_amd TPR
 * keeps only bits 7:4 however often it is written), unless it is a value
 * the model says no WRMSR can store (a non-canonical LSTAR stored by QEMU's
 * TCG, a reserved PAT type stored by PVM), which need not even survive the
 * next VM entry as it is: then KVM_SET_MSRS puts the model's value back, so
 * one divergence does not reach into later cases.
 */
static void resync(struct mx_session *s, unsigned int e, __u64 kvm_value)
{
	static struct msr_model_filter_state none;
	uint64_t want = s->cur[e];
	struct msr_outcome o;
	struct msr_facts f;

	facts_for(s, e, MX_PATH_NATIVE, &f);
	o = msr_model_guest_access(&none, 0, &f, MSR_WRMSR, kvm_value);
	switch (o.cause) {
	case MSR_RULE_VALUE_RESERVED_BITS:
	case MSR_RULE_VALUE_NONCANONICAL:
	case MSR_RULE_VALUE_PAT_TYPE:
		if (msr_ioctl_one(s->vm->g.vcpu->fd, KVM_SET_MSRS, entry_of(s, e)->index,
				  &want) == 1)
			return;
		break;
	default:
		break;
	}
	s->cur[e] = kvm_value;
}

/* KVM_GET_MSRS of every MSR written in the program, in one ioctl, against the model. */
static void check_readback(struct mx_session *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CATALOG_SIZE];
	} buf = { .hdr.nmsrs = 0 };
	unsigned int pos[MSR_CATALOG_SIZE], i, n = 0;
	int got;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (!s->written[i] || !s->readable[i])
			continue;
		buf.e[n] = (struct kvm_msr_entry){ .index = entry_of(s, i)->index };
		pos[n++] = i;
	}
	if (!n)
		return;
	buf.hdr.nmsrs = n;
	got = __vcpu_ioctl(s->vm->g.vcpu, KVM_GET_MSRS, &buf.hdr);
	for (i = 0; i < n; i++) {
		unsigned int e = pos[i];
		const struct mx_case *c;
		char detail[256];

		c = &s->cases[s->last_writer[e]];
		if ((int)i < got && buf.e[i].data == s->cur[e]) {
			tally(s, c, MX_CHECK_READBACK, false, NULL, 0);
			continue;
		}
		if ((int)i < got)
			snprintf(detail, sizeof(detail),
				 "after the program KVM_GET_MSRS(%s) = %#llx, model: %#llx (the last "
				 "WRMSR of the program, this case, wrote %#llx)", entry_of(s, e)->name,
				 (unsigned long long)buf.e[i].data, (unsigned long long)s->cur[e],
				 (unsigned long long)c->value);
		else
			snprintf(detail, sizeof(detail), "after the program KVM_GET_MSRS(%s) failed "
				 "(returned %d of %u entries)", entry_of(s, e)->name, got, n);
		case_failed(s, c, MX_CHECK_READBACK, &s->vm->g.prog->results[s->last_writer[e]],
			    detail);
		if ((int)i < got)
			resync(s, e, buf.e[i].data);
	}
}

void mx_flush(struct mx_session *s)
{
	struct guest_msr_program *p = s->vm->g.prog;
	unsigned int i;

	if (!s->n)
		return;
	guest_msr_run(&s->vm->g, mx_on_exit, s);
	s->st->runs++;
	for (i = 0; i < s->n; i++)
		check_case(s, &s->cases[i], &p->results[i]);
	for (i = 0; i < s->nactions; i++) {
		if (s->actions[i].done)
			continue;
		session_check(s, false, "run.action", "the exit meant to change the %s never happened; "
			      "changed after the program", s->actions[i].is_mask ? "exit mask" : "filter");
		run_action(s, &s->actions[i]);
	}
	check_readback(s);
	guest_msr_prog_clear(&s->vm->g);
	s->n = 0;
	s->nactions = 0;
	memset(s->written, 0, sizeof(s->written));
	memset(s->stored, 0, sizeof(s->stored));
}

void mx_print_failure_summary(const struct mx_result *r, const char *group)
{
	unsigned int i, a, k, counted = 0;
	struct mx_text t = { .len = 0 };

	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		for (a = 0; a < 2; a++)
			for (k = 0; k < MX_CHECKS; k++)
				counted += r->fail_count[i][a][k];
	if (!counted)
		return;
	mx_line(&t, "%s: %u failing checks by MSR, access and check (the first ones are "
		"printed in full above):", group, counted);
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		for (a = 0; a < 2; a++)
			for (k = 0; k < MX_CHECKS; k++)
				if (r->fail_count[i][a][k])
					mx_line(&t, "  %-28s %s %-24s %u", msr_catalog_table[i].name,
						msr_model_access_str(a), check_names[k],
						r->fail_count[i][a][k]);
	mx_text_flush(&t);
}

uint64_t mx_session_end(struct mx_session *s)
{
	uint64_t failures;

	mx_flush(s);
	failures = s->res->failures - s->failures_before;
	free(s);
	return failures;
}

/* --- groups -------------------------------------------------------------------- */

struct mx_template {
	__u32 index;
	enum msr_access access;
	enum mx_value_kind kind;
};

/*
 * The accesses of @classes (bit per class) in the current APIC mode, by
 * value kind first so that the stored writes of one MSR land in separate
 * programs only when they must.
 */
static unsigned int templates_for(const struct mx_session *s, unsigned int classes,
				  enum mx_path path, struct mx_template *t, unsigned int max)
{
	unsigned int k, i, n = 0;

	for (k = MX_VALUE_NONE; k < MX_VALUE_KINDS; k++) {
		for (i = 0; i < MSR_CATALOG_SIZE; i++) {
			enum msr_access access = k == MX_VALUE_NONE ? MSR_RDMSR : MSR_WRMSR;
			struct msr_facts f;
			__u64 value = 0;

			if (!(s->only & (1u << i)))
				continue;
			facts_for(s, i, path, &f);
			if (access == MSR_WRMSR && !value_for(s, i, k, 0, &f, &value))
				continue;
			if (!(classes & (1u << class_of(s, i, access, value, &f))))
				continue;
			TEST_ASSERT(n < max, "too many templates");
			t[n++] = (struct mx_template){ entry_of(s, i)->index, access, k };
		}
	}
	return n;
}

/*
 * One APIC mode's cases of @classes: every layout of the filter state x
 * every exit mask.  Worker @w of @n takes the layouts (or, with a single
 * layout, the masks) whose number is w modulo n.
 */
static void run_pass(struct mx_session *s, const struct mx_group *grp, unsigned int classes,
		     unsigned int w, unsigned int n)
{
	struct mx_template t[MSR_CATALOG_SIZE * MX_VALUE_KINDS];
	unsigned int nt, nl, l, i;
	const struct mx_layout *layouts = state_layouts(grp->state, &nl);
	__u64 mask;

	nt = templates_for(s, classes, grp->path, t, ARRAY_SIZE(t));
	for (l = 0; l < nl; l++) {
		if (nl > 1 && l % n != w)
			continue;
		if (grp->state == MX_ALLOW_EMPTY)
			mx_set_filter(s, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL);
		else if (grp->state != MX_NEVER_SET)
			mx_set_filter(s, grp->state == MX_DENY_RANGES ? KVM_MSR_FILTER_DEFAULT_DENY :
						KVM_MSR_FILTER_DEFAULT_ALLOW, &layouts[l]);
		for (mask = 0; mask < MX_MASKS; mask++) {
			if (nl == 1 && mask % n != w)
				continue;
			mx_set_mask(s, mask);
			for (i = 0; i < nt; i++)
				mx_add_access(s, t[i].index, t[i].access, t[i].kind, grp->path);
			mx_flush(s);
		}
	}
}

/*
 * The catalog entries (bits) whose facts the guest CPUID state of @vm
 * changes: what the model says differs from the same vCPU with every
 * toggled feature absent.  In the absent state: all of them.
 */
static __u32 cpuid_dependent(const struct mx_vm *vm)
{
	struct msr_vcpu_model absent = vm->model;
	__u32 dep = 0;
	unsigned int i;

	if (vm->cpuid == MSR_CPUID_ABSENT)
		return MX_ALL_ENTRIES;
	absent.guest_features &= ~MSR_CPUID_TOGGLED;
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		struct msr_facts a, p;

		msr_catalog_facts(&vm->catalog.entries[i], &vm->model, &p);
		msr_catalog_facts(&vm->catalog.entries[i], &absent, &a);
		if (memcmp(&a, &p, sizeof(a)))
			dep |= 1u << i;
	}
	return dep;
}

void mx_run_share(struct mx_vm *vm, const struct mx_group *grp, unsigned int w,
		  unsigned int n, struct mx_result *res)
{
	unsigned int x2on = MX_CLASS_BIT(MX_CLASS_X2APIC_ON), classes = grp->classes;
	__u32 only = cpuid_dependent(vm);
	struct mx_session *s;

	_Static_assert(MSR_CATALOG_SIZE <= 32, "catalog entries are bits of a u32");
	TEST_ASSERT(grp->state != MX_NEVER_SET || !vm->filter_installed,
		    "never_set needs a VM that never had a filter");
	if (!only)
		return;
	s = mx_session_new(vm, grp->name, res);
	mx_session_set_state(s, grp->state);
	s->worker = w;
	s->workers = n;
	s->only = only;
	if (classes & ~x2on) {
		mx_set_x2apic(s, false);
		run_pass(s, grp, classes & ~x2on, w, n);
	}
	if (classes & x2on) {
		mx_set_x2apic(s, true);
		run_pass(s, grp, x2on, w, n);
		mx_set_x2apic(s, false);
	}
	mx_session_end(s);
}

/*
 * Worker processes: each runs @fn with its own VMs, its own KVM_RUN bound
 * (suite_vcpu_run()'s alarm is per process) and its own result, which it
 * leaves in shared memory; worker 0 is this process.
 */
void mx_run_workers(mx_worker_fn fn, void *arg, unsigned int n, struct mx_result *res)
{
	struct mx_result *shared = mmap(NULL, n * sizeof(*shared), PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[MX_WORKERS];
	unsigned int w;

	TEST_ASSERT(shared != MAP_FAILED && n >= 1 && n <= MX_WORKERS, "mmap of %u results", n);
	memset(shared, 0, n * sizeof(*shared));
	for (w = 0; w < n; w++) {
		shared[w].print_limit = res->print_limit ? res->print_limit : MX_MAX_PRINTED / n;
		shared[w].silent = res->silent;
	}
	fflush(NULL);
	for (w = 1; w < n; w++) {
		pids[w] = fork();
		TEST_ASSERT(pids[w] >= 0, "fork");
		if (!pids[w]) {
			fn(w, n, arg, &shared[w]);
			fflush(NULL);
			_exit(0);
		}
	}
	fn(0, n, arg, &shared[0]);
	for (w = 1; w < n; w++) {
		int status;

		TEST_ASSERT(waitpid(pids[w], &status, 0) == pids[w], "waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			mx_log("FAIL worker %u of %u died (status %#x); its messages are above", w, n,
			       status);
			shared[w].failures++;
		}
	}
	for (w = 0; w < n; w++)
		result_add(res, &shared[w]);
	munmap(shared, n * sizeof(*shared));
}

/*
 * Both guest CPUID states, each on a VM of its own, created together so
 * that the present VM's first filter install does not wait for the grace
 * period KVM_CREATE_VM starts (it passes while the absent one runs).
 */
static void group_worker(unsigned int w, unsigned int n, void *arg, struct mx_result *res)
{
	struct mx_vm *vm = calloc(MSR_CPUID_STATES, sizeof(*vm));
	unsigned int st;

	TEST_ASSERT(vm, "out of memory");
	for (st = 0; st < MSR_CPUID_STATES; st++)
		mx_vm_create(&vm[st], st);
	for (st = 0; st < MSR_CPUID_STATES; st++) {
		uint64_t before = res->failures;

		mx_run_share(&vm[st], arg, w, n, res);
		if (res->failures > before && !w && !res->silent) {
			char model[512];

			msr_vcpu_model_describe(model, sizeof(model), &vm[st].model, &vm[st].host);
			mx_log("  vCPU model (guest CPUID %s): %s", msr_cpuid_state_name(st), model);
		}
	}
	for (st = 0; st < MSR_CPUID_STATES; st++)
		mx_vm_free(&vm[st]);
	free(vm);
}

uint64_t mx_run_group(const struct mx_group *grp, unsigned int n, struct mx_result *res)
{
	struct mx_result r = { .print_limit = res->print_limit };
	const char *print = getenv("MSR_MATRIX_PRINT");
	uint64_t t0 = mx_now_ns();

	/* MSR_MATRIX_PRINT=all (or a number): print that many failing checks. */
	if (print)
		r.print_limit = !strcmp(print, "all") ? ~0u : (unsigned int)atoi(print);

	mx_run_workers(group_worker, (void *)grp, n, &r);
	r.st.groups = 1;
	mx_print_failure_summary(&r, grp->name);
	mx_print_cpuid_cases(&r, grp->name);
	mx_log("%s: %llu cases, %llu exits, %llu filter installs, %llu programs, %u processes, "
	       "%.1f ms: %llu failures", grp->name, (unsigned long long)r.st.cases,
	       (unsigned long long)r.st.exits, (unsigned long long)r.st.installs,
	       (unsigned long long)r.st.runs, n, (mx_now_ns() - t0) / 1e6,
	       (unsigned long long)r.failures);
	msr_div_tally_print(&r.tally, grp->name, stderr);
	result_add(res, &r);
	return r.failures;
}

void mx_print_cpuid_cases(const struct mx_result *r, const char *group)
{
	char present[256];

	msr_cpuid_state_describe(present, sizeof(present), MSR_CPUID_PRESENT);
	mx_log("%s: guest CPUID absent: %llu cases; %s: %llu cases (the MSRs it changes)", group,
	       (unsigned long long)r->st.cpuid_cases[MSR_CPUID_ABSENT], present,
	       (unsigned long long)r->st.cpuid_cases[MSR_CPUID_PRESENT]);
}
