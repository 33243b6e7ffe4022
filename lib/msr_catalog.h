/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MSR catalog: the curated table of MSRs the suite tests and fuzzes.
 *
 * Each entry names one MSR, its class, and how KVM 6.12 treats guest and
 * host accesses to it, as read from arch/x86/kvm/{x86,lapic}.c, vmx/vmx.c
 * and svm/svm.c (the "why" string says where).  The same table feeds the
 * fuzz dictionaries (msr_catalog_table[].index and the boundaries).
 *
 * Two kinds of facts live here:
 *
 * Curated (fixed in this file, true for every 6.12 kernel):
 *   index, name, class, flags, and the resolver that turns a vCPU model
 *   (struct msr_vcpu_model) into struct msr_facts: which accesses KVM
 *   handles, faults or does not know, reserved bits, value predicates,
 *   which accesses the CPU executes without exiting (MSR bitmaps).
 *
 * Probed (struct msr_probe, zero in the curated table, filled per run by
 * lib/msr_probe.c from the running kernel; set .probed when done):
 *   in_index_list    KVM_GET_MSR_INDEX_LIST (system fd) lists the index.
 *   in_feature_list  KVM_GET_MSR_FEATURE_INDEX_LIST lists the index (only
 *                    if KVM_CAP_GET_MSR_FEATURES).
 *   host_readable    vCPU KVM_GET_MSRS with the single entry {index}
 *   host_value       returns 1; host_value is the data it returned.
 *   host_writable    vCPU KVM_SET_MSRS with the single entry
 *                    {index, host_value} returns 1 (only tried if
 *                    host_readable; writes back what was read, so the vCPU
 *                    is unchanged).
 *   system_readable  system-fd KVM_GET_MSRS with {index} returns 1 (only if
 *   system_value     KVM_CAP_GET_MSR_FEATURES); system_value is its data.
 * Probe on a freshly created vCPU after KVM_SET_CPUID2 and before KVM_RUN,
 * with no MSR filter (host accesses are never filtered anyway).
 *
 * The vCPU model (struct msr_vcpu_model) is also an input: it describes
 * the guest CPUID the test set, the KVM vendor module, module parameters
 * and the guest mode at the time of the access.  See the field comments
 * for where each comes from.
 *
 * Known limits of the curated facts: x2APIC entries assume APIC
 * virtualization (APICv/AVIC) is off; with it on, valid accesses behave
 * the same but invalid ones may #GP in hardware instead of exiting.
 * SFMASK's reserved bits are decided by the CPU when KVM loads the value
 * (vmx.c uret MSRs) and are an input (sfmask_reserved).
 */
#ifndef SELFTEST_KVM_MSR_CATALOG_H
#define SELFTEST_KVM_MSR_CATALOG_H

#include "msr_model.h"

/* Indices (arch/x86/include/asm/msr-index.h); prefixed to avoid clashes. */
#define MSR_CAT_EFER			0xc0000080u
#define MSR_CAT_STAR			0xc0000081u
#define MSR_CAT_LSTAR			0xc0000082u
#define MSR_CAT_CSTAR			0xc0000083u
#define MSR_CAT_SYSCALL_MASK		0xc0000084u
#define MSR_CAT_KERNEL_GS_BASE		0xc0000102u
#define MSR_CAT_TSC_AUX			0xc0000103u
#define MSR_CAT_CR_PAT			0x00000277u
#define MSR_CAT_UCODE_REV		MSR_MODEL_UCODE_REV
#define MSR_CAT_ARCH_CAPABILITIES	MSR_MODEL_ARCH_CAPABILITIES
#define MSR_CAT_PLATFORM_INFO		MSR_MODEL_PLATFORM_INFO
#define MSR_CAT_PRED_CMD		0x00000049u
#define MSR_CAT_FLUSH_CMD		0x0000010bu
#define MSR_CAT_X2APIC_ID		0x00000802u
#define MSR_CAT_X2APIC_TPR		0x00000808u

/* EFER bits (msr-index.h _EFER_*). */
#define MSR_CAT_EFER_SCE		(1ull << 0)
#define MSR_CAT_EFER_LME		(1ull << 8)
#define MSR_CAT_EFER_LMA		(1ull << 10)
#define MSR_CAT_EFER_NX			(1ull << 11)
#define MSR_CAT_EFER_SVME		(1ull << 12)
#define MSR_CAT_EFER_FFXSR		(1ull << 14)
#define MSR_CAT_EFER_AUTOIBRS		(1ull << 21)
/* PRED_CMD / FLUSH_CMD command bits. */
#define MSR_CAT_PRED_CMD_IBPB		(1ull << 0)
#define MSR_CAT_PRED_CMD_SBPB		(1ull << 7)
#define MSR_CAT_L1D_FLUSH		(1ull << 0)

enum msr_class {
	MSR_CLASS_SYSCALL,	/* STAR, LSTAR, CSTAR, SFMASK */
	MSR_CLASS_CONTROL,	/* read/write with value rules */
	MSR_CLASS_FEATURE,	/* feature MSR the host may set (UCODE_REV) */
	MSR_CLASS_READ_ONLY,	/* guest WRMSR is always INVAL */
	MSR_CLASS_WRITE_ONLY,	/* guest RDMSR is UNKNOWN */
	MSR_CLASS_X2APIC,	/* 0x800..0x8ff, never filtered */
	MSR_CLASS_UNKNOWN,	/* no KVM handler: UNKNOWN */
	MSR_CLASS_COUNT
};

/* Curated flags. */
#define MSR_CAT_F_FEATURE	(1u << 0)	/* in msr_based_features[] */
#define MSR_CAT_F_BOUNDARY	(1u << 1)	/* an edge of a special range */

/* CPUID features the curated rules test (guest or host). */
enum msr_feature {
	MSR_FEAT_LM		= 1u << 0,
	MSR_FEAT_NX		= 1u << 1,
	MSR_FEAT_SVM		= 1u << 2,
	MSR_FEAT_FFXSR		= 1u << 3,	/* FXSR_OPT */
	MSR_FEAT_AUTOIBRS	= 1u << 4,
	MSR_FEAT_RDTSCP		= 1u << 5,
	MSR_FEAT_RDPID		= 1u << 6,
	MSR_FEAT_ARCH_CAPS	= 1u << 7,	/* ARCH_CAPABILITIES */
	MSR_FEAT_IBPB		= 1u << 8,	/* guest: SPEC_CTRL or AMD_IBPB */
	MSR_FEAT_SBPB		= 1u << 9,
	MSR_FEAT_FLUSH_L1D	= 1u << 10,
};
#define MSR_FEAT_COUNT		11

/* The /proc/cpuinfo name of MSR_FEAT_* bit @bit ("ibpb"), NULL past the end. */
const char *msr_feature_name(unsigned int bit);
/* MSR_FEAT_* of a msr_feature_name(), 0 if none. */
__u32 msr_feature_by_name(const char *name);
/* "+ibpb,-sbpb,..." for the features in @mask, by @features. */
int msr_features_str(char *buf, size_t len, __u32 features, __u32 mask);
/* "svm,flush_l1d": the names of the features in @features. */
int msr_feature_names(char *buf, size_t len, __u32 features);

/* The vCPU and host the facts are resolved for. */
struct msr_vcpu_model {
	enum msr_vendor vendor;		/* KVM module: kvm_intel or kvm_amd */
	bool guest_intel_compatible;	/* guest CPUID vendor Intel/Zhaoxin/Centaur */
	__u32 guest_features;		/* MSR_FEAT_* in the CPUID the test set */
	__u32 host_features;		/* MSR_FEAT_* of the host CPU (/proc/cpuinfo) */
	bool host_tsc_aux;		/* host has RDTSCP or RDPID (uret TSC_AUX) */
	unsigned int va_bits;		/* 57 if the host has LA57, else 48 (6.12) */
	__u64 efer;			/* guest EFER at the time of the access */
	bool paging;			/* guest CR0.PG at the time of the access */
	bool x2apic_mode;		/* guest APIC in x2APIC mode */
	bool platform_info_readable;	/* KVM_CAP_MSR_PLATFORM_INFO, default on */
	__u64 sfmask_reserved;		/* SFMASK bits the CPU rejects */
	bool ignore_msrs;		/* /sys/module/kvm/parameters/ignore_msrs */
	__u32 kernel;			/* MSR_KERNEL() of the running kernel */
};

struct msr_probe {
	bool probed;
	bool in_index_list;
	bool in_feature_list;
	bool host_readable;
	__u64 host_value;
	bool host_writable;
	bool system_readable;
	__u64 system_value;
};

struct msr_catalog_entry;
typedef void (*msr_resolve_t)(const struct msr_catalog_entry *e,
			      const struct msr_vcpu_model *vm,
			      struct msr_facts *f);

struct msr_catalog_entry {
	__u32 index;
	const char *name;
	enum msr_class class;
	unsigned int flags;		/* MSR_CAT_F_* */
	msr_resolve_t resolve;		/* curated access rules */
	const char *why;		/* where the curated rules come from */
	struct msr_probe probe;		/* filled by lib/msr_probe.c */
};

#define MSR_CATALOG_SIZE	22

struct msr_catalog {
	struct msr_catalog_entry entries[MSR_CATALOG_SIZE];
};

extern const struct msr_catalog_entry msr_catalog_table[MSR_CATALOG_SIZE];

void msr_catalog_init(struct msr_catalog *c);
const struct msr_catalog_entry *msr_catalog_find(const struct msr_catalog *c,
						 __u32 index);
/* @index's position in @c (struct msr_case.entry), -1 if it is not in the catalog. */
int msr_catalog_pos(const struct msr_catalog *c, __u32 index);
/* The curated entry (no probed facts) of @index in msr_catalog_table[]. */
const struct msr_catalog_entry *msr_catalog_table_find(__u32 index);
const struct msr_catalog_entry *msr_catalog_by_name(const struct msr_catalog *c,
						    const char *name);
const char *msr_class_name(enum msr_class class);

/* A vCPU model with KVM's defaults for a 64-bit guest in long mode. */
void msr_vcpu_model_init(struct msr_vcpu_model *vm, enum msr_vendor vendor);

/* Curated rules + probed values -> the model's input for one MSR. */
void msr_catalog_facts(const struct msr_catalog_entry *e,
		       const struct msr_vcpu_model *vm, struct msr_facts *f);

/* msr_host_lookup_t over a catalog, for msr_model_msrs_io(). */
struct msr_catalog_ctx {
	const struct msr_catalog *catalog;
	const struct msr_vcpu_model *vm;
};

struct msr_host_answer msr_catalog_host_lookup(const void *ctx,
					       enum msr_scope scope,
					       enum msr_io_op op,
					       __u32 index, __u64 data);

#endif /* SELFTEST_KVM_MSR_CATALOG_H */
