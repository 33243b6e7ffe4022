// SPDX-License-Identifier: GPL-2.0
/*
 * L1 for the L2 path (guest_code/msr_l1.h), nested SVM through the
 * selftests library (svm_util.h: vcpu_alloc_svm(), generic_svm_setup(),
 * run_guest()); nested VMX in msr_l1_vmx.c.
 */
#include "msr_l1.h"
#include "processor.h"
#include "svm_util.h"

/* L2's general registers while L1 runs (the library's, lib/x86_64/svm.c). */
extern struct gpr64_regs guest_regs;

/*
 * The slots run_guest() swaps L2's registers through: RCX at guest_regs+0x10,
 * RDX at +0x18, RDI at +0x40 (its SAVE_GPR_C, 6.1 and 6.12).  These are
 * one slot past the struct gpr64_regs fields of the same names (the
 * library's asm and struct disagree: generic_svm_setup()'s guest_regs.rdi
 * lands in L2's RSI), so they are named by offset here.  L2's RAX is the
 * VMCB's save.rax (run_guest()'s copy of guest_regs.rax goes to offset
 * 0x1f8 of the VMCB, in the control area, which VMRUN does not load).
 */
#define L2_RCX	0x10
#define L2_RDX	0x18
#define L2_RDI	0x40

static uint64_t *l2_reg(unsigned int offset)
{
	return (uint64_t *)((char *)&guest_regs + offset);
}

#define L2_STACK_BYTES	16384
static uint8_t l2_stack[L2_STACK_BYTES] __attribute__((aligned(16)));

/* RDMSR, WRMSR (0f 32, 0f 30) and VMMCALL (0f 01 d9) are this long. */
#define MSR_INSN_LEN	2
#define VMMCALL_LEN	3

/* Which L1 runs (set by the host: guest_msr_l1_create()). */
static uint32_t l1_is_vmx;

/*
 * L2: the end of a program.  L1 preserves every general register
 * (SVM: run_guest() swaps them through guest_regs, RAX through the VMCB;
 * VMX: msr_l1_vmx.c).
 */
void guest_msr_l2_exit(void)
{
	if (l1_is_vmx)
		asm volatile("vmcall" : : : "memory");
	else
		asm volatile("vmmcall" : : : "memory");
}

static void l1_out(uint16_t port)
{
	asm volatile("outb %%al, %%dx" : : "a"(0), "d"(port) : "memory");
}

/* The operation being executed: the first one without a result. */
static uint32_t l1_current_op(struct guest_msr_l1 *l1, const struct guest_msr_program *prog)
{
	uint32_t i = l1->cursor;

	while (i < prog->nops && prog->results[i].vector != GUEST_MSR_NOT_RUN)
		i++;
	l1->cursor = i;
	return i;
}

void guest_msr_l1_record(struct guest_msr_l1 *l1, uint32_t code, uint64_t info1, uint64_t ecx,
			 uint64_t edx_eax)
{
	uint32_t op = l1_current_op(l1, (struct guest_msr_program *)l1->prog);
	struct guest_msr_l1_rec *r = &l1->rec[op < GUEST_MSR_MAX_OPS ? op : GUEST_MSR_MAX_OPS - 1];

	if (r->exits++)
		return;
	r->code = code;
	r->info1 = info1;
	r->ecx = (uint32_t)ecx;
	r->edx_eax = edx_eax;
}

void guest_msr_l1_done(struct guest_msr_l1 *l1)
{
	l1->cursor = 0;
	l1_out(GUEST_MSR_DONE_PORT);
}

void guest_msr_l1_other(struct guest_msr_l1 *l1, uint64_t code, uint64_t info1, uint64_t info2,
			uint64_t rip)
{
	l1->other_code = code;
	l1->other_info1 = info1;
	l1->other_info2 = info2;
	l1->other_rip = rip;
	for (;;)
		l1_out(GUEST_MSR_L1_PORT);
}

/* An intercepted RDMSR/WRMSR: record it, answer a RDMSR, skip the instruction. */
static void l1_msr_exit(struct guest_msr_l1 *l1, struct vmcb *vmcb)
{
	uint64_t info1 = vmcb->control.exit_info_1;

	guest_msr_l1_record(l1, vmcb->control.exit_code, info1, *l2_reg(L2_RCX),
			    info1 & 1 ? (*l2_reg(L2_RDX) << 32 | (uint32_t)vmcb->save.rax) : 0);
	if (!(info1 & 1)) {
		uint64_t v = GUEST_MSR_L1_VALUE((uint32_t)*l2_reg(L2_RCX));

		vmcb->save.rax = (uint32_t)v;
		*l2_reg(L2_RDX) = v >> 32;
	}
	vmcb->save.rip += MSR_INSN_LEN;
}

void guest_msr_l1_main(struct guest_msr_l1 *l1)
{
	struct svm_test_data *svm = (struct svm_test_data *)l1->svm;
	struct vmcb *vmcb;

	if (l1_is_vmx)
		guest_msr_l1_vmx_main(l1);
	vmcb = svm->vmcb;

	generic_svm_setup(svm, guest_msr_interpreter, (void *)l1->l2_stack);
	vmcb->control.intercept |= 1ull << INTERCEPT_MSR_PROT;
	vmcb->control.msrpm_base_pa = l1->map_gpa;
	*l2_reg(L2_RDI) = l1->prog;	/* guest_msr_interpreter(prog) */

	for (;;) {
		/*
		 * run_guest() VMLOADs STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE
		 * (and the rest of the VMSAVE state) from the VMCB, which holds
		 * L2's values from the last #VMEXIT: save what L1 holds now, so
		 * that a KVM_SET_MSRS between programs reaches L2 too.
		 */
		asm volatile("vmsave %0" : : "a"(svm->vmcb_gpa) : "memory");
		run_guest(vmcb, svm->vmcb_gpa);
		switch (vmcb->control.exit_code) {
		case SVM_EXIT_MSR:
			l1_msr_exit(l1, vmcb);
			break;
		case SVM_EXIT_VMMCALL:
			vmcb->save.rip += VMMCALL_LEN;
			guest_msr_l1_done(l1);
			break;
		default:
			guest_msr_l1_other(l1, vmcb->control.exit_code, vmcb->control.exit_info_1,
					   vmcb->control.exit_info_2, vmcb->save.rip);
		}
	}
}

/* --- host ------------------------------------------------------------------------------ */

bool guest_msr_l1_supported(const char **why)
{
	if (kvm_cpu_has(X86_FEATURE_SVM) || kvm_cpu_has(X86_FEATURE_VMX))
		return true;
	*why = "no nested SVM/VMX on this host (KVM_GET_SUPPORTED_CPUID has neither: kvm_amd "
	       "or kvm_intel with nested=1 runs it, e.g. under scripts/vmtest.sh)";
	return false;
}

/*
 * run_guest() swaps R15 at guest_regs+0x80, one slot past the struct (see
 * L2_RCX); when guest_regs ends the image, that slot is on the page after
 * it, which the library does not map: map it.
 */
extern char _end[];

static void l1_map_past_guest_regs(struct kvm_vm *vm)
{
	uint64_t slot_end = (uint64_t)&guest_regs + 0x88;
	uint64_t image_end = ((uint64_t)_end + 4095) & ~4095ull;
	vm_vaddr_t page;

	if (slot_end <= image_end)
		return;
	page = vm_vaddr_alloc(vm, 4096, image_end);
	TEST_ASSERT(page == image_end, "the page after the image (%#lx) is taken (got %#lx): "
		    "run_guest() writes guest_regs+0x80 there", (unsigned long)image_end,
		    (unsigned long)page);
}

void guest_msr_l1_create(struct guest_msr_vcpu *g)
{
	vm_vaddr_t l1_gva = vm_vaddr_alloc(g->vm, sizeof(struct guest_msr_l1), KVM_UTIL_MIN_VADDR);
	vm_vaddr_t map_gva = vm_vaddr_alloc(g->vm, GUEST_MSR_L1_MAP_BYTES, KVM_UTIL_MIN_VADDR);
	struct guest_msr_l1 *l1 = addr_gva2hva(g->vm, l1_gva);
	struct kvm_regs regs;
	vm_vaddr_t svm_gva;

	TEST_ASSERT(addr_gva2gpa(g->vm, map_gva) + 4096 ==
		    addr_gva2gpa(g->vm, map_gva + 4096), "L1's MSR map is not contiguous");
	vcpu_regs_get(g->vcpu, &regs);
	memset(l1, 0, sizeof(*l1));
	l1_is_vmx = !kvm_cpu_has(X86_FEATURE_SVM);
	sync_global_to_guest(g->vm, l1_is_vmx);
	if (l1_is_vmx) {
		l1->vmx = guest_msr_l1_vmx_alloc(g->vm);
	} else {
		l1_map_past_guest_regs(g->vm);
		vcpu_alloc_svm(g->vm, &svm_gva);
		l1->svm = svm_gva;
	}
	l1->prog = regs.rdi;	/* guest_msr_interpreter()'s argument */
	l1->map_gpa = addr_gva2gpa(g->vm, map_gva);
	l1->l2_stack = (uint64_t)(l2_stack + L2_STACK_BYTES);
	g->l1 = l1;
	g->l1_map = addr_gva2hva(g->vm, map_gva);
	memset(g->l1_map, 0, GUEST_MSR_L1_MAP_BYTES);
	g->prog->done_port = GUEST_MSR_END_L1;

	regs.rip = (uint64_t)guest_msr_l1_main;
	regs.rdi = l1_gva;
	vcpu_regs_set(g->vcpu, &regs);
}

void guest_msr_l1_clear(struct guest_msr_vcpu *g, uint32_t nops)
{
	memset(g->l1_map, 0, GUEST_MSR_L1_MAP_BYTES);
	memset(g->l1->rec, 0, nops * sizeof(g->l1->rec[0]));
	g->l1->cursor = 0;
}

/*
 * AMD APM 15.11: three 2 KB blocks, two bits per MSR (read, write).  Intel
 * SDM 25.6.9: one 4 KB page, 1 KB each for reads low, reads high, writes
 * low, writes high, one bit per MSR.
 */
bool guest_msr_l1_intercept(struct guest_msr_vcpu *g, uint32_t index, bool write)
{
	static const uint32_t base[] = { 0x00000000u, 0xc0000000u, 0xc0010000u };
	unsigned int i;

	for (i = 0; i < (l1_is_vmx ? 2 : ARRAY_SIZE(base)); i++) {
		uint32_t bit;

		if (index - base[i] >= 0x2000)
			continue;
		if (l1_is_vmx) {
			bit = (index - base[i]) + i * 0x2000 + write * 0x4000;
			g->l1_map[bit / 8] |= 1u << (bit % 8);
			return true;
		}
		bit = 2 * (index - base[i]) + write;
		g->l1_map[i * 2048 + bit / 8] |= 1u << (bit % 8);
		return true;
	}
	return false;
}

int guest_msr_l1_other_str(const struct guest_msr_vcpu *g, char *buf, size_t len)
{
	const struct guest_msr_l1 *l1 = g->l1;

	return snprintf(buf, len, "L1 got %s %#llx (%s %#llx, %#llx) at L2 RIP %#llx",
			l1_is_vmx ? "VM exit" : "#VMEXIT", (unsigned long long)l1->other_code,
			l1_is_vmx ? "qualification, instruction error" : "EXITINFO1, EXITINFO2",
			(unsigned long long)l1->other_info1, (unsigned long long)l1->other_info2,
			(unsigned long long)l1->other_rip);
}
