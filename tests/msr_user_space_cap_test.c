// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) validation (api.rst 7.21):
 * every one of the 64 bits of args[0] alone and in combination, every bit of
 * cap.flags, each against the model (msr_model_cap_user_space_msr(): rules
 * CAP_FLAGS_NONZERO, CAP_MASK_INVALID, CAP_MASK_SET).
 */
#include <errno.h>
#include <string.h>

#include "suite_test.h"
#include "msr_divergence.h"
#include "msr_host.h"
#include "msr_model.h"

/* Every check: cap.none.enable_cap.errno (lib/msr_divergence.h). */
static struct msr_div_tally tally;

struct cap_case {
	uint64_t args0;
	uint32_t flags;
};

/* KVM_ENABLE_CAP on a fresh VM; 0 or errno. */
static int enable_cap(struct kvm_vm *vm, const struct cap_case *c)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.flags = c->flags,
		.args = { c->args0 },
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap) ? errno : 0;
}

static unsigned int check_cases(const char *subtest, const struct cap_case *cases,
				unsigned int n)
{
	struct kvm_vm *vm = vm_create_barebones();
	unsigned int i, bad = 0;
	struct msr_div_case c;

	msr_div_case_host(&c);
	for (i = 0; i < n; i++) {
		struct msr_verdict want = msr_model_cap_user_space_msr(cases[i].args0,
								      cases[i].flags);
		int err = enable_cap(vm, &cases[i]);

		bad += !msr_div_expect_sig(&tally, &c, err == want.err, "cap.none.enable_cap.errno",
					   "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, args[0] = %#llx, "
					   "flags = %#x): expected %s, got %s (rule %s)",
					   (unsigned long long)cases[i].args0, cases[i].flags,
					   want.err ? strerror(want.err) : "success",
					   err ? strerror(err) : "success", msr_rule_name(want.rule));
	}
	kvm_vm_free(vm);
	msr_div_tally_print(&tally, subtest, stderr);
	return bad;
}

TEST(mask_bits)
{
	struct cap_case cases[64 + 4];
	unsigned int n = 0, bit;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	for (bit = 0; bit < 64; bit++)
		cases[n++] = (struct cap_case){ .args0 = 1ull << bit };
	cases[n++] = (struct cap_case){ .args0 = 0 };
	cases[n++] = (struct cap_case){ .args0 = KVM_MSR_EXIT_REASON_VALID_MASK };
	cases[n++] = (struct cap_case){ .args0 = KVM_MSR_EXIT_REASON_VALID_MASK | (1ull << 3) };
	cases[n++] = (struct cap_case){ .args0 = ~0ull };
	EXPECT_EQ(0, check_cases("global.mask_bits", cases, n));
}

TEST(flags_bits)
{
	struct cap_case cases[32];
	unsigned int n = 0, bit;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	for (bit = 0; bit < 32; bit++)
		cases[n++] = (struct cap_case){ .args0 = KVM_MSR_EXIT_REASON_UNKNOWN,
						 .flags = 1u << bit };
	EXPECT_EQ(0, check_cases("global.flags_bits", cases, n));
}

/* The mask may be changed any number of times (api.rst 7.21). */
TEST(mask_changes)
{
	static const struct cap_case seq[] = {
		{ .args0 = KVM_MSR_EXIT_REASON_FILTER },
		{ .args0 = KVM_MSR_EXIT_REASON_VALID_MASK },
		{ .args0 = 1ull << 5 },
		{ .args0 = 0 },
		{ .args0 = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN },
	};

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	EXPECT_EQ(0, check_cases("global.mask_changes", seq, ARRAY_SIZE(seq)));
}

SUITE_HARNESS_MAIN
