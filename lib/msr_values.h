/* SPDX-License-Identifier: GPL-2.0 */
/*
 * WRMSR values that keep the guest payload alive (long mode with paging,
 * PAT entry 0 write-back, no SYSCALL, no interrupts), shared by the
 * conformance matrix and the fuzz targets.
 */
#ifndef KVM_MSR_SUITE_MSR_VALUES_H
#define KVM_MSR_SUITE_MSR_VALUES_H

#include <stdbool.h>
#include <linux/types.h>

struct msr_facts;

/* splitmix64: a distinctive value from a sequence number. */
static inline __u64 msr_mix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}
/* The bits of catalog MSR @index a valid WRMSR may change (~0: all). */
__u64 msr_safe_bits(__u32 index);
/* @p made canonical for 48 address bits. */
__u64 msr_canonical48(__u64 p);
/* A PAT from @p: entry 0 write-back, only valid types in the others. */
__u64 msr_valid_pat(__u64 p);

/* The WRMSR values a case writes. */
enum msr_value_kind {
	MSR_VALUE_VALID,		/* a value the model accepts, from the current one */
	MSR_VALUE_RESERVED_HIGH,	/* valid | the highest reserved bit */
	MSR_VALUE_RESERVED_LOW,		/* valid | the lowest reserved bit */
	MSR_VALUE_NON_CANONICAL,	/* bit 63 set, bits 62:47 clear */
	MSR_VALUE_PAT_TYPE,		/* a PAT entry (not entry 0) of type 2, 3 or 8 */
	MSR_VALUE_RAW,			/* the parameter itself (EFER paging bits and PAT
					 * entry 0 kept) */
	MSR_VALUE_KINDS
};

/*
 * How a generator derives its values.  The matrix's (MSR_VALUES_MATRIX)
 * makes every valid store show and never repeats a case; the fuzz
 * targets' (0) is what their saved inputs were found with, so it must not
 * change: the seed is msr_mix(param), EFER.SCE flips with param bit 0 and
 * a PAT type gets param's high nibble.
 */
#define MSR_VALUE_SEED_INDEX	0x1	/* seed msr_mix(param ^ index << 20) */
#define MSR_VALUE_EFER_FLIP	0x2	/* a valid EFER always flips SCE */
#define MSR_VALUE_LOW_DISTINCT	0x4	/* no RESERVED_LOW when it is RESERVED_HIGH */
#define MSR_VALUE_PAT_NIBBLE	0x8	/* PAT_TYPE | param & 0xf0 */
#define MSR_VALUES_MATRIX	(MSR_VALUE_SEED_INDEX | MSR_VALUE_EFER_FLIP | MSR_VALUE_LOW_DISTINCT)
#define MSR_VALUES_FUZZ		MSR_VALUE_PAT_NIBBLE

const char *msr_value_kind_name(enum msr_value_kind k);

/*
 * The WRMSR value of @kind for catalog MSR @index whose current value is
 * @cur and facts @f, from @param; false where @kind does not apply (no
 * reserved bits, not a canonical base, not PAT, the handler refuses).
 */
bool msr_value_for(enum msr_value_kind kind, __u32 index, __u64 cur, const struct msr_facts *f,
		   __u64 param, unsigned int flags, __u64 *out);

#endif
