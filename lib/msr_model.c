// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference model of the KVM x86 MSR userspace ABI (Linux 6.12).
 *
 * One small function per rule; see msr_model.h for the conventions.
 * Citations name the api.rst section or the kernel function whose
 * behaviour the rule restates; the wording here is our own.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "msr_model.h"

#define RULE(id_, cite_) [MSR_RULE_##id_] = { MSR_RULE_##id_, #id_, cite_ }

const struct msr_rule_info msr_rules[MSR_RULE_COUNT] = {
	RULE(NONE, "no rule applied"),
	RULE(FILTER_FLAGS_INVALID,
	     "api.rst 4.97; x86.c:kvm_vm_ioctl_set_msr_filter(): top-level flags outside "
	     "KVM_MSR_FILTER_VALID_MASK are EINVAL, checked first"),
	RULE(FILTER_DENY_WITHOUT_RANGES,
	     "api.rst 4.97: with every nmsrs 0 filtering is off, and DEFAULT_DENY is then "
	     "EINVAL"),
	RULE(RANGE_EMPTY_SKIPPED,
	     "x86.c:kvm_add_msr_filter(): a range with nmsrs 0 is ignored before any other "
	     "check"),
	RULE(RANGE_FLAGS_INVALID,
	     "x86.c:kvm_add_msr_filter(): range flags outside READ|WRITE are EINVAL"),
	RULE(RANGE_FLAGS_ZERO, "x86.c:kvm_add_msr_filter(): a non-empty range needs READ or WRITE"),
	RULE(RANGE_BITMAP_SIZE,
	     "x86.c:kvm_add_msr_filter(): BITS_TO_LONGS(nmsrs)*sizeof(long) must be "
	     "1..KVM_MSR_FILTER_MAX_BITMAP_SIZE bytes"),
	RULE(RANGE_BITMAP_FAULT,
	     "x86.c:kvm_add_msr_filter(): memdup_user() of the whole long-rounded bitmap "
	     "fails with EFAULT"),
	RULE(RANGE_ACCEPTED, "x86.c:kvm_add_msr_filter(): range copied into the new filter"),
	RULE(FILTER_ACCEPTED,
	     "api.rst 4.97; x86.c:kvm_vm_ioctl_set_msr_filter(): new filter replaces the old "
	     "one as a whole"),
	RULE(FILTER_X2APIC_EXEMPT,
	     "api.rst 4.97; x86.c:kvm_msr_allowed(): 0x800..0x8ff are never filtered"),
	RULE(FILTER_HOST_EXEMPT,
	     "x86.c:do_get_msr()/do_set_msr(): host-initiated accesses skip "
	     "kvm_msr_allowed()"),
	RULE(FILTER_NONE_INSTALLED,
	     "x86.c:kvm_msr_allowed(): no filter object, everything allowed"),
	RULE(FILTER_RANGE_BIT,
	     "api.rst 4.97; x86.c:kvm_msr_allowed(): first range in array order with the "
	     "access type in flags and index in [base, base+nmsrs) (u32) decides by its bit"),
	RULE(FILTER_DEFAULT_ACTION,
	     "api.rst 4.97: no range matches, DEFAULT_ALLOW or DEFAULT_DENY applies"),
	RULE(CAP_FLAGS_NONZERO,
	     "x86.c:kvm_vm_ioctl_enable_cap(): any cap->flags is EINVAL for every x86 VM cap"),
	RULE(CAP_MASK_INVALID,
	     "api.rst 7.21; x86.c:kvm_vm_ioctl_enable_cap(): args[0] outside "
	     "KVM_MSR_EXIT_REASON_VALID_MASK is EINVAL"),
	RULE(CAP_MASK_SET,
	     "api.rst 7.21: args[0] becomes the exit mask, replacing the previous one"),
	RULE(ACCESS_FILTERED,
	     "x86.c:kvm_get_msr_with_filter()/kvm_set_msr_with_filter(): filter is consulted "
	     "before the MSR handler (KVM_MSR_RET_FILTERED)"),
	RULE(ACCESS_PASSTHROUGH,
	     "vmx.c/svm.c msr bitmaps: an MSR passed through to the guest never reaches KVM; "
	     "the CPU executes or faults the access"),
	RULE(ACCESS_UNKNOWN,
	     "api.rst 5 KVM_EXIT_X86_RDMSR: handler returned KVM_MSR_RET_UNSUPPORTED, reason "
	     "UNKNOWN (x86.c:kvm_msr_reason())"),
	RULE(IGNORE_MSRS,
	     "x86.c:kvm_do_msr_access(): with kvm.ignore_msrs an unsupported access "
	     "succeeds, reads return 0"),
	RULE(ACCESS_INVALID,
	     "api.rst 5: handler rejected the access, reason INVAL (x86.c:kvm_msr_reason() "
	     "default)"),
	RULE(VALUE_RESERVED_BITS, "MSR handler: WRMSR sets a reserved bit, reason INVAL"),
	RULE(VALUE_NONCANONICAL,
	     "x86.c:__kvm_set_msr(): FS/GS/KERNEL_GS_BASE, LSTAR, CSTAR need a canonical "
	     "address"),
	RULE(VALUE_PAT_TYPE, "x86.h:kvm_pat_valid(): each PAT byte must be 0, 1, 4, 5, 6 or 7"),
	RULE(VALUE_LOCKED_BITS, "x86.c:set_efer(): EFER.LME cannot change while paging is on"),
	RULE(ACCESS_WRITE_DISCARDED,
	     "x86.c:kvm_set_msr_common(): WRMSR accepted and ignored (MSR_IA32_UCODE_REV "
	     "from the guest)"),
	RULE(ACCESS_HANDLED, "api.rst 4.97: allowed access emulated by KVM per the vCPU model"),
	RULE(EXIT_TO_USER_SPACE,
	     "api.rst 7.21; x86.c:kvm_msr_user_space(): reason in the exit mask, "
	     "KVM_EXIT_X86_RDMSR/WRMSR with error 0 and pad zeroed"),
	RULE(EXIT_REASON_MASKED, "api.rst 7.21: reason not in the exit mask, #GP injected"),
	RULE(COMPLETE_ERROR_GP,
	     "api.rst 5; x86.c:complete_fast_msr_access(): any nonzero msr.error injects #GP"),
	RULE(COMPLETE_RDMSR_DATA,
	     "api.rst 5; x86.c:complete_userspace_rdmsr(): EAX = data[31:0], EDX = "
	     "data[63:32], RDMSR retired"),
	RULE(COMPLETE_WRMSR_DONE, "api.rst 5: error 0 retires the WRMSR"),
	RULE(IO_TOO_MANY, "x86.c:msr_io(): nmsrs >= MAX_IO_MSRS (256) is E2BIG, nothing processed"),
	RULE(IO_SYSTEM_SET,
	     "x86.c:kvm_arch_dev_ioctl(): KVM_SET_MSRS is not a system ioctl, default case "
	     "EINVAL"),
	RULE(IO_ENTRY_OK, "api.rst 4.18/4.19: entry processed"),
	RULE(IO_ADVERTISED_ZERO,
	     "x86.c:kvm_do_msr_access(): host may read, or write 0 to, an unsupported MSR "
	     "that KVM advertises; reads give 0"),
	RULE(IO_ENTRY_FAILED,
	     "api.rst 4.19; x86.c:__msr_io(): processing stops at the first failure, count "
	     "so far returned; a failed read leaves 0 (kvm_do_msr_access(); in 6.1 only "
	     "an unsupported one)"),
	RULE(IO_IMMUTABLE_AFTER_RUN,
	     "x86.c:do_set_msr(): after KVM_RUN, feature MSRs except UCODE_REV only accept "
	     "their current value"),
	RULE(IO_ALL_PROCESSED, "api.rst 4.18/4.19: every entry processed, nmsrs returned"),
	RULE(LIST_TOO_SMALL,
	     "api.rst 4.3; x86.c:kvm_arch_dev_ioctl(): nmsrs below the true count is E2BIG, "
	     "true count written back"),
	RULE(LIST_COPIED, "api.rst 4.3: true count written back and indices copied"),
	RULE(UCODE_SYSTEM_VALUE,
	     "x86.c:kvm_get_feature_msr(): system-scope UCODE_REV is the host MSR as read by "
	     "rdmsr"),
	RULE(UCODE_RESET_VALUE,
	     "vmx.c/svm.c vcpu reset: 0x100000000 (Intel) or 0x01000065 (AMD) with "
	     "KVM_X86_QUIRK_STUFF_FEATURE_MSRS, else 0"),
	RULE(UCODE_HOST_WRITE,
	     "x86.c:kvm_set_msr_common()/kvm_is_immutable_feature_msr(): host sets UCODE_REV "
	     "to any value, also after KVM_RUN"),
	RULE(SIDE_EFFECT_UNFILTERED,
	     "api.rst 4.97 (warning): MSR accesses that are side effects of instruction execution "
	     "(emulated or native) are not filtered; emulate.c em_rdpid()/em_rdtsc()/em_syscall()/"
	     "em_sysenter() read through ctxt->ops->get_msr() (x86.c:emulator_get_msr(): "
	     "kvm_get_msr()), only kvm_emulate_rdmsr()/wrmsr() and the emulator's "
	     "{get,set}_msr_with_filter() call kvm_msr_allowed()"),
	RULE(SIDE_EFFECT_UD,
	     "#UD: RDPID under forced emulation without the guest CPUID bit (em_rdpid()), "
	     "SYSCALL with EFER.SCE clear (em_syscall()), SYSCALL in compatibility mode on "
	     "Intel (the CPU #UDs, VMX intercepts #UD into em_syscall(), which #UDs for an "
	     "Intel guest outside 64-bit mode: 6.1 em_syscall_is_enabled(), 6.12 "
	     "guest_cpuid_is_intel_compatible()), SWAPGS under forced emulation (not in emulate.c's opcode tables: "
	     "x86.c:x86_emulate_instruction() queues #UD for EMULTYPE_TRAP_UD_FORCED)"),
	RULE(SIDE_EFFECT_NOT_EMULATED,
	     "emulation failure, KVM_EXIT_INTERNAL_ERROR at CPL 0 (x86.c:"
	     "handle_emulation_failure()): RDTSCP under forced emulation (emulate.c group7_rm7: "
	     "decoded, no execute), SYSENTER in 64-bit mode (em_sysenter(): "
	     "X86EMUL_UNHANDLEABLE; natively on AMD through the #UD intercept)"),
	RULE(SIDE_EFFECT_CPUID_ABSENT,
	     "not predicted: RDTSCP/RDPID executed natively while the guest CPUID lacks them "
	     "(the suite sets both where KVM_GET_SUPPORTED_CPUID has them)"),
	RULE(VMX_LIST_DONE,
	     "vmx/nested.c:nested_vmx_load_msr()/nested_vmx_store_msr(): every entry of the "
	     "VMX MSR list loaded or stored"),
	RULE(VMX_LIST_UNFILTERED,
	     "6.1 vmx/nested.c:nested_vmx_load_msr()/nested_vmx_get_vmexit_msr_value(): "
	     "kvm_set_msr()/kvm_get_msr(), no filter (filtered since 6.12, 653ea4489e69)"),
	RULE(VMX_ENTRY_LOAD_FAIL,
	     "api.rst 4.97 warning; vmx/nested.c:nested_vmx_enter_non_root_mode(): a "
	     "VM-entry MSR-load entry the filter denies (kvm_set_msr_with_filter()) is a "
	     "VM-exit EXIT_REASON_MSR_LOAD_FAIL|FAILED_VMENTRY, qualification "
	     "nested_vmx_load_msr()'s i + 1"),
	RULE(VMX_EXIT_LIST_ABORT,
	     "api.rst 4.97 warning; vmx/nested.c:prepare_vmcs12()/load_vmcs12_host_state(): a "
	     "denied VM-exit MSR-store/-load entry is nested_vmx_abort(): "
	     "KVM_REQ_TRIPLE_FAULT, outside guest mode KVM_EXIT_SHUTDOWN "
	     "(x86.c:vcpu_enter_guest())"),
	RULE(VMX_LIST_FILTER_EXIT_IGNORED,
	     "api.rst 4.97: KVM ignores KVM_MSR_EXIT_REASON_FILTER for the VMX MSR lists "
	     "(nested.c never calls kvm_msr_user_space())"),
	RULE(VMX_DEDICATED_UNFILTERED,
	     "api.rst 4.97 warning: MSRs loaded/stored via dedicated VMCS fields are not "
	     "filtered (vmx/nested.c:prepare_vmcs02(), load_vmcs12_host_state(), "
	     "sync_vmcs02_to_vmcs12() set PAT, EFER, DEBUGCTL, SYSENTER_*, BNDCFGS directly, "
	     "PERF_GLOBAL_CTRL by kvm_set_msr())"),
	RULE(NESTED_L1_EXIT,
	     "svm/nested.c:nested_svm_exit_handled_msr(), vmx/nested.c:"
	     "nested_vmx_exit_handled_msr(): L1 intercepts the access (or the index is outside "
	     "its map): #VMEXIT to L1, neither the filter nor userspace sees it"),
	RULE(NESTED_L0,
	     "api.rst 4.97; nested_svm_vmrun_msrpm()/nested_vmx_prepare_msr_bitmap(): L1 "
	     "passes the access through, L0 decides as for an L1 access (filter, exits)"),
};

const char *msr_rule_name(enum msr_rule rule)
{
	if ((unsigned int)rule >= MSR_RULE_COUNT)
		return "INVALID_RULE";
	return msr_rules[rule].name;
}

const char *msr_rule_citation(enum msr_rule rule)
{
	if ((unsigned int)rule >= MSR_RULE_COUNT)
		return "";
	return msr_rules[rule].citation;
}

static struct msr_verdict verdict(int err, enum msr_rule rule, int range)
{
	return (struct msr_verdict){ .err = err, .rule = rule, .range = range };
}

/* --- memory facts ------------------------------------------------------ */

static const struct msr_model_mem_region *mem_find(const struct msr_model_mem *mem,
						   __u64 addr)
{
	unsigned int i;

	for (i = 0; mem && i < mem->nr_regions; i++) {
		const struct msr_model_mem_region *r = &mem->regions[i];

		if (addr >= r->addr && addr - r->addr < r->len)
			return r;
	}
	return NULL;
}

__u64 msr_model_mem_readable(const struct msr_model_mem *mem, __u64 addr)
{
	const struct msr_model_mem_region *r = mem_find(mem, addr);

	return r ? r->len - (addr - r->addr) : 0;
}

/* Copy n bytes the caller has checked to be readable. */
static void mem_copy(const struct msr_model_mem *mem, __u64 addr, __u8 *dst,
		     size_t n)
{
	const struct msr_model_mem_region *r = mem_find(mem, addr);

	if (r->data)
		memcpy(dst, r->data + (addr - r->addr), n);
	else
		memset(dst, 0, n);
}

static __u64 user_addr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

/* --- rule 1: filter validation ---------------------------------------- */

/*
 * x86.c:kvm_add_msr_filter(): BITS_TO_LONGS(nmsrs) * sizeof(long), i.e.
 * (nmsrs + bits_per_long - 1) / bits_per_long longs, evaluated in the
 * kernel's unsigned long (which wraps on a 4-byte long).
 */
__u64 msr_model_bitmap_bytes(__u32 nmsrs, unsigned int long_bytes)
{
	__u64 ulong_max = long_bytes >= 8 ? ~0ull : (1ull << (8 * long_bytes)) - 1;
	__u64 bits = 8ull * long_bytes;
	__u64 longs = (((__u64)nmsrs + bits - 1) & ulong_max) / bits;

	return (longs * long_bytes) & ulong_max;
}

/*
 * x86.c:kvm_add_msr_filter(), one range, checks in kernel order.  Pass
 * MSR_MODEL_KERNEL_LONG_BYTES; only a 4-byte kernel long can make the
 * size 0 for a non-empty range.
 */
struct msr_verdict msr_model_range_validate(const struct kvm_msr_filter_range *r,
					    const struct msr_model_mem *mem,
					    unsigned int long_bytes)
{
	__u64 size;

	if (!r->nmsrs)
		return verdict(0, MSR_RULE_RANGE_EMPTY_SKIPPED, -1);
	if (r->flags & ~KVM_MSR_FILTER_RANGE_VALID_MASK)
		return verdict(EINVAL, MSR_RULE_RANGE_FLAGS_INVALID, -1);
	if (!r->flags)
		return verdict(EINVAL, MSR_RULE_RANGE_FLAGS_ZERO, -1);

	size = msr_model_bitmap_bytes(r->nmsrs, long_bytes);
	if (!size || size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return verdict(EINVAL, MSR_RULE_RANGE_BITMAP_SIZE, -1);
	if (msr_model_mem_readable(mem, user_addr(r->bitmap)) < size)
		return verdict(EFAULT, MSR_RULE_RANGE_BITMAP_FAULT, -1);

	return verdict(0, MSR_RULE_RANGE_ACCEPTED, -1);
}

static bool filter_is_empty(const struct kvm_msr_filter *f)
{
	unsigned int i;

	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		if (f->ranges[i].nmsrs)
			return false;
	}
	return true;
}

/*
 * x86.c:kvm_vm_ioctl_set_msr_filter(): top-level flags, then "deny with no
 * ranges", then each range in array order; the first failure is returned.
 */
struct msr_verdict msr_model_filter_validate(const struct kvm_msr_filter *f,
					     const struct msr_model_mem *mem)
{
	struct msr_verdict v;
	int i;

	if (f->flags & ~KVM_MSR_FILTER_VALID_MASK)
		return verdict(EINVAL, MSR_RULE_FILTER_FLAGS_INVALID, -1);
	if ((f->flags & KVM_MSR_FILTER_DEFAULT_DENY) && filter_is_empty(f))
		return verdict(EINVAL, MSR_RULE_FILTER_DENY_WITHOUT_RANGES, -1);

	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		v = msr_model_range_validate(&f->ranges[i], mem,
					     MSR_MODEL_KERNEL_LONG_BYTES);
		if (v.err)
			return verdict(v.err, v.rule, i);
	}
	return verdict(0, MSR_RULE_FILTER_ACCEPTED, -1);
}

/* --- rule 2: atomic replacement --------------------------------------- */

/* A VM starts without a filter object (kvm->arch.msr_filter == NULL). */
void msr_model_filter_state_init(struct msr_model_filter_state *s)
{
	memset(s, 0, sizeof(*s));
}

static void install_range(struct msr_model_range *dst,
			  const struct kvm_msr_filter_range *src, int user_index,
			  const struct msr_model_mem *mem)
{
	size_t size = msr_model_bitmap_bytes(src->nmsrs, MSR_MODEL_KERNEL_LONG_BYTES);

	memset(dst, 0, sizeof(*dst));
	dst->flags = src->flags;
	dst->base = src->base;
	dst->nmsrs = src->nmsrs;
	dst->user_index = user_index;
	mem_copy(mem, user_addr(src->bitmap), dst->bitmap, size);
}

/*
 * api.rst 4.97: vCPUs see either the old or the new filter.
 * x86.c:kvm_vm_ioctl_set_msr_filter() builds the new filter completely and
 * swaps it in only on success; on error the old one stays untouched.
 * Empty ranges are dropped, so the installed ranges keep user order but
 * not user positions (user_index remembers them).
 */
struct msr_verdict msr_model_filter_install(struct msr_model_filter_state *s,
					    const struct kvm_msr_filter *f,
					    const struct msr_model_mem *mem)
{
	struct msr_verdict v = msr_model_filter_validate(f, mem);
	int i;

	if (v.err)
		return v;

	msr_model_filter_state_init(s);
	s->installed = true;
	s->default_allow = !(f->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		if (f->ranges[i].nmsrs)
			install_range(&s->ranges[s->count++], &f->ranges[i], i, mem);
	}
	return v;
}

/* --- rule 3: filter lookup -------------------------------------------- */

/*
 * x86.c:kvm_msr_allowed(): "end = start + nmsrs" is a u32 sum, so a range
 * that wraps past 0xffffffff (or ends exactly at 2^32, end == 0) contains
 * no index at all.
 */
bool msr_model_range_contains(__u32 base, __u32 nmsrs, __u32 index)
{
	__u32 end = base + nmsrs;

	return index >= base && index < end;
}

/* test_bit() on the little-endian long array = bit n%8 of byte n/8. */
static bool range_bit(const struct msr_model_range *r, __u32 index)
{
	__u32 n = index - r->base;

	return (r->bitmap[n / 8] >> (n % 8)) & 1;
}

static bool is_x2apic_msr(__u32 index)
{
	return index >= MSR_MODEL_X2APIC_FIRST && index <= MSR_MODEL_X2APIC_LAST;
}

static struct msr_filter_verdict filter_verdict(bool allowed, enum msr_rule rule,
						int range)
{
	return (struct msr_filter_verdict){ allowed, rule, range };
}

struct msr_filter_verdict
msr_model_filter_check(const struct msr_model_filter_state *s,
		       enum msr_origin origin, __u32 index, __u32 type)
{
	unsigned int i;

	if (origin == MSR_ORIGIN_HOST)
		return filter_verdict(true, MSR_RULE_FILTER_HOST_EXEMPT, -1);
	if (is_x2apic_msr(index))
		return filter_verdict(true, MSR_RULE_FILTER_X2APIC_EXEMPT, -1);
	if (!s->installed)
		return filter_verdict(true, MSR_RULE_FILTER_NONE_INSTALLED, -1);

	for (i = 0; i < s->count; i++) {
		const struct msr_model_range *r = &s->ranges[i];

		if (msr_model_range_contains(r->base, r->nmsrs, index) &&
		    (r->flags & type))
			return filter_verdict(range_bit(r, index),
					      MSR_RULE_FILTER_RANGE_BIT,
					      r->user_index);
	}
	return filter_verdict(s->default_allow, MSR_RULE_FILTER_DEFAULT_ACTION, -1);
}

/* Guest RDMSR (type KVM_MSR_FILTER_READ) or WRMSR (KVM_MSR_FILTER_WRITE). */
struct msr_filter_verdict
msr_model_filter_allows(const struct msr_model_filter_state *s, __u32 index,
			__u32 type)
{
	return msr_model_filter_check(s, MSR_ORIGIN_GUEST, index, type);
}

/* --- rule 4: KVM_CAP_X86_USER_SPACE_MSR -------------------------------- */

/*
 * kvm_main.c:kvm_vm_ioctl_enable_cap_generic() hands this cap to
 * x86.c:kvm_vm_ioctl_enable_cap(), which rejects cap->flags before looking
 * at the cap, then the mask.  The mask may be changed at any time.
 */
struct msr_verdict msr_model_cap_user_space_msr(__u64 args0, __u32 cap_flags)
{
	if (cap_flags)
		return verdict(EINVAL, MSR_RULE_CAP_FLAGS_NONZERO, -1);
	if (args0 & ~(__u64)KVM_MSR_EXIT_REASON_VALID_MASK)
		return verdict(EINVAL, MSR_RULE_CAP_MASK_INVALID, -1);
	return verdict(0, MSR_RULE_CAP_MASK_SET, -1);
}

/* --- rule 5: guest RDMSR / WRMSR ---------------------------------------- */

void msr_facts_init(struct msr_facts *f, __u32 index)
{
	memset(f, 0, sizeof(*f));
	f->index = index;
	f->rd = MSR_HANDLER_OK;
	f->wr = MSR_HANDLER_OK;
	f->va_bits = 48;
	f->wr_keep = ~0ull;
}

/* Sign-extension of bit va_bits-1 covers bits 63:va_bits. */
static bool is_canonical(__u64 value, unsigned int va_bits)
{
	__u64 top = value >> (va_bits - 1);

	return !top || top == (~0ull >> (va_bits - 1));
}

/* x86.h:kvm_pat_valid(): memory types 2, 3 and 8..255 are reserved. */
static bool is_valid_pat(__u64 value)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		__u8 type = value >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

static enum msr_rule wr_value_rule(const struct msr_facts *f, __u64 value)
{
	if (value & f->wr_reserved)
		return MSR_RULE_VALUE_RESERVED_BITS;
	if (f->wr_check == MSR_CHECK_CANONICAL && !is_canonical(value, f->va_bits))
		return MSR_RULE_VALUE_NONCANONICAL;
	if (f->wr_check == MSR_CHECK_PAT && !is_valid_pat(value))
		return MSR_RULE_VALUE_PAT_TYPE;
	if ((value & f->wr_locked_mask) != f->wr_locked_value)
		return MSR_RULE_VALUE_LOCKED_BITS;
	return MSR_RULE_NONE;
}

/*
 * x86.c:__kvm_set_msr(): host-initiated writes skip the CPUID-gated
 * checks and EFER's LME lock but not the canonical or PAT checks, and
 * each handler has its own host reserved bits.
 */
enum msr_handler msr_model_host_write_handler(const struct msr_facts *f,
					      __u64 value)
{
	struct msr_facts host = *f;

	if (f->host_wr != MSR_HANDLER_OK)
		return f->host_wr;
	host.wr_reserved = f->host_wr_reserved;
	host.wr_locked_mask = 0;
	host.wr_locked_value = 0;
	if (wr_value_rule(&host, value) != MSR_RULE_NONE)
		return MSR_HANDLER_FAULT;
	return MSR_HANDLER_OK;
}

/*
 * How KVM's handler path classifies an access the filter allowed:
 * x86.c:kvm_do_msr_access() turns KVM_MSR_RET_UNSUPPORTED into success
 * under kvm.ignore_msrs, everything else nonzero is a failure.
 */
static enum msr_rule handler_rule(const struct msr_facts *f,
				  enum msr_access access, __u64 value)
{
	enum msr_handler h = access == MSR_RDMSR ? f->rd : f->wr;
	enum msr_rule r;

	if (h == MSR_HANDLER_UNSUPPORTED)
		return f->ignore_msrs ? MSR_RULE_IGNORE_MSRS : MSR_RULE_ACCESS_UNKNOWN;
	if (h == MSR_HANDLER_FAULT)
		return MSR_RULE_ACCESS_INVALID;
	if (access == MSR_RDMSR)
		return MSR_RULE_ACCESS_HANDLED;

	r = wr_value_rule(f, value);
	if (r != MSR_RULE_NONE)
		return r;
	return f->wr_discarded ? MSR_RULE_ACCESS_WRITE_DISCARDED : MSR_RULE_ACCESS_HANDLED;
}

/* x86.c:kvm_msr_reason(); 0 means the access did not fail. */
__u32 msr_model_exit_reason(enum msr_rule cause)
{
	switch (cause) {
	case MSR_RULE_ACCESS_FILTERED:
		return KVM_MSR_EXIT_REASON_FILTER;
	case MSR_RULE_ACCESS_UNKNOWN:
		return KVM_MSR_EXIT_REASON_UNKNOWN;
	case MSR_RULE_ACCESS_INVALID:
	case MSR_RULE_VALUE_RESERVED_BITS:
	case MSR_RULE_VALUE_NONCANONICAL:
	case MSR_RULE_VALUE_PAT_TYPE:
	case MSR_RULE_VALUE_LOCKED_BITS:
		return KVM_MSR_EXIT_REASON_INVAL;
	default:
		return 0;
	}
}

static void set_rdmsr_result(struct msr_outcome *o, __u64 data)
{
	o->data = data;
	o->eax = (__u32)data;
	o->edx = (__u32)(data >> 32);
}

static struct msr_outcome outcome_gp(enum msr_access access, enum msr_rule rule,
				     enum msr_rule cause)
{
	return (struct msr_outcome){
		.result = MSR_RESULT_GP, .rule = rule, .cause = cause,
		.access = access, .vector = MSR_MODEL_GP_VECTOR,
	};
}

/* x86.c:kvm_emulate_rdmsr()/kvm_emulate_wrmsr(), success path. */
static struct msr_outcome outcome_done(const struct msr_facts *f,
				       enum msr_access access,
				       enum msr_rule rule, enum msr_rule cause,
				       __u64 value)
{
	struct msr_outcome o = {
		.result = MSR_RESULT_DONE, .rule = rule, .cause = cause,
		.access = access,
	};

	if (access == MSR_RDMSR)
		set_rdmsr_result(&o, cause == MSR_RULE_IGNORE_MSRS ? 0 : f->rd_value);
	else if (cause == MSR_RULE_ACCESS_HANDLED) {
		o.stored = true;
		o.data = (value & f->wr_keep) | (f->rd_value & f->wr_keep_current);
	}
	return o;
}

/*
 * x86.c:kvm_msr_user_space(): exit reason, error 0, pad zeroed, reason,
 * index, and data = the WRMSR value (0 for RDMSR).
 */
static struct msr_outcome outcome_exit(__u32 index, enum msr_access access,
				       enum msr_rule cause, __u32 reason,
				       __u64 value)
{
	return (struct msr_outcome){
		.result = MSR_RESULT_EXIT, .rule = MSR_RULE_EXIT_TO_USER_SPACE,
		.cause = cause, .access = access,
		.exit_reason = access == MSR_RDMSR ? KVM_EXIT_X86_RDMSR :
						     KVM_EXIT_X86_WRMSR,
		.msr = { .reason = reason, .index = index,
			 .data = access == MSR_WRMSR ? value : 0 },
	};
}

/* An access the hardware executes never reaches KVM's handler or exits. */
static struct msr_outcome passthrough_outcome(const struct msr_facts *f,
					      enum msr_access access,
					      enum msr_rule cause, __u64 value)
{
	if (cause == MSR_RULE_ACCESS_HANDLED)
		return outcome_done(f, access, MSR_RULE_ACCESS_PASSTHROUGH, cause, value);
	return outcome_gp(access, MSR_RULE_ACCESS_PASSTHROUGH, cause);
}

static bool is_passthrough(const struct msr_facts *f, enum msr_access access)
{
	return access == MSR_RDMSR ? f->rd_passthrough : f->wr_passthrough;
}

/*
 * Guest RDMSR/WRMSR, api.rst 4.97 and 7.21.  The filter decides first
 * (a filtered unknown MSR is FILTER, not UNKNOWN), then KVM's handler.  A
 * failed access exits to userspace if its reason is in exit_mask,
 * otherwise the guest gets #GP.
 */
struct msr_outcome msr_model_guest_access(const struct msr_model_filter_state *s,
					  __u64 exit_mask,
					  const struct msr_facts *f,
					  enum msr_access access, __u64 value)
{
	__u32 type = access == MSR_RDMSR ? KVM_MSR_FILTER_READ : KVM_MSR_FILTER_WRITE;
	enum msr_rule cause;
	__u32 reason;

	if (!msr_model_filter_allows(s, f->index, type).allowed)
		cause = MSR_RULE_ACCESS_FILTERED;
	else
		cause = handler_rule(f, access, value);

	if (cause != MSR_RULE_ACCESS_FILTERED && is_passthrough(f, access))
		return passthrough_outcome(f, access, cause, value);

	reason = msr_model_exit_reason(cause);
	if (!reason)
		return outcome_done(f, access, cause, cause, value);
	if (exit_mask & reason)
		return outcome_exit(f->index, access, cause, reason, value);
	return outcome_gp(access, MSR_RULE_EXIT_REASON_MASKED, cause);
}

/* --- rule 6: exit completion ------------------------------------------ */

/*
 * x86.c:complete_fast_rdmsr()/complete_fast_msr_access(): only msr.error
 * and, for RDMSR, msr.data are read back; index, reason and pad may be
 * scribbled on.  error is a __u8 and any nonzero value injects #GP.
 */
struct msr_outcome msr_model_complete_exit(const struct msr_outcome *exit,
					   const struct msr_exit_fields *user)
{
	struct msr_outcome o = {
		.result = MSR_RESULT_DONE, .cause = exit->cause,
		.access = exit->access,
	};

	if (exit->result != MSR_RESULT_EXIT)
		return *exit;
	if (user->error)
		return outcome_gp(exit->access, MSR_RULE_COMPLETE_ERROR_GP, exit->cause);

	if (exit->access == MSR_RDMSR) {
		o.rule = MSR_RULE_COMPLETE_RDMSR_DATA;
		set_rdmsr_result(&o, user->data);
	} else {
		o.rule = MSR_RULE_COMPLETE_WRMSR_DONE;
		o.data = exit->msr.data;
	}
	return o;
}

/* --- rule 7: KVM_GET_MSRS / KVM_SET_MSRS ------------------------------- */

/*
 * x86.c:kvm_is_immutable_feature_msr(): the emulated VMX MSRs and
 * msr_based_features_all_except_vmx[] minus MSR_IA32_UCODE_REV.  Since 6.13
 * (commit bc2ca3680b30, "KVM: x86: Disallow changing MSR_PLATFORM_INFO
 * after vCPU has run") that list has MSR_PLATFORM_INFO too.
 */
bool msr_model_feature_immutable(__u32 index, __u32 kernel)
{
	if (index >= MSR_MODEL_VMX_FIRST && index <= MSR_MODEL_VMX_LAST)
		return true;
	if (index == MSR_MODEL_PLATFORM_INFO)
		return kernel >= MSR_KERNEL(6, 13);
	return index == MSR_MODEL_ARCH_CAPABILITIES ||
	       index == MSR_MODEL_PERF_CAPABILITIES ||
	       index == MSR_MODEL_AMD64_DE_CFG;
}

/* x86.c:do_set_msr(): after KVM_RUN an immutable MSR takes only its value. */
struct msr_verdict msr_model_immutable_check(__u32 index, __u32 kernel, bool vcpu_has_run,
					     __u64 cur, __u64 value)
{
	if (vcpu_has_run && msr_model_feature_immutable(index, kernel) && cur != value)
		return verdict(EINVAL, MSR_RULE_IO_IMMUTABLE_AFTER_RUN, -1);
	return verdict(0, MSR_RULE_IO_ENTRY_OK, -1);
}

__u32 msr_model_io_kernel(const struct msr_io_facts *io)
{
	return io->kernel ? io->kernel : MSR_MODEL_BASE_KERNEL;
}

static struct msr_io_entry_verdict entry_verdict(bool ok, enum msr_rule rule,
						 __u64 data)
{
	return (struct msr_io_entry_verdict){ ok, rule, data };
}

/*
 * 6.1 x86.c:kvm_get_msr_ignored_check()/kvm_set_msr_ignored_check(): only
 * KVM_MSR_RET_UNSUPPORTED zeroes a vCPU read and only ignore_msrs turns it
 * into success; 6.1 do_get_msr_feature() zeroes every system-fd read.
 */
static struct msr_io_entry_verdict host_handler_6_1(const struct msr_io_facts *io,
						    const struct msr_host_answer *a,
						    enum msr_scope scope, __u64 data)
{
	bool zeroed = a->handler == MSR_HANDLER_UNSUPPORTED ||
		      scope == MSR_SCOPE_SYSTEM;
	__u64 result = zeroed ? 0 : data;

	if (a->handler == MSR_HANDLER_UNSUPPORTED && io->ignore_msrs)
		return entry_verdict(true, MSR_RULE_IGNORE_MSRS, result);
	return entry_verdict(false, MSR_RULE_IO_ENTRY_FAILED, result);
}

/*
 * x86.c:kvm_do_msr_access() with host_initiated: a failed read leaves 0;
 * KVM_MSR_RET_UNSUPPORTED still succeeds if the MSR is advertised and the
 * data is 0 (every failed read, a write of 0), or under kvm.ignore_msrs.
 */
static struct msr_io_entry_verdict host_handler(const struct msr_io_facts *io,
						const struct msr_host_answer *a,
						enum msr_scope scope, enum msr_io_op op,
						__u64 data)
{
	__u64 result = op == MSR_IO_GET ? 0 : data;

	if (a->handler == MSR_HANDLER_OK)
		return entry_verdict(true, MSR_RULE_IO_ENTRY_OK,
				     op == MSR_IO_GET ? a->value : data);
	if (msr_model_io_kernel(io) < MSR_KERNEL(6, 12))
		return host_handler_6_1(io, a, scope, data);
	if (a->handler == MSR_HANDLER_UNSUPPORTED && a->advertised && !result)
		return entry_verdict(true, MSR_RULE_IO_ADVERTISED_ZERO, result);
	if (a->handler == MSR_HANDLER_UNSUPPORTED && io->ignore_msrs)
		return entry_verdict(true, MSR_RULE_IGNORE_MSRS, result);
	return entry_verdict(false, MSR_RULE_IO_ENTRY_FAILED, result);
}

/*
 * One entry: x86.c:do_get_msr(), do_set_msr() (vCPU) or
 * do_get_feature_msr() (system).  Not filtered (host-initiated).
 */
struct msr_io_entry_verdict msr_model_host_access(const struct msr_io_facts *io,
						  enum msr_scope scope,
						  enum msr_io_op op,
						  __u32 index, __u64 data)
{
	struct msr_host_answer a = io->lookup(io->ctx, scope, op, index, data);
	struct msr_verdict v;

	if (op == MSR_IO_SET) {
		v = msr_model_immutable_check(index, msr_model_io_kernel(io), io->vcpu_has_run,
					      a.value, data);
		if (v.err)
			return entry_verdict(false, v.rule, data);
	}
	return host_handler(io, &a, scope, op, data);
}

static struct msr_io_result io_result(int ret, enum msr_rule rule, int stopped_at)
{
	return (struct msr_io_result){ ret, rule, stopped_at };
}

/*
 * x86.c:msr_io()/__msr_io().  entries[] is rewritten to what userspace
 * sees afterwards: KVM_GET_MSRS copies the whole array back, so entries
 * before the failure hold values, the failed one holds 0 and later ones
 * keep the caller's data; KVM_SET_MSRS copies nothing back.
 */
struct msr_io_result msr_model_msrs_io(enum msr_scope scope, enum msr_io_op op,
				       __u32 nmsrs, struct kvm_msr_entry *entries,
				       const struct msr_io_facts *io)
{
	struct msr_io_entry_verdict e;
	__u32 i;

	if (scope == MSR_SCOPE_SYSTEM && op == MSR_IO_SET)
		return io_result(-EINVAL, MSR_RULE_IO_SYSTEM_SET, -1);
	if (nmsrs >= MSR_MODEL_MAX_IO_MSRS)
		return io_result(-E2BIG, MSR_RULE_IO_TOO_MANY, -1);

	for (i = 0; i < nmsrs; i++) {
		e = msr_model_host_access(io, scope, op, entries[i].index,
					  entries[i].data);
		if (op == MSR_IO_GET)
			entries[i].data = e.data;
		if (!e.ok)
			return io_result(i, e.rule, i);
	}
	return io_result(nmsrs, MSR_RULE_IO_ALL_PROCESSED, -1);
}

/* --- rule 8: index lists ----------------------------------------------- */

/*
 * x86.c:kvm_arch_dev_ioctl(): the true count is written back first, then
 * a smaller user nmsrs is E2BIG; otherwise the indices are copied.
 */
struct msr_list_verdict msr_model_index_list(__u32 user_nmsrs, __u32 true_count)
{
	struct msr_list_verdict v = { .nmsrs = true_count };

	if (user_nmsrs < true_count) {
		v.err = E2BIG;
		v.rule = MSR_RULE_LIST_TOO_SMALL;
		return v;
	}
	v.rule = MSR_RULE_LIST_COPIED;
	v.indices_written = true;
	return v;
}

/* --- rule 9: MSR_IA32_UCODE_REV ---------------------------------------- */

/*
 * Where the revision lives in the raw MSR: Intel's IA32_BIOS_SIGN_ID keeps
 * it in bits 63:32, AMD's patch level in bits 31:0.
 */
__u64 msr_model_ucode_encode(enum msr_vendor vendor, __u32 rev)
{
	return vendor == MSR_VENDOR_INTEL ? (__u64)rev << 32 : rev;
}

__u32 msr_model_ucode_decode(enum msr_vendor vendor, __u64 raw)
{
	return vendor == MSR_VENDOR_INTEL ? (__u32)(raw >> 32) : (__u32)raw;
}

/* x86.c:kvm_get_feature_msr(): rdmsrl_safe() of the host MSR. */
struct msr_ucode_verdict msr_model_ucode_system_value(const struct msr_ucode_facts *u)
{
	return (struct msr_ucode_verdict){
		msr_model_ucode_encode(u->vendor, u->host_rev),
		MSR_RULE_UCODE_SYSTEM_VALUE,
	};
}

/*
 * vmx.c:__vmx_vcpu_reset() / svm.c:__svm_vcpu_reset(): revision 1 in
 * Intel's placement, 0x01000065 in AMD's, only while the STUFF_FEATURE_MSRS
 * quirk is on (6.12; 6.1 always stuffs).
 */
struct msr_ucode_verdict msr_model_ucode_reset_value(const struct msr_ucode_facts *u)
{
	__u64 value = 0;

	if (u->stuff_quirk)
		value = u->vendor == MSR_VENDOR_INTEL ? 0x100000000ull : 0x01000065ull;
	return (struct msr_ucode_verdict){ value, MSR_RULE_UCODE_RESET_VALUE };
}

/*
 * UCODE_REV is the one feature MSR exempt from the immutability rule, so
 * the host may set any value before or after KVM_RUN (6.1 has no rule).
 */
struct msr_verdict msr_model_ucode_host_write(bool vcpu_has_run, __u64 cur,
					      __u64 value)
{
	int err = msr_model_immutable_check(MSR_MODEL_UCODE_REV, MSR_MODEL_BASE_KERNEL,
					    vcpu_has_run, cur, value).err;

	return verdict(err, MSR_RULE_UCODE_HOST_WRITE, -1);
}

/* --- side effects of other instructions -------------------------------- */

const char *msr_insn_name(enum msr_insn insn)
{
	static const char *const names[MSR_INSNS] = {
		[MSR_INSN_ACCESS] = "access", [MSR_INSN_RDTSCP] = "rdtscp",
		[MSR_INSN_RDPID] = "rdpid", [MSR_INSN_RDTSC] = "rdtsc",
		[MSR_INSN_SYSCALL] = "syscall", [MSR_INSN_SYSENTER] = "sysenter",
		[MSR_INSN_SWAPGS] = "swapgs", [MSR_INSN_SYSCALL_COMPAT] = "syscall_compat",
	};

	return (unsigned int)insn < MSR_INSNS ? names[insn] : "?";
}

/* arch/x86/include/asm/msr-index.h */
#define SE_MSR_TSC		0x00000010u
#define SE_MSR_SYSENTER_CS	0x00000174u
#define SE_MSR_SYSENTER_ESP	0x00000175u
#define SE_MSR_SYSENTER_EIP	0x00000176u
#define SE_MSR_STAR		0xc0000081u
#define SE_MSR_LSTAR		0xc0000082u
#define SE_MSR_CSTAR		0xc0000083u
#define SE_MSR_SFMASK		0xc0000084u
#define SE_MSR_KERNEL_GS_BASE	0xc0000102u
#define SE_MSR_TSC_AUX		0xc0000103u

__u32 msr_insn_msr(enum msr_insn insn)
{
	static const __u32 msr[MSR_INSNS] = {
		[MSR_INSN_RDTSCP] = SE_MSR_TSC_AUX, [MSR_INSN_RDPID] = SE_MSR_TSC_AUX,
		[MSR_INSN_RDTSC] = SE_MSR_TSC, [MSR_INSN_SYSCALL] = SE_MSR_LSTAR,
		[MSR_INSN_SYSENTER] = SE_MSR_SYSENTER_EIP, [MSR_INSN_SWAPGS] = SE_MSR_KERNEL_GS_BASE,
		[MSR_INSN_SYSCALL_COMPAT] = SE_MSR_CSTAR,
	};

	return (unsigned int)insn < MSR_INSNS ? msr[insn] : 0;
}

static void se_reads(struct msr_side_effect_verdict *v, __u32 a, __u32 b, __u32 c)
{
	const __u32 m[3] = { a, b, c };
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (m[i])
			v->msrs[v->nmsrs++] = m[i];
}

/*
 * The selectors SYSCALL (STAR[47:32]) and SYSENTER (SYSENTER_CS) load:
 * CS with RPL cleared (SYSENTER, and em_syscall()'s 0xfffc), SS = CS + 8
 * (em_syscall(): STAR[47:32] + 8 unmasked); aux = CS | SS << 16.
 */
static __u64 se_selectors(__u64 cs, __u64 ss)
{
	return (cs & 0xfffc) | (ss & 0xffff) << 16;
}

/*
 * SYSCALL in long mode, from 64-bit (LSTAR) or compatibility mode (CSTAR):
 * RFLAGS masked by SFMASK, CS and SS from STAR, R11 = RFLAGS before
 * (em_syscall()'s EFER_LMA branch).
 */
static void se_syscall(struct msr_side_effect_verdict *v, __u32 target,
		       const struct msr_side_effect_state *st)
{
	se_reads(v, SE_MSR_STAR, target, SE_MSR_SFMASK);
	v->value = (st->rflags & ~st->sfmask) | MSR_MODEL_RFLAGS_FIXED;
	v->aux = se_selectors(st->star >> 32, (st->star >> 32) + 8) |
		 (__u64)(__u32)st->rflags << 32;
}

/*
 * Rule 10.  Which instruction runs where (64-bit mode, CPL 0): natively,
 * RDTSCP and RDPID are predicted only with their guest CPUID bit (without
 * it SVM and VMX make RDTSCP #UD, SVM cannot intercept RDPID, PVM fails
 * the emulation of RDTSCP), SYSCALL needs EFER.SCE, SYSENTER is valid in 64-bit mode
 * only on Intel (AMD: #UD, which KVM intercepts and emulates:
 * em_sysenter() gives up in 64-bit mode), SWAPGS always.  Emulated:
 * em_rdpid(), em_rdtsc(), em_syscall(); RDTSCP and SYSENTER fail, SWAPGS
 * #UD.  6.1 and 6.12 agree on all of it in 64-bit mode (em_syscall()'s
 * and em_sysenter()'s vendor checks differ only outside it).  SYSCALL in
 * compatibility mode (a 32-bit code segment, CPL 0): AMD lands at CSTAR,
 * Intel #UDs, natively and emulated; 6.1 (em_syscall_is_enabled()) and
 * 6.12 (guest_cpuid_is_intel_compatible() = !is_amd_compatible) agree:
 * #UD unless the guest vendor is AMD or Hygon.  The filter and the exit
 * mask play no part.
 */
struct msr_side_effect_verdict msr_model_side_effect(const struct msr_side_effect_facts *f,
						     enum msr_insn insn,
						     const struct msr_side_effect_state *st)
{
	struct msr_side_effect_verdict v = { .runs = true, .rule = MSR_RULE_SIDE_EFFECT_UNFILTERED };
	bool ud = false, fails = false, absent = false;

	switch (insn) {
	case MSR_INSN_RDTSCP:
		se_reads(&v, SE_MSR_TSC, SE_MSR_TSC_AUX, 0);
		fails = f->emulated;
		absent = !f->guest_rdtscp;
		v.tsc = true;
		v.aux = (__u32)st->tsc_aux;
		break;
	case MSR_INSN_RDPID:
		se_reads(&v, SE_MSR_TSC_AUX, 0, 0);
		absent = !f->guest_rdpid && !f->emulated;
		ud = !f->guest_rdpid;
		v.value = st->tsc_aux;
		break;
	case MSR_INSN_RDTSC:
		se_reads(&v, SE_MSR_TSC, 0, 0);
		v.tsc = true;
		break;
	case MSR_INSN_SYSCALL:
		se_syscall(&v, SE_MSR_LSTAR, st);
		ud = !f->efer_sce;
		break;
	case MSR_INSN_SYSCALL_COMPAT:
		/*
		 * AMD: to CSTAR in 64-bit mode, natively and in em_syscall();
		 * Intel: #UD (SDM: SYSCALL is invalid outside 64-bit mode;
		 * em_syscall() for an Intel guest, 6.1 and 6.12 alike).  The
		 * guest's CPUID vendor is the host's.
		 */
		se_syscall(&v, SE_MSR_CSTAR, st);
		ud = !f->efer_sce || f->vendor == MSR_VENDOR_INTEL;
		break;
	case MSR_INSN_SYSENTER:
		se_reads(&v, SE_MSR_SYSENTER_CS, SE_MSR_SYSENTER_ESP, SE_MSR_SYSENTER_EIP);
		fails = f->emulated || f->vendor != MSR_VENDOR_INTEL;
		v.value = st->sysenter_esp;
		v.aux = se_selectors(st->sysenter_cs, (st->sysenter_cs & 0xfffc) + 8);
		break;
	case MSR_INSN_SWAPGS:
		se_reads(&v, SE_MSR_KERNEL_GS_BASE, 0, 0);
		ud = f->emulated;
		v.value = st->kernel_gs_base;
		v.aux = st->gs_base;
		break;
	default:
		v.runs = false;
		v.rule = MSR_RULE_NONE;
		return v;
	}
	if (fails || absent) {
		v.runs = false;
		v.rule = fails ? MSR_RULE_SIDE_EFFECT_NOT_EMULATED : MSR_RULE_SIDE_EFFECT_CPUID_ABSENT;
	} else if (ud) {
		v.rule = MSR_RULE_SIDE_EFFECT_UD;
		v.vector = MSR_MODEL_UD_VECTOR;
	}
	if (v.vector) {
		v.tsc = false;
		v.value = v.aux = 0;
	}
	return v;
}

/* --- rule 11: nested VMX MSR lists and dedicated VMCS fields ------------ */

/* The version rule: 653ea4489e69 (v6.12-rc1) made nested.c filter the lists. */
bool msr_model_vmx_lists_filtered(__u32 kernel)
{
	return kernel >= MSR_MODEL_VMX_LISTS_FILTERED_SINCE;
}

/* Loads are writes of the MSR (kvm_set_msr_with_filter()), the store a read. */
__u32 msr_model_vmx_list_filter_type(enum msr_vmx_list list)
{
	return list == MSR_VMX_EXIT_STORE ? KVM_MSR_FILTER_READ : KVM_MSR_FILTER_WRITE;
}

/* One list entry: the filter as for a guest access of its type, from 6.12 on. */
struct msr_filter_verdict msr_model_vmx_list_entry(const struct msr_model_filter_state *s,
						   __u32 kernel, enum msr_vmx_list list,
						   __u32 index)
{
	if (!msr_model_vmx_lists_filtered(kernel))
		return filter_verdict(true, MSR_RULE_VMX_LIST_UNFILTERED, -1);
	return msr_model_filter_allows(s, index, msr_model_vmx_list_filter_type(list));
}

/*
 * api.rst 4.97: a denied entry never exits to userspace, whatever the
 * exit mask (nested.c turns KVM_MSR_RET_FILTERED into the list's failure).
 */
__u32 msr_model_vmx_list_user_exit(__u64 exit_mask, enum msr_rule *rule)
{
	(void)exit_mask;
	*rule = MSR_RULE_VMX_LIST_FILTER_EXIT_IGNORED;
	return 0;
}

/*
 * nested_vmx_load_msr() / nested_vmx_store_msr(): entries in order, the
 * first one that fails stops the walk; those before it stay loaded or
 * stored (nothing is undone).
 */
struct msr_vmx_list_verdict msr_model_vmx_list(const struct msr_model_filter_state *s,
					       __u32 kernel, enum msr_vmx_list list,
					       const __u32 *indices, unsigned int n)
{
	struct msr_vmx_list_verdict v = { .rule = MSR_RULE_VMX_LIST_DONE, .processed = true };

	for (v.done = 0; v.done < n; v.done++) {
		v.fv = msr_model_vmx_list_entry(s, kernel, list, indices[v.done]);
		if (!v.fv.allowed) {
			v.failed = true;
			v.rule = list == MSR_VMX_ENTRY_LOAD ? MSR_RULE_VMX_ENTRY_LOAD_FAIL :
							      MSR_RULE_VMX_EXIT_LIST_ABORT;
			break;
		}
	}
	return v;
}

/*
 * nested.c: the VM-entry list after the guest state (a failure is a
 * VM-entry failure VM-exit, qualification "return i + 1" of
 * nested_vmx_load_msr()); then the VM-exit: prepare_vmcs12() stores the
 * store list only for an exit that is no VM-entry failure, and
 * load_vmcs12_host_state() loads the exit list on every exit, after an
 * abort of the store too.  nested_vmx_abort() requests a triple fault,
 * which outside guest mode ends KVM_RUN with KVM_EXIT_SHUTDOWN before L1
 * runs again.
 */
struct msr_vmx_transition msr_model_vmx_transition(const struct msr_model_filter_state *s,
						   __u32 kernel, __u64 exit_mask,
						   const __u32 (*indices)[MSR_MODEL_VMX_LIST_MAX],
						   const unsigned int *n)
{
	struct msr_vmx_transition t = { 0 };
	struct msr_vmx_list_verdict *in = &t.list[MSR_VMX_ENTRY_LOAD];

	*in = msr_model_vmx_list(s, kernel, MSR_VMX_ENTRY_LOAD, indices[MSR_VMX_ENTRY_LOAD],
				 n[MSR_VMX_ENTRY_LOAD]);
	if (in->failed) {
		t.l1_exit_reason = MSR_MODEL_VMX_EXIT_MSR_LOAD_FAIL |
				   MSR_MODEL_VMX_EXIT_FAILED_VMENTRY;
		t.l1_exit_qual = in->done + 1;
	} else {
		t.l2_ran = true;
		t.l1_exit_reason = MSR_MODEL_VMX_EXIT_VMCALL;
		t.list[MSR_VMX_EXIT_STORE] =
			msr_model_vmx_list(s, kernel, MSR_VMX_EXIT_STORE,
					   indices[MSR_VMX_EXIT_STORE], n[MSR_VMX_EXIT_STORE]);
	}
	t.list[MSR_VMX_EXIT_LOAD] = msr_model_vmx_list(s, kernel, MSR_VMX_EXIT_LOAD,
						       indices[MSR_VMX_EXIT_LOAD],
						       n[MSR_VMX_EXIT_LOAD]);
	t.vm_abort = t.list[MSR_VMX_EXIT_STORE].failed || t.list[MSR_VMX_EXIT_LOAD].failed;
	t.user_exit = msr_model_vmx_list_user_exit(exit_mask, &t.user_exit_rule);
	return t;
}

/*
 * api.rst 4.97 warning: PAT, EFER, DEBUGCTL, SYSENTER_*, BNDCFGS and
 * PERF_GLOBAL_CTRL loaded or saved through their VMCS fields are never
 * filtered, in any access type or kernel.
 */
struct msr_filter_verdict msr_model_vmx_dedicated_field(const struct msr_model_filter_state *s,
							__u32 index, __u32 type)
{
	(void)s;
	(void)index;
	(void)type;
	return filter_verdict(true, MSR_RULE_VMX_DEDICATED_UNFILTERED, -1);
}

const char *msr_model_vmx_list_str(enum msr_vmx_list list)
{
	static const char * const names[] = {
		[MSR_VMX_ENTRY_LOAD] = "entry_load", [MSR_VMX_EXIT_STORE] = "exit_store",
		[MSR_VMX_EXIT_LOAD] = "exit_load",
	};

	return (unsigned int)list < MSR_VMX_LISTS ? names[list] : "?";
}

/* --- formatting helpers ------------------------------------------------ */

const char *msr_model_result_str(enum msr_result result)
{
	static const char * const names[] = {
		[MSR_RESULT_DONE] = "done", [MSR_RESULT_EXIT] = "exit",
		[MSR_RESULT_GP] = "#GP",
	};

	return (unsigned int)result < 3 ? names[result] : "?";
}

const char *msr_model_access_str(enum msr_access access)
{
	return access == MSR_RDMSR ? "RDMSR" : "WRMSR";
}

const char *msr_model_reason_str(__u32 reason)
{
	switch (reason) {
	case KVM_MSR_EXIT_REASON_INVAL:
		return "INVAL";
	case KVM_MSR_EXIT_REASON_UNKNOWN:
		return "UNKNOWN";
	case KVM_MSR_EXIT_REASON_FILTER:
		return "FILTER";
	default:
		return reason ? "?" : "none";
	}
}

/* --- Rule 12: L2 under nested SVM/VMX ---------------------------------------------- */

/*
 * svm.c: msrpm_ranges[] = { 0, 0xc0000000, 0xc0010000 }, MSRS_IN_RANGE
 * 8192 each (svm_msrpm_offset()); the VMX MSR bitmap covers 0..0x1fff and
 * 0xc0000000..0xc0001fff (vmx/nested.c:nested_vmx_exit_handled_msr()).
 */
bool msr_model_nested_in_l1_map(enum msr_vendor vendor, __u32 index)
{
	if (index <= 0x1fffu || (index >= 0xc0000000u && index <= 0xc0001fffu))
		return true;
	return vendor == MSR_VENDOR_AMD && index >= 0xc0010000u && index <= 0xc0011fffu;
}

/*
 * svm/nested.c:nested_svm_exit_handled_msr(): with INTERCEPT_MSR_PROT, an
 * index svm_msrpm_offset() does not know is NESTED_EXIT_DONE, else L1's
 * bit decides.  vmx/nested.c:nested_vmx_exit_handled_msr(): with MSR
 * bitmaps, an index outside both halves is L1's, else its bit decides.
 */
bool msr_model_nested_l1_exit(enum msr_vendor vendor, __u32 index, bool l1_intercepts)
{
	return l1_intercepts || !msr_model_nested_in_l1_map(vendor, index);
}

/* asm/svm.h SVM_EXIT_MSR; asm/vmx.h EXIT_REASON_MSR_READ (31), _WRITE (32). */
__u32 msr_model_nested_exit_code(enum msr_vendor vendor, enum msr_access access)
{
	if (vendor == MSR_VENDOR_AMD)
		return 0x7c;
	return access == MSR_RDMSR ? 31 : 32;
}

/* AMD APM 15.11: EXITINFO1 0 for RDMSR, 1 for WRMSR; VMX has none (0). */
__u64 msr_model_nested_exit_info1(enum msr_vendor vendor, enum msr_access access)
{
	return vendor == MSR_VENDOR_AMD && access == MSR_WRMSR;
}

struct msr_outcome msr_model_nested_l1_outcome(enum msr_access access, __u64 l1_value)
{
	struct msr_outcome o = {
		.result = MSR_RESULT_DONE, .rule = MSR_RULE_NESTED_L1_EXIT,
		.cause = MSR_RULE_NESTED_L1_EXIT, .access = access,
	};

	if (access == MSR_RDMSR)
		set_rdmsr_result(&o, l1_value);
	return o;
}

/*
 * SVM: nested_svm_vmrun_msrpm() ORs L0's msrpm into L1's and skips the
 * x2APIC offsets ("x2apic msrs are intercepted always for the nested
 * guest").  VMX: nested_vmx_prepare_msr_bitmap() starts from all
 * intercepted and clears only FS/GS/KERNEL_GS_BASE and SPEC_CTRL (read
 * and write), PRED_CMD and, since 6.4 (da3db168fb67), FLUSH_CMD (write),
 * where neither L1 nor vmcs01's bitmap intercepts (x2APIC MSRs only with
 * virtualize-x2APIC-mode, which the suite's L1 leaves off).
 */
bool msr_model_nested_passthrough(enum msr_vendor vendor, __u32 kernel, __u32 index,
				  enum msr_access access, bool l0_passthrough)
{
	bool rw;

	if (!l0_passthrough)
		return false;
	if (vendor == MSR_VENDOR_AMD)
		return index < MSR_MODEL_X2APIC_FIRST || index > MSR_MODEL_X2APIC_LAST;
	if (!kernel)
		kernel = MSR_MODEL_BASE_KERNEL;
	rw = index == 0xc0000100u || index == 0xc0000101u || index == 0xc0000102u ||
	     index == 0x48u;
	if (access == MSR_WRMSR && (index == 0x49u || (index == 0x10bu && kernel >= MSR_KERNEL(6, 4))))
		return true;
	return rw;
}
