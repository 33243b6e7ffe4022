/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Facts about MSRs probed from the running kernel, for the catalog
 * (lib/msr_catalog.h says which facts are probed and which are curated).
 */
#ifndef KVM_MSR_SUITE_MSR_PROBE_H
#define KVM_MSR_SUITE_MSR_PROBE_H

#include "compat.h"
#include "msr_catalog.h"

/*
 * KVM_GET_MSRS or KVM_SET_MSRS (@cmd) of the single entry {@index, *@data}
 * on @fd (a vCPU fd or the system fd).  Returns the ioctl's result (the
 * number of entries processed, or -1 with errno); *@data is the entry's
 * data after the call.
 */
int msr_ioctl_one(int fd, unsigned long cmd, uint32_t index, uint64_t *data);

/*
 * Fill every entry's .probe: index-list membership, host-initiated
 * KVM_GET_MSRS / KVM_SET_MSRS (writing back what was read) on @vcpu, and the
 * system fd's KVM_GET_MSRS for feature MSRs.  Call on a fresh vCPU before
 * KVM_RUN, with no MSR filter.
 */
void msr_probe_catalog(struct msr_catalog *c, struct kvm_vcpu *vcpu);

#endif
