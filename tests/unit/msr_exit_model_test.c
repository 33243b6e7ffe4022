// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the model's userspace MSR exit rules: enabling
 * KVM_CAP_X86_USER_SPACE_MSR, classifying guest RDMSR/WRMSR, and
 * completing KVM_EXIT_X86_RDMSR/WRMSR (api.rst 5 and 7.21).
 */
#include <errno.h>
#include <stdio.h>

#include "msr_unit.h"

#define ALL_REASONS	KVM_MSR_EXIT_REASON_VALID_MASK
#define VALUE		0x1122334455667788ull
#define INDEX		0x4b564dffu

TEST(cap_user_space_msr)
{
	const struct { const char *desc; __u64 args0; __u32 flags; int err;
		       enum msr_rule rule; } cases[] = {
		{ "empty mask", 0, 0, 0, MSR_RULE_CAP_MASK_SET },
		{ "every valid reason", ALL_REASONS, 0, 0, MSR_RULE_CAP_MASK_SET },
		{ "bit above the reasons", 8, 0, EINVAL, MSR_RULE_CAP_MASK_INVALID },
		{ "upper half", 1ull << 32, 0, EINVAL, MSR_RULE_CAP_MASK_INVALID },
		{ "all ones", ~0ull, 0, EINVAL, MSR_RULE_CAP_MASK_INVALID },
		{ "flags before mask", 8, 1, EINVAL, MSR_RULE_CAP_FLAGS_NONZERO },
		{ "flags with a valid mask", 1, 0x80000000u, EINVAL,
		  MSR_RULE_CAP_FLAGS_NONZERO },
	};
	char desc[64];
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_verdict v = msr_model_cap_user_space_msr(cases[i].args0,
								    cases[i].flags);

		EXPECT_ERR(cases[i].err, v.err, cases[i].desc);
		EXPECT_RULE(cases[i].rule, v.rule, cases[i].desc);
	}
	for (i = 0; i < 64; i++) {
		struct msr_verdict v = msr_model_cap_user_space_msr(1ull << i, 0);
		bool valid = (1ull << i) & ALL_REASONS;

		snprintf(desc, sizeof(desc), "args[0] bit %u", i);
		EXPECT_ERR(valid ? 0 : EINVAL, v.err, desc);
	}
	for (i = 0; i < 32; i++) {
		struct msr_verdict v = msr_model_cap_user_space_msr(0, 1u << i);

		snprintf(desc, sizeof(desc), "cap.flags bit %u", i);
		EXPECT_RULE(MSR_RULE_CAP_FLAGS_NONZERO, v.rule, desc);
	}
}

/* Facts and filter that make an access fail with the given reason. */
static void failing_access(__u32 reason, struct msr_facts *f,
			   struct msr_model_filter_state *s)
{
	msr_facts_init(f, INDEX);
	msr_model_filter_state_init(s);
	if (reason == KVM_MSR_EXIT_REASON_FILTER)
		unit_install_deny_all(s);
	else if (reason == KVM_MSR_EXIT_REASON_UNKNOWN)
		f->rd = f->wr = MSR_HANDLER_UNSUPPORTED;
	else
		f->rd = f->wr = MSR_HANDLER_FAULT;
}

static void check_exit(struct __test_metadata *_metadata,
		       const struct msr_outcome *o, enum msr_access access,
		       __u32 reason, const char *desc)
{
	static const __u8 zero_pad[7];
	__u64 data = access == MSR_WRMSR ? VALUE : 0;

	EXPECT_RESULT(MSR_RESULT_EXIT, o->result, desc);
	EXPECT_RULE(MSR_RULE_EXIT_TO_USER_SPACE, o->rule, desc);
	EXPECT_EQ(access == MSR_RDMSR ? KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR,
		  (int)o->exit_reason) TH_LOG("%s: exit reason", desc);
	EXPECT_EQ(reason, o->msr.reason)
		TH_LOG("%s: msr.reason %s", desc, msr_model_reason_str(o->msr.reason));
	EXPECT_EQ(INDEX, o->msr.index) TH_LOG("%s: msr.index", desc);
	EXPECT_U64(data, o->msr.data, desc);
	EXPECT_EQ(0, o->msr.error) TH_LOG("%s: msr.error", desc);
	EXPECT_EQ(0, memcmp(zero_pad, o->msr.pad, sizeof(zero_pad)))
		TH_LOG("%s: msr.pad not zeroed", desc);
}

TEST(guest_access_every_mask_and_reason)
{
	static const __u32 reasons[] = {
		KVM_MSR_EXIT_REASON_INVAL, KVM_MSR_EXIT_REASON_UNKNOWN,
		KVM_MSR_EXIT_REASON_FILTER,
	};
	static struct msr_model_filter_state s;
	struct msr_facts f;
	unsigned int mask, r, a;
	char desc[96];

	unit_bitmaps_init();
	for (mask = 0; mask <= ALL_REASONS; mask++) {
		for (r = 0; r < ARRAY_LEN(reasons); r++) {
			for (a = MSR_RDMSR; a <= MSR_WRMSR; a++) {
				struct msr_outcome o;

				failing_access(reasons[r], &f, &s);
				o = msr_model_guest_access(&s, mask, &f, a, VALUE);
				snprintf(desc, sizeof(desc), "%s, reason %s, mask 0x%x",
					 msr_model_access_str(a),
					 msr_model_reason_str(reasons[r]), mask);
				EXPECT_EQ(reasons[r], msr_model_exit_reason(o.cause))
					TH_LOG("%s: cause %s", desc, msr_rule_name(o.cause));
				if (mask & reasons[r]) {
					check_exit(_metadata, &o, a, reasons[r], desc);
					continue;
				}
				EXPECT_RESULT(MSR_RESULT_GP, o.result, desc);
				EXPECT_RULE(MSR_RULE_EXIT_REASON_MASKED, o.rule, desc);
				EXPECT_EQ(MSR_MODEL_GP_VECTOR, o.vector);
			}
		}
	}
}

/* Scenario knobs for the precedence table. */
#define K_FILTER_DENY	(1u << 0)	/* deny-all filter, x2APIC exempt */
#define K_UNSUPPORTED	(1u << 1)
#define K_FAULT		(1u << 2)
#define K_IGNORE_MSRS	(1u << 3)
#define K_PASSTHROUGH	(1u << 4)
#define K_RESERVED	(1u << 5)	/* bit 63 reserved */
#define K_DISCARDED	(1u << 6)
#define K_KEEP_LOW	(1u << 7)	/* only bits 31:0 stored */
#define K_KEEP_CURRENT	(1u << 8)	/* bit 10 kept from the current value */

struct precedence_case {
	const char *desc;
	__u32 index;
	unsigned int knobs;
	enum msr_access access;
	__u64 value;
	__u64 mask;
	enum msr_result result;
	enum msr_rule rule;
	enum msr_rule cause;
	__u64 data;
	bool stored;
};

static void scenario(const struct precedence_case *c, struct msr_facts *f,
		     struct msr_model_filter_state *s)
{
	msr_model_filter_state_init(s);
	if (c->knobs & K_FILTER_DENY)
		unit_install_deny_all(s);
	msr_facts_init(f, c->index);
	f->rd_value = VALUE;
	f->ignore_msrs = c->knobs & K_IGNORE_MSRS;
	f->rd_passthrough = f->wr_passthrough = c->knobs & K_PASSTHROUGH;
	f->wr_discarded = c->knobs & K_DISCARDED;
	if (c->knobs & K_UNSUPPORTED)
		f->rd = f->wr = MSR_HANDLER_UNSUPPORTED;
	if (c->knobs & K_FAULT)
		f->rd = f->wr = MSR_HANDLER_FAULT;
	if (c->knobs & K_RESERVED)
		f->wr_reserved = 1ull << 63;
	if (c->knobs & K_KEEP_LOW)
		f->wr_keep = 0xffffffffull;
	if (c->knobs & K_KEEP_CURRENT) {
		f->wr_keep = ~(1ull << 10);
		f->wr_keep_current = 1ull << 10;
	}
}

TEST(guest_access_precedence)
{
	const __u64 all = ALL_REASONS;
	const struct precedence_case cases[] = {
		{ "filtered unknown MSR is FILTER", 0x7ff, K_FILTER_DENY | K_UNSUPPORTED,
		  MSR_RDMSR, 0, all, MSR_RESULT_EXIT, MSR_RULE_EXIT_TO_USER_SPACE,
		  MSR_RULE_ACCESS_FILTERED },
		{ "filtered invalid write is FILTER", 0x900, K_FILTER_DENY | K_FAULT,
		  MSR_WRMSR, 1, all, MSR_RESULT_EXIT, MSR_RULE_EXIT_TO_USER_SPACE,
		  MSR_RULE_ACCESS_FILTERED },
		{ "filter beats passthrough", 0x900, K_FILTER_DENY | K_PASSTHROUGH,
		  MSR_WRMSR, 1, all, MSR_RESULT_EXIT, MSR_RULE_EXIT_TO_USER_SPACE,
		  MSR_RULE_ACCESS_FILTERED },
		{ "x2APIC unknown is UNKNOWN despite a deny-all filter", 0x8ff,
		  K_FILTER_DENY | K_UNSUPPORTED, MSR_RDMSR, 0, all, MSR_RESULT_EXIT,
		  MSR_RULE_EXIT_TO_USER_SPACE, MSR_RULE_ACCESS_UNKNOWN },
		{ "x2APIC handled despite a deny-all filter", 0x800, K_FILTER_DENY,
		  MSR_RDMSR, 0, all, MSR_RESULT_DONE, MSR_RULE_ACCESS_HANDLED,
		  MSR_RULE_ACCESS_HANDLED, VALUE },
		{ "ignore_msrs read of unknown returns 0", 0x3, K_UNSUPPORTED | K_IGNORE_MSRS,
		  MSR_RDMSR, 0, all, MSR_RESULT_DONE, MSR_RULE_IGNORE_MSRS,
		  MSR_RULE_IGNORE_MSRS, 0 },
		{ "ignore_msrs write of unknown is dropped", 0x3,
		  K_UNSUPPORTED | K_IGNORE_MSRS, MSR_WRMSR, 5, all, MSR_RESULT_DONE,
		  MSR_RULE_IGNORE_MSRS, MSR_RULE_IGNORE_MSRS, 0, false },
		{ "ignore_msrs does not hide INVAL", 0x3, K_FAULT | K_IGNORE_MSRS,
		  MSR_RDMSR, 0, all, MSR_RESULT_EXIT, MSR_RULE_EXIT_TO_USER_SPACE,
		  MSR_RULE_ACCESS_INVALID },
		{ "ignore_msrs does not hide FILTER", 0x3,
		  K_FILTER_DENY | K_UNSUPPORTED | K_IGNORE_MSRS, MSR_RDMSR, 0, 0,
		  MSR_RESULT_GP, MSR_RULE_EXIT_REASON_MASKED, MSR_RULE_ACCESS_FILTERED },
		{ "reserved bit is INVAL", 0x3, K_RESERVED, MSR_WRMSR, 1ull << 63, all,
		  MSR_RESULT_EXIT, MSR_RULE_EXIT_TO_USER_SPACE,
		  MSR_RULE_VALUE_RESERVED_BITS },
		{ "passthrough invalid write faults without exit", 0x3,
		  K_PASSTHROUGH | K_RESERVED, MSR_WRMSR, 1ull << 63, all,
		  MSR_RESULT_GP, MSR_RULE_ACCESS_PASSTHROUGH,
		  MSR_RULE_VALUE_RESERVED_BITS },
		{ "passthrough valid write", 0x3, K_PASSTHROUGH, MSR_WRMSR, VALUE, 0,
		  MSR_RESULT_DONE, MSR_RULE_ACCESS_PASSTHROUGH, MSR_RULE_ACCESS_HANDLED,
		  VALUE, true },
		{ "passthrough valid read", 0x3, K_PASSTHROUGH, MSR_RDMSR, 0, 0,
		  MSR_RESULT_DONE, MSR_RULE_ACCESS_PASSTHROUGH, MSR_RULE_ACCESS_HANDLED,
		  VALUE },
		{ "handled read returns the kernel value", 0x3, 0, MSR_RDMSR, 0, 0,
		  MSR_RESULT_DONE, MSR_RULE_ACCESS_HANDLED, MSR_RULE_ACCESS_HANDLED,
		  VALUE },
		{ "handled write stores the kept bits", 0x3, K_KEEP_LOW, MSR_WRMSR,
		  VALUE, 0, MSR_RESULT_DONE, MSR_RULE_ACCESS_HANDLED,
		  MSR_RULE_ACCESS_HANDLED, VALUE & 0xffffffffull, true },
		{ "handled write keeps a bit of the current value", 0x3, K_KEEP_CURRENT,
		  MSR_WRMSR, VALUE ^ (1ull << 10), 0, MSR_RESULT_DONE,
		  MSR_RULE_ACCESS_HANDLED, MSR_RULE_ACCESS_HANDLED, VALUE, true },
		{ "discarded write succeeds", 0x3, K_DISCARDED, MSR_WRMSR, VALUE, all,
		  MSR_RESULT_DONE, MSR_RULE_ACCESS_WRITE_DISCARDED,
		  MSR_RULE_ACCESS_WRITE_DISCARDED, 0, false },
		{ "discarded write still checks reserved bits", 0x3,
		  K_DISCARDED | K_RESERVED, MSR_WRMSR, 1ull << 63, 0, MSR_RESULT_GP,
		  MSR_RULE_EXIT_REASON_MASKED, MSR_RULE_VALUE_RESERVED_BITS },
	};
	static struct msr_model_filter_state s;
	struct msr_facts f;
	size_t i;

	unit_bitmaps_init();
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct precedence_case *c = &cases[i];
		struct msr_outcome o;

		scenario(c, &f, &s);
		o = msr_model_guest_access(&s, c->mask, &f, c->access, c->value);
		EXPECT_RESULT(c->result, o.result, c->desc);
		EXPECT_RULE(c->rule, o.rule, c->desc);
		EXPECT_RULE(c->cause, o.cause, c->desc);
		if (c->result != MSR_RESULT_DONE)
			continue;
		EXPECT_U64(c->data, o.data, c->desc);
		EXPECT_FLAG(c->stored, o.stored, c->desc);
		if (c->access == MSR_RDMSR) {
			EXPECT_EQ((__u32)c->data, o.eax) TH_LOG("%s: EAX", c->desc);
			EXPECT_EQ((__u32)(c->data >> 32), o.edx) TH_LOG("%s: EDX", c->desc);
		}
	}
}

struct complete_case {
	const char *desc;
	enum msr_access access;
	__u8 error;
	__u64 data;
	bool scribble;
	enum msr_result result;
	enum msr_rule rule;
};

TEST(complete_exit)
{
	const struct complete_case cases[] = {
		{ "RDMSR error 0", MSR_RDMSR, 0, VALUE, false, MSR_RESULT_DONE,
		  MSR_RULE_COMPLETE_RDMSR_DATA },
		{ "RDMSR error 0, scribbled", MSR_RDMSR, 0, VALUE, true, MSR_RESULT_DONE,
		  MSR_RULE_COMPLETE_RDMSR_DATA },
		{ "RDMSR data 0", MSR_RDMSR, 0, 0, false, MSR_RESULT_DONE,
		  MSR_RULE_COMPLETE_RDMSR_DATA },
		{ "RDMSR all ones", MSR_RDMSR, 0, ~0ull, true, MSR_RESULT_DONE,
		  MSR_RULE_COMPLETE_RDMSR_DATA },
		{ "RDMSR error 1", MSR_RDMSR, 1, VALUE, false, MSR_RESULT_GP,
		  MSR_RULE_COMPLETE_ERROR_GP },
		{ "RDMSR error 0x80", MSR_RDMSR, 0x80, VALUE, true, MSR_RESULT_GP,
		  MSR_RULE_COMPLETE_ERROR_GP },
		{ "RDMSR error 0xff", MSR_RDMSR, 0xff, VALUE, false, MSR_RESULT_GP,
		  MSR_RULE_COMPLETE_ERROR_GP },
		{ "WRMSR error 0", MSR_WRMSR, 0, 0, false, MSR_RESULT_DONE,
		  MSR_RULE_COMPLETE_WRMSR_DONE },
		{ "WRMSR error 0, data changed", MSR_WRMSR, 0, 42, true, MSR_RESULT_DONE,
		  MSR_RULE_COMPLETE_WRMSR_DONE },
		{ "WRMSR error 1", MSR_WRMSR, 1, VALUE, false, MSR_RESULT_GP,
		  MSR_RULE_COMPLETE_ERROR_GP },
		{ "WRMSR error 0xff", MSR_WRMSR, 0xff, VALUE, true, MSR_RESULT_GP,
		  MSR_RULE_COMPLETE_ERROR_GP },
	};
	static struct msr_model_filter_state s;
	struct msr_facts f;
	size_t i;

	msr_model_filter_state_init(&s);
	msr_facts_init(&f, INDEX);
	f.rd = f.wr = MSR_HANDLER_UNSUPPORTED;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		const struct complete_case *c = &cases[i];
		struct msr_outcome exit, o;
		struct msr_exit_fields user;

		exit = msr_model_guest_access(&s, ALL_REASONS, &f, c->access, VALUE);
		ASSERT_EQ(MSR_RESULT_EXIT, (int)exit.result);
		user = exit.msr;
		user.error = c->error;
		user.data = c->data;
		if (c->scribble) {
			memset(user.pad, 0xcc, sizeof(user.pad));
			user.index = ~user.index;
			user.reason = 0xdead;
		}
		o = msr_model_complete_exit(&exit, &user);
		EXPECT_RESULT(c->result, o.result, c->desc);
		EXPECT_RULE(c->rule, o.rule, c->desc);
		EXPECT_RULE(MSR_RULE_ACCESS_UNKNOWN, o.cause, c->desc);
		if (o.result == MSR_RESULT_GP) {
			EXPECT_EQ(MSR_MODEL_GP_VECTOR, o.vector);
			continue;
		}
		if (c->access == MSR_WRMSR) {
			EXPECT_U64(VALUE, o.data, c->desc);
			EXPECT_FALSE(o.stored);
			continue;
		}
		EXPECT_U64(c->data, o.data, c->desc);
		EXPECT_EQ((__u32)c->data, o.eax) TH_LOG("%s: EAX", c->desc);
		EXPECT_EQ((__u32)(c->data >> 32), o.edx) TH_LOG("%s: EDX", c->desc);
	}
}

TEST(complete_without_exit_is_identity)
{
	static struct msr_model_filter_state s;
	struct msr_exit_fields user = { .error = 1 };
	struct msr_outcome done, o;
	struct msr_facts f;

	msr_model_filter_state_init(&s);
	msr_facts_init(&f, INDEX);
	f.rd_value = VALUE;
	done = msr_model_guest_access(&s, 0, &f, MSR_RDMSR, 0);
	o = msr_model_complete_exit(&done, &user);
	EXPECT_EQ(0, memcmp(&done, &o, sizeof(o)));
}

TEST(outcome_strings)
{
	EXPECT_STREQ("done", msr_model_result_str(MSR_RESULT_DONE));
	EXPECT_STREQ("exit", msr_model_result_str(MSR_RESULT_EXIT));
	EXPECT_STREQ("#GP", msr_model_result_str(MSR_RESULT_GP));
	EXPECT_STREQ("?", msr_model_result_str((enum msr_result)7));
	EXPECT_STREQ("RDMSR", msr_model_access_str(MSR_RDMSR));
	EXPECT_STREQ("WRMSR", msr_model_access_str(MSR_WRMSR));
	EXPECT_STREQ("none", msr_model_reason_str(0));
	EXPECT_STREQ("?", msr_model_reason_str(3));
}

TEST_HARNESS_MAIN
