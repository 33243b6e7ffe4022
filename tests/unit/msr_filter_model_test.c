// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the model's KVM_X86_SET_MSR_FILTER rules: validation,
 * atomic replacement and lookup (api.rst 4.97, x86.c:kvm_msr_allowed()).
 */
#include <errno.h>

#include "msr_unit.h"

#define R	KVM_MSR_FILTER_READ
#define W	KVM_MSR_FILTER_WRITE
#define RW	(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)
#define DENY	KVM_MSR_FILTER_DEFAULT_DENY
#define PAGE_END	0x10000ull	/* fake page [0xf000, 0x10000) */

/* Validate f against the unit bitmaps plus the fake page. */
static struct msr_verdict validate(const struct kvm_msr_filter *f)
{
	struct msr_model_mem_region r[3] = {
		unit_region(unit_ones, sizeof(unit_ones)),
		unit_region(unit_zeros, sizeof(unit_zeros)),
		{ .addr = PAGE_END - 0x1000, .len = 0x1000 },
	};
	struct msr_model_mem mem = { r, 3 };

	return msr_model_filter_validate(f, &mem);
}

struct validate_case {
	const char *desc;
	struct kvm_msr_filter f;
	int err;
	enum msr_rule rule;
	int range;
};

static void check_validate_cases(struct __test_metadata *_metadata,
				 const struct validate_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, c++) {
		struct msr_verdict v = validate(&c->f);

		EXPECT_ERR(c->err, v.err, c->desc);
		EXPECT_RULE(c->rule, v.rule, c->desc);
		EXPECT_EQ(c->range, v.range) TH_LOG("%s: range", c->desc);
	}
}

/*
 * Each of the 32 flag bits alone, at the top level (only DEFAULT_DENY is
 * defined) or in range 0 (only READ and WRITE are).
 */
static void check_flag_bits(struct __test_metadata *_metadata, bool top_level)
{
	__u32 valid = top_level ? DENY : RW;
	unsigned int bit;
	char desc[64];

	unit_bitmaps_init();
	for (bit = 0; bit < 32; bit++) {
		__u32 flag = 1u << bit;
		struct validate_case c = {
			.desc = desc,
			.f = { .flags = top_level ? flag : 0,
			       .ranges[0] = unit_range(top_level ? R : flag, 0, 1,
						       unit_ones) },
			.err = EINVAL,
			.rule = top_level ? MSR_RULE_FILTER_FLAGS_INVALID :
					    MSR_RULE_RANGE_FLAGS_INVALID,
			.range = top_level ? -1 : 0,
		};

		if (flag & valid) {
			c.err = 0;
			c.rule = MSR_RULE_FILTER_ACCEPTED;
			c.range = -1;
		}
		snprintf(desc, sizeof(desc), "%s flags bit %u",
			 top_level ? "top-level" : "range", bit);
		check_validate_cases(_metadata, &c, 1);
	}
}

TEST(filter_top_level_flag_bits)
{
	check_flag_bits(_metadata, true);
}

TEST(filter_top_level_checks)
{
	const struct validate_case cases[] = {
		{ "allow with no ranges turns filtering off", { .flags = 0 },
		  0, MSR_RULE_FILTER_ACCEPTED, -1 },
		{ "deny with no ranges", { .flags = DENY },
		  EINVAL, MSR_RULE_FILTER_DENY_WITHOUT_RANGES, -1 },
		{ "bad flags win over deny without ranges", { .flags = DENY | 2 },
		  EINVAL, MSR_RULE_FILTER_FLAGS_INVALID, -1 },
		{ "bad flags win over a bad range",
		  { .flags = 4, .ranges[0] = unit_range(8, 0, 1, NULL) },
		  EINVAL, MSR_RULE_FILTER_FLAGS_INVALID, -1 },
		{ "deny with only garbage empty ranges",
		  { .flags = DENY, .ranges[3] = unit_range(~0u, 5, 0, NULL) },
		  EINVAL, MSR_RULE_FILTER_DENY_WITHOUT_RANGES, -1 },
		{ "empty range skipped with garbage flags and NULL bitmap",
		  { .flags = DENY, .ranges[0] = unit_range(~0u, 1, 0, NULL),
		    .ranges[1] = unit_range(R, 0, 1, unit_ones) },
		  0, MSR_RULE_FILTER_ACCEPTED, -1 },
	};

	unit_bitmaps_init();
	check_validate_cases(_metadata, cases, ARRAY_LEN(cases));
}

TEST(filter_range_flag_bits)
{
	check_flag_bits(_metadata, false);
}

TEST(filter_range_checks)
{
	const struct { const char *desc; struct kvm_msr_filter_range r;
		       unsigned int long_bytes; int err; enum msr_rule rule; } cases[] = {
		{ "empty, no flags", unit_range(0, 0, 0, NULL), 8,
		  0, MSR_RULE_RANGE_EMPTY_SKIPPED },
		{ "empty, garbage flags", unit_range(~0u, 0, 0, NULL), 8,
		  0, MSR_RULE_RANGE_EMPTY_SKIPPED },
		{ "no flags", unit_range(0, 0, 1, unit_ones), 8,
		  EINVAL, MSR_RULE_RANGE_FLAGS_ZERO },
		{ "read and write", unit_range(RW, 0, 1, unit_ones), 8,
		  0, MSR_RULE_RANGE_ACCEPTED },
		{ "all flags", unit_range(~0u, 0, 1, unit_ones), 8,
		  EINVAL, MSR_RULE_RANGE_FLAGS_INVALID },
		{ "one extra flag", unit_range(RW | 4, 0, 1, NULL), 8,
		  EINVAL, MSR_RULE_RANGE_FLAGS_INVALID },
		{ "too many msrs", unit_range(R, 0, 12289, NULL), 8,
		  EINVAL, MSR_RULE_RANGE_BITMAP_SIZE },
		{ "NULL bitmap", unit_range(R, 0, 1, NULL), 8,
		  EFAULT, MSR_RULE_RANGE_BITMAP_FAULT },
		{ "every msr, 64-bit kernel", unit_range(R, 0, ~0u, unit_ones), 8,
		  EINVAL, MSR_RULE_RANGE_BITMAP_SIZE },
		{ "size wraps to 0, 32-bit kernel", unit_range(R, 0, ~0u, unit_ones), 4,
		  EINVAL, MSR_RULE_RANGE_BITMAP_SIZE },
		{ "largest bitmap, 32-bit kernel", unit_range(W, 0, 12288, unit_ones), 4,
		  0, MSR_RULE_RANGE_ACCEPTED },
	};
	struct msr_model_mem_region r = unit_region(unit_ones, sizeof(unit_ones));
	struct msr_model_mem mem = { &r, 1 };
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct msr_verdict v = msr_model_range_validate(&cases[i].r, &mem,
								cases[i].long_bytes);

		EXPECT_ERR(cases[i].err, v.err, cases[i].desc);
		EXPECT_RULE(cases[i].rule, v.rule, cases[i].desc);
	}
}

TEST(filter_bitmap_sizes)
{
	const struct { __u32 nmsrs; __u64 bytes8, bytes4; int err; } cases[] = {
		{ 1, 8, 4, 0 },
		{ 32, 8, 4, 0 },
		{ 33, 8, 8, 0 },
		{ 64, 8, 8, 0 },
		{ 65, 16, 12, 0 },
		{ 12288, 0x600, 0x600, 0 },
		{ 12289, 0x608, 0x604, EINVAL },
		{ 0xffffffe0u, 0x20000000ull, 0x1ffffffcull, EINVAL },
		/* 32-bit kernel: nmsrs + 31 wraps, size 0 */
		{ 0xffffffe1u, 0x20000000ull, 0, EINVAL },
		{ 0xffffffffu, 0x20000000ull, 0, EINVAL },
	};
	char desc[64];
	size_t i;

	unit_bitmaps_init();
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct kvm_msr_filter f = {
			.ranges[0] = unit_range(R, 0, cases[i].nmsrs, unit_ones),
		};
		struct msr_verdict v = validate(&f);

		snprintf(desc, sizeof(desc), "nmsrs %u", cases[i].nmsrs);
		EXPECT_U64(cases[i].bytes8, msr_model_bitmap_bytes(cases[i].nmsrs, 8),
			   desc);
		EXPECT_U64(cases[i].bytes4, msr_model_bitmap_bytes(cases[i].nmsrs, 4),
			   desc);
		EXPECT_ERR(cases[i].err, v.err, desc);
		EXPECT_RULE(cases[i].err ? MSR_RULE_RANGE_BITMAP_SIZE :
					   MSR_RULE_FILTER_ACCEPTED, v.rule, desc);
	}
}

TEST(filter_bitmap_page_boundary)
{
	const struct { const char *desc; __u64 addr; __u32 nmsrs; int err; } cases[] = {
		{ "one long ending at the boundary", PAGE_END - 8, 64, 0 },
		{ "65 bits need a second long", PAGE_END - 8, 65, EFAULT },
		{ "1 bit still copies a whole long", PAGE_END - 4, 1, EFAULT },
		{ "two longs ending at the boundary", PAGE_END - 16, 128, 0 },
		{ "129 bits need a third long", PAGE_END - 16, 129, EFAULT },
		{ "largest bitmap ending at the boundary", PAGE_END - 0x600, 12288, 0 },
		{ "largest bitmap one byte short", PAGE_END - 0x5ff, 12288, EFAULT },
		{ "first byte of the page", PAGE_END - 0x1000, 1, 0 },
		{ "byte before the page", PAGE_END - 0x1001, 1, EFAULT },
		{ "unmapped page", PAGE_END, 1, EFAULT },
		{ "NULL bitmap", 0, 1, EFAULT },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct kvm_msr_filter f = {
			.ranges[2] = unit_range(W, 0x100, cases[i].nmsrs,
						(void *)(uintptr_t)cases[i].addr),
		};
		struct msr_verdict v = validate(&f);

		EXPECT_ERR(cases[i].err, v.err, cases[i].desc);
		EXPECT_RULE(cases[i].err ? MSR_RULE_RANGE_BITMAP_FAULT :
					   MSR_RULE_FILTER_ACCEPTED, v.rule,
			    cases[i].desc);
		EXPECT_EQ(cases[i].err ? 2 : -1, v.range) TH_LOG("%s", cases[i].desc);
	}
}

TEST(filter_first_failing_range_wins)
{
	const void *unmapped = (void *)(uintptr_t)PAGE_END;
	const struct validate_case cases[] = {
		{ "bad flags in range 0 before a fault in range 1",
		  { .ranges[0] = unit_range(4, 0, 1, unit_ones),
		    .ranges[1] = unit_range(R, 0, 1, unmapped) },
		  EINVAL, MSR_RULE_RANGE_FLAGS_INVALID, 0 },
		{ "fault in range 0 before bad flags in range 1",
		  { .ranges[0] = unit_range(R, 0, 1, unmapped),
		    .ranges[1] = unit_range(4, 0, 1, unit_ones) },
		  EFAULT, MSR_RULE_RANGE_BITMAP_FAULT, 0 },
		{ "size in range 1 before bad flags in range 2",
		  { .ranges[0] = unit_range(R, 0, 1, unit_ones),
		    .ranges[1] = unit_range(W, 0, 12289, unit_ones),
		    .ranges[2] = unit_range(0, 0, 1, unit_ones) },
		  EINVAL, MSR_RULE_RANGE_BITMAP_SIZE, 1 },
		{ "garbage empty ranges do not hide range 5",
		  { .ranges[0] = unit_range(~0u, 0, 0, NULL),
		    .ranges[5] = unit_range(0, 0, 1, unit_ones) },
		  EINVAL, MSR_RULE_RANGE_FLAGS_ZERO, 5 },
		{ "only the last range faults",
		  { .ranges[0] = unit_range(R, 0, 1, unit_ones),
		    .ranges[15] = unit_range(R, 0, 1, unmapped) },
		  EFAULT, MSR_RULE_RANGE_BITMAP_FAULT, 15 },
		{ "flags checked before size",
		  { .ranges[0] = unit_range(8, 0, 12289, unmapped) },
		  EINVAL, MSR_RULE_RANGE_FLAGS_INVALID, 0 },
		{ "size checked before readability",
		  { .ranges[0] = unit_range(R, 0, 12289, unmapped) },
		  EINVAL, MSR_RULE_RANGE_BITMAP_SIZE, 0 },
	};

	unit_bitmaps_init();
	check_validate_cases(_metadata, cases, ARRAY_LEN(cases));
}

TEST(filter_install_is_atomic)
{
	struct kvm_msr_filter deny_tsc = {
		.flags = DENY, .ranges[0] = unit_range(R, 0x10, 1, unit_zeros),
	};
	struct kvm_msr_filter bad = {
		.ranges[0] = unit_range(R, 0x10, 1, unit_ones),
		.ranges[1] = unit_range(R, 0x20, 1, (void *)(uintptr_t)PAGE_END),
	};
	struct kvm_msr_filter deny_empty = { .flags = DENY };
	struct kvm_msr_filter allow_empty = { .flags = 0 };
	static struct msr_model_filter_state s, before;
	struct msr_filter_verdict fv;

	unit_bitmaps_init();
	msr_model_filter_state_init(&s);
	EXPECT_FALSE(s.installed);
	ASSERT_EQ(0, unit_install(&s, &deny_tsc));
	before = s;

	EXPECT_ERR(EFAULT, unit_install(&s, &bad), "faulting filter");
	EXPECT_EQ(0, memcmp(&before, &s, sizeof(s))) TH_LOG("state changed on EFAULT");
	EXPECT_ERR(EINVAL, unit_install(&s, &deny_empty), "deny without ranges");
	EXPECT_EQ(0, memcmp(&before, &s, sizeof(s))) TH_LOG("state changed on EINVAL");
	EXPECT_FALSE(msr_model_filter_allows(&s, 0x10, R).allowed);

	ASSERT_EQ(0, unit_install(&s, &allow_empty));
	EXPECT_TRUE(s.installed);
	EXPECT_EQ(0u, s.count);
	fv = msr_model_filter_allows(&s, 0x10, R);
	EXPECT_TRUE(fv.allowed);
	EXPECT_RULE(MSR_RULE_FILTER_DEFAULT_ACTION, fv.rule, "empty allow filter");
	fv = msr_model_filter_allows(&s, 0xdeadbeef, W);
	EXPECT_TRUE(fv.allowed);
}

TEST(filter_install_keeps_user_order)
{
	struct kvm_msr_filter f = {
		.ranges[3] = unit_range(W, 0x300, 8, unit_zeros),
		.ranges[7] = unit_range(RW, 0x300, 8, unit_ones),
	};
	static struct msr_model_filter_state s;
	struct msr_filter_verdict fv;

	unit_bitmaps_init();
	msr_model_filter_state_init(&s);
	ASSERT_EQ(0, unit_install(&s, &f));
	EXPECT_EQ(2u, s.count);
	EXPECT_EQ(3, s.ranges[0].user_index);
	EXPECT_EQ(7, s.ranges[1].user_index);
	fv = msr_model_filter_allows(&s, 0x303, W);
	EXPECT_FALSE(fv.allowed);
	EXPECT_EQ(3, fv.range);
	fv = msr_model_filter_allows(&s, 0x303, R);
	EXPECT_TRUE(fv.allowed);
	EXPECT_EQ(7, fv.range);
}

/* Short rule names for the lookup tables. */
#define BITMAP	MSR_RULE_FILTER_RANGE_BIT
#define DEFAULT	MSR_RULE_FILTER_DEFAULT_ACTION
#define X2APIC	MSR_RULE_FILTER_X2APIC_EXEMPT

struct lookup_case {
	const char *desc;
	__u32 index;
	__u32 type;
	bool allowed;
	enum msr_rule rule;
	int range;
};

static void check_lookups(struct __test_metadata *_metadata,
			  const struct msr_model_filter_state *s,
			  const struct lookup_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, c++) {
		struct msr_filter_verdict v = msr_model_filter_allows(s, c->index,
								      c->type);

		EXPECT_FLAG(c->allowed, v.allowed, c->desc);
		EXPECT_RULE(c->rule, v.rule, c->desc);
		EXPECT_EQ(c->range, v.range) TH_LOG("%s: range", c->desc);
	}
}

TEST(filter_lookup_first_match_per_type)
{
	static __u8 pattern[8] = { 0xa5 };	/* bits 0, 2, 5, 7 allowed */
	struct kvm_msr_filter f = {
		.flags = DENY,
		.ranges[0] = unit_range(W, 0x100, 16, unit_zeros),
		.ranges[1] = unit_range(RW, 0x100, 32, unit_ones),
		.ranges[2] = unit_range(R, 0x200, 8, pattern),
		.ranges[3] = unit_range(RW, 0x400, 3, unit_ones),
	};
	const struct lookup_case cases[] = {
		{ "read skips the write-only range", 0x105, R, true, BITMAP, 1 },
		{ "write hits the first range", 0x105, W, false, BITMAP, 0 },
		{ "write past the first range", 0x110, W, true, BITMAP, 1 },
		{ "last index of range one", 0x11f, W, true, BITMAP, 1 },
		{ "end is exclusive", 0x120, R, false, DEFAULT, -1 },
		{ "below the base", 0xff, R, false, DEFAULT, -1 },
		{ "pattern bit 0", 0x200, R, true, BITMAP, 2 },
		{ "pattern bit 1", 0x201, R, false, BITMAP, 2 },
		{ "pattern bit 2", 0x202, R, true, BITMAP, 2 },
		{ "pattern bit 6", 0x206, R, false, BITMAP, 2 },
		{ "pattern bit 7", 0x207, R, true, BITMAP, 2 },
		{ "write to a read-only range", 0x200, W, false, DEFAULT, -1 },
		{ "bits past nmsrs are not consulted", 0x403, R, false, DEFAULT, -1 },
		{ "last bit inside nmsrs", 0x402, R, true, BITMAP, 3 },
	};
	static struct msr_model_filter_state s;
	struct msr_model_mem_region r[3] = {
		unit_region(unit_ones, sizeof(unit_ones)),
		unit_region(unit_zeros, sizeof(unit_zeros)),
		unit_region(pattern, sizeof(pattern)),
	};
	struct msr_model_mem mem = { r, 3 };

	unit_bitmaps_init();
	msr_model_filter_state_init(&s);
	ASSERT_EQ(0, msr_model_filter_install(&s, &f, &mem).err);
	check_lookups(_metadata, &s, cases, ARRAY_LEN(cases));
}

TEST(filter_lookup_u32_wrap)
{
	struct kvm_msr_filter f = {
		.flags = DENY,
		.ranges[0] = unit_range(RW, 0xffffff00u, 0x200, unit_ones),
		.ranges[1] = unit_range(R, 0xffffff00u, 0x100, unit_ones),
		.ranges[2] = unit_range(W, 0xffffff00u, 0xff, unit_ones),
		.ranges[3] = unit_range(W, 0xfffffe00u, 0x100, unit_ones),
	};
	const struct lookup_case cases[] = {
		{ "wrapping range holds not even its base", 0xffffff00u, R, false, DEFAULT, -1 },
		{ "wrapping range holds no low index", 0x0, R, false, DEFAULT, -1 },
		{ "wrapping range holds not its wrapped end", 0xff, W, false, DEFAULT, -1 },
		{ "range ending at 2^32 holds nothing", 0xffffffffu, R, false, DEFAULT, -1 },
		{ "range ending at 0xffffffff", 0xfffffffeu, W, true, BITMAP, 2 },
		{ "0xffffffff is never covered", 0xffffffffu, W, false, DEFAULT, -1 },
		{ "range below the top", 0xfffffeffu, W, true, BITMAP, 3 },
	};
	const struct { __u32 base, nmsrs, index; bool in; } contains[] = {
		{ 0xffffff00u, 0x200, 0xffffff00u, false },
		{ 0xffffff00u, 0x200, 0x50, false },
		{ 0xffffff00u, 0x100, 0xffffffffu, false },
		{ 0xffffff00u, 0xff, 0xfffffffeu, true },
		{ 0, 0xffffffffu, 0xfffffffeu, true },
		{ 0, 0xffffffffu, 0xffffffffu, false },
		{ 5, 0, 5, false },
	};
	static struct msr_model_filter_state s;
	char desc[64];
	size_t i;

	unit_bitmaps_init();
	msr_model_filter_state_init(&s);
	ASSERT_EQ(0, unit_install(&s, &f));
	check_lookups(_metadata, &s, cases, ARRAY_LEN(cases));
	for (i = 0; i < ARRAY_LEN(contains); i++) {
		snprintf(desc, sizeof(desc), "base 0x%x nmsrs 0x%x index 0x%x",
			 contains[i].base, contains[i].nmsrs, contains[i].index);
		EXPECT_FLAG(contains[i].in,
			    msr_model_range_contains(contains[i].base, contains[i].nmsrs,
						     contains[i].index), desc);
	}
}

TEST(filter_lookup_x2apic_and_host_exempt)
{
	struct kvm_msr_filter f = {
		.flags = DENY,
		.ranges[0] = unit_range(RW, 0, 12288, unit_zeros),
	};
	const struct lookup_case cases[] = {
		{ "below x2APIC read", 0x7ff, R, false, BITMAP, 0 },
		{ "below x2APIC write", 0x7ff, W, false, BITMAP, 0 },
		{ "first x2APIC read", 0x800, R, true, X2APIC, -1 },
		{ "first x2APIC write", 0x800, W, true, X2APIC, -1 },
		{ "TPR write", 0x808, W, true, X2APIC, -1 },
		{ "last x2APIC read", 0x8ff, R, true, X2APIC, -1 },
		{ "last x2APIC write", 0x8ff, W, true, X2APIC, -1 },
		{ "above x2APIC read", 0x900, R, false, BITMAP, 0 },
		{ "above x2APIC write", 0x900, W, false, BITMAP, 0 },
		{ "outside every range", 0x3000, R, false, DEFAULT, -1 },
	};
	static struct msr_model_filter_state s;
	struct msr_filter_verdict v;

	unit_bitmaps_init();
	msr_model_filter_state_init(&s);
	v = msr_model_filter_allows(&s, 0x7ff, R);
	EXPECT_TRUE(v.allowed);
	EXPECT_RULE(MSR_RULE_FILTER_NONE_INSTALLED, v.rule, "no filter");

	ASSERT_EQ(0, unit_install(&s, &f));
	check_lookups(_metadata, &s, cases, ARRAY_LEN(cases));

	v = msr_model_filter_check(&s, MSR_ORIGIN_HOST, 0x7ff, W);
	EXPECT_TRUE(v.allowed);
	EXPECT_RULE(MSR_RULE_FILTER_HOST_EXEMPT, v.rule, "host write");
}

TEST(filter_bitmap_without_contents_reads_zero)
{
	struct msr_model_mem_region r = { .addr = PAGE_END - 8, .len = 8 };
	struct msr_model_mem mem = { &r, 1 };
	struct kvm_msr_filter f = {
		.ranges[0] = unit_range(RW, 0x40, 64, (void *)(uintptr_t)(PAGE_END - 8)),
	};
	static struct msr_model_filter_state s;
	struct msr_filter_verdict v;

	msr_model_filter_state_init(&s);
	ASSERT_EQ(0, msr_model_filter_install(&s, &f, &mem).err);
	v = msr_model_filter_allows(&s, 0x40, R);
	EXPECT_FALSE(v.allowed);
	EXPECT_RULE(BITMAP, v.rule, "zero bitmap");
}

TEST(filter_memory_facts)
{
	static const __u8 buf[4] = { 1, 2, 3, 4 };
	struct msr_model_mem_region r = unit_region(buf, sizeof(buf));
	struct msr_model_mem mem = { &r, 1 };
	__u64 base = (__u64)(uintptr_t)buf;

	EXPECT_U64(4, msr_model_mem_readable(&mem, base), "start");
	EXPECT_U64(1, msr_model_mem_readable(&mem, base + 3), "last byte");
	EXPECT_U64(0, msr_model_mem_readable(&mem, base + 4), "past the end");
	EXPECT_U64(0, msr_model_mem_readable(&mem, base - 1), "before");
	EXPECT_U64(0, msr_model_mem_readable(NULL, base), "no memory facts");
}

TEST_HARNESS_MAIN
