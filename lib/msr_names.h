/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MSR index -> name, for messages.  The table is generated at build time from
 * the kernel tree's msr-index.h (scripts/gen_msr_names.sh).
 */
#ifndef KVM_MSR_SUITE_MSR_NAMES_H
#define KVM_MSR_SUITE_MSR_NAMES_H

#include <stdint.h>

struct msr_name {
	uint32_t index;
	const char *name;
};

extern const struct msr_name msr_names[];
extern const unsigned int msr_names_count;

/* "MSR_EFER", or "MSR_0x4b564d05" style for indices msr-index.h lacks. */
const char *msr_name(uint32_t index);

#endif
