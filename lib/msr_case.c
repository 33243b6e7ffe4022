// SPDX-License-Identifier: GPL-2.0
/*
 * The case engine (lib/msr_case.h): predict, run, check and report guest
 * RDMSR/WRMSR cases.  Expectations come only from the model.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msr_case.h"
#include "msr_names.h"
#include "msr_probe.h"

/* The re-entry signal (the fuzz runtime's KVM_RUN timer is SIGRTMIN + 3). */
#define MSR_REENTRY_SIG		(SIGRTMIN + 6)

static const __u8 zero_pad[7];

static const char *const run_end_names[MSR_RUN_ENDS] = {
	[MSR_RUN_OK] = "the program's end",
	[MSR_RUN_FAILED] = "KVM_RUN failed",
	[MSR_RUN_EXIT_STORM] = "more MSR exits than 2 per instruction + 4",
	[MSR_RUN_OTHER_EXIT] = "an exit that is neither an MSR exit nor the program's end",
	[MSR_RUN_INCOMPLETE] = "the program's end before every instruction ran",
	[MSR_RUN_REENTRY] = "the re-entry KVM_RUN failed",
};

const char *msr_check_name(enum msr_check k)
{
	static const char *const names[MSR_CHECKS] = {
		[MSR_CHECK_RUN] = "run", [MSR_CHECK_EXIT] = "exit",
		[MSR_CHECK_PREVIOUS] = "previous", [MSR_CHECK_EXIT_FIELDS] = "exit_fields",
		[MSR_CHECK_COMPLETION] = "completion", [MSR_CHECK_GUEST] = "guest",
		[MSR_CHECK_READBACK] = "readback", [MSR_CHECK_L1] = "l1",
	};

	return (unsigned int)k < MSR_CHECKS ? names[k] : "?";
}

const char *msr_check_title(enum msr_check k)
{
	static const char *const titles[MSR_CHECKS] = {
		[MSR_CHECK_RUN] = "the program's run", [MSR_CHECK_EXIT] = "exits",
		[MSR_CHECK_PREVIOUS] = "the filter in force after a refused install",
		[MSR_CHECK_EXIT_FIELDS] = "exit fields",
		[MSR_CHECK_COMPLETION] = "guest result after the answer",
		[MSR_CHECK_GUEST] = "guest result",
		[MSR_CHECK_READBACK] = "KVM_GET_MSRS read-back",
		[MSR_CHECK_L1] = "the #VMEXIT L1 recorded",
	};

	return (unsigned int)k < MSR_CHECKS ? titles[k] : "?";
}

const char *msr_path_name(enum msr_path p)
{
	return p == MSR_PATH_FORCED_EMULATION ? "forced emulation" : p == MSR_PATH_L2 ? "L2" :
	       "native";
}

const char *msr_reentry_name(enum msr_reentry r)
{
	static const char *const names[MSR_REENTRIES] = { "plain", "immediate_exit", "pending signal" };

	return (unsigned int)r < MSR_REENTRIES ? names[r] : "?";
}

static bool is_x2apic_index(__u32 index)
{
	return index >= MSR_MODEL_X2APIC_FIRST && index <= MSR_MODEL_X2APIC_LAST;
}

static __u32 filter_type(enum msr_access a)
{
	return a == MSR_RDMSR ? KVM_MSR_FILTER_READ : KVM_MSR_FILTER_WRITE;
}

/* EDX:EAX as the model says an RDMSR leaves them. */
static __u64 edx_eax(const struct msr_outcome *o)
{
	return (__u64)o->edx << 32 | o->eax;
}

/* --- predict ----------------------------------------------------------------------- */

/*
 * emulate.c em_rdmsr()/em_wrmsr() go through
 * kvm_emulator_{get,set}_msr_with_filter(): an emulated instruction never
 * uses the hardware MSR bitmaps.  L2 with L1 passing the access through:
 * the bitmaps merged at nested VM-entry (msr_model_nested_passthrough()).
 */
static void path_facts(enum msr_path path, const struct msr_vcpu_model *m, struct msr_facts *f)
{
	if (path == MSR_PATH_FORCED_EMULATION)
		f->rd_passthrough = f->wr_passthrough = false;
	if (path == MSR_PATH_L2) {
		f->rd_passthrough = msr_model_nested_passthrough(m->vendor, m->kernel, f->index,
								 MSR_RDMSR, f->rd_passthrough);
		f->wr_passthrough = msr_model_nested_passthrough(m->vendor, m->kernel, f->index,
								 MSR_WRMSR, f->wr_passthrough);
	}
}

void msr_case_facts(const struct msr_catalog *cat, const struct msr_vcpu_model *m,
		    const __u64 *cur, __u32 readable, unsigned int entry, enum msr_path path,
		    struct msr_facts *f)
{
	struct msr_vcpu_model at = *m;
	const struct msr_catalog_entry *efer = msr_catalog_find(cat, MSR_CAT_EFER);
	unsigned int e = efer ? (unsigned int)(efer - cat->entries) : MSR_CATALOG_SIZE;

	if (e < MSR_CATALOG_SIZE && (readable & (1u << e)))
		at.efer = cur[e];
	msr_catalog_facts(&cat->entries[entry], &at, f);
	if (readable & (1u << entry))
		f->rd_value = cur[entry];
	path_facts(path, m, f);
}

/* kvm_run->msr after the answer, as the model must be told it. */
static void apply_answer(const struct msr_case_answer *a, struct msr_exit_fields *msr)
{
	msr->error = a->error;
	msr->data = a->data;
	msr->index ^= a->index_xor;
	if (a->scribble_reason)
		msr->reason = a->reason;
	if (a->scribble_pad)
		memset(msr->pad, a->pad, sizeof(msr->pad));
}

/* x86.c:kvm_msr_user_space(): what KVM wrote into kvm_run->msr, as an outcome. */
static struct msr_outcome observed_exit(const struct msr_case *c)
{
	enum msr_rule cause = c->seen.reason == KVM_MSR_EXIT_REASON_FILTER ? MSR_RULE_ACCESS_FILTERED :
			      c->seen.reason == KVM_MSR_EXIT_REASON_UNKNOWN ? MSR_RULE_ACCESS_UNKNOWN :
			      MSR_RULE_ACCESS_INVALID;

	return (struct msr_outcome){
		.result = MSR_RESULT_EXIT, .rule = MSR_RULE_EXIT_TO_USER_SPACE, .cause = cause,
		.access = c->access, .exit_reason = c->exit_reason,
		.msr = { .reason = c->seen.reason, .index = c->seen.index, .data = c->seen.data },
	};
}

/* The outcome after the answer to @exit. */
static struct msr_outcome completed(const struct msr_case *c, const struct msr_outcome *exit)
{
	struct msr_exit_fields user = exit->msr;

	apply_answer(&c->answer, &user);
	return msr_model_complete_exit(exit, &user);
}

/* A side-effect instruction: the rule's verdict as the case's outcome. */
static void predict_side_effect(const struct msr_case_setting *s, struct msr_case *c)
{
	const struct msr_vcpu_model *m = s->model;
	struct msr_side_effect_facts f = {
		.vendor = m->vendor, .emulated = c->path == MSR_PATH_FORCED_EMULATION,
		.guest_rdtscp = m->guest_features & MSR_FEAT_RDTSCP,
		.guest_rdpid = m->guest_features & MSR_FEAT_RDPID,
		.efer_sce = m->efer & MSR_CAT_EFER_SCE, .filter = s->filter, .exit_mask = s->mask,
	};

	TEST_ASSERT(s->se, "a side-effect instruction without the host's MSR values");
	c->kind = c->entry >= 0 ? MSR_CASE_CATALOG : MSR_CASE_RAW;
	c->full = true;
	c->demoted = false;
	c->access = MSR_RDMSR;
	c->fv = msr_model_filter_allows(s->filter, c->index, KVM_MSR_FILTER_READ);
	c->se = msr_model_side_effect(&f, c->insn, s->se);
	c->first = (struct msr_outcome){
		.result = c->se.vector == MSR_MODEL_GP_VECTOR ? MSR_RESULT_GP : MSR_RESULT_DONE,
		.rule = c->se.rule, .cause = c->se.rule, .access = MSR_RDMSR,
		.vector = c->se.vector, .data = c->se.value,
	};
	c->final = c->first;
}

void msr_case_predict(const struct msr_case_setting *s, struct msr_case *c,
		      const struct msr_facts *cf)
{
	struct msr_facts f;

	if (c->insn != MSR_INSN_ACCESS) {
		predict_side_effect(s, c);
		return;
	}
	c->demoted = false;
	if (c->entry >= 0) {
		c->kind = MSR_CASE_CATALOG;
		f = *cf;
	} else if (is_x2apic_index(c->index) && !s->model->x2apic_mode) {
		/* lapic.c:kvm_x2apic_msr_read()/write(): 1 unless in x2APIC mode. */
		c->kind = MSR_CASE_X2APIC;
		msr_facts_init(&f, c->index);
		f.rd = f.wr = f.host_rd = f.host_wr = MSR_HANDLER_FAULT;
		f.ignore_msrs = s->model->ignore_msrs;
	} else {
		c->kind = MSR_CASE_RAW;
		msr_facts_init(&f, c->index);
		f.ignore_msrs = s->model->ignore_msrs;
	}
	path_facts(c->path, s->model, &f);

	c->fv = msr_model_filter_allows(s->filter, c->index, filter_type(c->access));
	c->l1_exit = c->path == MSR_PATH_L2 &&
		     msr_model_nested_l1_exit(s->model->vendor, c->index, c->l1_intercept);
	memset(&c->l1_want, 0, sizeof(c->l1_want));
	if (c->l1_exit) {
		c->l1_want = (struct guest_msr_l1_rec){
			.exits = 1, .code = msr_model_nested_exit_code(s->model->vendor, c->access),
			.info1 = msr_model_nested_exit_info1(s->model->vendor, c->access),
			.ecx = c->index, .edx_eax = c->access == MSR_WRMSR ? c->value : 0,
		};
		c->full = true;
		c->first = msr_model_nested_l1_outcome(c->access, GUEST_MSR_L1_VALUE(c->index));
		c->final = c->first;
		return;
	}
	if (c->kind == MSR_CASE_RAW && c->access == MSR_WRMSR && c->fv.allowed) {
		c->access = MSR_RDMSR;
		c->value = 0;
		c->demoted = true;
		c->fv = msr_model_filter_allows(s->filter, c->index, KVM_MSR_FILTER_READ);
	}
	c->full = c->kind != MSR_CASE_RAW || !c->fv.allowed;
	c->first = msr_model_guest_access(s->filter, s->mask, &f, c->access, c->value);
	c->final = c->first;
	if (c->full && c->first.result == MSR_RESULT_EXIT)
		c->final = completed(c, &c->first);
}

/* --- run -------------------------------------------------------------------------------- */

static void reentry_signal(int sig)
{
	(void)sig;	/* never delivered: blocked outside KVM_RUN, consumed there */
}

void msr_case_reentry_init(void)
{
	struct sigaction sa = { .sa_handler = reentry_signal };
	sigset_t block;

	sigaction(MSR_REENTRY_SIG, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, MSR_REENTRY_SIG);
	TEST_ASSERT(!sigprocmask(SIG_BLOCK, &block, NULL), "sigprocmask: %s", strerror(errno));
}

void msr_case_reentry_vcpu(struct kvm_vcpu *vcpu)
{
	/* KVM_RUN runs with every signal deliverable (the kernel's 8-byte sigset). */
	struct {
		struct kvm_signal_mask sm;
		__u8 set[8];
	} m = { .sm.len = 8 };

	vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, &m.sm);
}

static __u32 op_kind(const struct msr_case *c)
{
	static const __u32 insn_kind[MSR_INSNS] = {
		[MSR_INSN_RDTSCP] = GUEST_RDTSCP, [MSR_INSN_RDPID] = GUEST_RDPID,
		[MSR_INSN_RDTSC] = GUEST_RDTSC, [MSR_INSN_SYSCALL] = GUEST_SYSCALL,
		[MSR_INSN_SYSENTER] = GUEST_SYSENTER, [MSR_INSN_SWAPGS] = GUEST_SWAPGS,
		[MSR_INSN_SYSCALL_COMPAT] = GUEST_SYSCALL_COMPAT,
	};

	if (c->insn != MSR_INSN_ACCESS)	/* the _FEP kind follows each */
		return insn_kind[c->insn] + (c->path == MSR_PATH_FORCED_EMULATION);
	if (c->path == MSR_PATH_FORCED_EMULATION)
		return c->access == MSR_RDMSR ? GUEST_RDMSR_FEP : GUEST_WRMSR_FEP;
	return c->access == MSR_RDMSR ? GUEST_RDMSR : GUEST_WRMSR;
}

/*
 * L1's map for the program: every case on the L2 path (and only there,
 * the VM's vCPU runs L2 or not at all) sets its access's bit if L1
 * intercepts it; the cases of one program agree on each (MSR, access).
 */
static void l1_map_case(struct msr_case_run *b, const struct msr_case *c)
{
	unsigned int i;

	TEST_ASSERT(!!b->g->l1 == (c->path == MSR_PATH_L2), "the %s path on a VM %s L1",
		    msr_path_name(c->path), b->g->l1 ? "with" : "without");
	if (!b->g->l1)
		return;
	for (i = 0; &b->c[i] < c; i++)
		TEST_ASSERT(b->c[i].index != c->index || b->c[i].access != c->access ||
			    b->c[i].l1_intercept == c->l1_intercept,
			    "cases %u and %ld of one program disagree on L1's map for %#x", i,
			    (long)(c - b->c), c->index);
	if (c->l1_intercept)
		guest_msr_l1_intercept(b->g, c->index, c->access == MSR_WRMSR);
}

static void record_exit(struct msr_case *c, const struct kvm_run *run)
{
	if (c->exits++)
		return;
	c->exit_reason = run->exit_reason;
	c->seen.error = run->msr.error;
	memcpy(c->seen.pad, run->msr.pad, sizeof(c->seen.pad));
	c->seen.reason = run->msr.reason;
	c->seen.index = run->msr.index;
	c->seen.data = run->msr.data;
	/* An exit the model could not predict: completed as KVM reported it. */
	if (!c->full) {
		struct msr_outcome exit = observed_exit(c);

		c->final = completed(c, &exit);
	}
}

static void write_answer(const struct msr_case *c, struct kvm_run *run)
{
	struct msr_exit_fields m = { .reason = run->msr.reason, .index = run->msr.index };

	memcpy(m.pad, run->msr.pad, sizeof(m.pad));
	apply_answer(&c->answer, &m);
	run->msr.error = m.error;
	run->msr.data = m.data;
	run->msr.index = m.index;
	run->msr.reason = m.reason;
	memcpy(run->msr.pad, m.pad, sizeof(m.pad));
}

/*
 * The KVM_RUN that immediate_exit or a pending signal cuts short: -1/EINTR
 * before the guest runs; the completion happens on the next KVM_RUN.
 * Returns true if that KVM_RUN ran instead (its exit is in kvm_run).
 */
static bool reenter(struct msr_case_run *b, unsigned int i, struct kvm_run *run)
{
	struct msr_case *c = &b->c[i];
	enum msr_reentry how = c->answer.reentry;
	int rc, err;

	if (how == MSR_REENTRY_PLAIN)
		return false;
	if (how == MSR_REENTRY_IMMEDIATE_EXIT)
		run->immediate_exit = 1;
	else
		raise(MSR_REENTRY_SIG);
	b->runs++;
	rc = b->vcpu_run_once(b->g->vcpu);
	err = errno;
	run->immediate_exit = 0;
	if (how == MSR_REENTRY_SIGNAL) {
		struct timespec none = { 0 };
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, MSR_REENTRY_SIG);
		sigtimedwait(&set, NULL, &none);
	}
	c->reentry_rc = rc;
	c->reentry_errno = rc ? err : 0;
	c->reentry_vector = b->g->prog->results[i].vector;
	if (rc == -1 && err == EINTR && c->reentry_vector == GUEST_MSR_NOT_RUN)
		return false;
	c->reentry_failed = true;
	if (rc == -1 && err == EINTR)
		return false;
	if (rc) {
		b->end = MSR_RUN_REENTRY;
		b->err = err;
	}
	return !rc;
}

/* KVM_GET_MSRS(IA32_TSC) for the cases that read the TSC (0 if none or it fails). */
static __u64 tsc_of(const struct msr_case_run *b, bool *want)
{
	uint64_t tsc = 0;
	unsigned int i;

	for (i = 0; i < b->n && !*want; i++)
		*want = b->c[i].insn != MSR_INSN_ACCESS && b->c[i].se.tsc;
	if (*want && msr_ioctl_one(b->g->vcpu->fd, KVM_GET_MSRS, 0x10, &tsc) != 1)
		tsc = 0;
	return tsc;
}

/* kvm_run as the program's run ended: the exit and an internal error's details. */
static void run_stop_of(struct msr_case_run *b, const struct kvm_run *run)
{
	struct msr_run_stop *s = &b->stop_exit;
	unsigned int i;

	*s = (struct msr_run_stop){ .err = b->err, .exit_reason = run->exit_reason };
	if (run->exit_reason != KVM_EXIT_INTERNAL_ERROR)
		return;
	s->suberror = run->internal.suberror;
	s->ndata = run->internal.ndata;
	for (i = 0; i < s->ndata && i < ARRAY_SIZE(s->data); i++)
		s->data[i] = run->internal.data[i];
}

void msr_case_run(struct msr_case_run *b)
{
	struct guest_msr_program *p = b->g->prog;
	struct kvm_run *run = b->g->vcpu->run;
	unsigned int cur = 0, i, budget = 2 * b->n + 4;
	bool have_exit = false, want_tsc = false;
	__u64 tsc_before = tsc_of(b, &want_tsc), tsc_after;

	guest_msr_prog_clear(b->g);
	if (b->g->l1)
		guest_msr_l1_clear(b->g, b->n);
	for (i = 0; i < b->n; i++) {
		b->c[i].exits = 0;
		b->c[i].reentry_failed = false;
		guest_msr_prog_add(b->g, op_kind(&b->c[i]), b->c[i].index, b->c[i].value);
		l1_map_case(b, &b->c[i]);
	}
	b->end = MSR_RUN_OK;
	b->l1_other = false;
	b->exits = b->extra_exits = b->runs = 0;
	b->err = 0;
	for (;;) {
		if (!have_exit) {
			b->runs++;
			if (b->vcpu_run(b->g->vcpu)) {
				b->err = errno;
				b->end = MSR_RUN_FAILED;
				break;
			}
		}
		have_exit = false;
		cur = guest_msr_current_op(b->g, cur);
		if (run->exit_reason == KVM_EXIT_X86_RDMSR || run->exit_reason == KVM_EXIT_X86_WRMSR) {
			if (++b->exits > budget) {
				b->end = MSR_RUN_EXIT_STORM;
				break;
			}
			if (cur >= b->n) {
				if (!b->extra_exits++)
					b->extra_index = run->msr.index;
				run->msr.error = 1;
				continue;
			}
			p->executed = cur;
			record_exit(&b->c[cur], run);
			write_answer(&b->c[cur], run);
			if (b->on_exit)
				b->on_exit(b, cur, run);
			have_exit = reenter(b, cur, run);
			if (b->end != MSR_RUN_OK)
				break;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == GUEST_MSR_DONE_PORT) {
			if (p->executed != b->n || cur != b->n)
				b->end = MSR_RUN_INCOMPLETE;
			break;
		}
		b->end = MSR_RUN_OTHER_EXIT;
		b->l1_other = b->g->l1 && run->exit_reason == KVM_EXIT_IO &&
			      run->io.port == GUEST_MSR_L1_PORT;
		break;
	}
	b->at = b->end == MSR_RUN_OK || cur > b->n ? b->n : cur;
	b->exit_reason = run->exit_reason;
	run_stop_of(b, run);
	tsc_after = tsc_of(b, &want_tsc);
	for (i = 0; i < b->n; i++) {
		b->c[i].tsc_before = tsc_before;
		b->c[i].tsc_after = tsc_after;
		b->c[i].r = p->results[i];
		if (b->g->l1)
			b->c[i].l1 = b->g->l1->rec[i];
		b->c[i].ran = i <= b->at;
		b->c[i].stop = i == b->at ? b->end : MSR_RUN_OK;
		if (i == b->at)
			b->c[i].stop_exit = b->stop_exit;
	}
}

/*
 * ", exit KVM_EXIT_... (an internal error's suberror and data)" of @s for
 * end @end, or KVM_RUN's errno.
 */
static int describe_stop(char *buf, size_t len, enum msr_run_end end, const struct msr_run_stop *s)
{
	static const char *const suberrors[] = {
		[1] = "EMULATION", [2] = "SIMUL_EX", [3] = "DELIVERY_EV",
		[4] = "UNEXPECTED_EXIT_REASON",
	};
	unsigned int i;
	int n;

	if (end == MSR_RUN_FAILED || end == MSR_RUN_REENTRY)
		return snprintf(buf, len, " (KVM_RUN errno %d: %s)", s->err, strerror(s->err));
	n = snprintf(buf, len, " (exit %s", exit_reason_str(s->exit_reason));
	if (s->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		n += snprintf(buf + n, len - n, ", suberror %u (%s), ndata %u", s->suberror,
			      s->suberror < ARRAY_SIZE(suberrors) && suberrors[s->suberror] ?
			      suberrors[s->suberror] : "?", s->ndata);
		for (i = 0; i < s->ndata && i < ARRAY_SIZE(s->data); i++)
			n += snprintf(buf + n, len - n, "%s%#llx", i ? " " : ", data ",
				      (unsigned long long)s->data[i]);
	}
	return n + snprintf(buf + n, len - n, ")");
}

bool msr_case_run_clean(const struct msr_case_run *b, char *buf, size_t len)
{
	char stop[256];
	int n = 0;

	if (b->at < b->n || (b->end == MSR_RUN_OK && !b->extra_exits))
		return true;
	describe_stop(stop, sizeof(stop), b->end, &b->stop_exit);
	if (b->l1_other) {
		n = guest_msr_l1_other_str(b->g, buf, len);
		n += snprintf(buf + n, len - n, "; ");
	}
	snprintf(buf + n, len - n, "the program of %u instructions ended with %s%s; %u MSR exits after "
		 "its last instruction (the first of %#x); the model predicts only the "
		 "instructions' exits and the program's end", b->n, run_end_names[b->end], stop,
		 b->extra_exits, b->extra_index);
	return false;
}

/* --- check ------------------------------------------------------------------------------ */

static bool want_exit(const struct msr_case *c)
{
	return c->full && c->first.result == MSR_RESULT_EXIT;
}

/* The first exit's fields, as x86.c:kvm_msr_user_space() fills them. */
static bool fields_ok(const struct msr_case_setting *s, const struct msr_case *c)
{
	const struct msr_exit_fields *a = &c->seen;

	if (a->error || memcmp(a->pad, zero_pad, sizeof(zero_pad)))
		return false;
	if (c->full)
		return c->exit_reason == c->first.exit_reason && a->reason == c->first.msr.reason &&
		       a->index == c->first.msr.index && a->data == c->first.msr.data;
	/* The filter allows it: a handler failure in the mask, never FILTER. */
	return c->exit_reason == (c->access == MSR_RDMSR ? KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR) &&
	       (a->reason == KVM_MSR_EXIT_REASON_INVAL || a->reason == KVM_MSR_EXIT_REASON_UNKNOWN) &&
	       (a->reason & s->mask) && a->index == c->index &&
	       a->data == (c->access == MSR_WRMSR ? c->value : 0);
}

/* What the payload recorded against msr_model_side_effect(). */
static bool side_effect_ok(const struct msr_case *c)
{
	const struct guest_msr_result *r = &c->r;

	if (c->se.vector)
		return r->vector == c->se.vector && !r->retired;
	if (r->vector || !r->retired || r->aux != c->se.aux)
		return false;
	if (c->se.tsc)
		return c->tsc_before && r->value >= c->tsc_before && r->value <= c->tsc_after;
	return r->value == c->se.value;
}

static bool result_ok(const struct msr_case *c)
{
	const struct guest_msr_result *r = &c->r;

	if (c->insn != MSR_INSN_ACCESS)
		return side_effect_ok(c);
	if (!c->full && !c->exits)	/* handled by KVM: retired, or #GP */
		return (!r->vector && r->retired) ||
		       (r->vector == MSR_MODEL_GP_VECTOR && !r->retired);
	if (c->final.result == MSR_RESULT_GP)
		return r->vector == MSR_MODEL_GP_VECTOR && !r->retired;
	return !r->vector && r->retired &&
	       (c->access == MSR_WRMSR || r->value == edx_eax(&c->final));
}

/* What L1 recorded: the predicted #VMEXIT, or none. */
static bool l1_ok(const struct msr_case *c)
{
	const struct guest_msr_l1_rec *r = &c->l1, *w = &c->l1_want;

	return r->exits == w->exits && r->code == w->code && r->info1 == w->info1 &&
	       r->ecx == w->ecx && r->edx_eax == w->edx_eax;
}

static bool is_filter_exit(const struct msr_case *c)
{
	return c->exits && c->seen.reason == KVM_MSR_EXIT_REASON_FILTER;
}

static void verdict_add(struct msr_case_verdict *v, enum msr_check k, bool failed)
{
	v->checked |= MSR_CHECK_BIT(k);
	if (failed)
		v->failed |= MSR_CHECK_BIT(k);
}

struct msr_case_verdict msr_case_check(const struct msr_case_setting *s, const struct msr_case *c)
{
	const unsigned int exit_checks = MSR_CHECK_BIT(MSR_CHECK_EXIT) |
					 MSR_CHECK_BIT(MSR_CHECK_EXIT_FIELDS);
	struct msr_case_verdict v = { 0, 0 };
	bool want = want_exit(c);

	if (!c->ran)
		return v;
	if (c->stop != MSR_RUN_OK) {
		verdict_add(&v, MSR_CHECK_RUN, true);
		return v;
	}
	verdict_add(&v, MSR_CHECK_EXIT, c->full ? c->exits != want : c->exits > 1);
	if (c->exits && (want || !c->full))
		verdict_add(&v, MSR_CHECK_EXIT_FIELDS, !fields_ok(s, c));
	verdict_add(&v, want || (!c->full && c->exits) ? MSR_CHECK_COMPLETION : MSR_CHECK_GUEST,
		    !result_ok(c));
	if (c->reentry_failed)
		verdict_add(&v, MSR_CHECK_COMPLETION, true);
	if (c->path == MSR_PATH_L2)
		verdict_add(&v, MSR_CHECK_L1, !l1_ok(c));
	/* A refused install that changed what the filter decides. */
	if (s->install_refused && (v.failed & exit_checks) &&
	    (want && c->first.msr.reason == KVM_MSR_EXIT_REASON_FILTER) != is_filter_exit(c)) {
		v.failed &= ~exit_checks;
		verdict_add(&v, MSR_CHECK_PREVIOUS, true);
	}
	return v;
}

enum msr_check msr_case_first(const struct msr_case_verdict *v)
{
	return v->failed ? (enum msr_check)__builtin_ctz(v->failed) : MSR_CHECKS;
}

/* --- report ------------------------------------------------------------------------------- */

const char *msr_case_sig(char *buf, size_t len, const char *source, const struct msr_case *c,
			 enum msr_check k)
{
	const char *op = c->insn != MSR_INSN_ACCESS ? msr_insn_name(c->insn) :
			 c->access == MSR_RDMSR ? "rdmsr" : "wrmsr";

	if (c->kind == MSR_CASE_X2APIC) {
		snprintf(buf, len, "%s%sx2apic.%s.%s", source ? source : "", source ? "." : "", op,
			 msr_check_name(k));
		return buf;
	}
	return msr_div_sig(buf, len, source, c->index, op, msr_check_name(k));
}

const char *msr_case_sig_none(char *buf, size_t len, const char *source, const char *what)
{
	snprintf(buf, len, "%s%snone.%s", source ? source : "", source ? "." : "", what);
	return buf;
}

void msr_case_div_case(struct msr_div_case *k, const struct msr_vcpu_model *m,
		       const struct msr_case *c)
{
	msr_div_case_of(k, m);
	k->cause = c ? c->first.cause : MSR_RULE_NONE;
}

int msr_case_describe_access(char *buf, size_t len, const struct msr_case *c)
{
	static const char *const kinds[] = { "catalog", "x2APIC", "raw" };
	int n;

	if (c->insn != MSR_INSN_ACCESS) {
		unsigned int i;

		n = snprintf(buf, len, "%s (reads", guest_msr_op_kind_str(op_kind(c)));
		for (i = 0; i < c->se.nmsrs; i++)
			n += snprintf(buf + n, len - n, " %s (%#x)", msr_name(c->se.msrs[i]),
				      c->se.msrs[i]);
		return n + snprintf(buf + n, len - n, "), %s", msr_path_name(c->path));
	}
	n = snprintf(buf, len, "%s of %s (%#x, %s%s), %s", c->access == MSR_RDMSR ? "RDMSR" : "WRMSR",
		     msr_name(c->index), c->index, kinds[c->kind],
		     c->demoted ? ", a WRMSR demoted: the filter allows it, handler unknown" :
		     c->full ? "" : ", handler unknown", msr_path_name(c->path));
	if (c->access == MSR_WRMSR)
		n += snprintf(buf + n, len - n, ", value %#llx", (unsigned long long)c->value);
	return n + snprintf(buf + n, len - n, "; answer error %#x data %#llx%s%s%s, re-entry %s",
			    c->answer.error, (unsigned long long)c->answer.data,
			    c->answer.index_xor ? ", index scribbled" : "",
			    c->answer.scribble_reason ? ", reason scribbled" : "",
			    c->answer.scribble_pad ? ", pad scribbled" : "",
			    msr_reentry_name(c->answer.reentry));
}

/* "code 0x7c, EXITINFO1 0x1, ECX 0xc0000081, EDX:EAX 0x..." */
static int describe_l1_rec(char *buf, size_t len, const struct guest_msr_l1_rec *r)
{
	return snprintf(buf, len, "code %#x, EXITINFO1 %#llx, ECX %#llx, EDX:EAX %#llx", r->code,
			(unsigned long long)r->info1, (unsigned long long)r->ecx,
			(unsigned long long)r->edx_eax);
}

static int describe_side_effect(char *buf, size_t len, const struct msr_case *c)
{
	if (c->se.vector)
		return snprintf(buf, len, "no exit; exception vector %u, not retired", c->se.vector);
	if (c->se.tsc)
		return snprintf(buf, len, "no exit; retired, value (TSC) in [%#llx, %#llx] (KVM_GET_MSRS "
				"before and after the program), aux %#llx",
				(unsigned long long)c->tsc_before, (unsigned long long)c->tsc_after,
				(unsigned long long)c->se.aux);
	return snprintf(buf, len, "no exit; retired, value %#llx, aux %#llx",
			(unsigned long long)c->se.value, (unsigned long long)c->se.aux);
}

static int describe_expected(char *buf, size_t len, const struct msr_case *c, const __u64 *before)
{
	const struct msr_outcome *o = &c->final;
	int n = 0;

	if (c->insn != MSR_INSN_ACCESS)
		return describe_side_effect(buf, len, c);
	if (!c->full)
		return snprintf(buf, len, "anything but a FILTER exit (KVM's handler for this index is "
				"not modelled); if it exits: %s, reason INVAL or UNKNOWN in the mask, "
				"index %#x, data %#llx, error 0, pad 0, then as answered; else "
				"retired or #GP", exit_reason_str(c->access == MSR_RDMSR ?
				KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR), c->index,
				(unsigned long long)(c->access == MSR_WRMSR ? c->value : 0));
	if (c->l1_exit) {
		n += snprintf(buf + n, len - n, "L1 intercepts (%s): one #VMEXIT to L1 (",
			      c->l1_intercept ? "its map" : "outside its map");
		n += describe_l1_rec(buf + n, len - n, &c->l1_want);
		n += snprintf(buf + n, len - n, "), no exit to userspace; ");
	} else {
		if (c->path == MSR_PATH_L2)
			n += snprintf(buf + n, len - n, "L1 passes it through (no #VMEXIT to L1); ");
		if (c->first.result == MSR_RESULT_EXIT)
			n += snprintf(buf + n, len - n,
				      "one exit %s (reason %s, index %#x, data %#llx, error 0, pad 0), "
				      "then ", exit_reason_str(c->first.exit_reason),
				      msr_model_reason_str(c->first.msr.reason), c->first.msr.index,
				      (unsigned long long)c->first.msr.data);
		else
			n += snprintf(buf + n, len - n, "no exit; ");
	}
	if (o->result == MSR_RESULT_GP)
		return n + snprintf(buf + n, len - n, "#GP (vector %u), not retired", MSR_MODEL_GP_VECTOR);
	if (c->access == MSR_RDMSR)
		return n + snprintf(buf + n, len - n, "retired, EDX:EAX = %#llx",
				    (unsigned long long)edx_eax(o));
	if (o->stored)
		return n + snprintf(buf + n, len - n, "retired, %#llx stored", (unsigned long long)o->data);
	if (before)
		return n + snprintf(buf + n, len - n, "retired, MSR unchanged (%#llx)",
				    (unsigned long long)*before);
	return n + snprintf(buf + n, len - n, "retired, MSR unchanged");
}

static int describe_observed(char *buf, size_t len, const struct msr_case *c)
{
	const struct guest_msr_result *r = &c->r;
	int n = 0;

	if (!c->exits)
		n += snprintf(buf, len, "no exit; ");
	else
		n += snprintf(buf, len,
			      "%u exit%s, first %s (reason %s, index %#x, data %#llx, error %u, pad %s); ",
			      c->exits, c->exits > 1 ? "s" : "", exit_reason_str(c->exit_reason),
			      msr_model_reason_str(c->seen.reason), c->seen.index,
			      (unsigned long long)c->seen.data, c->seen.error,
			      memcmp(c->seen.pad, zero_pad, sizeof(zero_pad)) ? "NOT zero" : "0");
	if (c->path == MSR_PATH_L2 && c->l1.exits) {
		n += snprintf(buf + n, len - n, "L1 took %u #VMEXIT%s, the first (", c->l1.exits,
			      c->l1.exits > 1 ? "s" : "");
		n += describe_l1_rec(buf + n, len - n, &c->l1);
		n += snprintf(buf + n, len - n, "); ");
	} else if (c->path == MSR_PATH_L2)
		n += snprintf(buf + n, len - n, "no #VMEXIT to L1; ");
	if (c->stop != MSR_RUN_OK) {
		n += snprintf(buf + n, len - n, "the program's run ended here with %s",
			      run_end_names[c->stop]);
		n += describe_stop(buf + n, len - n, c->stop, &c->stop_exit);
		n += snprintf(buf + n, len - n, "; ");
	}
	if (c->reentry_failed)
		n += snprintf(buf + n, len - n, "re-entry KVM_RUN (%s) returned %d, errno %d; ",
			      msr_reentry_name(c->answer.reentry), c->reentry_rc, c->reentry_errno);
	if (r->vector == GUEST_MSR_NOT_RUN)
		return n + snprintf(buf + n, len - n, "the instruction never completed");
	if (r->vector)
		return n + snprintf(buf + n, len - n, "exception vector %u, %sretired", r->vector,
				    r->retired ? "" : "not ");
	if (c->insn != MSR_INSN_ACCESS)
		return n + snprintf(buf + n, len - n, "%sretired, value %#llx, aux %#llx",
				    r->retired ? "" : "NOT ", (unsigned long long)r->value,
				    (unsigned long long)r->aux);
	if (c->access == MSR_RDMSR)
		return n + snprintf(buf + n, len - n, "%sretired, EDX:EAX = %#llx",
				    r->retired ? "" : "NOT ", (unsigned long long)r->value);
	return n + snprintf(buf + n, len - n, "%sretired", r->retired ? "" : "NOT ");
}

int msr_case_describe(char *buf, size_t len, const struct msr_case *c, const __u64 *before,
		      const char *indent)
{
	const struct msr_outcome *o = &c->final;
	int n;

	n = snprintf(buf, len, "expected: ");
	n += describe_expected(buf + n, len - n, c, before);
	n += snprintf(buf + n, len - n, "\n%s          rule %s (%s); access classified %s; filter %s: "
		      "%s", indent, msr_rule_name(o->rule), msr_rule_citation(o->rule),
		      msr_rule_name(c->first.cause), msr_rule_name(c->fv.rule),
		      c->fv.allowed ? "allowed" : "denied");
	if (c->fv.range >= 0)
		n += snprintf(buf + n, len - n, " by ranges[%d]", c->fv.range);
	n += snprintf(buf + n, len - n, "\n%sactual:   ", indent);
	return n + describe_observed(buf + n, len - n, c);
}

/* --- read-back -------------------------------------------------------------------------------- */

struct msrs_batch {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[MSR_CATALOG_SIZE];
};

static unsigned int batch_of(struct msrs_batch *b, const struct msr_catalog *cat, __u32 entries,
			     unsigned int *pos)
{
	unsigned int i, n = 0;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (!(entries & (1u << i)))
			continue;
		b->e[n] = (struct kvm_msr_entry){ .index = cat->entries[i].index };
		pos[n++] = i;
	}
	b->hdr.nmsrs = n;
	b->hdr.pad = 0;
	return n;
}

__u32 msr_case_readback(int vcpu_fd, const struct msr_catalog *cat, __u32 entries,
			const __u64 *want, __u64 *got, int *ret)
{
	unsigned int pos[MSR_CATALOG_SIZE], i, n;
	struct msrs_batch b;
	__u32 bad = 0;

	n = batch_of(&b, cat, entries, pos);
	*ret = n ? ioctl(vcpu_fd, KVM_GET_MSRS, &b.hdr) : 0;
	for (i = 0; i < n; i++) {
		got[pos[i]] = (int)i < *ret ? b.e[i].data : 0;
		if ((int)i >= *ret || b.e[i].data != want[pos[i]])
			bad |= 1u << pos[i];
	}
	return bad;
}

bool msr_case_restore(int vcpu_fd, const struct msr_catalog *cat, __u32 entries,
		      const __u64 *values)
{
	unsigned int pos[MSR_CATALOG_SIZE], i, n;
	struct msrs_batch b;

	n = batch_of(&b, cat, entries, pos);
	for (i = 0; i < n; i++)
		b.e[i].data = values[pos[i]];
	return !n || ioctl(vcpu_fd, KVM_SET_MSRS, &b.hdr) == (int)n;
}

/* --- VMs ---------------------------------------------------------------------------------------- */

/*
 * The library loads this whole executable into memslot 0, sized for a
 * 2 MB image: a libFuzzer build (~10 MB of bss) needs the rest.
 */
extern char __executable_start[], _end[];

uint64_t msr_image_pages(void)
{
	return (uint64_t)(_end - __executable_start) / 4096 + 1;
}

void msr_vm_create(struct msr_vm *vm, enum msr_cpuid_state cpuid, uint64_t extra_pages)
{
	memset(vm, 0, sizeof(*vm));
	guest_msr_vcpu_create_extra(&vm->g, extra_pages);
	vm->cpuid = cpuid;
	/*
	 * The library's vCPU is absent already; present must be set before
	 * the probe and the model, which both see the CPUID KVM holds.
	 */
	if (cpuid != MSR_CPUID_ABSENT)
		msr_guest_cpuid_set(vm->g.vcpu, cpuid);
	guest_msr_prog_done_port(&vm->g, true);
	msr_host_info_get(&vm->host);
	msr_catalog_init(&vm->catalog);
	/* Before the first KVM_RUN, with no filter (lib/msr_catalog.h). */
	msr_probe_catalog(&vm->catalog, vm->g.vcpu);
	msr_vcpu_model_from_host(&vm->model, &vm->host, vm->g.vcpu);
}

void msr_vm_create_l2(struct msr_vm *vm, uint64_t extra_pages)
{
	msr_vm_create(vm, MSR_CPUID_PRESENT, extra_pages);
	guest_msr_l1_create(&vm->g);
	guest_msr_prog_clear(&vm->g);
	guest_msr_run(&vm->g, NULL, NULL);
	msr_vcpu_model_from_host(&vm->model, &vm->host, vm->g.vcpu);
}

__u32 msr_vm_read(const struct msr_vm *vm, __u64 *values)
{
	__u32 readable = 0;
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		uint64_t v = 0;

		if (msr_ioctl_one(vm->g.vcpu->fd, KVM_GET_MSRS, vm->catalog.entries[i].index, &v) == 1)
			readable |= 1u << i;
		values[i] = readable & (1u << i) ? v : 0;
	}
	return readable;
}

void msr_vm_free(struct msr_vm *vm)
{
	guest_msr_vcpu_free(&vm->g);
}

uint64_t msr_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

int msr_filter_install_spaced(struct kvm_vm *vm, const struct kvm_msr_filter *f,
			      uint64_t *last_end_ns, bool *waited)
{
	uint64_t now = msr_now_ns();
	int rc;

	*waited = *last_end_ns && now - *last_end_ns < MSR_INSTALL_GAP_NS;
	while (*waited && msr_now_ns() - *last_end_ns < MSR_INSTALL_GAP_NS)
		;
	rc = ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, f);
	rc = rc ? -errno : 0;
	*last_end_ns = msr_now_ns();
	return rc;
}
