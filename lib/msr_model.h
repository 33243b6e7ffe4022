/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Executable reference model of the KVM x86 MSR userspace ABI.
 *
 * Every function below states one rule of the ABI as Linux 6.12 implements
 * it, with a citation to Documentation/virt/kvm/api.rst ("api.rst 4.97") or
 * to the kernel function that implements it ("x86.c:kvm_msr_allowed()").
 * The model is pure: no ioctls, no system calls, no hidden state, no memory
 * access other than through the structs it is handed.  Whatever depends on
 * the running kernel, the host CPU or the vCPU model is an input ("facts").
 *
 * Every verdict carries the rule that decided it (enum msr_rule), so tests
 * can say "decided by rule X" and fuzzers can use the rule as a coverage
 * signal.  msr_rule_name() turns it into the shared vocabulary used across
 * lib/, tests/ and fuzz/.
 */
#ifndef SELFTEST_KVM_MSR_MODEL_H
#define SELFTEST_KVM_MSR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/kvm.h>

/*
 * Fallbacks for constants an older uapi header lacks.  Debian's 6.1
 * linux-libc-dev has the structs and KVM_MSR_FILTER_MAX_BITMAP_SIZE but not
 * the *_VALID_MASK definitions, which 6.12 exports.  The values below are the
 * ones 6.1 and 6.12 both enforce (6.1 open-codes the masks in x86.c).
 */
#ifndef KVM_MSR_FILTER_RANGE_VALID_MASK
#define KVM_MSR_FILTER_RANGE_VALID_MASK	(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)
#endif
#ifndef KVM_MSR_FILTER_VALID_MASK
#define KVM_MSR_FILTER_VALID_MASK	(KVM_MSR_FILTER_DEFAULT_DENY)
#endif
#ifndef KVM_MSR_EXIT_REASON_VALID_MASK
#define KVM_MSR_EXIT_REASON_VALID_MASK	(KVM_MSR_EXIT_REASON_INVAL |	\
					 KVM_MSR_EXIT_REASON_UNKNOWN |	\
					 KVM_MSR_EXIT_REASON_FILTER)
#endif
/* arch/x86/include/uapi/asm/kvm.h (both 6.1 and 6.12): bytes per bitmap. */
#ifndef KVM_MSR_FILTER_MAX_BITMAP_SIZE
#define KVM_MSR_FILTER_MAX_BITMAP_SIZE	0x600
#endif

/* Constants KVM does not export. */

/* arch/x86/kvm/x86.c: "#define MAX_IO_MSRS 256"; msr_io() needs nmsrs < it. */
#define MSR_MODEL_MAX_IO_MSRS		256
/* x86.c:kvm_msr_allowed() literal range; APIC_BASE_MSR + 0xff elsewhere. */
#define MSR_MODEL_X2APIC_FIRST		0x800u
#define MSR_MODEL_X2APIC_LAST		0x8ffu
/*
 * sizeof(long) of the kernel that sizes the filter bitmap in
 * x86.c:kvm_add_msr_filter().  A 32-bit process on an x86_64 kernel goes
 * through kvm_arch_vm_compat_ioctl(), which calls the same code, so it is 8
 * for every user of this suite; msr_model_bitmap_bytes() takes it as an
 * argument to document (and test) the arithmetic.
 */
#define MSR_MODEL_KERNEL_LONG_BYTES	8u
/*
 * Feature MSRs the model itself needs (arch/x86/include/asm/msr-index.h);
 * x86.c:msr_based_features_all_except_vmx[] plus the emulated VMX range
 * KVM_FIRST_EMULATED_VMX_MSR..KVM_LAST_EMULATED_VMX_MSR (x86.h).
 */
#define MSR_MODEL_UCODE_REV		0x0000008bu
#define MSR_MODEL_ARCH_CAPABILITIES	0x0000010au
#define MSR_MODEL_PLATFORM_INFO		0x000000ceu
#define MSR_MODEL_PERF_CAPABILITIES	0x00000345u
#define MSR_MODEL_AMD64_DE_CFG		0xc0011029u
#define MSR_MODEL_VMX_FIRST		0x00000480u	/* MSR_IA32_VMX_BASIC */
#define MSR_MODEL_VMX_LAST		0x00000491u	/* MSR_IA32_VMX_VMFUNC */
/*
 * A kernel release as KERNEL_VERSION(maj, min, 0) encodes it: the model's
 * version-conditional rules compare the running kernel with the release
 * that changed a rule (msr_vcpu_model.kernel).
 */
#define MSR_KERNEL(maj, min)		(((maj) << 16) | ((min) << 8))
/* The release the curated rules describe where no version rule says more. */
#define MSR_MODEL_BASE_KERNEL		MSR_KERNEL(6, 12)
/* #GP, arch/x86/include/uapi/asm/kvm.h: GP_VECTOR. */
#define MSR_MODEL_GP_VECTOR		13

enum msr_rule {
	MSR_RULE_NONE,
	/* KVM_X86_SET_MSR_FILTER validation: api.rst 4.97 */
	MSR_RULE_FILTER_FLAGS_INVALID,
	MSR_RULE_FILTER_DENY_WITHOUT_RANGES,
	MSR_RULE_RANGE_EMPTY_SKIPPED,
	MSR_RULE_RANGE_FLAGS_INVALID,
	MSR_RULE_RANGE_FLAGS_ZERO,
	MSR_RULE_RANGE_BITMAP_SIZE,
	MSR_RULE_RANGE_BITMAP_FAULT,
	MSR_RULE_RANGE_ACCEPTED,
	MSR_RULE_FILTER_ACCEPTED,
	/* filter lookup */
	MSR_RULE_FILTER_X2APIC_EXEMPT,
	MSR_RULE_FILTER_HOST_EXEMPT,
	MSR_RULE_FILTER_NONE_INSTALLED,
	MSR_RULE_FILTER_RANGE_BIT,
	MSR_RULE_FILTER_DEFAULT_ACTION,
	/* KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): api.rst 7.21 */
	MSR_RULE_CAP_FLAGS_NONZERO,
	MSR_RULE_CAP_MASK_INVALID,
	MSR_RULE_CAP_MASK_SET,
	/* guest RDMSR/WRMSR */
	MSR_RULE_ACCESS_FILTERED,
	MSR_RULE_ACCESS_PASSTHROUGH,
	MSR_RULE_ACCESS_UNKNOWN,
	MSR_RULE_IGNORE_MSRS,
	MSR_RULE_ACCESS_INVALID,
	MSR_RULE_VALUE_RESERVED_BITS,
	MSR_RULE_VALUE_NONCANONICAL,
	MSR_RULE_VALUE_PAT_TYPE,
	MSR_RULE_VALUE_LOCKED_BITS,
	MSR_RULE_ACCESS_WRITE_DISCARDED,
	MSR_RULE_ACCESS_HANDLED,
	MSR_RULE_EXIT_TO_USER_SPACE,
	MSR_RULE_EXIT_REASON_MASKED,
	/* completion of KVM_EXIT_X86_RDMSR/WRMSR: api.rst 5 */
	MSR_RULE_COMPLETE_ERROR_GP,
	MSR_RULE_COMPLETE_RDMSR_DATA,
	MSR_RULE_COMPLETE_WRMSR_DONE,
	/* KVM_GET_MSRS / KVM_SET_MSRS: api.rst 4.18, 4.19 */
	MSR_RULE_IO_TOO_MANY,
	MSR_RULE_IO_SYSTEM_SET,
	MSR_RULE_IO_ENTRY_OK,
	MSR_RULE_IO_ADVERTISED_ZERO,
	MSR_RULE_IO_ENTRY_FAILED,
	MSR_RULE_IO_IMMUTABLE_AFTER_RUN,
	MSR_RULE_IO_ALL_PROCESSED,
	/* KVM_GET_MSR_INDEX_LIST / KVM_GET_MSR_FEATURE_INDEX_LIST: api.rst 4.3 */
	MSR_RULE_LIST_TOO_SMALL,
	MSR_RULE_LIST_COPIED,
	/* MSR_IA32_UCODE_REV */
	MSR_RULE_UCODE_SYSTEM_VALUE,
	MSR_RULE_UCODE_RESET_VALUE,
	MSR_RULE_UCODE_HOST_WRITE,
	/* MSR accesses that are side effects of other instructions: api.rst 4.97 */
	MSR_RULE_SIDE_EFFECT_UNFILTERED,
	MSR_RULE_SIDE_EFFECT_UD,
	MSR_RULE_SIDE_EFFECT_NOT_EMULATED,
	MSR_RULE_SIDE_EFFECT_CPUID_ABSENT,
	/* VMX VM-Enter/VM-Exit MSR lists, dedicated VMCS fields: api.rst 4.97 warning */
	MSR_RULE_VMX_LIST_DONE,
	MSR_RULE_VMX_LIST_UNFILTERED,
	MSR_RULE_VMX_ENTRY_LOAD_FAIL,
	MSR_RULE_VMX_EXIT_LIST_ABORT,
	MSR_RULE_VMX_LIST_FILTER_EXIT_IGNORED,
	MSR_RULE_VMX_DEDICATED_UNFILTERED,
	/* L2 RDMSR/WRMSR under nested SVM/VMX */
	MSR_RULE_NESTED_L1_EXIT,
	MSR_RULE_NESTED_L0,
	MSR_RULE_COUNT
};

struct msr_rule_info {
	enum msr_rule id;
	const char *name;
	const char *citation;
};

extern const struct msr_rule_info msr_rules[MSR_RULE_COUNT];
const char *msr_rule_name(enum msr_rule rule);
const char *msr_rule_citation(enum msr_rule rule);

/* Outcome of an ioctl-shaped rule: err is 0 or a positive errno. */
struct msr_verdict {
	int err;
	enum msr_rule rule;
	int range;		/* kvm_msr_filter.ranges[] index, or -1 */
};

/*
 * Memory facts for the filter bitmaps: which user addresses KVM can read.
 * A region is readable from addr for len bytes; data holds its contents
 * (NULL: the bytes read as zero).  One contiguous readable mapping must be
 * described by one region.
 */
struct msr_model_mem_region {
	__u64 addr;
	__u64 len;
	const __u8 *data;
};

struct msr_model_mem {
	const struct msr_model_mem_region *regions;
	unsigned int nr_regions;
};

__u64 msr_model_mem_readable(const struct msr_model_mem *mem, __u64 addr);

/* Rule 1: KVM_X86_SET_MSR_FILTER validation. */
__u64 msr_model_bitmap_bytes(__u32 nmsrs, unsigned int long_bytes);
struct msr_verdict msr_model_range_validate(const struct kvm_msr_filter_range *r,
					    const struct msr_model_mem *mem,
					    unsigned int long_bytes);
struct msr_verdict msr_model_filter_validate(const struct kvm_msr_filter *f,
					     const struct msr_model_mem *mem);

/* A filter as KVM holds it after a successful KVM_X86_SET_MSR_FILTER. */
struct msr_model_range {
	__u32 flags;
	__u32 base;
	__u32 nmsrs;
	int user_index;		/* position in kvm_msr_filter.ranges[] */
	__u8 bitmap[KVM_MSR_FILTER_MAX_BITMAP_SIZE];
};

struct msr_model_filter_state {
	bool installed;		/* false: no filter object, as after KVM_CREATE_VM */
	bool default_allow;
	unsigned int count;	/* non-empty ranges, in user order */
	struct msr_model_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

/* Rule 2: atomic replacement. */
void msr_model_filter_state_init(struct msr_model_filter_state *s);
struct msr_verdict msr_model_filter_install(struct msr_model_filter_state *s,
					    const struct kvm_msr_filter *f,
					    const struct msr_model_mem *mem);

/* Rule 3: filter lookup. */
enum msr_origin {
	MSR_ORIGIN_GUEST,	/* RDMSR/WRMSR executed by the guest */
	MSR_ORIGIN_HOST,	/* KVM_GET_MSRS/KVM_SET_MSRS from userspace */
};

struct msr_filter_verdict {
	bool allowed;
	enum msr_rule rule;
	int range;		/* user ranges[] index that decided, or -1 */
};

bool msr_model_range_contains(__u32 base, __u32 nmsrs, __u32 index);
struct msr_filter_verdict
msr_model_filter_check(const struct msr_model_filter_state *s,
		       enum msr_origin origin, __u32 index, __u32 type);
struct msr_filter_verdict
msr_model_filter_allows(const struct msr_model_filter_state *s, __u32 index,
			__u32 type);

/* Rule 4: KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR). */
struct msr_verdict msr_model_cap_user_space_msr(__u64 args0, __u32 cap_flags);

/* Rule 5: guest RDMSR/WRMSR. */
enum msr_access {
	MSR_RDMSR,
	MSR_WRMSR,
};

/* What KVM's MSR handler returns for an access (arch/x86/kvm/x86.h). */
enum msr_handler {
	MSR_HANDLER_OK,			/* 0 */
	MSR_HANDLER_FAULT,		/* 1: the access is invalid */
	MSR_HANDLER_UNSUPPORTED,	/* KVM_MSR_RET_UNSUPPORTED */
};

/* Extra predicate on a WRMSR value, applied after msr_facts.wr_reserved. */
enum msr_value_check {
	MSR_CHECK_NONE,
	MSR_CHECK_CANONICAL,	/* x86.c:__kvm_set_msr() canonical bases */
	MSR_CHECK_PAT,		/* x86.h:kvm_pat_valid() */
};

/*
 * Everything the model needs about one MSR for one vCPU.  Fill it with
 * msr_facts_init() and adjust, or get it from msr_catalog_facts().
 */
struct msr_facts {
	__u32 index;
	enum msr_handler rd;		/* guest RDMSR */
	enum msr_handler wr;		/* guest WRMSR, before the value checks */
	__u64 wr_reserved;		/* WRMSR with one of these bits faults */
	enum msr_value_check wr_check;
	unsigned int va_bits;		/* width for MSR_CHECK_CANONICAL */
	__u64 wr_locked_mask;		/* WRMSR faults unless the bits under */
	__u64 wr_locked_value;		/* the mask equal these (EFER.LME) */
	__u64 wr_keep;			/* bits of a written value KVM stores */
	__u64 wr_keep_current;		/* bits KVM keeps from rd_value instead
					 * (x86.c:set_efer(): EFER.LMA) */
	bool wr_discarded;		/* a valid WRMSR changes nothing */
	bool rd_passthrough;		/* RDMSR does not exit to KVM ... */
	bool wr_passthrough;		/* ... WRMSR neither, unless filtered */
	__u64 rd_value;			/* what a handled RDMSR returns */
	bool ignore_msrs;		/* kvm.ignore_msrs=Y */
	enum msr_handler host_rd;	/* host KVM_GET_MSRS on the vCPU */
	enum msr_handler host_wr;	/* host KVM_SET_MSRS, before value checks */
	__u64 host_wr_reserved;		/* host write with one of these faults */
};

void msr_facts_init(struct msr_facts *f, __u32 index);
enum msr_handler msr_model_host_write_handler(const struct msr_facts *f,
					      __u64 value);

/* The kvm_run->msr block of KVM_EXIT_X86_RDMSR/WRMSR (api.rst 5). */
struct msr_exit_fields {
	__u8 error;
	__u8 pad[7];
	__u32 reason;
	__u32 index;
	__u64 data;
};

enum msr_result {
	MSR_RESULT_DONE,	/* completed in the kernel, RIP advanced */
	MSR_RESULT_EXIT,	/* KVM_RUN returns with a userspace MSR exit */
	MSR_RESULT_GP,		/* #GP(0) injected, RIP not advanced */
};

struct msr_outcome {
	enum msr_result result;
	enum msr_rule rule;		/* what decided the result */
	enum msr_rule cause;		/* how KVM classified the access */
	enum msr_access access;
	__u32 exit_reason;		/* KVM_EXIT_X86_{RD,WR}MSR or 0 */
	struct msr_exit_fields msr;	/* kvm_run->msr on EXIT */
	__u8 vector;			/* MSR_MODEL_GP_VECTOR on GP */
	__u64 data;			/* DONE: value read / value stored */
	__u32 eax, edx;			/* DONE RDMSR: guest EAX and EDX */
	bool stored;			/* DONE WRMSR changed the MSR */
};

__u32 msr_model_exit_reason(enum msr_rule cause);
struct msr_outcome msr_model_guest_access(const struct msr_model_filter_state *s,
					  __u64 exit_mask,
					  const struct msr_facts *facts,
					  enum msr_access access, __u64 value);

/* Rule 6: KVM_RUN after a userspace MSR exit. */
struct msr_outcome msr_model_complete_exit(const struct msr_outcome *exit,
					   const struct msr_exit_fields *user);

/* Rule 7: KVM_GET_MSRS / KVM_SET_MSRS on a vCPU or the system fd. */
enum msr_scope {
	MSR_SCOPE_VCPU,
	MSR_SCOPE_SYSTEM,
};

enum msr_io_op {
	MSR_IO_GET,
	MSR_IO_SET,
};

/* KVM's handler for one host-initiated access. */
struct msr_host_answer {
	enum msr_handler handler;	/* for SET: handler for this value */
	__u64 value;			/* GET: value read; SET: current value */
	bool advertised;		/* index is in KVM_GET_MSR_INDEX_LIST */
};

typedef struct msr_host_answer (*msr_host_lookup_t)(const void *ctx,
						      enum msr_scope scope,
						      enum msr_io_op op,
						      __u32 index, __u64 data);

struct msr_io_facts {
	msr_host_lookup_t lookup;
	const void *ctx;
	bool ignore_msrs;
	bool vcpu_has_run;
	/*
	 * MSR_KERNEL() of the kernel (0: MSR_MODEL_BASE_KERNEL).  Before 6.12
	 * (kvm_do_msr_access(), commits 1cec2034980a, 64a5d7a1091f): no
	 * "advertised MSR reads 0" rule, and a vCPU read that fails with 1
	 * leaves the entry's data as it was (only KVM_MSR_RET_UNSUPPORTED
	 * zeroes it).  The 6.1 immutability rule did not exist either; leave
	 * vcpu_has_run false there.
	 */
	__u32 kernel;
};

__u32 msr_model_io_kernel(const struct msr_io_facts *io);

struct msr_io_entry_verdict {
	bool ok;
	enum msr_rule rule;
	__u64 data;		/* GET: what KVM leaves in entry.data */
};

struct msr_io_result {
	int ret;		/* ioctl return: count, or -E2BIG / -EINVAL */
	enum msr_rule rule;
	int stopped_at;		/* entry that failed, or -1 */
};

bool msr_model_feature_immutable(__u32 index, __u32 kernel);
struct msr_verdict msr_model_immutable_check(__u32 index, __u32 kernel, bool vcpu_has_run,
					     __u64 cur, __u64 value);
struct msr_io_entry_verdict msr_model_host_access(const struct msr_io_facts *io,
						  enum msr_scope scope,
						  enum msr_io_op op,
						  __u32 index, __u64 data);
struct msr_io_result msr_model_msrs_io(enum msr_scope scope, enum msr_io_op op,
				       __u32 nmsrs, struct kvm_msr_entry *entries,
				       const struct msr_io_facts *io);

/* Rule 8: KVM_GET_MSR_INDEX_LIST / KVM_GET_MSR_FEATURE_INDEX_LIST. */
struct msr_list_verdict {
	int err;
	enum msr_rule rule;
	__u32 nmsrs;		/* value KVM writes back to kvm_msr_list.nmsrs */
	bool indices_written;
};

struct msr_list_verdict msr_model_index_list(__u32 user_nmsrs, __u32 true_count);

/* Rule 9: MSR_IA32_UCODE_REV. */
enum msr_vendor {
	MSR_VENDOR_INTEL,	/* kvm_intel (VMX) */
	MSR_VENDOR_AMD,		/* kvm_amd (SVM) */
};

struct msr_ucode_facts {
	enum msr_vendor vendor;
	__u32 host_rev;		/* host microcode revision (/proc/cpuinfo) */
	bool stuff_quirk;	/* KVM_X86_QUIRK_STUFF_FEATURE_MSRS enabled */
};

struct msr_ucode_verdict {
	__u64 value;
	enum msr_rule rule;
};

__u64 msr_model_ucode_encode(enum msr_vendor vendor, __u32 rev);
__u32 msr_model_ucode_decode(enum msr_vendor vendor, __u64 raw);
struct msr_ucode_verdict msr_model_ucode_system_value(const struct msr_ucode_facts *u);
struct msr_ucode_verdict msr_model_ucode_reset_value(const struct msr_ucode_facts *u);
struct msr_verdict msr_model_ucode_host_write(bool vcpu_has_run, __u64 cur,
					      __u64 value);

/*
 * Rule 10: MSR accesses that are side effects of other instructions
 * (api.rst 4.97, the warning: "MSR accesses that are side effects of
 * instruction execution (emulated or native) are not filtered").  The
 * instruction that is not RDMSR/WRMSR, and what the host set before it
 * (KVM_SET_MSRS, KVM_SET_SREGS), give what the guest payload records
 * (guest_code/msr_guest.h: value and aux).
 */
enum msr_insn {
	MSR_INSN_ACCESS,	/* RDMSR/WRMSR themselves: msr_model_guest_access() */
	MSR_INSN_RDTSCP,	/* EDX:EAX = TSC, ECX = TSC_AUX[31:0] */
	MSR_INSN_RDPID,		/* r64 = TSC_AUX */
	MSR_INSN_RDTSC,		/* EDX:EAX = TSC */
	MSR_INSN_SYSCALL,	/* 64-bit mode: STAR, LSTAR, SFMASK */
	MSR_INSN_SYSENTER,	/* SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP */
	MSR_INSN_SWAPGS,	/* KERNEL_GS_BASE */
	MSR_INSN_SYSCALL_COMPAT,	/* compatibility mode: STAR, CSTAR, SFMASK (AMD only) */
	MSR_INSNS
};

/* What the host set before the instruction. */
struct msr_side_effect_state {
	__u64 tsc_aux, star, lstar, cstar, sfmask;
	__u64 sysenter_cs, sysenter_esp, sysenter_eip;
	__u64 kernel_gs_base, gs_base;	/* MSR, and the GS segment base (KVM_SET_SREGS) */
	__u64 rflags;			/* RFLAGS right before SYSCALL (the payload's) */
};

struct msr_side_effect_facts {
	enum msr_vendor vendor;		/* the hardware the instruction runs on natively */
	bool emulated;			/* through the forced emulation prefix */
	bool guest_rdtscp, guest_rdpid;	/* guest CPUID */
	bool efer_sce;			/* guest EFER.SCE */
	/* neither is consulted (the rule); here so a wrong model can be planted */
	const struct msr_model_filter_state *filter;
	__u64 exit_mask;
};

struct msr_side_effect_verdict {
	bool runs;		/* false: KVM cannot complete it (rule NOT_EMULATED), or
				 * not predicted (CPUID_ABSENT) */
	enum msr_rule rule;
	__u8 vector;		/* 0, or the exception (#UD: 6) */
	bool tsc;		/* value is a TSC: between the TSC before and after */
	__u64 value, aux;	/* the payload's record, when vector is 0 */
	unsigned int nmsrs;
	__u32 msrs[4];		/* the MSRs the instruction reads */
};

#define MSR_MODEL_UD_VECTOR		6
#define MSR_MODEL_RFLAGS_FIXED		0x2ull

const char *msr_insn_name(enum msr_insn insn);		/* "rdtscp" */
__u32 msr_insn_msr(enum msr_insn insn);			/* the MSR that names its cases */
struct msr_side_effect_verdict msr_model_side_effect(const struct msr_side_effect_facts *f,
						     enum msr_insn insn,
						     const struct msr_side_effect_state *st);

/*
 * Rule 11: nested VMX.  The VM-entry MSR-load list, the VM-exit MSR-store
 * list and the VM-exit MSR-load list of L1's vmcs12 (struct vmx_msr_entry
 * arrays), and the MSRs with VMCS fields of their own, under the userspace
 * filter (api.rst 4.97's warning; vmx/nested.c).  The lists are filtered
 * since 6.12 (653ea4489e69, "KVM: nVMX: Honor userspace MSR filter lists
 * for nested VM-Enter/VM-Exit", merged for v6.12-rc1 with kvm-x86-vmx-6.12;
 * 6.1 nested.c uses kvm_set_msr()/kvm_get_msr()).  The caller's entries are
 * ones KVM's handler and nested.c's own checks accept (no FS_BASE, GS_BASE,
 * UCODE_REV, ..., valid values): only the filter can fail them here.
 */
enum msr_vmx_list {
	MSR_VMX_ENTRY_LOAD,	/* VM-entry MSR-load list: L2's values loaded */
	MSR_VMX_EXIT_STORE,	/* VM-exit MSR-store list: L2's values saved */
	MSR_VMX_EXIT_LOAD,	/* VM-exit MSR-load list: L1's values loaded */
	MSR_VMX_LISTS
};

/* arch/x86/include/uapi/asm/vmx.h */
#define MSR_MODEL_VMX_EXIT_VMCALL		18u
#define MSR_MODEL_VMX_EXIT_MSR_LOAD_FAIL	34u
#define MSR_MODEL_VMX_EXIT_FAILED_VMENTRY	0x80000000u
/* The first release whose nested.c filters the lists. */
#define MSR_MODEL_VMX_LISTS_FILTERED_SINCE	MSR_KERNEL(6, 12)

#define MSR_MODEL_VMX_LIST_MAX			8	/* entries the model takes per list */

struct msr_vmx_list_verdict {
	enum msr_rule rule;		/* VMX_LIST_DONE, VMX_ENTRY_LOAD_FAIL, VMX_EXIT_LIST_ABORT */
	bool processed;			/* KVM walked the list at all */
	unsigned int done;		/* entries loaded/stored before the failing one (all: n) */
	bool failed;
	struct msr_filter_verdict fv;	/* the failing entry's filter decision */
};

/* One VM-entry attempt of L1 (VMLAUNCH) and the VM-exit that ends it. */
struct msr_vmx_transition {
	struct msr_vmx_list_verdict list[MSR_VMX_LISTS];
	bool l2_ran;			/* VM-entry succeeded */
	__u32 l1_exit_reason;		/* what L1 reads in VM_EXIT_REASON (no abort) */
	__u64 l1_exit_qual;		/* ... and in EXIT_QUALIFICATION */
	bool vm_abort;			/* KVM_RUN ends with KVM_EXIT_SHUTDOWN, L1 never resumes */
	__u32 user_exit;		/* a KVM_EXIT_X86_RDMSR/WRMSR for an entry: never (0) */
	enum msr_rule user_exit_rule;
};

bool msr_model_vmx_lists_filtered(__u32 kernel);
__u32 msr_model_vmx_list_filter_type(enum msr_vmx_list list);
struct msr_filter_verdict msr_model_vmx_list_entry(const struct msr_model_filter_state *s,
						   __u32 kernel, enum msr_vmx_list list,
						   __u32 index);
__u32 msr_model_vmx_list_user_exit(__u64 exit_mask, enum msr_rule *rule);
struct msr_vmx_list_verdict msr_model_vmx_list(const struct msr_model_filter_state *s,
					       __u32 kernel, enum msr_vmx_list list,
					       const __u32 *indices, unsigned int n);
/*
 * L1's VMLAUNCH of an L2 that exits with VMCALL: @indices[l][0..@n[l])
 * the entries of list l, processed in nested.c's order.
 */
struct msr_vmx_transition msr_model_vmx_transition(const struct msr_model_filter_state *s,
						   __u32 kernel, __u64 exit_mask,
						   const __u32 (*indices)[MSR_MODEL_VMX_LIST_MAX],
						   const unsigned int *n);
struct msr_filter_verdict msr_model_vmx_dedicated_field(const struct msr_model_filter_state *s,
							__u32 index, __u32 type);
const char *msr_model_vmx_list_str(enum msr_vmx_list list);

/*
 * Rule 12: an L2 RDMSR/WRMSR under nested SVM (VMX), L1 with MSR
 * permission maps on (INTERCEPT_MSR_PROT; CPU_BASED_USE_MSR_BITMAPS).
 */
/* The index has a bit in L1's map (svm.c msrpm_ranges[]; the VMX MSR bitmap). */
bool msr_model_nested_in_l1_map(enum msr_vendor vendor, __u32 index);
/* L1 gets the #VMEXIT: it intercepts the access, or the index is outside its map. */
bool msr_model_nested_l1_exit(enum msr_vendor vendor, __u32 index, bool l1_intercepts);
/* The exit L1 gets: SVM_EXIT_MSR / EXIT_REASON_MSR_READ or _WRITE, and EXITINFO1. */
__u32 msr_model_nested_exit_code(enum msr_vendor vendor, enum msr_access access);
__u64 msr_model_nested_exit_info1(enum msr_vendor vendor, enum msr_access access);
/* The access as L2 sees it after L1 handled it (a RDMSR answered with @l1_value). */
struct msr_outcome msr_model_nested_l1_outcome(enum msr_access access, __u64 l1_value);
/*
 * L1 passes the access through: the CPU executes it without an exit only
 * if L0 passes it through too (@l0_passthrough) and the merge of the two
 * maps at nested VM-entry keeps it clear.
 */
bool msr_model_nested_passthrough(enum msr_vendor vendor, __u32 kernel, __u32 index,
				  enum msr_access access, bool l0_passthrough);

/* Formatting helpers (the only I/O-ish code): names for printing. */
const char *msr_model_result_str(enum msr_result result);
const char *msr_model_access_str(enum msr_access access);
const char *msr_model_reason_str(__u32 reason);

#endif /* SELFTEST_KVM_MSR_MODEL_H */
