/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which MSR filter is in force, proved by the guest: run msr_filter_probes[]
 * (lib/msr_filter_specs.h) in the guest payload with the exit mask
 * MSR_FILTER_PROBE_MASK, record each probe's exit reason, and compare with
 * what the model's filter state predicts.
 */
#ifndef KVM_MSR_SUITE_MSR_FILTER_PROBE_H
#define KVM_MSR_SUITE_MSR_FILTER_PROBE_H

#include "msr_catalog.h"
#include "msr_filter_specs.h"
#include "msr_divergence.h"
#include "msr_guest.h"
#include "msr_model.h"

struct msr_probe_log {
	int filter_err;				/* KVM_X86_SET_MSR_FILTER errno */
	uint32_t reason[MSR_FILTER_PROBES];	/* msr.reason per probe, 0: no exit */
};

/* A guest_msr_vcpu with the probe exit mask enabled. */
void msr_filter_probe_vcpu_create(struct guest_msr_vcpu *g);

/* Run the probes; every exit is answered with data 0, error 0. */
void msr_filter_probe_run(struct guest_msr_vcpu *g, struct msr_probe_log *log);

/* The msr.reason the model predicts for probe @i (0: handled, no exit). */
uint32_t msr_filter_probe_expected(const struct msr_model_filter_state *s, unsigned int i);

/*
 * Every check of this process's probes, named filter_probe.<msr>.<op>.reason
 * and filter_probe.none.filter.errno (lib/msr_divergence.h); a test prints
 * it at the end of each subtest.
 */
extern struct msr_div_tally msr_filter_probe_tally;

/*
 * Compare @log with the model's @s; report every mismatch (prefixed with
 * @what, with its signature).  Returns the mismatches.
 */
unsigned int msr_filter_probe_check(const struct msr_model_filter_state *s,
				    const struct msr_probe_log *log, const char *what);

/*
 * KVM_X86_SET_MSR_FILTER of @f on @g's VM, msr_model_filter_install() of @f
 * on @s (@mem: the bitmaps' memory facts), then the probes: the ioctl's
 * result must be the model's, and the guest must see the filter the model
 * now has in force (after a rejected call, the previous one).  Reports each
 * mismatch prefixed with @what; returns their number and the model's
 * verdict in *@want.
 */
unsigned int msr_filter_install_and_probe(struct guest_msr_vcpu *g,
					  struct msr_model_filter_state *s,
					  struct kvm_msr_filter *f,
					  const struct msr_model_mem *mem, const char *what,
					  struct msr_verdict *want);

/* Model memory facts for bitmaps[] (one readable region per range). */
void msr_filter_spec_mem(uint8_t bitmaps[][KVM_MSR_FILTER_MAX_BITMAP_SIZE],
			 struct msr_model_mem_region *regions, struct msr_model_mem *mem);

#endif
