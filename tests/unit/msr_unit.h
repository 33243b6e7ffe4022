/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared helpers for the model's unit tests (kselftest_harness.h based,
 * no /dev/kvm needed).
 */
#ifndef MSR_UNIT_H
#define MSR_UNIT_H

#include <stdint.h>
#include <string.h>

/*
 * kselftest_harness.h is not -Wextra clean (TEST() wrappers and the
 * timeout handler leave parameters unused); the model itself is.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/* Case tables leave trailing fields (expected data) zero on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "msr_model.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Compare two rules and name both on failure. */
#define EXPECT_RULE(want, got, desc)						\
	EXPECT_EQ((int)(want), (int)(got))					\
		TH_LOG("%s: decided by rule %s, expected %s", (desc),		\
		       msr_rule_name(got), msr_rule_name(want))

#define EXPECT_ERR(want, got, desc)						\
	EXPECT_EQ((int)(want), (int)(got))					\
		TH_LOG("%s: errno %d, expected %d", (desc), (int)(got),	\
		       (int)(want))

#define EXPECT_U64(want, got, desc)						\
	EXPECT_EQ((__u64)(want), (__u64)(got))					\
		TH_LOG("%s: 0x%llx, expected 0x%llx", (desc),			\
		       (unsigned long long)(got), (unsigned long long)(want))

#define EXPECT_FLAG(want, got, desc)						\
	EXPECT_EQ((int)!!(want), (int)!!(got))					\
		TH_LOG("%s: %s is %d, expected %d", (desc), #got, (int)!!(got), \
		       (int)!!(want))

#define EXPECT_RESULT(want, got, desc)						\
	EXPECT_EQ((int)(want), (int)(got))					\
		TH_LOG("%s: result %s, expected %s", (desc),			\
		       msr_model_result_str(got), msr_model_result_str(want))

/* Bitmaps large enough for the biggest range, readable as one region. */
static __u8 unit_ones[KVM_MSR_FILTER_MAX_BITMAP_SIZE] __attribute__((unused));
static __u8 unit_zeros[KVM_MSR_FILTER_MAX_BITMAP_SIZE] __attribute__((unused));

static inline void unit_bitmaps_init(void)
{
	memset(unit_ones, 0xff, sizeof(unit_ones));
	memset(unit_zeros, 0, sizeof(unit_zeros));
}

static inline struct msr_model_mem_region unit_region(const void *buf,
						      __u64 len)
{
	return (struct msr_model_mem_region){
		.addr = (__u64)(uintptr_t)buf, .len = len, .data = buf,
	};
}

static inline struct kvm_msr_filter_range unit_range(__u32 flags, __u32 base,
						     __u32 nmsrs, const void *bitmap)
{
	return (struct kvm_msr_filter_range){
		.flags = flags, .base = base, .nmsrs = nmsrs,
		.bitmap = (__u8 *)(uintptr_t)bitmap,
	};
}

/* Install f (expected valid) into s, readable memory = the unit bitmaps. */
static inline int unit_install(struct msr_model_filter_state *s,
			       const struct kvm_msr_filter *f)
{
	struct msr_model_mem_region r[2] = {
		unit_region(unit_ones, sizeof(unit_ones)),
		unit_region(unit_zeros, sizeof(unit_zeros)),
	};
	struct msr_model_mem mem = { r, 2 };

	return msr_model_filter_install(s, f, &mem).err;
}

/* Default-deny filter whose only range denies reads of index 0. */
static inline int unit_install_deny_all(struct msr_model_filter_state *s)
{
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_DENY,
		.ranges[0] = unit_range(KVM_MSR_FILTER_READ, 0, 1, unit_zeros),
	};

	return unit_install(s, &f);
}

#endif /* MSR_UNIT_H */
