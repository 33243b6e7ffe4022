// SPDX-License-Identifier: GPL-2.0
/*
 * L1 for the L2 path under nested VMX (guest_code/msr_l1.h), through the
 * selftests library (vmx.h: vcpu_alloc_vmx(), prepare_for_vmx_operation(),
 * load_vmcs(), prepare_vmcs(), vmread/vmwrite).  The library's vmlaunch()
 * and vmresume() keep L1's registers and drop L2's; the interpreter keeps
 * its state in registers across an MSR exit, so the entry below saves and
 * restores every L2 general register (RSP and RIP are in the VMCS).
 */
#include "msr_l1.h"
#include "processor.h"
#include "vmx.h"

/* L2's general registers while L1 runs, in this order (RSP: the VMCS's). */
struct l2_gprs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
};

struct l2_gprs l1_vmx_l2;
uint64_t l1_vmx_launched;

#define L2_LOAD(reg, i)	"mov l1_vmx_l2+" #i "*8(%%rip), %%" #reg "\n\t"
#define L2_SAVE(reg, i)	"mov %%" #reg ", l1_vmx_l2+" #i "*8(%%rip)\n\t"
#define L2_GPRS(op)							\
	op(rcx, 1) op(rdx, 2) op(rbx, 3) op(rbp, 4) op(rsi, 5) op(rdi, 6)	\
	op(r8, 7) op(r9, 8) op(r10, 9) op(r11, 10) op(r12, 11) op(r13, 12)	\
	op(r14, 13) op(r15, 14)

/*
 * VMLAUNCH (first time) or VMRESUME with L2's registers; back at the
 * VM exit (HOST_RIP) with them saved.  Returns 0 after a VM exit, 1 if
 * the instruction failed (VM_INSTRUCTION_ERROR says why).
 */
static int l1_vmx_enter(void)
{
	int failed;

	asm volatile("push %%rbp\n\t"
		     "push %%rbx\n\t"
		     "mov $0x6c14, %%rax\n\t"		/* HOST_RSP */
		     "vmwrite %%rsp, %%rax\n\t"
		     "lea 1f(%%rip), %%rcx\n\t"
		     "mov $0x6c16, %%rax\n\t"		/* HOST_RIP */
		     "vmwrite %%rcx, %%rax\n\t"
		     "cmpq $0, l1_vmx_launched(%%rip)\n\t"
		     L2_GPRS(L2_LOAD)
		     "mov l1_vmx_l2(%%rip), %%rax\n\t"
		     "jne 2f\n\t"
		     "vmlaunch\n\t"
		     "jmp 3f\n"
		     "2:\tvmresume\n"
		     "3:\t" L2_SAVE(rax, 0) L2_GPRS(L2_SAVE)
		     "mov $1, %%eax\n\t"
		     "jmp 4f\n"
		     "1:\t" L2_SAVE(rax, 0) L2_GPRS(L2_SAVE)
		     "xor %%eax, %%eax\n"
		     "4:\tpop %%rbx\n\t"
		     "pop %%rbp\n\t"
		     : "=a"(failed)
		     :
		     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
		       "r15", "memory", "cc");
	return failed;
}

void guest_msr_l1_vmx_main(struct guest_msr_l1 *l1)
{
	struct vmx_pages *vmx = (struct vmx_pages *)l1->vmx;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, guest_msr_interpreter, (void *)l1->l2_stack);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_USE_MSR_BITMAPS);
	vmwrite(MSR_BITMAP, l1->map_gpa);
	l1_vmx_l2.rdi = l1->prog;	/* guest_msr_interpreter(prog) */

	for (;;) {
		uint64_t reason, rip;

		if (l1_vmx_enter())
			guest_msr_l1_other(l1, ~0ull, vmreadz(VM_INSTRUCTION_ERROR), 0,
					   vmreadz(GUEST_RIP));
		l1_vmx_launched = 1;
		reason = vmreadz(VM_EXIT_REASON);
		rip = vmreadz(GUEST_RIP);
		switch (reason) {
		case EXIT_REASON_MSR_READ:
		case EXIT_REASON_MSR_WRITE:
			guest_msr_l1_record(l1, reason, 0, l1_vmx_l2.rcx,
					    reason == EXIT_REASON_MSR_WRITE ?
					    l1_vmx_l2.rdx << 32 | (uint32_t)l1_vmx_l2.rax : 0);
			if (reason == EXIT_REASON_MSR_READ) {
				uint64_t v = GUEST_MSR_L1_VALUE((uint32_t)l1_vmx_l2.rcx);

				l1_vmx_l2.rax = (uint32_t)v;
				l1_vmx_l2.rdx = v >> 32;
			}
			vmwrite(GUEST_RIP, rip + vmreadz(VM_EXIT_INSTRUCTION_LEN));
			break;
		case EXIT_REASON_VMCALL:
			vmwrite(GUEST_RIP, rip + vmreadz(VM_EXIT_INSTRUCTION_LEN));
			guest_msr_l1_done(l1);
			break;
		default:
			guest_msr_l1_other(l1, reason, vmreadz(EXIT_QUALIFICATION),
					   vmreadz(VM_INSTRUCTION_ERROR), rip);
		}
	}
}

uint64_t guest_msr_l1_vmx_alloc(struct kvm_vm *vm)
{
	vm_vaddr_t gva;

	vcpu_alloc_vmx(vm, &gva);
	return gva;
}
