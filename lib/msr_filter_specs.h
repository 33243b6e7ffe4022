/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filters described as plain data, so that a 64-bit and a 32-bit process
 * (whose struct kvm_msr_filter differ in layout: bitmap is a pointer) build
 * the same filter from the same description.  Header-only and free of the
 * selftests library: tests/compat32/ includes it in a -m32 build.
 */
#ifndef KVM_MSR_SUITE_MSR_FILTER_SPECS_H
#define KVM_MSR_SUITE_MSR_FILTER_SPECS_H

#include <stdint.h>
#include <string.h>
#include <linux/kvm.h>

#include "msr_values.h"

#define MSR_SPEC_MAX_RANGES KVM_MSR_FILTER_MAX_RANGES

struct msr_filter_spec_range {
	uint32_t flags;
	uint32_t base;
	uint32_t nmsrs;
	uint8_t pattern;	/* every bitmap byte (bit set: allowed), unless ... */
	uint8_t hash;		/* MSR_SPEC_HASH(_INV): bit n from a hash of base + n */
};

#define MSR_SPEC_HASH		1	/* no two 64-bit longs of the bitmap alike */
#define MSR_SPEC_HASH_INV	2	/* its complement */

struct msr_filter_spec {
	const char *name;
	uint32_t flags;
	unsigned int nranges;
	struct msr_filter_spec_range ranges[MSR_SPEC_MAX_RANGES];
};

#define R KVM_MSR_FILTER_READ
#define W KVM_MSR_FILTER_WRITE
#define DENY KVM_MSR_FILTER_DEFAULT_DENY

/*
 * Around the indices KVM does not know (catalog class UNKNOWN: 0x3, 0x7ff,
 * 0x900, 0xdeadbeef, 0xffffffff) and EFER (0xc0000080), so that probing
 * them shows which filter is in force without side effects.
 */
static const struct msr_filter_spec msr_compat_filter_specs[] = {
	{ "deny_all_but_efer_read", DENY, 1, { { R, 0xc0000080, 1, 0xff } } },
	{ "allow_but_deny_low_writes", 0, 1, { { W, 0x0, 0x800, 0x00 } } },
	{ "overlap_first_match_per_type", 0, 3, {
		{ R, 0x7f0, 0x20, 0x00 },
		{ R | W, 0x7f0, 0x20, 0xff },
		{ W, 0x900, 1, 0x00 } } },
	{ "alternating_bits", DENY, 2, {
		{ R | W, 0x0, 0x10, 0x55 },
		{ R, 0xdeadbee0, 0x20, 0xaa } } },
	{ "allow_empty_turns_filtering_off", 0, 0, { { 0 } } },
	{ "rejected_range_flags", 0, 1, { { 0x4, 0x0, 8, 0x00 } } },
	{ "rejected_deny_without_ranges", DENY, 0, { { 0 } } },
};

/*
 * Lookup semantics (api.rst 4.97, x86.c:kvm_msr_allowed()), each shown on
 * the probe indices.
 */
static const struct msr_filter_spec msr_semantic_filter_specs[] = {
	{ "first_match_wins_per_access_type", 0, 2, {
		{ W, 0x0, 0x10, 0xff },			/* allows writes of 0x3 ... */
		{ R | W, 0x0, 0x10, 0x00 } } },		/* ... reads fall through: denied */
	{ "range_end_is_exclusive", DENY, 2, {
		{ R | W, 0x0, 0x3, 0x00 },		/* 0x0..0x2: 0x3 not covered */
		{ R | W, 0x3, 0x1, 0xff } } },		/* 0x3 allowed by its own range */
	{ "range_end_wraps_past_u32", 0, 1, {
		{ R | W, 0xfffffff0, 0x20, 0x00 } } },	/* covers nothing */
	{ "range_ending_at_u32_limit", 0, 1, {
		{ R | W, 0xffffff00, 0x100, 0x00 } } },	/* end 0 wraps: nothing */
	{ "range_across_x2apic_still_filters_outside", 0, 1, {
		{ R | W, 0x7f0, 0x120, 0x00 } } },	/* 0x7ff and 0x900 denied */
	{ "deny_default_with_unrelated_range", DENY, 1, {
		{ R, 0x10000, 0x8, 0xff } } },
	{ "bitmap_bit_order", DENY, 1, {
		{ R | W, 0xdeadbee8, 0x10, 0x80 } } },	/* bit 7 of byte 0: 0xdeadbeef */
};

/*
 * Two filters for the swap test.  They decide the low probes (0x3, 0x7ff,
 * 0x900) differently (A denies their writes, B their reads) and agree,
 * through a range each, on denying 0xdeadbeef: an access that sees neither
 * filter, or a filter with ranges missing, reads UNKNOWN there.
 */
static const struct msr_filter_spec msr_swap_filter_specs[2] = {
	{ "swap_a_denies_low_writes", 0, 2, {
		{ R | W, 0xdeadbee0, 0x20, 0x00 },
		{ W, 0x0, 0x1000, 0x00 } } },
	{ "swap_b_denies_low_reads", 0, 3, {
		{ R | W, 0xdeadbee0, 0x20, 0x00 },
		{ W, 0x0, 0x1000, 0xff },
		{ R, 0x0, 0x1000, 0x00 } } },
};

/*
 * The matrix's layouts (lib/msr_matrix.c): which ranges cover the catalog
 * MSRs, under the DEFAULT_ALLOW or DEFAULT_DENY the matrix's filter state
 * says (flags here are 0).  The REGIONS windows hold every catalog MSR;
 * the last one ends at 2^32: in KVM's u32 arithmetic (base + nmsrs == 0) it
 * covers nothing, so 0xffffffff is never inside a range whatever the
 * layout says.  ODD/EVEN: the bases are even, so bit n allows base + n when
 * n is odd (0xaa) or even (0x55).
 */
#define ALLOW	0xff
#define NONE	0x00
#define ODD	0xaa
#define EVEN	0x55
#define REGIONS(fl, p, h)						\
	{ fl, 0x00000000u, 0x1000, p, h }, { fl, 0xc0000000u, 0x200, p, h },	\
	{ fl, 0xdeadbe00u, 0x100, p, h }, { fl, 0xffffff00u, 0x100, p, h }
/* Slot k allows when k is even (@e) or odd (@o); slot 15 is @o's. */
#define SLOTS16(name_, e, o) { name_, 0, 16, {					\
	{ R | W, 0x00000277u, 1, e }, { R | W, 0x0000008bu, 1, o },		\
	{ R | W, 0x000000ceu, 1, e }, { R | W, 0x0000010au, 1, o },		\
	{ R | W, 0x00000049u, 1, e }, { R | W, 0x0000010bu, 1, o },		\
	{ R | W, 0x00000003u, 1, e }, { R | W, 0x000007ffu, 1, o },		\
	{ R | W, 0x00000900u, 1, e }, { R | W, 0xdeadbeefu, 1, o },		\
	{ R | W, 0xc0000081u, 1, e }, { R | W, 0xc0000082u, 1, o },		\
	{ R | W, 0xc0000083u, 1, e }, { R | W, 0xc0000084u, 1, o },		\
	{ R | W, 0xc0000080u, 1, e }, { R | W, 0xc0000000u, 0x200, o },		\
} }

static const struct msr_filter_spec msr_matrix_filter_specs[] = {
	{ "read_odd", 0, 4, { REGIONS(R, ODD, 0) } },
	{ "read_even", 0, 4, { REGIONS(R, EVEN, 0) } },
	{ "write_odd", 0, 4, { REGIONS(W, ODD, 0) } },
	{ "write_even", 0, 4, { REGIONS(W, EVEN, 0) } },
	{ "rw_odd", 0, 4, { REGIONS(R | W, ODD, 0) } },
	{ "rw_even", 0, 4, { REGIONS(R | W, EVEN, 0) } },
	/* Deny-all ranges that end right before or start right after test MSRs. */
	{ "uncovered", 0, 11, {
		{ R | W, 0x00000004u, 0x45, NONE },	/* up to PRED_CMD */
		{ R | W, 0x0000004au, 0x41, NONE },	/* after it, up to UCODE_REV */
		{ R | W, 0x0000008cu, 0x42, NONE },	/* up to PLATFORM_INFO */
		{ R | W, 0x00000278u, 0x587, NONE },	/* after PAT, up to 0x7ff */
		{ R | W, 0x00000901u, 0x6ff, NONE },	/* after 0x900 */
		{ R | W, 0xc0000000u, 0x80, NONE },	/* up to EFER */
		{ R | W, 0xc0000085u, 0x7d, NONE },	/* after SFMASK, up to KERNEL_GS_BASE */
		{ R | W, 0xc0000104u, 0xfc, NONE },	/* after TSC_AUX */
		{ R | W, 0xdeadbe00u, 0xef, NONE },	/* up to 0xdeadbeef */
		{ R | W, 0xdeadbef0u, 0x10, NONE },	/* after it */
		{ R | W, 0xfffffe00u, 0x1ff, NONE },	/* up to 0xffffffff */
	} },
	{ "overlap_allow_first", 0, 8, { REGIONS(R | W, ALLOW, 0), REGIONS(R | W, NONE, 0) } },
	{ "overlap_deny_first", 0, 8, { REGIONS(R | W, NONE, 0), REGIONS(R | W, ALLOW, 0) } },
	/* The first range matches only one access type; the other goes on. */
	{ "overlap_read_deny_first", 0, 8, { REGIONS(R, NONE, 0), REGIONS(R | W, ALLOW, 0) } },
	{ "overlap_write_deny_first", 0, 8, { REGIONS(W, NONE, 0), REGIONS(R | W, ALLOW, 0) } },
	/* Small deny ranges over some test MSRs, inside allow-all ranges. */
	{ "overlap_partial", 0, 7, {
		{ R | W, 0x00000000u, 0x100, NONE },	/* 0x3, 0x49, 0x8b, 0xce */
		{ R | W, 0xc0000080u, 0x3, NONE },	/* EFER, STAR, LSTAR */
		{ R | W, 0xdeadbeefu, 0x1, NONE },
		REGIONS(R | W, ALLOW, 0),
	} },
	/*
	 * Long bitmaps (up to 0x1000 MSRs) whose every 64-bit long differs:
	 * a bit found in the wrong long or byte shows, which the periodic
	 * odd/even patterns cannot show.
	 */
	{ "rw_hash", 0, 4, { REGIONS(R | W, 0, MSR_SPEC_HASH) } },
	{ "rw_hash_inv", 0, 4, { REGIONS(R | W, 0, MSR_SPEC_HASH_INV) } },
	/*
	 * All 16 slots, each the first match of at least one test MSR: slots
	 * 0..14 one MSR each, slot 15 the 0xc0000000 window, which also covers
	 * the MSRs of slots 10..14 but decides only KERNEL_GS_BASE and TSC_AUX.
	 */
	SLOTS16("slots16_even_allow", ALLOW, NONE),
	SLOTS16("slots16_odd_allow", NONE, ALLOW),
};

#undef ALLOW
#undef NONE
#undef ODD
#undef EVEN
#undef REGIONS
#undef SLOTS16

#define MSR_MATRIX_FILTER_SPECS \
	(sizeof(msr_matrix_filter_specs) / sizeof(msr_matrix_filter_specs[0]))

/*
 * Filters that deny, for read and write, every MSR a side-effect
 * instruction reads (TSC, SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, SFMASK,
 * KERNEL_GS_BASE, TSC_AUX; lib/msr_model.h rule 10): [0, 1] with
 * DEFAULT_ALLOW (filter state allow_ranges), [2, 3] with DEFAULT_DENY
 * (deny_ranges).
 */
#define SE_BLOCKS(f, p)								\
	{ f, 0x00000010u, 1, p }, { f, 0x00000174u, 3, p },			\
	{ f, 0xc0000081u, 4, p }, { f, 0xc0000102u, 2, p }
static const struct msr_filter_spec msr_side_effect_filter_specs[] = {
	{ "side_effect_rw_denied", 0, 4, { SE_BLOCKS(R | W, 0x00) } },
	{ "side_effect_read_write_denied", 0, 8, { SE_BLOCKS(R, 0x00), SE_BLOCKS(W, 0x00) } },
	/* only an EFER read allowed */
	{ "side_effect_default_deny", DENY, 1, { { R, 0xc0000080u, 1, 0xff } } },
	/* denied first, then allow-all windows over them (first match) */
	{ "side_effect_deny_before_allow", DENY, 6, {
		SE_BLOCKS(R | W, 0x00),
		{ R | W, 0x00000000u, 0x1000, 0xff }, { R | W, 0xc0000000u, 0x200, 0xff } } },
};
#undef SE_BLOCKS
#define MSR_SIDE_EFFECT_FILTER_SPECS	2	/* per filter state with ranges */

#undef R
#undef W
#undef DENY

/*
 * Probes that show which filter is in force: the catalog's UNKNOWN indices
 * (no side effects; with MSR_FILTER_PROBE_MASK every access exits with
 * FILTER or UNKNOWN) and a read of EFER (handled in the kernel unless
 * filtered).  lib/msr_filter_probe.c checks they are still UNKNOWN in the
 * catalog.
 */
struct msr_filter_probe {
	uint8_t write;
	uint32_t index;
};

static const struct msr_filter_probe msr_filter_probes[] = {
	{ 0, 0x3 }, { 1, 0x3 }, { 0, 0x7ff }, { 1, 0x7ff }, { 0, 0x900 }, { 1, 0x900 },
	{ 0, 0xdeadbeef }, { 1, 0xdeadbeef }, { 0, 0xffffffff }, { 1, 0xffffffff },
	{ 0, 0xc0000080 },
};

#define MSR_FILTER_PROBES (sizeof(msr_filter_probes) / sizeof(msr_filter_probes[0]))
#define MSR_FILTER_PROBE_MASK (KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN)

#define MSR_SEMANTIC_FILTER_SPECS \
	(sizeof(msr_semantic_filter_specs) / sizeof(msr_semantic_filter_specs[0]))

#define MSR_COMPAT_FILTER_SPECS \
	(sizeof(msr_compat_filter_specs) / sizeof(msr_compat_filter_specs[0]))

/* @f from @s; @bitmaps holds the bitmaps (one per range). */
static inline void msr_filter_spec_build(const struct msr_filter_spec *s,
					 struct kvm_msr_filter *f,
					 uint8_t bitmaps[][KVM_MSR_FILTER_MAX_BITMAP_SIZE])
{
	unsigned int i;

	memset(f, 0, sizeof(*f));
	f->flags = s->flags;
	for (i = 0; i < s->nranges; i++) {
		const struct msr_filter_spec_range *r = &s->ranges[i];
		uint32_t n;

		memset(bitmaps[i], r->hash ? 0 : r->pattern, KVM_MSR_FILTER_MAX_BITMAP_SIZE);
		for (n = 0; r->hash && n < r->nmsrs && n < KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8; n++)
			if (((msr_mix((uint32_t)(r->base + n)) >> 17) & 1) ^ (r->hash == MSR_SPEC_HASH_INV))
				bitmaps[i][n / 8] |= 1u << (n % 8);
		f->ranges[i].flags = s->ranges[i].flags;
		f->ranges[i].base = s->ranges[i].base;
		f->ranges[i].nmsrs = s->ranges[i].nmsrs;
		f->ranges[i].bitmap = bitmaps[i];
	}
}

#endif
