// SPDX-License-Identifier: GPL-2.0
/*
 * L1 for the L2 path (guest_code/msr_l1.h), nested SVM through the
 * selftests library (svm_util.h: vcpu_alloc_svm(), generic_svm_setup(),
 * run_guest()).
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

/*
 * L2: the end of a program.  L1 preserves every general register
 * (run_guest() swaps them through guest_regs; RAX through the VMCB).
 */
void guest_msr_l2_exit(void)
{
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

/* An intercepted RDMSR/WRMSR: record it, answer a RDMSR, skip the instruction. */
static void l1_msr_exit(struct guest_msr_l1 *l1, struct guest_msr_program *prog,
			struct vmcb *vmcb)
{
	uint32_t op = l1_current_op(l1, prog);
	uint64_t info1 = vmcb->control.exit_info_1;

	if (op < GUEST_MSR_MAX_OPS) {
		struct guest_msr_l1_rec *r = &l1->rec[op];

		if (!r->exits++) {
			r->code = vmcb->control.exit_code;
			r->info1 = info1;
			r->ecx = (uint32_t)*l2_reg(L2_RCX);
			r->edx_eax = info1 & 1 ? (*l2_reg(L2_RDX) << 32 | (uint32_t)vmcb->save.rax) : 0;
		}
	}
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
	struct guest_msr_program *prog = (struct guest_msr_program *)l1->prog;
	struct vmcb *vmcb = svm->vmcb;

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
			l1_msr_exit(l1, prog, vmcb);
			break;
		case SVM_EXIT_VMMCALL:
			vmcb->save.rip += VMMCALL_LEN;
			l1->cursor = 0;
			l1_out(GUEST_MSR_DONE_PORT);
			break;
		default:
			l1->other_code = vmcb->control.exit_code;
			l1->other_info1 = vmcb->control.exit_info_1;
			l1->other_info2 = vmcb->control.exit_info_2;
			l1->other_rip = vmcb->save.rip;
			for (;;)
				l1_out(GUEST_MSR_L1_PORT);
		}
	}
}

/* --- host ------------------------------------------------------------------------------ */

bool guest_msr_l1_supported(const char **why)
{
	if (kvm_cpu_has(X86_FEATURE_SVM))
		return true;
	*why = "no nested SVM on this host (KVM_GET_SUPPORTED_CPUID has no SVM: kvm_amd with "
	       "nested=1 runs it, e.g. under scripts/vmtest.sh)";
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
	l1_map_past_guest_regs(g->vm);
	vcpu_alloc_svm(g->vm, &svm_gva);
	vcpu_regs_get(g->vcpu, &regs);
	memset(l1, 0, sizeof(*l1));
	l1->prog = regs.rdi;	/* guest_msr_interpreter()'s argument */
	l1->svm = svm_gva;
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

/* AMD APM 15.11: three 2 KB blocks, two bits per MSR (read, write). */
bool guest_msr_l1_intercept(struct guest_msr_vcpu *g, uint32_t index, bool write)
{
	static const uint32_t base[] = { 0x00000000u, 0xc0000000u, 0xc0010000u };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(base); i++) {
		uint32_t bit;

		if (index - base[i] >= 0x2000)
			continue;
		bit = 2 * (index - base[i]) + write;
		g->l1_map[i * 2048 + bit / 8] |= 1u << (bit % 8);
		return true;
	}
	return false;
}

int guest_msr_l1_other_str(const struct guest_msr_vcpu *g, char *buf, size_t len)
{
	const struct guest_msr_l1 *l1 = g->l1;

	return snprintf(buf, len, "L1 got #VMEXIT %#llx (EXITINFO1 %#llx, EXITINFO2 %#llx) at L2 "
			"RIP %#llx", (unsigned long long)l1->other_code,
			(unsigned long long)l1->other_info1, (unsigned long long)l1->other_info2,
			(unsigned long long)l1->other_rip);
}
