// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR protocol (api.rst 5, "struct
 * msr"): the fields KVM fills on the way out (reason, index, data, error
 * 0, pad zeroed, whatever userspace left there from the previous exit), and
 * the completion on the way back in: error 0 delivers data to RDMSR and
 * continues WRMSR, any nonzero error byte injects #GP, writes to
 * index/reason/pad change nothing, and a completion survives a KVM_RUN cut
 * short by immediate_exit or a pending signal (no second exit, no lost
 * data).  Every expectation comes from msr_model_guest_access() and
 * msr_model_complete_exit().
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "suite_test.h"
#include "msr_catalog.h"
#include "msr_divergence.h"
#include "msr_guest.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_names.h"
#include "ucall_common.h"

#define UNKNOWN_MSR 0xdeadbeefu

enum reentry {
	REENTER_PLAIN,
	REENTER_IMMEDIATE_EXIT,		/* one KVM_RUN with immediate_exit = 1 first */
	REENTER_PENDING_SIGNAL,		/* one KVM_RUN with a signal pending first */
};

static const char *const reentry_str[] = { "plain", "immediate_exit", "pending signal" };

struct protocol_case {
	uint32_t kind;			/* GUEST_RDMSR / GUEST_WRMSR */
	uint8_t error;			/* userspace's answer */
	bool scribble;			/* also overwrite index/reason/pad */
	enum reentry reentry;
};

static struct msr_facts unknown_facts;
static struct msr_model_filter_state no_filter;
/* Checks are exit_protocol.<msr>.<rdmsr|wrmsr>.<check> in this vCPU's setting. */
static struct msr_div_tally tally;
static struct msr_div_case proto_case;

static void protocol_setup(struct guest_msr_vcpu *g)
{
	const struct msr_catalog_entry *e = msr_catalog_table_find(UNKNOWN_MSR);
	struct kvm_signal_mask *mask;
	struct msr_vcpu_model vm;
	sigset_t block;

	msr_vcpu_model_init(&vm, MSR_VENDOR_AMD);	/* UNKNOWN MSRs: vendor-neutral */
	TEST_ASSERT(e && e->class == MSR_CLASS_UNKNOWN,
		    "%#x is no longer an UNKNOWN catalog MSR", UNKNOWN_MSR);
	msr_catalog_facts(e, &vm, &unknown_facts);
	msr_model_filter_state_init(&no_filter);

	guest_msr_vcpu_create(g);
	vm_enable_cap(g->vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_UNKNOWN);
	{
		struct msr_host_info host;
		struct msr_vcpu_model m;

		msr_host_info_get(&host);
		msr_vcpu_model_from_host(&m, &host, g->vcpu);
		msr_div_case_of(&proto_case, &m);
	}

	/* SIGUSR1 stays blocked in userspace and is unblocked only in KVM_RUN. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	mask = calloc(1, sizeof(*mask) + 8);	/* the kernel's 8-byte sigset, empty */
	TEST_ASSERT(mask, "out of memory");
	mask->len = 8;
	vcpu_ioctl(g->vcpu, KVM_SET_SIGNAL_MASK, mask);
	free(mask);
}

/* The one KVM_RUN that the re-entry style makes fail with EINTR. */
static unsigned int interrupted_run(struct guest_msr_vcpu *g, enum reentry how, const char *what)
{
	struct kvm_run *run = g->vcpu->run;
	siginfo_t info;
	int rc;

	if (how == REENTER_PLAIN)
		return 0;
	if (how == REENTER_IMMEDIATE_EXIT)
		run->immediate_exit = 1;
	else
		raise(SIGUSR1);		/* pending: blocked here, deliverable in KVM_RUN */
	rc = suite_vcpu_run_once(g->vcpu);
	run->immediate_exit = 0;
	if (how == REENTER_PENDING_SIGNAL) {
		sigset_t set;
		struct timespec zero = { 0 };

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigtimedwait(&set, &info, &zero);
	}
	return !msr_div_expect(&tally, &proto_case, rc == -1 && errno == EINTR, "exit_protocol",
			       UNKNOWN_MSR, "run", "reentry",
			       "%s: KVM_RUN with %s returned %d (errno %d), expected -1/EINTR",
			       what, reentry_str[how], rc, errno);
}

static const char *op_of(const struct msr_outcome *o)
{
	return o->access == MSR_WRMSR ? "wrmsr" : "rdmsr";
}

/* Compare the exit KVM produced with the model's; returns mismatches. */
static unsigned int check_exit(const struct kvm_run *run, const struct msr_outcome *want,
			       const char *what)
{
	static const uint8_t zero_pad[7];
	unsigned int bad = 0;

#define CHECK_FIELD(name, check, got, exp)						\
	bad += !msr_div_expect(&tally, &proto_case, (uint64_t)(got) == (uint64_t)(exp),	\
			       "exit_protocol", UNKNOWN_MSR, op_of(want), check,		\
			       "%s: %s: expected %#llx, got %#llx (rule %s)", what, name,	\
			       (unsigned long long)(exp), (unsigned long long)(got),	\
			       msr_rule_name(want->rule))

	CHECK_FIELD("exit reason", "exit_reason", run->exit_reason, want->exit_reason);
	if (run->exit_reason != want->exit_reason)
		return bad;
	CHECK_FIELD("msr.reason", "msr_reason", run->msr.reason, want->msr.reason);
	CHECK_FIELD("msr.index", "msr_index", run->msr.index, want->msr.index);
	CHECK_FIELD("msr.data", "msr_data", run->msr.data, want->msr.data);
	CHECK_FIELD("msr.error", "msr_error", run->msr.error, 0);
	CHECK_FIELD("msr.pad is zero", "msr_pad", !memcmp(run->msr.pad, zero_pad, sizeof(zero_pad)), 1);
#undef CHECK_FIELD
	return bad;
}

static unsigned int run_case(struct guest_msr_vcpu *g, const struct protocol_case *c,
			     unsigned int n)
{
	struct kvm_run *run = g->vcpu->run;
	uint64_t value = 0x1122334455667788ull + n;	/* distinct per case */
	enum msr_access access = c->kind == GUEST_WRMSR ? MSR_WRMSR : MSR_RDMSR;
	struct msr_outcome want = msr_model_guest_access(&no_filter, KVM_MSR_EXIT_REASON_UNKNOWN,
							 &unknown_facts, access, value);
	struct msr_exit_fields user;
	struct guest_msr_result *r;
	struct msr_outcome done;
	struct ucall uc;
	unsigned int bad;
	char what[160];

	snprintf(what, sizeof(what), "%s of %s, answered error %#x%s, re-entry %s",
		 guest_msr_op_kind_str(c->kind), msr_name(UNKNOWN_MSR), c->error,
		 c->scribble ? " with index/reason/pad overwritten" : "", reentry_str[c->reentry]);

	guest_msr_prog_clear(g);
	guest_msr_prog_add(g, c->kind, UNKNOWN_MSR, access == MSR_WRMSR ? value : 0);
	suite_vcpu_run_ok(g->vcpu);
	bad = check_exit(run, &want, what);
	if (bad)
		return bad;

	run->msr.error = c->error;
	run->msr.data = ~value;		/* what RDMSR should receive if error is 0 */
	if (c->scribble) {
		run->msr.index ^= 0xffff;
		run->msr.reason = 0x80;
		memset(run->msr.pad, 0xff, sizeof(run->msr.pad));
	}
	memcpy(&user, &run->msr, sizeof(user));
	done = msr_model_complete_exit(&want, &user);

	bad += interrupted_run(g, c->reentry, what);
	suite_vcpu_run_ok(g->vcpu);
	if (run->exit_reason != KVM_EXIT_IO || get_ucall(g->vcpu, &uc) != UCALL_SYNC) {
		suite_report(NULL, "%s: after the completion, wanted the guest's sync, got exit %s",
			     what, exit_reason_str(run->exit_reason));
		msr_div_fail_unnamed(&tally);
		return bad + 1;
	}

	r = &g->prog->results[0];
	bad += !msr_div_expect(&tally, &proto_case,
			       r->vector == done.vector &&
			       !(done.result == MSR_RESULT_DONE && access == MSR_RDMSR &&
				 r->value != done.data) &&
			       r->retired == (done.result == MSR_RESULT_DONE),
			       "exit_protocol", UNKNOWN_MSR, op_of(&want), "completion",
			       "%s: guest saw vector %u value %#llx retired %u, expected vector %u value %#llx retired %u (rule %s)",
			       what, r->vector, (unsigned long long)r->value, r->retired,
			       done.vector, (unsigned long long)done.data,
			       done.result == MSR_RESULT_DONE, msr_rule_name(done.rule));
	return bad;
}

TEST(exit_fields_and_completion)
{
	static const uint8_t errors[] = { 0, 1, 0xff };
	struct guest_msr_vcpu g;
	unsigned int kind, e, scribble, how, n = 0, bad = 0;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	protocol_setup(&g);

	for (kind = GUEST_RDMSR; kind <= GUEST_WRMSR; kind++)
		for (e = 0; e < ARRAY_SIZE(errors); e++)
			for (scribble = 0; scribble < 2; scribble++)
				for (how = REENTER_PLAIN; how <= REENTER_PENDING_SIGNAL; how++) {
					struct protocol_case c = { kind, errors[e], scribble, how };

					bad += run_case(&g, &c, n++);
				}
	guest_msr_vcpu_free(&g);
	msr_div_tally_print(&tally, "global.exit_fields_and_completion", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches in %u cases; rerun: msr_exit_protocol_test -r global.exit_fields_and_completion",
				 bad, n);
}

SUITE_HARNESS_MAIN
