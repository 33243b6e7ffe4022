// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSR catalog: curated MSRs and how KVM 6.12 treats them.  See
 * msr_catalog.h for which facts are curated and which are probed.
 */
#include <stdio.h>
#include <string.h>

#include "msr_catalog.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif
#define X2APIC_RESERVED_HI	0xffffffff00000000ull	/* lapic.c:kvm_lapic_msr_write() */

static void set_handlers(struct msr_facts *f, enum msr_handler rd,
			 enum msr_handler wr)
{
	f->rd = rd;
	f->wr = wr;
	f->host_rd = rd;
	f->host_wr = wr;
}

/* On SVM these MSRs are in direct_access_msrs[] with .always = true. */
static void svm_direct_access(const struct msr_vcpu_model *vm,
			      struct msr_facts *f)
{
	f->rd_passthrough = vm->vendor == MSR_VENDOR_AMD;
	f->wr_passthrough = vm->vendor == MSR_VENDOR_AMD;
}

/* --- SYSCALL and base-address MSRs ------------------------------------ */

static void resolve_star(const struct msr_catalog_entry *e,
			 const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	(void)e;
	svm_direct_access(vm, f);
}

/* x86.c:__kvm_set_msr(): canonical check, also for host writes. */
static void resolve_canonical(const struct msr_catalog_entry *e,
			      const struct msr_vcpu_model *vm,
			      struct msr_facts *f)
{
	f->wr_check = MSR_CHECK_CANONICAL;
	svm_direct_access(vm, f);
	/* vmx.c:vmx_vcpu_create() passes KERNEL_GS_BASE through as well. */
	if (e->index == MSR_CAT_KERNEL_GS_BASE) {
		f->rd_passthrough = true;
		f->wr_passthrough = true;
	}
}

/*
 * vmx.c: SFMASK is a user-return MSR that only reaches the CPU while the
 * guest is in long mode with EFER.SCE (vmx_setup_uret_msrs(),
 * load_syscall_msrs); only then does vmx_set_guest_uret_msr() write it
 * (kvm_set_user_return_msr(): wrmsrl_safe(), a #GP fails the access), and
 * otherwise it just stores the value.  Guest and host writes alike.
 */
static void resolve_sfmask(const struct msr_catalog_entry *e,
			   const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	bool loaded = (vm->efer & MSR_CAT_EFER_SCE) && (vm->efer & MSR_CAT_EFER_LMA);

	(void)e;
	f->wr_reserved = loaded ? vm->sfmask_reserved : 0;
	f->host_wr_reserved = f->wr_reserved;
	svm_direct_access(vm, f);
}

/* --- control MSRs ----------------------------------------------------- */

struct feature_bit {
	__u32 feature;		/* MSR_FEAT_* */
	__u64 bit;		/* MSR bit it makes valid */
};

/* The bits of an MSR that the given features make valid. */
static __u64 feature_bits(__u32 features, const struct feature_bit *map,
			  unsigned int n)
{
	__u64 bits = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (features & map[i].feature)
			bits |= map[i].bit;
	}
	return bits;
}

/* x86.c:__kvm_valid_efer() plus the bits kvm_enable_efer_bits() opens. */
static const struct feature_bit efer_features[] = {
	{ MSR_FEAT_LM, MSR_CAT_EFER_LME | MSR_CAT_EFER_LMA },
	{ MSR_FEAT_NX, MSR_CAT_EFER_NX },
	{ MSR_FEAT_SVM, MSR_CAT_EFER_SVME },
	{ MSR_FEAT_FFXSR, MSR_CAT_EFER_FFXSR },
	{ MSR_FEAT_AUTOIBRS, MSR_CAT_EFER_AUTOIBRS },
};

/*
 * SCE is always valid: efer_reserved_bits starts as ~EFER_SCE.  AUTOIBRS
 * since 6.3 (commit 8c19b6f257fa, "KVM: x86: Propagate the AMD Automatic
 * IBRS feature to the guest").
 */
static __u64 efer_allowed(__u32 features, __u32 kernel)
{
	if (kernel < MSR_KERNEL(6, 3))
		features &= ~MSR_FEAT_AUTOIBRS;
	return MSR_CAT_EFER_SCE |
	       feature_bits(features, efer_features, ARRAY_SIZE(efer_features));
}

/*
 * x86.c:set_efer(): host bits from efer_reserved_bits, guest bits also
 * need guest CPUID, LME is locked while paging, LMA is not taken from the
 * written value but kept from the current EFER (wr_keep, wr_keep_current;
 * the current EFER is rd_value).
 */
static void resolve_efer(const struct msr_catalog_entry *e,
			 const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	(void)e;
	f->host_wr_reserved = ~efer_allowed(vm->host_features, vm->kernel);
	f->wr_reserved = ~efer_allowed(vm->host_features & vm->guest_features, vm->kernel);
	f->wr_keep = ~MSR_CAT_EFER_LMA;
	f->wr_keep_current = MSR_CAT_EFER_LMA;
	f->rd_value = vm->efer;		/* a probed value replaces it */
	if (vm->paging) {
		f->wr_locked_mask = MSR_CAT_EFER_LME;
		f->wr_locked_value = vm->efer & MSR_CAT_EFER_LME;
	}
}

/*
 * x86.c:__kvm_get_msr()/__kvm_set_msr(): needs host uret support; guest
 * needs RDTSCP or RDPID; bits 63:32 are reserved for an Intel-compatible
 * guest and dropped otherwise.
 */
static void resolve_tsc_aux(const struct msr_catalog_entry *e,
			    const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	bool guest_ok = vm->guest_features & (MSR_FEAT_RDTSCP | MSR_FEAT_RDPID);

	(void)e;
	if (!vm->host_tsc_aux)
		set_handlers(f, MSR_HANDLER_FAULT, MSR_HANDLER_FAULT);
	else if (!guest_ok)
		f->rd = f->wr = MSR_HANDLER_FAULT;

	if (vm->guest_intel_compatible) {
		f->wr_reserved = 0xffffffff00000000ull;
		f->host_wr_reserved = 0xffffffff00000000ull;
	} else {
		f->wr_keep = 0xffffffffull;
	}
}

/* x86.c:kvm_set_msr_common() MSR_IA32_CR_PAT, host and guest alike. */
static void resolve_pat(const struct msr_catalog_entry *e,
			const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	(void)e;
	(void)vm;
	f->wr_check = MSR_CHECK_PAT;
}

/* --- feature and read-only MSRs --------------------------------------- */

/* x86.c:kvm_set_msr_common(): guest writes are accepted and dropped. */
static void resolve_ucode(const struct msr_catalog_entry *e,
			  const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	(void)e;
	(void)vm;
	f->wr_discarded = true;
}

/*
 * x86.c:kvm_get_msr_common(): guest read needs CPUID ARCH_CAPABILITIES;
 * kvm_set_msr_common(): guest writes always fail, host writes succeed.
 * Since 6.13 (commit a5d563890b8f, "KVM: x86: Reject userspace attempts to
 * access ARCH_CAPABILITIES w/o support") a vCPU without the CPUID bit has
 * no such MSR: every access returns KVM_MSR_RET_UNSUPPORTED (guest: exit
 * reason UNKNOWN; host: kvm_do_msr_access() lets reads of 0 and writes of 0
 * through, the MSR being advertised).
 */
static void resolve_arch_caps(const struct msr_catalog_entry *e,
			      const struct msr_vcpu_model *vm,
			      struct msr_facts *f)
{
	bool has = vm->guest_features & MSR_FEAT_ARCH_CAPS;

	(void)e;
	if (!has && vm->kernel >= MSR_KERNEL(6, 13)) {
		set_handlers(f, MSR_HANDLER_UNSUPPORTED, MSR_HANDLER_UNSUPPORTED);
		return;
	}
	if (!has)
		f->rd = MSR_HANDLER_FAULT;
	f->wr = MSR_HANDLER_FAULT;
}

/*
 * x86.c: guest read needs KVM_CAP_MSR_PLATFORM_INFO (on by default),
 * guest write always fails.
 */
static void resolve_platform_info(const struct msr_catalog_entry *e,
				  const struct msr_vcpu_model *vm,
				  struct msr_facts *f)
{
	(void)e;
	if (!vm->platform_info_readable)
		f->rd = MSR_HANDLER_FAULT;
	f->wr = MSR_HANDLER_FAULT;
}

/* --- write-only MSRs --------------------------------------------------- */

static const struct feature_bit pred_cmd_features[] = {
	{ MSR_FEAT_IBPB, MSR_CAT_PRED_CMD_IBPB },
	{ MSR_FEAT_SBPB, MSR_CAT_PRED_CMD_SBPB },
};

static __u64 pred_cmd_bits(__u32 features)
{
	return feature_bits(features, pred_cmd_features,
			    ARRAY_SIZE(pred_cmd_features));
}

/*
 * x86.c:kvm_set_msr_common() MSR_IA32_PRED_CMD; reads reach the default
 * case (KVM_MSR_RET_UNSUPPORTED) and the MSR is not advertised.
 * vmx.c/svm.c pass guest writes through when the host has IBPB and the
 * guest has the MSR (cpuid.h:guest_has_pred_cmd_msr()).
 */
static void resolve_pred_cmd(const struct msr_catalog_entry *e,
			     const struct msr_vcpu_model *vm,
			     struct msr_facts *f)
{
	bool guest_has = vm->guest_features & (MSR_FEAT_IBPB | MSR_FEAT_SBPB);

	(void)e;
	set_handlers(f, MSR_HANDLER_UNSUPPORTED, MSR_HANDLER_OK);
	if (!guest_has)
		f->wr = MSR_HANDLER_FAULT;
	f->wr_reserved = ~pred_cmd_bits(vm->guest_features & vm->host_features);
	f->host_wr_reserved = ~pred_cmd_bits(vm->host_features);
	f->wr_passthrough = guest_has && (vm->host_features & MSR_FEAT_IBPB);
}

/*
 * x86.c:kvm_set_msr_common() MSR_IA32_FLUSH_CMD, same read path.  Before
 * 6.4 (commit da3db168fb67, "KVM: x86: Virtualize FLUSH_L1D and passthrough
 * MSR_IA32_FLUSH_CMD") no handler knows the MSR: KVM_MSR_RET_UNSUPPORTED.
 */
static void resolve_flush_cmd(const struct msr_catalog_entry *e,
			      const struct msr_vcpu_model *vm,
			      struct msr_facts *f)
{
	bool host_has = vm->host_features & MSR_FEAT_FLUSH_L1D;
	bool guest_has = host_has && (vm->guest_features & MSR_FEAT_FLUSH_L1D);

	(void)e;
	if (vm->kernel < MSR_KERNEL(6, 4)) {
		set_handlers(f, MSR_HANDLER_UNSUPPORTED, MSR_HANDLER_UNSUPPORTED);
		return;
	}
	set_handlers(f, MSR_HANDLER_UNSUPPORTED,
		     host_has ? MSR_HANDLER_OK : MSR_HANDLER_FAULT);
	f->wr = guest_has ? MSR_HANDLER_OK : MSR_HANDLER_FAULT;
	f->wr_reserved = ~MSR_CAT_L1D_FLUSH;
	f->host_wr_reserved = ~MSR_CAT_L1D_FLUSH;
	f->wr_passthrough = guest_has;
}

/* --- x2APIC ------------------------------------------------------------ */

/*
 * lapic.c:kvm_x2apic_msr_read()/write() return 1 (INVAL, not UNKNOWN)
 * for host and guest unless the APIC is in x2APIC mode.
 */
static bool x2apic_off(const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	if (!vm->x2apic_mode)
		set_handlers(f, MSR_HANDLER_FAULT, MSR_HANDLER_FAULT);
	return !vm->x2apic_mode;
}

/* lapic.c:kvm_lapic_reg_write(): APIC_ID is read-only in x2APIC mode. */
static void resolve_x2apic_id(const struct msr_catalog_entry *e,
			      const struct msr_vcpu_model *vm,
			      struct msr_facts *f)
{
	(void)e;
	if (!x2apic_off(vm, f))
		set_handlers(f, MSR_HANDLER_OK, MSR_HANDLER_FAULT);
}

/*
 * lapic.c:kvm_lapic_msr_write(): bits 63:32 reserved except for ICR.  On
 * VMX in x2APIC mode vmx_set_virtual_apic_mode() turns on "virtualize
 * x2APIC mode" and vmx_update_msr_bitmap_x2apic() stops intercepting TPR
 * ("TPR reads and writes can be virtualized even if virtual interrupt
 * delivery is not in use"): the CPU does the access, a WRMSR with bits 63:8
 * set #GPs without a VM exit (SDM vol. 3, "Virtualizing MSR-Based APIC
 * Accesses"), so it never exits to userspace.
 */
static void resolve_x2apic_tpr(const struct msr_catalog_entry *e,
			       const struct msr_vcpu_model *vm,
			       struct msr_facts *f)
{
	(void)e;
	f->wr_reserved = X2APIC_RESERVED_HI;
	f->host_wr_reserved = X2APIC_RESERVED_HI;
	if (!x2apic_off(vm, f) && vm->vendor == MSR_VENDOR_INTEL) {
		f->rd_passthrough = true;
		f->wr_passthrough = true;
	}
}

/* --- unknown ----------------------------------------------------------- */

/*
 * MSRs no access to can succeed, from the guest or the host, in any mode:
 * - unknown class: no case in x86.c, vmx.c, svm.c, pmu or hyperv handles
 *   the index, so the handler returns KVM_MSR_RET_UNSUPPORTED;
 * - x2APIC offsets 0x000 and 0xff0: lapic.c:kvm_lapic_reg_read()/write()
 *   reject them (1), whether or not the APIC is in x2APIC mode.
 */
static void resolve_never_ok(const struct msr_catalog_entry *e,
			     const struct msr_vcpu_model *vm,
			     struct msr_facts *f)
{
	enum msr_handler h = e->class == MSR_CLASS_UNKNOWN ?
			     MSR_HANDLER_UNSUPPORTED : MSR_HANDLER_FAULT;

	(void)vm;
	set_handlers(f, h, h);
}

#define ENTRY(idx_, name_, class_, flags_, resolve_, why_)		\
	{ .index = (idx_), .name = (name_), .class = MSR_CLASS_##class_,	\
	  .flags = (flags_), .resolve = resolve_, .why = (why_) }

const struct msr_catalog_entry msr_catalog_table[MSR_CATALOG_SIZE] = {
	ENTRY(MSR_CAT_STAR, "MSR_STAR", SYSCALL, 0, resolve_star,
	      "no value check in x86.c; SVM passes it through"),
	ENTRY(MSR_CAT_LSTAR, "MSR_LSTAR", SYSCALL, 0, resolve_canonical,
	      "x86.c:__kvm_set_msr() canonical; SVM passes it through"),
	ENTRY(MSR_CAT_CSTAR, "MSR_CSTAR", SYSCALL, 0, resolve_canonical,
	      "x86.c:__kvm_set_msr() canonical; SVM passes it through"),
	ENTRY(MSR_CAT_SYSCALL_MASK, "MSR_SYSCALL_MASK", SYSCALL, 0, resolve_sfmask,
	      "no check in KVM, the CPU decides (vmx.c uret MSR); SVM passes it through"),
	ENTRY(MSR_CAT_EFER, "MSR_EFER", CONTROL, 0, resolve_efer,
	      "x86.c:set_efer(), efer_reserved_bits, __kvm_valid_efer()"),
	ENTRY(MSR_CAT_KERNEL_GS_BASE, "MSR_KERNEL_GS_BASE", CONTROL, 0,
	      resolve_canonical,
	      "x86.c:__kvm_set_msr() canonical; VMX and SVM pass it through"),
	ENTRY(MSR_CAT_TSC_AUX, "MSR_TSC_AUX", CONTROL, 0, resolve_tsc_aux,
	      "x86.c:__kvm_set_msr()/__kvm_get_msr() MSR_TSC_AUX"),
	ENTRY(MSR_CAT_CR_PAT, "MSR_IA32_CR_PAT", CONTROL, 0, resolve_pat,
	      "x86.h:kvm_pat_valid()"),
	ENTRY(MSR_CAT_UCODE_REV, "MSR_IA32_UCODE_REV", FEATURE, MSR_CAT_F_FEATURE,
	      resolve_ucode,
	      "x86.c:kvm_set_msr_common() ignores guest writes; msr_based_features"),
	ENTRY(MSR_CAT_ARCH_CAPABILITIES, "MSR_IA32_ARCH_CAPABILITIES", READ_ONLY,
	      MSR_CAT_F_FEATURE, resolve_arch_caps,
	      "x86.c:kvm_set_msr_common() rejects every guest write"),
	ENTRY(MSR_CAT_PLATFORM_INFO, "MSR_PLATFORM_INFO", READ_ONLY, 0,
	      resolve_platform_info,
	      "x86.c:kvm_set_msr_common() rejects every guest write"),
	ENTRY(MSR_CAT_PRED_CMD, "MSR_IA32_PRED_CMD", WRITE_ONLY, 0,
	      resolve_pred_cmd,
	      "x86.c: write handled, read falls to KVM_MSR_RET_UNSUPPORTED"),
	ENTRY(MSR_CAT_FLUSH_CMD, "MSR_IA32_FLUSH_CMD", WRITE_ONLY, 0,
	      resolve_flush_cmd,
	      "x86.c: write handled, read falls to KVM_MSR_RET_UNSUPPORTED"),
	ENTRY(MSR_MODEL_X2APIC_FIRST, "X2APIC_MSR_FIRST", X2APIC,
	      MSR_CAT_F_BOUNDARY, resolve_never_ok,
	      "lapic.c: register 0x000 is reserved; first never-filtered index"),
	ENTRY(MSR_CAT_X2APIC_ID, "X2APIC_MSR_APIC_ID", X2APIC, 0,
	      resolve_x2apic_id, "lapic.c:kvm_lapic_reg_write() APIC_ID"),
	ENTRY(MSR_CAT_X2APIC_TPR, "X2APIC_MSR_TPR", X2APIC, 0,
	      resolve_x2apic_tpr, "lapic.c:kvm_lapic_msr_write() TASKPRI"),
	ENTRY(MSR_MODEL_X2APIC_LAST, "X2APIC_MSR_LAST", X2APIC,
	      MSR_CAT_F_BOUNDARY, resolve_never_ok,
	      "lapic.c: offset 0xff0 > 0x3f0; last never-filtered index"),
	ENTRY(MSR_MODEL_X2APIC_FIRST - 1, "UNKNOWN_BELOW_X2APIC", UNKNOWN,
	      MSR_CAT_F_BOUNDARY, resolve_never_ok,
	      "0x7ff: no handler, filterable, next to the x2APIC range"),
	ENTRY(MSR_MODEL_X2APIC_LAST + 1, "UNKNOWN_ABOVE_X2APIC", UNKNOWN,
	      MSR_CAT_F_BOUNDARY, resolve_never_ok,
	      "0x900: no handler, filterable, next to the x2APIC range"),
	ENTRY(0x00000003u, "UNKNOWN_LOW", UNKNOWN, 0, resolve_never_ok,
	      "0x3: between P5_MC_TYPE (0x1) and TSC (0x10), no handler"),
	ENTRY(0xdeadbeefu, "UNKNOWN_DEADBEEF", UNKNOWN, 0, resolve_never_ok,
	      "no architectural or KVM MSR"),
	ENTRY(0xffffffffu, "UNKNOWN_MAX", UNKNOWN, MSR_CAT_F_BOUNDARY,
	      resolve_never_ok, "largest index; u32 wrap edge of filter ranges"),
};

void msr_catalog_init(struct msr_catalog *c)
{
	memcpy(c->entries, msr_catalog_table, sizeof(c->entries));
}

static const struct msr_catalog_entry *entries_find(const struct msr_catalog_entry *entries,
						    __u32 index)
{
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (entries[i].index == index)
			return &entries[i];
	}
	return NULL;
}

const struct msr_catalog_entry *msr_catalog_find(const struct msr_catalog *c,
						 __u32 index)
{
	return entries_find(c->entries, index);
}

int msr_catalog_pos(const struct msr_catalog *c, __u32 index)
{
	const struct msr_catalog_entry *e = msr_catalog_find(c, index);

	return e ? (int)(e - c->entries) : -1;
}

const struct msr_catalog_entry *msr_catalog_table_find(__u32 index)
{
	return entries_find(msr_catalog_table, index);
}

const struct msr_catalog_entry *msr_catalog_by_name(const struct msr_catalog *c,
						    const char *name)
{
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (!strcmp(c->entries[i].name, name))
			return &c->entries[i];
	}
	return NULL;
}

static const char *const feature_names[MSR_FEAT_COUNT] = {
	"lm", "nx", "svm", "fxsr_opt", "auto_ibrs", "rdtscp", "rdpid",
	"arch_capabilities", "ibpb", "sbpb", "flush_l1d",
};

const char *msr_feature_name(unsigned int bit)
{
	return bit < MSR_FEAT_COUNT ? feature_names[bit] : NULL;
}

__u32 msr_feature_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < MSR_FEAT_COUNT; i++) {
		if (!strcmp(name, feature_names[i]))
			return 1u << i;
	}
	return 0;
}

/* The features in @mask by name, comma-separated; @signs: "+" if in @features, else "-". */
static int features_list(char *buf, size_t len, __u32 features, __u32 mask, bool signs)
{
	unsigned int i;
	int n = 0;

	buf[0] = '\0';
	for (i = 0; i < MSR_FEAT_COUNT && (size_t)n < len; i++) {
		if (mask & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s%s", n ? "," : "",
				      !signs ? "" : features & (1u << i) ? "+" : "-", feature_names[i]);
	}
	return n;
}

int msr_features_str(char *buf, size_t len, __u32 features, __u32 mask)
{
	return features_list(buf, len, features, mask, true);
}

int msr_feature_names(char *buf, size_t len, __u32 features)
{
	return features_list(buf, len, features, features, false);
}

const char *msr_class_name(enum msr_class class)
{
	static const char * const names[MSR_CLASS_COUNT] = {
		[MSR_CLASS_SYSCALL] = "syscall",
		[MSR_CLASS_CONTROL] = "control",
		[MSR_CLASS_FEATURE] = "feature",
		[MSR_CLASS_READ_ONLY] = "read-only",
		[MSR_CLASS_WRITE_ONLY] = "write-only",
		[MSR_CLASS_X2APIC] = "x2apic",
		[MSR_CLASS_UNKNOWN] = "unknown",
	};

	return (unsigned int)class < MSR_CLASS_COUNT ? names[class] : "?";
}

/*
 * Defaults of a KVM selftest vCPU: 64-bit guest with paging, EFER.LME|LMA,
 * xAPIC mode, PLATFORM_INFO readable, no optional features; the caller
 * sets what it knows from CPUID and module parameters.
 */
void msr_vcpu_model_init(struct msr_vcpu_model *vm, enum msr_vendor vendor)
{
	memset(vm, 0, sizeof(*vm));
	vm->vendor = vendor;
	vm->guest_intel_compatible = vendor == MSR_VENDOR_INTEL;
	vm->guest_features = MSR_FEAT_LM | MSR_FEAT_NX;
	vm->host_features = MSR_FEAT_LM | MSR_FEAT_NX;
	vm->host_tsc_aux = true;
	vm->va_bits = 48;
	vm->efer = MSR_CAT_EFER_SCE | MSR_CAT_EFER_LME | MSR_CAT_EFER_LMA |
		   MSR_CAT_EFER_NX;
	vm->paging = true;
	vm->platform_info_readable = true;
	vm->kernel = MSR_MODEL_BASE_KERNEL;
}

void msr_catalog_facts(const struct msr_catalog_entry *e,
		       const struct msr_vcpu_model *vm, struct msr_facts *f)
{
	msr_facts_init(f, e->index);
	f->va_bits = vm->va_bits;
	f->ignore_msrs = vm->ignore_msrs;
	e->resolve(e, vm, f);
	if (e->probe.host_readable)
		f->rd_value = e->probe.host_value;
}

/*
 * System fd: x86.c:kvm_get_feature_msr() always succeeds for the feature
 * MSRs here; anything else reaches the vendor hook, which answers
 * KVM_MSR_RET_UNSUPPORTED.
 */
/*
 * api.rst 4.3: the feature MSRs are what KVM_GET_MSR_FEATURE_INDEX_LIST
 * returns.  Once probed, that list decides (a backend may add to 6.12's
 * msr_based_features[], e.g. PVM lists MSR_PLATFORM_INFO); before, the
 * curated flag does.
 */
static struct msr_host_answer system_answer(const struct msr_catalog_entry *e,
					    struct msr_host_answer a)
{
	bool feature = e->probe.probed ? e->probe.in_feature_list :
					 !!(e->flags & MSR_CAT_F_FEATURE);

	if (feature) {
		a.handler = MSR_HANDLER_OK;
		a.value = e->probe.system_value;
	}
	return a;
}

struct msr_host_answer msr_catalog_host_lookup(const void *ctx,
					       enum msr_scope scope,
					       enum msr_io_op op,
					       __u32 index, __u64 data)
{
	const struct msr_catalog_ctx *c = ctx;
	const struct msr_catalog_entry *e = msr_catalog_find(c->catalog, index);
	struct msr_host_answer a = { .handler = MSR_HANDLER_UNSUPPORTED };
	struct msr_facts f;

	if (!e)
		return a;
	a.advertised = e->probe.in_index_list;
	if (scope == MSR_SCOPE_SYSTEM)
		return system_answer(e, a);

	msr_catalog_facts(e, c->vm, &f);
	a.value = f.rd_value;
	a.handler = op == MSR_IO_GET ? f.host_rd :
				       msr_model_host_write_handler(&f, data);
	return a;
}
