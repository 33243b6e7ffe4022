// SPDX-License-Identifier: GPL-2.0
/*
 * The filter x exit-reason matrix; see msr_matrix.h.  The cases are
 * predicted, run, checked and described by the case engine
 * (lib/msr_case.h); this file holds the tables (layouts, classes, value
 * kinds, answers), the sessions that keep the model's view of a VM next
 * to KVM's, and the report of a group.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msr_filter_probe.h"
#include "msr_matrix.h"
#include "msr_probe.h"
#include "suite.h"

#define MX_APIC_BASE		0x0000001bu
#define MX_APIC_BASE_EXTD	(1ull << 10)
#define MX_APIC_BASE_ENABLE	(1ull << 11)

/* --- names ---------------------------------------------------------------- */

const char *mx_filter_state_name(enum mx_filter_state s)
{
	static const char *const names[MX_FILTER_STATES] = {
		[MX_NEVER_SET] = "never_set", [MX_ALLOW_EMPTY] = "allow_empty",
		[MX_ALLOW_RANGES] = "allow_ranges", [MX_DENY_RANGES] = "deny_ranges",
	};

	return (unsigned int)s < MX_FILTER_STATES ? names[s] : "?";
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

/*
 * The answers: data (distinctive per case), error 1, error 0xff; the exit
 * handler also scribbles on reason, index and pad, which KVM must not read
 * back (msr_model_complete_exit()).
 */
static const struct {
	const char *name;
	__u8 error;
} responses[MX_RESPONSES] = {
	[MX_RESPOND_DATA] = { "data", 0 },
	[MX_RESPOND_ERROR_1] = { "error 1", 1 },
	[MX_RESPOND_ERROR_FF] = { "error 0xff", 0xff },
};

/* msr.data answered on an exit: both halves distinctive and nonzero. */
static __u64 case_data(__u64 seq)
{
	return ((__u64)(0xda7a0000u | (seq & 0xffff)) << 32) |
	       (0x5eed0000u ^ (__u32)msr_mix(seq) ^ (__u32)(seq >> 16));
}

static struct msr_case_answer answer_of(enum mx_response r, __u64 seq)
{
	return (struct msr_case_answer){
		.error = responses[r].error, .data = case_data(seq), .index_xor = ~0u,
		.scribble_reason = true, .reason = 0x5c5c5c5cu, .scribble_pad = true, .pad = 0xa5,
	};
}

static void result_add(struct mx_result *to, const struct mx_result *from)
{
	uint64_t *t = (uint64_t *)&to->st;
	const uint64_t *f = (const uint64_t *)&from->st;
	unsigned int i;

	_Static_assert(sizeof(to->st) % sizeof(uint64_t) == 0, "mx_stats: counters only");
	for (i = 0; i < sizeof(to->st) / sizeof(uint64_t); i++)
		t[i] += f[i];
	to->failures += from->failures;
	to->printed += from->printed;
	msr_div_tally_add(&to->tally, &from->tally);
	for (i = 0; i < sizeof(to->fail_count) / sizeof(to->fail_count[0][0][0]); i++)
		(&to->fail_count[0][0][0])[i] += (&from->fail_count[0][0][0])[i];
}

/* --- layouts (lib/msr_filter_specs.h) ----------------------------------------- */

/*
 * The layouts of @grp's filter state: the matrix's, or for the
 * side-effect groups those denying the instructions' MSRs (allow_ranges:
 * the first MSR_SIDE_EFFECT_FILTER_SPECS, deny_ranges: the next ones).
 */
static const struct msr_filter_spec *state_layouts(const struct mx_group *grp, unsigned int *n)
{
	static const struct msr_filter_spec none[] = { { "none" } }, empty[] = { { "empty" } };

	if (grp->state == MX_NEVER_SET || grp->state == MX_ALLOW_EMPTY) {
		*n = 1;
		return grp->state == MX_NEVER_SET ? none : empty;
	}
	if (!grp->side_effect) {
		*n = MSR_MATRIX_FILTER_SPECS;
		return msr_matrix_filter_specs;
	}
	*n = MSR_SIDE_EFFECT_FILTER_SPECS;
	return msr_side_effect_filter_specs +
	       (grp->state == MX_DENY_RANGES ? MSR_SIDE_EFFECT_FILTER_SPECS : 0);
}

const struct msr_filter_spec *mx_layout_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < MSR_MATRIX_FILTER_SPECS; i++) {
		if (!strcmp(msr_matrix_filter_specs[i].name, name))
			return &msr_matrix_filter_specs[i];
	}
	return NULL;
}

/* --- session ----------------------------------------------------------------- */

#define MX_ALL_ENTRIES	((__u32)((1ull << MSR_CATALOG_SIZE) - 1))

/* What the matrix keeps of a case besides the engine's part. */
struct mx_case {
	__u64 seq;			/* case number in the group */
	enum msr_value_kind kind;	/* WRMSR */
	enum mx_response resp;
	/* the setting */
	enum mx_filter_state state;
	const struct msr_filter_spec *layout;
	__u32 filter_flags;
	__u64 mask;
	bool x2apic;
	bool install_refused;
	__u64 value_before;		/* the MSR before the case (model) */
	int action;			/* at-exit action, -1: none */
};

struct mx_action {
	bool is_mask;			/* else a filter */
	__u64 mask;
	__u32 flags;
	const struct msr_filter_spec *layout;
	struct msr_verdict expect;	/* the model's verdict on the ioctl */
	bool done;			/* the ioctl ran */
};

#define MX_MAX_ACTIONS	16

/* KVM_X86_SET_MSR_FILTER's argument and the model's view of its memory. */
struct mx_filter_buf {
	struct kvm_msr_filter kfilter;
	__u8 bitmaps[KVM_MSR_FILTER_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct msr_model_mem_region regions[MSR_SPEC_MAX_RANGES];
	struct msr_model_mem mem;
};

struct mx_session {
	struct msr_vm *vm;
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
	const struct msr_filter_spec *layout;
	__u32 filter_flags;
	bool install_refused;
	__u64 mask;
	__u64 cur[MSR_CATALOG_SIZE];
	__u32 readable;			/* entries whose cur[] is KVM's */
	/* the program */
	unsigned int n;
	__u32 written, stored;		/* entries (bits) */
	int last_writer[MSR_CATALOG_SIZE];
	struct msr_case cases[GUEST_MSR_MAX_OPS];
	struct mx_case mc[GUEST_MSR_MAX_OPS];
	struct mx_action actions[MX_MAX_ACTIONS];
	unsigned int nactions;
	__u64 seq;
	struct mx_filter_buf fb;
	/* side-effect instructions: what the host set (mx_load_side_effect()) */
	struct msr_side_effect_state se;
	bool se_loaded;
	enum mx_l1_policy l1_policy;
	const char *source;		/* of the signatures: "matrix" */
};

static const struct msr_catalog_entry *entry_of(const struct mx_session *s, unsigned int i)
{
	return &s->vm->catalog.entries[i];
}

struct mx_session *mx_session_new(struct msr_vm *vm, const char *group_name,
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
	s->source = "matrix";
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
	s->readable = msr_vm_read(s->vm, s->cur);
	return s;
}

void mx_session_set_state(struct mx_session *s, enum mx_filter_state state)
{
	s->state = state;
}

void mx_session_set_source(struct mx_session *s, const char *source)
{
	s->source = source;
}

/* --- failure reporting ------------------------------------------------------- */

static void mx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mx_log(const char *fmt, ...)
{
	struct suite_text t = { .len = 0 };
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	suite_text_line(&t, "%s", line);
	suite_text_flush(&t, stderr);
}

static void print_case_context(struct suite_text *t, const struct mx_session *s, unsigned int i,
			       const char *what)
{
	const struct msr_case *c = &s->cases[i];
	const struct mx_case *m = &s->mc[i];
	char value[96] = "", st[256], f[160];

	if (c->access == MSR_WRMSR)
		snprintf(value, sizeof(value), " %#llx (%s)", (unsigned long long)c->value,
			 msr_value_kind_name(m->kind));
	if (s->workers > 1)
		suite_text_line(t, "FAIL %s, case %llu of process %u/%u: %s", s->group,
			(unsigned long long)m->seq, s->worker + 1, s->workers, what);
	else
		suite_text_line(t, "FAIL %s, case %llu: %s", s->group, (unsigned long long)m->seq, what);
	suite_text_line(t, "  filter %s, layout %s (%s), exit mask %s (%#llx)",
		mx_filter_state_name(m->state), m->layout ? m->layout->name : "none",
		m->filter_flags & KVM_MSR_FILTER_DEFAULT_DENY ? "DEFAULT_DENY" : "DEFAULT_ALLOW",
		mx_mask_name(m->mask), (unsigned long long)m->mask);
	if (c->fv.range >= 0 && m->layout) {
		const struct msr_filter_spec_range *r = &m->layout->ranges[c->fv.range];
		static const char *const flags[] = { "no access", "READ", "WRITE", "READ|WRITE" };

		suite_text_line(t, "  ranges[%d] = %s [%#x, +%#x), bitmap %s %#04x", c->fv.range,
				r->flags < 4 ? flags[r->flags] : "invalid flags", r->base, r->nmsrs,
				r->hash == MSR_SPEC_HASH_INV ? "inverse hash" : r->hash ? "hash" :
				"every byte", r->hash ? 0 : r->pattern);
	}
	if (c->insn != MSR_INSN_ACCESS) {
		msr_case_describe_access(f, sizeof(f), c);
		suite_text_line(t, "  %s, APIC %s", f, m->x2apic ? "x2APIC" : "xAPIC");
	} else {
		suite_text_line(t, "  %s (%#x) %s%s, response %s, path %s%s, APIC %s",
			entry_of(s, c->entry)->name, c->index, msr_model_access_str(c->access), value,
			responses[m->resp].name, msr_path_name(c->path), c->path != MSR_PATH_L2 ? "" :
			c->l1_intercept ? " (L1's map intercepts it)" : " (L1's map passes it through)",
			m->x2apic ? "x2APIC" : "xAPIC");
	}
	msr_cpuid_state_describe(st, sizeof(st), s->vm->cpuid);
	msr_features_str(f, sizeof(f), s->vm->model.guest_features, MSR_CPUID_TOGGLED);
	suite_text_line(t, "  guest CPUID %s: %s", st, f);
}

/*
 * Count one check of case @i against the baseline: its signature
 * matrix.<msr>.<op>.<check>, in the setting the model had (vendor, guest
 * CPUID, kernel, the case's cause).  Returns the covering entry or -1.
 */
static int tally(struct mx_session *s, unsigned int i, enum msr_check check, bool failed,
		 char *sig, size_t len)
{
	char buf[MSR_SIG_LEN];
	struct msr_div_case k;

	if (!sig) {
		sig = buf;
		len = sizeof(buf);
	}
	msr_case_sig(sig, len, s->source, &s->cases[i], check);
	msr_case_div_case(&k, &s->vm->model, &s->cases[i]);
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

static void case_failed(struct mx_session *s, unsigned int i, enum msr_check check,
			const char *detail)
{
	const struct msr_case *c = &s->cases[i];
	struct suite_text t = { .len = 0 };
	char buf[1024], sig[MSR_SIG_LEN + 64];
	size_t n;
	int known;

	s->res->failures++;
	if (c->entry >= 0)
		s->res->fail_count[c->entry][c->access][check]++;
	known = tally(s, i, check, true, sig, sizeof(sig));
	if (!may_print(s, known))
		return;
	print_case_context(&t, s, i, msr_check_title(check));
	msr_case_describe(buf, sizeof(buf), c, &s->mc[i].value_before, "");
	suite_text_line(&t, "  %s", strtok(buf, "\n"));
	suite_text_line(&t, "  %s", strtok(NULL, "\n"));
	suite_text_line(&t, "  %s", strtok(NULL, "\n"));
	if (detail)
		suite_text_line(&t, "  %s", detail);
	n = strlen(sig);
	snprintf(sig + n, sizeof(sig) - n, " cause=%s", msr_div_rule_slug(buf, sizeof(buf),
									c->first.cause));
	msr_div_note(buf, sizeof(buf), sig, known);
	suite_text_line(&t, "  %s", buf);
	if (known >= 0)
		suite_text_line(&t, "  (the first failure of this entry in this process; the others are counted)");
	suite_text_line(&t, "  rerun: %s", s->rerun);
	suite_text_flush(&t, stderr);
}

/*
 * A check of the session rather than of a case (an ioctl's errno, the
 * program's run), named matrix.none.<what>: counted against the baseline,
 * reported when it fails.
 */
static void session_check(struct mx_session *s, bool ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void session_check(struct mx_session *s, bool ok, const char *what, const char *fmt, ...)
{
	char sig[MSR_SIG_LEN], msg[1024], note[512];
	struct suite_text t = { .len = 0 };
	struct msr_div_case k;
	va_list ap;
	int known;

	msr_case_sig_none(sig, sizeof(sig), s->source, what);
	msr_case_div_case(&k, &s->vm->model, NULL);
	known = msr_div_check(&s->res->tally, sig, &k, !ok);
	if (ok)
		return;
	s->res->failures++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msr_div_note(note, sizeof(note), sig, known);
	suite_text_line(&t, "FAIL %s: %s", s->group, msg);
	suite_text_line(&t, "  %s", note);
	suite_text_line(&t, "  rerun: %s", s->rerun);
	suite_text_flush(&t, stderr);
}

/* --- filter and mask --------------------------------------------------------- */

/* Build the ioctl argument and the model's view of the bitmaps' memory. */
static void build_filter(struct mx_filter_buf *b, __u32 flags, const struct msr_filter_spec *layout)
{
	static const struct msr_filter_spec none;

	msr_filter_spec_build(layout ? layout : &none, &b->kfilter, b->bitmaps);
	b->kfilter.flags = flags;
	msr_filter_spec_mem(b->bitmaps, b->regions, &b->mem);
}

unsigned int mx_layout_deciding_slots(const struct msr_filter_spec *layout, __u32 flags)
{
	struct mx_filter_buf *b = calloc(1, sizeof(*b));
	struct msr_model_filter_state *st = calloc(1, sizeof(*st));
	unsigned int i, a, slots = 0;

	TEST_ASSERT(b && st, "out of memory");
	build_filter(b, flags, layout);
	msr_model_filter_state_init(st);
	TEST_ASSERT(!msr_model_filter_install(st, &b->kfilter, &b->mem).err,
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

/*
 * A change of the filter or the exit mask, now or at an MSR exit.  The
 * model takes it when it is asked for (model_change()), KVM when the
 * ioctl runs (kvm_change()), and KVM's result must be the model's.
 */
static void model_change(struct mx_session *s, struct mx_action *a)
{
	if (a->is_mask) {
		a->expect = msr_model_cap_user_space_msr(a->mask, 0);
		if (!a->expect.err)
			s->mask = a->mask;
		return;
	}
	build_filter(&s->fb, a->flags, a->layout);
	/* The model's state stays as it was if the install is refused. */
	a->expect = msr_model_filter_install(&s->fstate, &s->fb.kfilter, &s->fb.mem);
	s->install_refused = a->expect.err;
	if (!a->expect.err) {
		s->layout = a->layout;
		s->filter_flags = a->flags;
	}
}

static int kvm_change(struct mx_session *s, struct mx_action *a, const char *when)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR, .args = { a->mask } };
	char what[128];
	bool waited;
	int err;

	a->done = true;
	if (a->is_mask) {
		err = __vm_ioctl(s->vm->g.vm, KVM_ENABLE_CAP, &cap) ? errno : 0;
		snprintf(what, sizeof(what), "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, %#llx)",
			 (unsigned long long)a->mask);
	} else {
		build_filter(&s->fb, a->flags, a->layout);
		err = -msr_filter_install_spaced(s->vm->g.vm, &s->fb.kfilter,
						 &s->vm->last_install_end_ns, &waited);
		s->st->installs++;
		s->st->install_waits += waited;
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

int mx_set_filter(struct mx_session *s, __u32 flags, const struct msr_filter_spec *layout)
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
	s->mc[s->n - 1].action = s->nactions++;
}

void mx_set_mask_at_exit(struct mx_session *s, __u64 mask)
{
	change_at_exit(s, (struct mx_action){ .is_mask = true, .mask = mask });
}

void mx_set_filter_at_exit(struct mx_session *s, __u32 flags, const struct msr_filter_spec *layout)
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
	s->readable = msr_vm_read(s->vm, s->cur);
}

/* --- cases ------------------------------------------------------------------- */

static void facts_of(const struct mx_session *s, unsigned int entry, enum msr_path path,
		     struct msr_facts *f)
{
	msr_case_facts(&s->vm->catalog, &s->vm->model, s->cur, s->readable, entry, path, f);
}

static struct msr_case_setting setting_of(const struct mx_session *s)
{
	return (struct msr_case_setting){ &s->fstate, s->mask, &s->vm->model, s->install_refused,
					  s->se_loaded ? &s->se : NULL };
}

/* What the model says decides the access, as a class. */
static enum mx_class class_of(const struct mx_session *s, unsigned int entry,
			      enum msr_access access, __u64 value, const struct msr_facts *f)
{
	static const enum mx_class by_cause[MSR_RULE_COUNT] = {
		[MSR_RULE_ACCESS_UNKNOWN] = MX_CLASS_UNKNOWN, [MSR_RULE_IGNORE_MSRS] = MX_CLASS_UNKNOWN,
		[MSR_RULE_ACCESS_INVALID] = MX_CLASS_REFUSED,
		[MSR_RULE_VALUE_RESERVED_BITS] = MX_CLASS_RESERVED_BITS,
		[MSR_RULE_VALUE_LOCKED_BITS] = MX_CLASS_RESERVED_BITS,
		[MSR_RULE_VALUE_PAT_TYPE] = MX_CLASS_PAT_TYPE,
		[MSR_RULE_VALUE_NONCANONICAL] = MX_CLASS_NON_CANONICAL,
	};	/* any other: MX_CLASS_VALID */
	_Static_assert(MX_CLASS_VALID == 0, "the table's default");
	static struct msr_model_filter_state none;
	__u32 index = entry_of(s, entry)->index;

	if (index >= MSR_MODEL_X2APIC_FIRST && index <= MSR_MODEL_X2APIC_LAST)
		return s->vm->model.x2apic_mode ? MX_CLASS_X2APIC_ON : MX_CLASS_X2APIC_OFF;
	return by_cause[msr_model_guest_access(&none, 0, f, access, value).cause];
}

static void predict(const struct mx_session *s, struct msr_case *c)
{
	struct msr_case_setting set = setting_of(s);
	struct msr_facts f;

	if (c->entry >= 0)
		facts_of(s, c->entry, c->path, &f);
	else
		msr_facts_init(&f, c->index);
	msr_case_predict(&set, c, &f);
}

static bool stores(const struct msr_case *c)
{
	return c->final.result == MSR_RESULT_DONE && c->final.stored;
}

static void add_case(struct mx_session *s, struct msr_case *c, struct mx_case *m)
{
	predict(s, c);
	/* One stored write per MSR per program, so the read-back sees each. */
	if ((stores(c) && (s->stored & (1u << c->entry))) || s->n == GUEST_MSR_MAX_OPS) {
		mx_flush(s);
		predict(s, c);
	}
	m->seq = s->seq++;
	m->action = -1;
	m->value_before = c->entry >= 0 ? s->cur[c->entry] : 0;
	m->install_refused = s->install_refused;
	if (c->access == MSR_WRMSR) {
		s->written |= 1u << c->entry;
		s->last_writer[c->entry] = s->n;
	}
	if (stores(c)) {
		s->stored |= 1u << c->entry;
		s->cur[c->entry] = c->final.data;
	}
	s->mc[s->n] = *m;
	s->cases[s->n++] = *c;
}

void mx_set_l1_policy(struct mx_session *s, enum mx_l1_policy p)
{
	if (s->n)
		mx_flush(s);
	s->l1_policy = p;
}

/* L1's map for catalog entry @entry (see mx_set_l1_policy()). */
static bool l1_intercepts(const struct mx_session *s, unsigned int entry, enum msr_access access)
{
	if (entry_of(s, entry)->index == MSR_CAT_EFER && access == MSR_WRMSR)
		return true;
	if (s->l1_policy != MX_L1_ROTATE)
		return s->l1_policy == MX_L1_INTERCEPT;
	return (entry * 2 + access + s->mask) % 4 == 0;
}

unsigned int mx_add_access(struct mx_session *s, __u32 index, enum msr_access access,
			   enum msr_value_kind kind, enum msr_path path)
{
	const struct msr_catalog_entry *e = msr_catalog_find(&s->vm->catalog, index);
	struct msr_case c = { .index = index, .access = access, .path = path };
	struct mx_case m = {
		.kind = kind, .state = s->state, .layout = s->layout, .filter_flags = s->filter_flags,
		.mask = s->mask, .x2apic = s->vm->model.x2apic_mode,
	};
	unsigned int r, n = 1, first;
	struct msr_facts f;

	TEST_ASSERT(e, "MSR %#x is not in the catalog", index);
	c.entry = e - s->vm->catalog.entries;
	c.l1_intercept = path == MSR_PATH_L2 && l1_intercepts(s, c.entry, access);
	facts_of(s, c.entry, path, &f);
	if (access == MSR_WRMSR && !msr_value_for(kind, index, s->cur[c.entry], &f, s->seq,
						  MSR_VALUES_MATRIX, &c.value))
		return 0;
	c.answer = answer_of(MX_RESPOND_DATA, s->seq);
	predict(s, &c);
	/* Each answer is a case where the model says it is read; else one. */
	if (c.first.result == MSR_RESULT_EXIT) {
		n = MX_RESPONSES;
		first = 0;
	} else {
		first = s->seq % MX_RESPONSES;
	}
	for (r = 0; r < n; r++) {
		m.resp = (first + r) % MX_RESPONSES;
		c.answer = answer_of(m.resp, s->seq);
		add_case(s, &c, &m);
	}
	return n;
}

void mx_load_side_effect(struct mx_session *s)
{
	if (s->n)
		mx_flush(s);
	guest_msr_side_effect_values(&s->se);
	guest_msr_side_effect_load(&s->vm->g, &s->se);
	s->se_loaded = true;
	s->readable = msr_vm_read(s->vm, s->cur);
	/* EFER.SCE: the vCPU model's EFER is what SYSCALL sees */
	msr_vcpu_model_from_host(&s->vm->model, &s->vm->host, s->vm->g.vcpu);
}

unsigned int mx_add_insn(struct mx_session *s, enum msr_insn insn, enum msr_path path)
{
	struct msr_case c = { .insn = insn, .index = msr_insn_msr(insn), .path = path };
	struct mx_case m = {
		.state = s->state, .layout = s->layout, .filter_flags = s->filter_flags,
		.mask = s->mask, .x2apic = s->vm->model.x2apic_mode, .resp = s->seq % MX_RESPONSES,
	};

	TEST_ASSERT(s->se_loaded, "mx_add_insn() before mx_load_side_effect()");
	c.entry = msr_catalog_pos(&s->vm->catalog, c.index);
	c.answer = answer_of(m.resp, s->seq);
	predict(s, &c);
	if (!c.se.runs)
		return 0;
	add_case(s, &c, &m);
	return 1;
}

/* --- running and checking ---------------------------------------------------- */

static void mx_on_exit(struct msr_case_run *b, unsigned int i, struct kvm_run *run)
{
	struct mx_session *s = b->ctx;

	(void)run;
	if (s->mc[i].action >= 0)
		run_action(s, &s->actions[s->mc[i].action]);
}

static void check_case(struct mx_session *s, unsigned int i)
{
	const struct mx_case *m = &s->mc[i];
	struct msr_case_setting set = { NULL, m->mask, &s->vm->model, m->install_refused };
	struct msr_case_verdict v = msr_case_check(&set, &s->cases[i]);
	unsigned int k;

	s->st->cases += s->cases[i].ran;
	s->st->cpuid_cases[s->vm->cpuid] += s->cases[i].ran;
	for (k = 0; k < MSR_CHECKS; k++) {
		if (!(v.checked & MSR_CHECK_BIT(k)))
			continue;
		if (v.failed & MSR_CHECK_BIT(k))
			case_failed(s, i, k, NULL);
		else
			tally(s, i, k, false, NULL, 0);
	}
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

	facts_of(s, e, MSR_PATH_NATIVE, &f);
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
	__u32 which = s->written & s->readable, bad;
	__u64 got[MSR_CATALOG_SIZE];
	unsigned int e;
	bool read_all;
	int ret;

	if (!which)
		return;
	bad = msr_case_readback(s->vm->g.vcpu->fd, &s->vm->catalog, which, s->cur, got, &ret);
	read_all = ret == __builtin_popcount(which);
	for (e = 0; e < MSR_CATALOG_SIZE; e++) {
		unsigned int i = s->last_writer[e];
		char detail[256];

		if (!(which & (1u << e)))
			continue;
		if (!(bad & (1u << e))) {
			tally(s, i, MSR_CHECK_READBACK, false, NULL, 0);
			continue;
		}
		if (read_all)
			snprintf(detail, sizeof(detail),
				 "after the program KVM_GET_MSRS(%s) = %#llx, model: %#llx (the last "
				 "WRMSR of the program, this case, wrote %#llx)", entry_of(s, e)->name,
				 (unsigned long long)got[e], (unsigned long long)s->cur[e],
				 (unsigned long long)s->cases[i].value);
		else
			snprintf(detail, sizeof(detail), "after the program KVM_GET_MSRS(%s) failed "
				 "(returned %d of %u entries)", entry_of(s, e)->name, ret,
				 __builtin_popcount(which));
		case_failed(s, i, MSR_CHECK_READBACK, detail);
		if (read_all)
			resync(s, e, got[e]);
	}
}

void mx_flush(struct mx_session *s)
{
	struct msr_case_run b = {
		.g = &s->vm->g, .c = s->cases, .n = s->n, .vcpu_run = suite_vcpu_run,
		.vcpu_run_once = suite_vcpu_run_once, .on_exit = mx_on_exit, .ctx = s,
	};
	char run[512];
	unsigned int i;

	if (!s->n)
		return;
	msr_case_run(&b);
	s->st->runs++;
	s->st->exits += b.exits;
	for (i = 0; i < s->n; i++)
		check_case(s, i);
	session_check(s, msr_case_run_clean(&b, run, sizeof(run)), "program.run", "%s", run);
	for (i = 0; i < s->nactions; i++) {
		if (s->actions[i].done)
			continue;
		session_check(s, false, "program.action", "the exit meant to change the %s never "
			      "happened; changed after the program",
			      s->actions[i].is_mask ? "exit mask" : "filter");
		run_action(s, &s->actions[i]);
	}
	check_readback(s);
	s->n = 0;
	s->nactions = 0;
	s->written = s->stored = 0;
}

void mx_print_failure_summary(const struct mx_result *r, const char *group)
{
	unsigned int i, a, k, counted = 0;
	struct suite_text t = { .len = 0 };

	for (i = 0; i < sizeof(r->fail_count) / sizeof(r->fail_count[0][0][0]); i++)
		counted += (&r->fail_count[0][0][0])[i];
	if (!counted)
		return;
	suite_text_line(&t, "%s: %u failing checks by MSR, access and check (the first ones are "
		"printed in full above):", group, counted);
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		for (a = 0; a < 2; a++)
			for (k = 0; k < MSR_CHECKS; k++)
				if (r->fail_count[i][a][k])
					suite_text_line(&t, "  %-28s %s %-24s %u", msr_catalog_table[i].name,
						msr_model_access_str(a), msr_check_title(k),
						r->fail_count[i][a][k]);
	suite_text_flush(&t, stderr);
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
	enum msr_value_kind kind;
};

/*
 * The accesses of @classes (bit per class) in the current APIC mode:
 * RDMSRs, then WRMSRs by value kind, so that the stored writes of one MSR
 * land in separate programs only when they must.
 */
static unsigned int templates_for(const struct mx_session *s, unsigned int classes,
				  enum msr_path path, struct mx_template *t, unsigned int max)
{
	unsigned int k, i, n = 0;

	for (k = 0; k <= MSR_VALUE_PAT_TYPE + 1; k++) {
		for (i = 0; i < MSR_CATALOG_SIZE; i++) {
			enum msr_access access = k ? MSR_WRMSR : MSR_RDMSR;
			enum msr_value_kind kind = k ? k - 1 : MSR_VALUE_VALID;
			struct msr_facts f;
			__u64 value = 0;

			if (!(s->only & (1u << i)))
				continue;
			facts_of(s, i, path, &f);
			if (access == MSR_WRMSR && !msr_value_for(kind, entry_of(s, i)->index, s->cur[i],
								  &f, 0, MSR_VALUES_MATRIX, &value))
				continue;
			if (!(classes & (1u << class_of(s, i, access, value, &f))))
				continue;
			TEST_ASSERT(n < max, "too many templates");
			t[n++] = (struct mx_template){ entry_of(s, i)->index, access, kind };
		}
	}
	return n;
}

/*
 * A side-effect group's program (for each layout and exit mask): every
 * side-effect instruction on @path that KVM completes (the model says
 * which), then RDMSR and WRMSR of the catalog MSRs they read, which the
 * filter still decides.  The values are loaded again before each program
 * (a WRMSR the filter allows changes them).
 */
static void add_side_effect_program(struct mx_session *s, enum msr_path path)
{
	static const __u32 msrs[] = {
		MSR_CAT_STAR, MSR_CAT_LSTAR, MSR_CAT_CSTAR, MSR_CAT_SYSCALL_MASK,
		MSR_CAT_KERNEL_GS_BASE, MSR_CAT_TSC_AUX,
	};
	unsigned int i, k;

	mx_load_side_effect(s);
	for (k = MSR_INSN_ACCESS + 1; k < MSR_INSNS; k++)
		mx_add_insn(s, k, path);
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		mx_add_access(s, msrs[i], MSR_RDMSR, MSR_VALUE_VALID, path);
		mx_add_access(s, msrs[i], MSR_WRMSR, MSR_VALUE_VALID, path);
	}
}

/*
 * One APIC mode's cases of @classes: every layout of the filter state x
 * every exit mask.  Worker @w of @n takes the layouts (or, with a single
 * layout, the masks) whose number is w modulo n.
 */
static void run_pass(struct mx_session *s, const struct mx_group *grp, unsigned int classes,
		     unsigned int w, unsigned int n)
{
	struct mx_template t[MSR_CATALOG_SIZE * (MSR_VALUE_KINDS + 1)];
	unsigned int nt, nl, l, i;
	const struct msr_filter_spec *layouts = state_layouts(grp, &nl);
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
			if (grp->side_effect)
				add_side_effect_program(s, grp->path);
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
static __u32 cpuid_dependent(const struct msr_vm *vm)
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

void mx_run_share(struct msr_vm *vm, const struct mx_group *grp, unsigned int w,
		  unsigned int n, struct mx_result *res)
{
	unsigned int x2on = MX_CLASS_BIT(MX_CLASS_X2APIC_ON), classes = grp->classes;
	__u32 only = grp->path == MSR_PATH_L2 ? MX_ALL_ENTRIES : cpuid_dependent(vm);
	struct mx_session *s;

	_Static_assert(MSR_CATALOG_SIZE <= 32, "catalog entries are bits of a u32");
	TEST_ASSERT(grp->state != MX_NEVER_SET || !vm->filter_installed,
		    "never_set needs a VM that never had a filter");
	if (!only || (grp->side_effect && vm->cpuid != MSR_CPUID_PRESENT))
		return;
	s = mx_session_new(vm, grp->name, res);
	mx_session_set_state(s, grp->state);
	s->worker = w;
	s->workers = n;
	s->only = only;
	if ((classes & ~x2on) || grp->side_effect) {
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

struct mx_workers {
	mx_worker_fn fn;
	void *arg;
	struct mx_result *res;		/* one per worker, shared */
};

static void mx_worker(unsigned int w, unsigned int n, void *p)
{
	struct mx_workers *x = p;

	x->fn(w, n, x->arg, &x->res[w]);
}

/* Each worker with its own VMs and result, in shared memory; a worker that died fails. */
void mx_run_workers(mx_worker_fn fn, void *arg, unsigned int n, struct mx_result *res)
{
	struct mx_workers x = { fn, arg, suite_shared(n * sizeof(*res)) };
	unsigned int w, dead;

	TEST_ASSERT(n >= 1 && n <= MX_WORKERS, "%u workers", n);
	for (w = 0; w < n; w++) {
		x.res[w].print_limit = res->print_limit ? res->print_limit : MX_MAX_PRINTED / n;
		x.res[w].silent = res->silent;
	}
	dead = suite_fork_workers(mx_worker, &x, n);
	for (w = 0; w < n; w++) {
		x.res[w].failures += !!(dead & (1u << w));
		result_add(res, &x.res[w]);
	}
	munmap(x.res, n * sizeof(*res));
}

static enum msr_path grp_path(const void *arg)
{
	return ((const struct mx_group *)arg)->path;
}

/*
 * Both guest CPUID states, each on a VM of its own, created together so
 * that the present VM's first filter install does not wait for the grace
 * period KVM_CREATE_VM starts (it passes while the absent one runs).
 */
static void group_worker(unsigned int w, unsigned int n, void *arg, struct mx_result *res)
{
	struct msr_vm *vm = calloc(MSR_CPUID_STATES, sizeof(*vm));
	unsigned int st;

	TEST_ASSERT(vm, "out of memory");
	/* The L2 path: one VM, its CPUID present (L1 needs SVM), every MSR. */
	for (st = 0; st < MSR_CPUID_STATES; st++)
		if (grp_path(arg) != MSR_PATH_L2)
			msr_vm_create(&vm[st], st, 0);
		else if (st == MSR_CPUID_PRESENT)
			msr_vm_create_l2(&vm[st], 0);
	for (st = 0; st < MSR_CPUID_STATES; st++) {
		uint64_t before = res->failures;

		if (!vm[st].g.vm)
			continue;

		mx_run_share(&vm[st], arg, w, n, res);
		if (res->failures > before && !w && !res->silent) {
			char model[512];

			msr_vcpu_model_describe(model, sizeof(model), &vm[st].model, &vm[st].host);
			mx_log("  vCPU model (guest CPUID %s): %s", msr_cpuid_state_name(st), model);
		}
	}
	for (st = 0; st < MSR_CPUID_STATES; st++)
		if (vm[st].g.vm)
			msr_vm_free(&vm[st]);
	free(vm);
}

uint64_t mx_run_group(const struct mx_group *grp, unsigned int n, struct mx_result *res)
{
	struct mx_result r = { .print_limit = res->print_limit };
	const char *print = getenv("MSR_MATRIX_PRINT");
	uint64_t t0 = msr_now_ns();

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
	       (unsigned long long)r.st.runs, n, (msr_now_ns() - t0) / 1e6,
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
