/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vCPU model (struct msr_vcpu_model, lib/msr_catalog.h) of a real vCPU
 * on this host: what the model needs to know about the vendor module, the
 * host CPU, the guest CPUID the library set and the vCPU's current mode.
 *
 * Vendor: the KVM backend (/sys/module: kvm_intel, kvm_amd, or another one
 * such as kvm_pvm).  With kvm_intel or kvm_amd the vendor is that module's.
 * Any other backend has no SVM/VMX of its own; the vendor is then the host
 * CPU's (/proc/cpuinfo vendor_id), so the vendor-specific facts the catalog
 * derives from it (MSR pass-through on SVM/VMX) are SVM's or VMX's: where
 * the backend differs, the suite reports a divergence (see
 * tests/baseline/) instead of guessing what the backend does.
 */
#ifndef KVM_MSR_SUITE_MSR_HOST_H
#define KVM_MSR_SUITE_MSR_HOST_H

#include "compat.h"
#include "msr_catalog.h"

struct msr_host_info {
	char backend[32];		/* kvm_intel, kvm_amd, kvm_pvm, ... */
	char cpu_vendor[16];		/* /proc/cpuinfo vendor_id */
	enum msr_vendor vendor;		/* what the model is told */
	const char *vendor_source;	/* why: "KVM module" or "host CPU" */
	bool known_vendor;		/* cpu_vendor is Intel- or AMD-like */
};

void msr_host_info_get(struct msr_host_info *h);
/* MSR_FEAT_* of the host CPU (/proc/cpuinfo flags). */
__u32 msr_host_features(void);

/*
 * The guest CPUID is the suite's choice, never the host's.  The library
 * gives a vCPU KVM_GET_SUPPORTED_CPUID, which differs from host to host
 * (IBPB, FLUSH_L1D, ...); the features that decide how KVM treats a
 * catalog MSR (MSR_CPUID_TOGGLED) are then set to one of two states:
 *
 *   absent   every toggled feature cleared: the same guest on every host;
 *   present  every toggled feature that KVM_GET_SUPPORTED_CPUID has, set;
 *            the others stay clear, and are "not covered" in that state
 *            (msr_cpuid_state_describe() says which).
 *
 * LM and NX stay as KVM supports them: the guest payload runs in long mode
 * on NX page tables.  Call before the vCPU's first KVM_RUN (KVM refuses a
 * different CPUID after it).
 */
enum msr_cpuid_state {
	MSR_CPUID_ABSENT,
	MSR_CPUID_PRESENT,
	MSR_CPUID_STATES
};

#define MSR_CPUID_TOGGLED	(MSR_FEAT_SVM | MSR_FEAT_FFXSR | MSR_FEAT_AUTOIBRS |	\
				 MSR_FEAT_RDTSCP | MSR_FEAT_RDPID | MSR_FEAT_ARCH_CAPS |	\
				 MSR_FEAT_IBPB | MSR_FEAT_SBPB | MSR_FEAT_FLUSH_L1D)

const char *msr_cpuid_state_name(enum msr_cpuid_state st);
void msr_guest_cpuid_set(struct kvm_vcpu *vcpu, enum msr_cpuid_state st);
/*
 * @st and the MSR_CPUID_TOGGLED features the last msr_guest_cpuid_set() of
 * @st in this process could not give the vCPU: not in
 * KVM_GET_SUPPORTED_CPUID, or set but not what KVM_GET_CPUID2 then returns
 * (a backend may rewrite a leaf), e.g. "present (not covered: flush_l1d:
 * not in KVM_GET_SUPPORTED_CPUID)".  The model reads the vCPU's CPUID, so
 * it follows what KVM holds either way.
 */
int msr_cpuid_state_describe(char *buf, size_t len, enum msr_cpuid_state st);

/*
 * Fill @m for @vcpu: vendor as above, guest CPUID features from the vCPU's
 * CPUID, host features from /proc/cpuinfo, EFER / CR0.PG / x2APIC mode from
 * the vCPU's current state (KVM_GET_MSRS, KVM_GET_SREGS), kvm.ignore_msrs.
 */
void msr_vcpu_model_from_host(struct msr_vcpu_model *m, const struct msr_host_info *h,
			      struct kvm_vcpu *vcpu);

/* MSR_KERNEL() of the running kernel (uname), for the model's version rules. */
__u32 msr_host_kernel(void);

/*
 * The setting of a check that involves no vCPU (a VM ioctl, the system
 * fd), for the baseline: this host's vendor, CPU features and kernel, a
 * guest with the absent CPUID state.
 */
struct msr_div_case;
void msr_div_case_host(struct msr_div_case *c);

/* One line saying where each input came from, for the test log. */
int msr_vcpu_model_describe(char *buf, size_t len, const struct msr_vcpu_model *m,
			    const struct msr_host_info *h);

#endif
