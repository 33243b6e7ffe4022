// SPDX-License-Identifier: GPL-2.0
/*
 * WRMSR values that keep the guest payload alive, shared by the matrix
 * (lib/msr_matrix.c) and the fuzz targets (lib/msr_values.h).
 */
#include "kvm_util.h"

#include "msr_catalog.h"
#include "msr_values.h"

/*
 * Bits a test may change without breaking the guest or the host (the
 * guest runs in long mode with paging, PAT entry 0, no SYSCALL, no
 * interrupts).  Everything else keeps its current value.
 */
static const struct {
	__u32 index;
	__u64 bits;
} guest_safe_bits[] = {
	{ MSR_CAT_EFER, MSR_CAT_EFER_SCE },		/* LME/LMA/NX hold paging */
	{ MSR_CAT_SYSCALL_MASK, 0xffffffffull },
	{ MSR_CAT_TSC_AUX, 0xffffffffull },
	{ MSR_CAT_PRED_CMD, MSR_CAT_PRED_CMD_IBPB },	/* a barrier, nothing else */
	{ MSR_CAT_FLUSH_CMD, MSR_CAT_L1D_FLUSH },
	{ MSR_CAT_X2APIC_TPR, 0xffull },
	{ MSR_CAT_X2APIC_ID, 0xffffffffull },
	{ MSR_MODEL_X2APIC_FIRST, 0xffffffffull },
	{ MSR_MODEL_X2APIC_LAST, 0xffffffffull },
};

__u64 msr_safe_bits(__u32 index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guest_safe_bits); i++) {
		if (guest_safe_bits[i].index == index)
			return guest_safe_bits[i].bits;
	}
	return ~0ull;
}

__u64 msr_canonical48(__u64 p)
{
	__u64 v = p & ((1ull << 47) - 1);

	return p >> 63 ? v | 0xffff800000000000ull : v;
}

/* PAT with entry 0 write-back (the guest's mappings) and valid others. */
__u64 msr_valid_pat(__u64 p)
{
	static const __u8 types[] = { 0, 1, 4, 5, 6, 7 };
	__u64 v = 6;
	unsigned int i;

	for (i = 1; i < 8; i++)
		v |= (__u64)types[(p >> (4 * i)) % ARRAY_SIZE(types)] << (8 * i);
	return v;
}

const char *msr_value_kind_name(enum msr_value_kind k)
{
	static const char *const names[MSR_VALUE_KINDS] = {
		[MSR_VALUE_VALID] = "valid value",
		[MSR_VALUE_RESERVED_HIGH] = "highest reserved bit set",
		[MSR_VALUE_RESERVED_LOW] = "lowest reserved bit set",
		[MSR_VALUE_NON_CANONICAL] = "non-canonical address",
		[MSR_VALUE_PAT_TYPE] = "reserved PAT memory type",
		[MSR_VALUE_RAW] = "raw",
	};

	return (unsigned int)k < MSR_VALUE_KINDS ? names[k] : "?";
}

bool msr_value_for(enum msr_value_kind kind, __u32 index, __u64 cur, const struct msr_facts *f,
		   __u64 param, unsigned int flags, __u64 *out)
{
	__u64 safe = msr_safe_bits(index);
	__u64 p = msr_mix(flags & MSR_VALUE_SEED_INDEX ? param ^ ((__u64)index << 20) : param);
	__u64 valid = (cur & ~safe) | (p & safe), reserved = f->wr_reserved;
	bool wr_ok = f->wr == MSR_HANDLER_OK;

	if (index == MSR_CAT_EFER)
		valid = cur ^ (flags & MSR_VALUE_EFER_FLIP || param & 1 ? MSR_CAT_EFER_SCE : 0);
	if (f->wr_check == MSR_CHECK_CANONICAL)
		valid = msr_canonical48(p);
	if (f->wr_check == MSR_CHECK_PAT)
		valid = msr_valid_pat(p);

	switch (kind) {
	case MSR_VALUE_VALID:
		*out = valid;
		return true;
	case MSR_VALUE_RESERVED_HIGH:
		if (!wr_ok || !reserved)
			return false;
		*out = valid | 1ull << (63 - __builtin_clzll(reserved));
		return true;
	case MSR_VALUE_RESERVED_LOW:
		if (!wr_ok || !reserved || ((flags & MSR_VALUE_LOW_DISTINCT) &&
		    __builtin_ctzll(reserved) == 63 - __builtin_clzll(reserved)))
			return false;
		*out = valid | 1ull << __builtin_ctzll(reserved);
		return true;
	case MSR_VALUE_NON_CANONICAL:
		if (!wr_ok || f->wr_check != MSR_CHECK_CANONICAL)
			return false;
		/* not canonical for 48 or 57 address bits */
		*out = 0x8000000000000000ull | (p & 0x00007ffffffff000ull);
		return true;
	case MSR_VALUE_PAT_TYPE: {
		static const __u8 bad[] = { 2, 3, 8 };
		unsigned int byte = 1 + p % 7;
		__u64 type = bad[(p >> 8) % ARRAY_SIZE(bad)] |
			     (flags & MSR_VALUE_PAT_NIBBLE ? param & 0xf0 : 0);

		if (!wr_ok || f->wr_check != MSR_CHECK_PAT)
			return false;
		*out = (valid & ~(0xffull << (8 * byte))) | type << (8 * byte);
		return true;
	}
	case MSR_VALUE_RAW:
		*out = param;
		/* Keep what holds the guest together should KVM accept it. */
		if (index == MSR_CAT_EFER) {
			__u64 keep = MSR_CAT_EFER_LME | MSR_CAT_EFER_LMA | MSR_CAT_EFER_NX;

			*out = (param & ~keep) | (cur & keep);
		}
		if (f->wr_check == MSR_CHECK_PAT)
			*out = (param & ~0xffull) | 6;
		return true;
	default:
		return false;
	}
}
