/* SPDX-License-Identifier: GPL-2.0 */
/*
 * WRMSR values that keep the guest payload alive (long mode with paging,
 * PAT entry 0 write-back, no SYSCALL, no interrupts), shared by the
 * conformance matrix and the fuzz targets.
 */
#ifndef KVM_MSR_SUITE_MSR_VALUES_H
#define KVM_MSR_SUITE_MSR_VALUES_H

#include <linux/types.h>

/* splitmix64: a distinctive value from a sequence number. */
__u64 mx_mix(__u64 x);
/* The bits of catalog MSR @index a valid WRMSR may change (~0: all). */
__u64 mx_safe_bits(__u32 index);
/* @p made canonical for 48 address bits. */
__u64 mx_canonical48(__u64 p);
/* A PAT from @p: entry 0 write-back, only valid types in the others. */
__u64 mx_valid_pat(__u64 p);

#endif
