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

#define MSR_SPEC_MAX_RANGES 4

struct msr_filter_spec_range {
	uint32_t flags;
	uint32_t base;
	uint32_t nmsrs;
	uint8_t pattern;	/* every bitmap byte (bit set: allowed) */
};

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
		memset(bitmaps[i], s->ranges[i].pattern, KVM_MSR_FILTER_MAX_BITMAP_SIZE);
		f->ranges[i].flags = s->ranges[i].flags;
		f->ranges[i].base = s->ranges[i].base;
		f->ranges[i].nmsrs = s->ranges[i].nmsrs;
		f->ranges[i].bitmap = bitmaps[i];
	}
}

#endif
