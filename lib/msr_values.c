// SPDX-License-Identifier: GPL-2.0
/*
 * WRMSR values that keep the guest payload alive, shared by the matrix
 * (lib/msr_matrix.c) and the fuzz targets (lib/msr_values.h).
 */
#include "kvm_util.h"

#include "msr_catalog.h"
#include "msr_values.h"

/* splitmix64: a distinctive value per case. */
__u64 mx_mix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

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

__u64 mx_safe_bits(__u32 index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guest_safe_bits); i++) {
		if (guest_safe_bits[i].index == index)
			return guest_safe_bits[i].bits;
	}
	return ~0ull;
}

__u64 mx_canonical48(__u64 p)
{
	__u64 v = p & ((1ull << 47) - 1);

	return p >> 63 ? v | 0xffff800000000000ull : v;
}

/* PAT with entry 0 write-back (the guest's mappings) and valid others. */
__u64 mx_valid_pat(__u64 p)
{
	static const __u8 types[] = { 0, 1, 4, 5, 6, 7 };
	__u64 v = 6;
	unsigned int i;

	for (i = 1; i < 8; i++)
		v |= (__u64)types[(p >> (4 * i)) % ARRAY_SIZE(types)] << (8 * i);
	return v;
}
