// SPDX-License-Identifier: GPL-2.0
#include "msr_guest.h"
#include "msr_host.h"
#include "msr_probe.h"
#include "suite.h"
#include "ucall_common.h"

/*
 * Exception fixup, the library's register protocol (processor.h,
 * KVM_ASM_SAFE): r9 = KVM_EXCEPTION_MAGIC, r10 = address of the instruction
 * that may fault, r11 = where to resume; the handler sets r9 to the vector.
 * Both the library's handler and guest_msr_gp_entry follow it, so the
 * interpreter works whichever one runs.  If the instruction retires, the
 * next instruction sets r9 to GUEST_MSR_RETIRED, which as a 16-bit store
 * at result.vector reads as vector 0, retired 1.  A fault resumes at label
 * 2, skipping that instruction: r9 holds the vector, retired stays 0.
 *
 * With the forced emulation prefix the instruction label follows the
 * prefix: handle_ud() moves RIP past the prefix before emulating, so a #GP
 * from the emulated instruction reports the instruction's own address.
 */
#define GUEST_MSR_RETIRED	0x100

#define GUEST_MSR_SAFE(prefix, insn)				\
	"mov %[magic], %%r9\n\t"				\
	"lea 1f(%%rip), %%r10\n\t"				\
	"lea 2f(%%rip), %%r11\n\t"				\
	prefix "\n"						\
	"1:\t" insn "\n\t"					\
	"mov $" __stringify(GUEST_MSR_RETIRED) ", %%r9d\n"	\
	"2:\n\t"

#define GUEST_MSR_EXEC(prefix, insn)					\
	asm volatile(GUEST_MSR_SAFE(prefix, insn)			\
		     : "+a"(a), "+d"(d), "=&r"(status)			\
		     : "c"(index), [magic] "i"(KVM_EXCEPTION_MAGIC)	\
		     : "r10", "r11", "memory")

_Static_assert(__builtin_offsetof(struct guest_msr_result, retired) ==
	       __builtin_offsetof(struct guest_msr_result, vector) + 1,
	       "vector and retired are stored as one 16-bit word");

/* Read by guest_msr_gp_entry/_ud_entry; the library's handlers (set by the host). */
uint64_t guest_msr_gp_chain, guest_msr_ud_chain;
const uint64_t guest_msr_fixup_magic = KVM_EXCEPTION_MAGIC;

/*
 * #GP (it has an error code): if the faulting RIP is the one registered in
 * r10 under the magic, resume at r11 with r9 = vector and r10 = error code,
 * as the library's kvm_fixup_exception() does; anything else goes to the
 * library's own handler with the stack untouched.
 */
asm(".pushsection .text\n"
    ".global guest_msr_gp_entry\n"
    "guest_msr_gp_entry:\n"
    "	cmp %r10, 8(%rsp)\n"
    "	jne 1f\n"
    "	cmp guest_msr_fixup_magic(%rip), %r9\n"
    "	jne 1f\n"
    "	mov %r11, 8(%rsp)\n"
    "	mov $13, %r9d\n"
    "	pop %r10\n"
    "	iretq\n"
    "1:	jmp *guest_msr_gp_chain(%rip)\n"
    ".popsection\n");

/*
 * Side-effect instructions (msr_guest.h).  SYSCALL and SYSENTER leave the
 * interpreter's code: their entry points record what proves the MSRs were
 * used into guest_msr_se and go back with IRETQ to the interpreter's CS
 * and SS (saved before the instruction) and to the instruction after it
 * (SYSCALL: RCX; SYSENTER: saved before).  The red zone below RSP is
 * stepped over first, since the entry points push on that stack.
 */
struct guest_msr_se_frame {
	uint64_t value;		/* 0 */
	uint64_t aux;		/* 8 */
	uint64_t cs, ss;	/* 16, 24: the interpreter's */
	uint64_t rsp, ret;	/* 32, 40: SYSENTER's way back */
};
struct guest_msr_se_frame guest_msr_se;

/* SYSENTER_ESP points into it; SWAPGS reads markers of the GS bases. */
uint64_t guest_msr_se_stack[64] __attribute__((aligned(16)));
uint64_t guest_msr_gs_marks[2];

/* RFLAGS before SYSCALL: CF PF AF ZF SF OF (never DF, TF, IF). */
#define GUEST_MSR_SYSCALL_RFLAGS	0x8d7
/* STAR[47:32] and SYSENTER_CS: free slots of the library's GDT (its TSS ends at 0x28). */
#define GUEST_MSR_SYSCALL_CS		0x28
#define GUEST_MSR_SYSENTER_CS		0x38
/* SYSCALL_COMPAT: a 32-bit code segment (base 0, 4 GiB, DPL 0, accessed) in the next slot. */
#define GUEST_MSR_COMPAT_CS		0x48
#define GUEST_MSR_COMPAT_CS_DESC	0x00cf9b000000ffffull

/* SYSCALL_COMPAT's way back to 64-bit code after an exception: m16:32. */
struct guest_msr_far32 {
	uint32_t offset;
	uint16_t selector;
} __attribute__((packed));
struct guest_msr_far32 guest_msr_compat_far;

/*
 * #UD (no error code): the same protocol (r10 = error code 0).  A #UD in
 * SYSCALL_COMPAT's compatibility-mode code (frame CS GUEST_MSR_COMPAT_CS)
 * resumes straight at its way back in the 64-bit code
 * (guest_msr_compat_far: offset and CS), not through an IRETQ to
 * compatibility mode and a far jump: the library's handler's IRETQ there
 * took a #GP under Bochs (kvm_intel, where SYSCALL #UDs outside 64-bit mode).
 */
asm(".pushsection .text\n"
    ".global guest_msr_ud_entry\n"
    "guest_msr_ud_entry:\n"
    "	cmp %r10, 0(%rsp)\n"
    "	jne 2f\n"
    "	cmp guest_msr_fixup_magic(%rip), %r9\n"
    "	jne 2f\n"
    "	mov %r11, 0(%rsp)\n"
    "	mov $6, %r9d\n"
    "	xor %r10d, %r10d\n"
    "	cmpq $" __stringify(GUEST_MSR_COMPAT_CS) ", 8(%rsp)\n"
    "	jne 1f\n"
    "	movl guest_msr_compat_far(%rip), %r11d\n"
    "	mov %r11, 0(%rsp)\n"
    "	movzwq guest_msr_compat_far+4(%rip), %r11\n"
    "	mov %r11, 8(%rsp)\n"
    "1:	iretq\n"
    "2:	jmp *guest_msr_ud_chain(%rip)\n"
    ".popsection\n");

/* SYSCALL's record: RFLAGS at the entry, CS, SS, R11. */
#define GUEST_SE_SYSCALL_RECORD				\
    "	pushfq\n"						\
    "	popq guest_msr_se(%rip)\n"				\
    "	movw %cs, guest_msr_se+8(%rip)\n"			\
    "	movw %ss, guest_msr_se+10(%rip)\n"			\
    "	movl %r11d, guest_msr_se+12(%rip)\n"
/* Back on the stack saved before the instruction: its SS and RSP pushed. */
#define GUEST_SE_SAVED_STACK					\
    "	mov guest_msr_se+32(%rip), %rsp\n"			\
    "	mov %rsp, %rax\n"					\
    "	pushq guest_msr_se+24(%rip)\n"				\
    "	pushq %rax\n"

asm(".pushsection .text\n"
    ".global guest_msr_syscall_entry\n"
    "guest_msr_syscall_entry:\n"
    GUEST_SE_SYSCALL_RECORD
    "	mov %rsp, %rax\n"
    "	pushq guest_msr_se+24(%rip)\n"
    "	pushq %rax\n"
    "	pushq %r11\n"
    "	pushq guest_msr_se+16(%rip)\n"
    "	pushq %rcx\n"
    "	iretq\n"
    ".global guest_msr_sysenter_entry\n"
    "guest_msr_sysenter_entry:\n"
    "	mov %rsp, guest_msr_se(%rip)\n"
    "	movw %cs, guest_msr_se+8(%rip)\n"
    "	movw %ss, guest_msr_se+10(%rip)\n"
    "	movl $0, guest_msr_se+12(%rip)\n"
    GUEST_SE_SAVED_STACK
    "	pushfq\n"
    "	pushq guest_msr_se+16(%rip)\n"
    "	pushq guest_msr_se+40(%rip)\n"
    "	iretq\n"
    /* SYSCALL from compatibility mode: back to the 64-bit code, RFLAGS = R11 */
    ".global guest_msr_cstar_entry\n"
    "guest_msr_cstar_entry:\n"
    GUEST_SE_SYSCALL_RECORD
    GUEST_SE_SAVED_STACK
    "	pushq %r11\n"
    "	pushq guest_msr_se+16(%rip)\n"
    "	pushq guest_msr_se+40(%rip)\n"
    "	iretq\n"
    /*
     * Compatibility mode (CS GUEST_MSR_COMPAT_CS): SYSCALL, with the forced
     * emulation prefix or not; an exception resumes (r11) at the far jump
     * back to the 64-bit code (guest_msr_compat_far).
     */
    ".code32\n"
    "guest_msr_compat_syscall_fep:\n"
    "	" KVM_FEP "\n"
    "guest_msr_compat_syscall_fep_insn:\n"
    "	syscall\n"
    "	jmp guest_msr_compat_back\n"
    "guest_msr_compat_syscall:\n"
    "	syscall\n"
    "guest_msr_compat_back:\n"
    "	ljmpl *guest_msr_compat_far\n"
    ".code64\n"
    ".popsection\n");

/*
 * SYSCALL_COMPAT's "instruction" in the 64-bit code: the way back from
 * CSTAR (3:, then retired) and after an exception (2:, not retired), the
 * fixup registers for @at (the SYSCALL in the 32-bit code), a far return
 * into @stub.
 */
#define GUEST_SE_COMPAT(stub, at)					\
	"lea 3f(%%rip), %%rax\n\t"					\
	"mov %%rax, guest_msr_se+40(%%rip)\n\t"			\
	"lea 2f(%%rip), %%rax\n\t"					\
	"movl %%eax, guest_msr_compat_far(%%rip)\n\t"			\
	"movw %%cs, guest_msr_compat_far+4(%%rip)\n\t"		\
	"lea " at "(%%rip), %%r10\n\t"					\
	"lea guest_msr_compat_back(%%rip), %%r11\n\t"			\
	"pushq $" __stringify(GUEST_MSR_COMPAT_CS) "\n\t"		\
	"lea " stub "(%%rip), %%rax\n\t"				\
	"pushq %%rax\n\t"						\
	"lretq\n"							\
	"3:\t"

/* Before SYSCALL/SYSENTER: past the red zone, the way back saved, the record cleared. */
#define GUEST_SE_LEAVE							\
	"lea -128(%%rsp), %%rsp\n\t"					\
	"movq $0, guest_msr_se(%%rip)\n\t"				\
	"movq $0, guest_msr_se+8(%%rip)\n\t"				\
	"movw %%cs, guest_msr_se+16(%%rip)\n\t"			\
	"movw %%ss, guest_msr_se+24(%%rip)\n\t"			\
	"mov %%rsp, guest_msr_se+32(%%rip)\n\t"			\
	"lea 1f+2(%%rip), %%rax\n\t"					\
	"mov %%rax, guest_msr_se+40(%%rip)\n\t"
#define GUEST_SE_BACK	"lea 128(%%rsp), %%rsp\n\t"
/* ... and for SYSCALL the RFLAGS SFMASK masks. */
#define GUEST_SE_SYSCALL_BEFORE						\
	GUEST_SE_LEAVE "pushq $" __stringify(GUEST_MSR_SYSCALL_RFLAGS) "\n\tpopfq\n\t"

/* SWAPGS, and if it retired: %gs:0, SWAPGS back, %gs:0 again. */
#define GUEST_SE_SWAPGS_AFTER						\
	"cmpl $" __stringify(GUEST_MSR_RETIRED) ", %%r9d\n\t"		\
	"jne 3f\n\t"							\
	"mov %%gs:0, %%rax\n\t"					\
	"swapgs\n\t"							\
	"mov %%gs:0, %%rdx\n"						\
	"3:\n\t"

#define GUEST_SE_EXEC(before, prefix, insn, after)			\
	asm volatile(before GUEST_MSR_SAFE(prefix, insn) after		\
		     : "+a"(a), "+d"(d), "+c"(c), "=&r"(status)		\
		     : [magic] "i"(KVM_EXCEPTION_MAGIC)			\
		     : "r10", "r11", "memory", "cc")

#define GUEST_SE_CASE(kind, before, insn, after)			\
	case kind:							\
		GUEST_SE_EXEC(before, "", insn, after);			\
		break;							\
	case kind##_FEP:						\
		GUEST_SE_EXEC(before, KVM_FEP, insn, after);		\
		break

static void __attribute__((__noinline__)) guest_msr_side_effect(uint32_t kind,
							    struct guest_msr_result *r)
{
	register uint64_t status asm("r9");
	uint64_t a = 0, d = 0, c = 0;

	switch (kind) {
	GUEST_SE_CASE(GUEST_RDTSCP, "", "rdtscp", "");
	GUEST_SE_CASE(GUEST_RDPID, "", "rdpid %%rax", "");
	GUEST_SE_CASE(GUEST_RDTSC, "", "rdtsc", "");
	GUEST_SE_CASE(GUEST_SYSCALL, GUEST_SE_SYSCALL_BEFORE, "syscall", GUEST_SE_BACK);
	GUEST_SE_CASE(GUEST_SYSENTER, GUEST_SE_LEAVE, "sysenter", GUEST_SE_BACK);
	GUEST_SE_CASE(GUEST_SWAPGS, "", "swapgs", GUEST_SE_SWAPGS_AFTER);
	case GUEST_SYSCALL_COMPAT:
		GUEST_SE_EXEC(GUEST_SE_SYSCALL_BEFORE, "", GUEST_SE_COMPAT("guest_msr_compat_syscall",
			      "guest_msr_compat_syscall"), GUEST_SE_BACK);
		break;
	case GUEST_SYSCALL_COMPAT_FEP:
		GUEST_SE_EXEC(GUEST_SE_SYSCALL_BEFORE, "", GUEST_SE_COMPAT("guest_msr_compat_syscall_fep",
			      "guest_msr_compat_syscall_fep_insn"), GUEST_SE_BACK);
		break;
	default:
		GUEST_ASSERT(0);
		return;
	}
	switch (kind) {
	case GUEST_RDTSCP:
	case GUEST_RDTSCP_FEP:
		r->aux = (uint32_t)c;
		/* fall through */
	case GUEST_RDTSC:
	case GUEST_RDTSC_FEP:
		r->value = (uint32_t)a | d << 32;
		break;
	case GUEST_RDPID:
	case GUEST_RDPID_FEP:
		r->value = a;
		break;
	case GUEST_SWAPGS:
	case GUEST_SWAPGS_FEP:
		r->value = a;
		r->aux = d;
		break;
	default:
		r->value = *(volatile uint64_t *)&guest_msr_se.value;
		r->aux = *(volatile uint64_t *)&guest_msr_se.aux;
	}
	*(volatile uint16_t *)&r->vector = (uint16_t)status;
}

/*
 * One operation: one 8-byte load (kind, index), one more for a WRMSR value;
 * one store of the value for RDMSR and one 16-bit store of vector/retired.
 */
static inline void guest_msr_exec(const struct guest_msr_op *op,
				  struct guest_msr_result *r)
{
	uint64_t head = *(volatile const uint64_t *)op;
	uint32_t kind = (uint32_t)head, index = head >> 32;
	register uint64_t status asm("r9");
	uint32_t a = 0, d = 0;
	uint64_t value;

	switch (kind) {
	case GUEST_RDMSR:
		GUEST_MSR_EXEC("", "rdmsr");
		break;
	case GUEST_RDMSR_FEP:
		GUEST_MSR_EXEC(KVM_FEP, "rdmsr");
		break;
	case GUEST_WRMSR:
		value = op->value;
		a = (uint32_t)value;
		d = value >> 32;
		GUEST_MSR_EXEC("", "wrmsr");
		break;
	case GUEST_WRMSR_FEP:
		value = op->value;
		a = (uint32_t)value;
		d = value >> 32;
		GUEST_MSR_EXEC(KVM_FEP, "wrmsr");
		break;
	default:
		guest_msr_side_effect(kind, r);
		return;
	}
	if (!guest_msr_op_is_write(kind))
		r->value = (uint64_t)a | ((uint64_t)d << 32);
	*(volatile uint16_t *)&r->vector = (uint16_t)status;
}

void guest_msr_interpreter(struct guest_msr_program *prog)
{
	uint32_t i, n;

	for (;;) {
		n = *(volatile uint32_t *)&prog->nops;
		for (i = 0; i < n; i++)
			guest_msr_exec(&prog->ops[i], &prog->results[i]);
		*(volatile uint32_t *)&prog->executed = n;
		if (*(volatile uint32_t *)&prog->done_port == GUEST_MSR_END_L1)
			guest_msr_l2_exit();
		else if (*(volatile uint32_t *)&prog->done_port)
			asm volatile("outb %%al, %%dx" : : "a"(0), "d"(GUEST_MSR_DONE_PORT) : "memory");
		else
			GUEST_SYNC(n);
	}
}

const char *guest_msr_op_kind_str(uint32_t kind)
{
	static const char *const names[] = {
		[GUEST_RDMSR] = "RDMSR",
		[GUEST_WRMSR] = "WRMSR",
		[GUEST_RDMSR_FEP] = "RDMSR (forced emulation)",
		[GUEST_WRMSR_FEP] = "WRMSR (forced emulation)",
		[GUEST_RDTSCP] = "RDTSCP", [GUEST_RDTSCP_FEP] = "RDTSCP (forced emulation)",
		[GUEST_RDPID] = "RDPID", [GUEST_RDPID_FEP] = "RDPID (forced emulation)",
		[GUEST_RDTSC] = "RDTSC", [GUEST_RDTSC_FEP] = "RDTSC (forced emulation)",
		[GUEST_SYSCALL] = "SYSCALL", [GUEST_SYSCALL_FEP] = "SYSCALL (forced emulation)",
		[GUEST_SYSENTER] = "SYSENTER",
		[GUEST_SYSENTER_FEP] = "SYSENTER (forced emulation)",
		[GUEST_SWAPGS] = "SWAPGS", [GUEST_SWAPGS_FEP] = "SWAPGS (forced emulation)",
		[GUEST_SYSCALL_COMPAT] = "SYSCALL in compatibility mode",
		[GUEST_SYSCALL_COMPAT_FEP] = "SYSCALL in compatibility mode (forced emulation)",
	};

	return kind < GUEST_MSR_OP_KINDS ? names[kind] : "invalid op";
}

/* 64-bit IDT gate: offset in bytes 0-1, 6-7 and 8-11. */
static uint64_t idt_gate_offset(const uint8_t *gate)
{
	return (uint64_t)*(const uint16_t *)gate |
	       (uint64_t)*(const uint16_t *)(gate + 6) << 16 |
	       (uint64_t)*(const uint32_t *)(gate + 8) << 32;
}

static void idt_gate_set_offset(uint8_t *gate, uint64_t offset)
{
	*(uint16_t *)gate = (uint16_t)offset;
	*(uint16_t *)(gate + 6) = (uint16_t)(offset >> 16);
	*(uint32_t *)(gate + 8) = (uint32_t)(offset >> 32);
}

/*
 * Point IDT vector @vector at @entry, which chains (*@chain) to the handler
 * the library installed.  Guest code and data have the same addresses in
 * host and guest, so the host's symbols name the guest's copies.
 */
static void guest_msr_install_entry(struct guest_msr_vcpu *g, unsigned int vector,
				    char *entry, uint64_t *chain)
{
	struct kvm_sregs sregs;
	uint8_t *gate;

	vcpu_sregs_get(g->vcpu, &sregs);
	TEST_ASSERT(sregs.idt.limit >= 16 * (vector + 1) - 1, "guest IDT too small (limit %u)",
		    sregs.idt.limit);
	gate = (uint8_t *)addr_gva2hva(g->vm, sregs.idt.base) + 16 * vector;
	*chain = idt_gate_offset(gate);
	idt_gate_set_offset(gate, (uint64_t)entry);
}

/* #GP (vector 13): guest_msr_gp_entry; #UD (vector 6): guest_msr_ud_entry. */
static void guest_msr_install_entries(struct guest_msr_vcpu *g)
{
	guest_msr_install_entry(g, 13, guest_msr_gp_entry, &guest_msr_gp_chain);
	guest_msr_install_entry(g, 6, guest_msr_ud_entry, &guest_msr_ud_chain);
	sync_global_to_guest(g->vm, guest_msr_gp_chain);
	sync_global_to_guest(g->vm, guest_msr_ud_chain);
}

static void guest_msr_prog_alloc(struct guest_msr_vcpu *g)
{
	vm_vaddr_t gva = vm_vaddr_alloc(g->vm, sizeof(*g->prog), KVM_UTIL_MIN_VADDR);

	g->prog = addr_gva2hva(g->vm, gva);
	guest_msr_prog_clear(g);
	vcpu_args_set(g->vcpu, 1, gva);
}

void guest_msr_vcpu_create(struct guest_msr_vcpu *g)
{
	guest_msr_vcpu_create_extra(g, 0);
}

/*
 * Memslot 0 holds the executable's image; the library sizes it as 512
 * pages plus DEFAULT_STACK_PGS per runnable vCPU (its extra_mem_pages only
 * sizes page tables for other slots), so more memory for a bigger image is
 * asked for as more runnable vCPUs.
 */
void guest_msr_vcpu_create_extra(struct guest_msr_vcpu *g, uint64_t extra_pages)
{
	uint32_t nr = 1 + (extra_pages + DEFAULT_STACK_PGS - 1) / DEFAULT_STACK_PGS;

#ifdef VM_SHAPE_DEFAULT
	g->vm = __vm_create(VM_SHAPE_DEFAULT, nr, 0);
#else
	g->vm = __vm_create(VM_MODE_DEFAULT, nr, 0);
#endif
	g->vcpu = vm_vcpu_add(g->vm, 0, guest_msr_interpreter);
	g->l1 = NULL;
	g->l1_map = NULL;
	msr_guest_cpuid_set(g->vcpu, MSR_CPUID_ABSENT);
	suite_init_exceptions(g->vcpu);
	guest_msr_install_entries(g);
	guest_msr_prog_alloc(g);
}

/* The IDT, and so the #GP entry patched into it, is the VM's. */
void guest_msr_vcpu_add(struct guest_msr_vcpu *g, const struct guest_msr_vcpu *first,
			uint32_t vcpu_id)
{
	g->vm = first->vm;
	g->vcpu = vm_vcpu_add(g->vm, vcpu_id, guest_msr_interpreter);
	g->l1 = NULL;
	g->l1_map = NULL;
	msr_guest_cpuid_set(g->vcpu, MSR_CPUID_ABSENT);
	suite_init_vcpu_exceptions(g->vcpu);
	guest_msr_prog_alloc(g);
}

void guest_msr_vcpu_free(struct guest_msr_vcpu *g)
{
	kvm_vm_free(g->vm);
	g->vm = NULL;
	g->vcpu = NULL;
	g->prog = NULL;
}

void guest_msr_side_effect_values(struct msr_side_effect_state *st)
{
	*st = (struct msr_side_effect_state){
		.tsc_aux = 0x5eac0de5,
		.star = 0x0013ull << 48 | (uint64_t)GUEST_MSR_SYSCALL_CS << 32 | 0x5ca11000u,
		.lstar = (uint64_t)guest_msr_syscall_entry,
		.cstar = (uint64_t)guest_msr_cstar_entry,
		.sfmask = 0x4751,
		.sysenter_cs = GUEST_MSR_SYSENTER_CS,
		.sysenter_esp = (uint64_t)&guest_msr_se_stack[ARRAY_SIZE(guest_msr_se_stack) - 2],
		.sysenter_eip = (uint64_t)guest_msr_sysenter_entry,
		.kernel_gs_base = (uint64_t)&guest_msr_gs_marks[1],
		.gs_base = (uint64_t)&guest_msr_gs_marks[0],
		.rflags = GUEST_MSR_SYSCALL_RFLAGS,
	};
}

static void set_msr(struct guest_msr_vcpu *g, uint32_t index, uint64_t value)
{
	TEST_ASSERT(msr_ioctl_one(g->vcpu->fd, KVM_SET_MSRS, index, &value) == 1,
		    "KVM_SET_MSRS(%#x, %#llx) failed: a side-effect instruction's MSR", index,
		    (unsigned long long)value);
}

/* GDT entry @to (a selector) in the library's GDT. */
static uint64_t *gdt_entry(struct guest_msr_vcpu *g, const struct kvm_sregs *sregs, unsigned int to)
{
	TEST_ASSERT(sregs->gdt.limit >= to + 7, "GDT limit %#x below selector %#x",
		    sregs->gdt.limit, to);
	return (uint64_t *)((uint8_t *)addr_gva2hva(g->vm, sregs->gdt.base) + to);
}

/* GDT entry @to = entry @from (selectors), in the library's GDT. */
static void gdt_copy(struct guest_msr_vcpu *g, const struct kvm_sregs *sregs, unsigned int to,
		     unsigned int from)
{
	*gdt_entry(g, sregs, to) = *gdt_entry(g, sregs, from);
}

void guest_msr_side_effect_load(struct guest_msr_vcpu *g, const struct msr_side_effect_state *st)
{
	struct kvm_sregs sregs;
	uint64_t efer = 0;

	set_msr(g, 0xc0000103u, st->tsc_aux);
	set_msr(g, 0xc0000081u, st->star);
	set_msr(g, 0xc0000082u, st->lstar);
	set_msr(g, 0xc0000083u, st->cstar);
	set_msr(g, 0xc0000084u, st->sfmask);
	set_msr(g, 0x00000174u, st->sysenter_cs);
	set_msr(g, 0x00000175u, st->sysenter_esp);
	set_msr(g, 0x00000176u, st->sysenter_eip);
	set_msr(g, 0xc0000102u, st->kernel_gs_base);
	TEST_ASSERT(msr_ioctl_one(g->vcpu->fd, KVM_GET_MSRS, 0xc0000080u, &efer) == 1,
		    "KVM_GET_MSRS(EFER) failed");
	set_msr(g, 0xc0000080u, efer | 1 /* SCE */);
	vcpu_sregs_get(g->vcpu, &sregs);
	sregs.gs.base = st->gs_base;
	gdt_copy(g, &sregs, GUEST_MSR_SYSCALL_CS, sregs.cs.selector);
	gdt_copy(g, &sregs, GUEST_MSR_SYSCALL_CS + 8, sregs.ss.selector);
	gdt_copy(g, &sregs, GUEST_MSR_SYSENTER_CS, sregs.cs.selector);
	gdt_copy(g, &sregs, GUEST_MSR_SYSENTER_CS + 8, sregs.ss.selector);
	*gdt_entry(g, &sregs, GUEST_MSR_COMPAT_CS) = GUEST_MSR_COMPAT_CS_DESC;
	vcpu_sregs_set(g->vcpu, &sregs);
	*(uint64_t *)addr_gva2hva(g->vm, st->gs_base) = st->gs_base;
	*(uint64_t *)addr_gva2hva(g->vm, st->kernel_gs_base) = st->kernel_gs_base;
}

void guest_msr_prog_clear(struct guest_msr_vcpu *g)
{
	g->prog->nops = 0;
	g->prog->executed = 0;
}

void guest_msr_prog_done_port(struct guest_msr_vcpu *g, bool on)
{
	g->prog->done_port = on;
}

void guest_msr_prog_add(struct guest_msr_vcpu *g, uint32_t kind, uint32_t index,
			uint64_t value)
{
	struct guest_msr_program *p = g->prog;

	TEST_ASSERT(p->nops < GUEST_MSR_MAX_OPS, "guest program full (%u ops)", p->nops);
	p->ops[p->nops] = (struct guest_msr_op){ .kind = kind, .index = index, .value = value };
	p->results[p->nops] = (struct guest_msr_result){ .vector = GUEST_MSR_NOT_RUN };
	p->nops++;
}

uint32_t guest_msr_current_op(const struct guest_msr_vcpu *g, uint32_t from)
{
	const struct guest_msr_program *p = g->prog;

	while (from < p->nops && p->results[from].vector != GUEST_MSR_NOT_RUN)
		from++;
	return from;
}

static const char *guest_msr_op_str(const struct guest_msr_program *p, uint32_t op)
{
	return op < p->nops ? guest_msr_op_kind_str(p->ops[op].kind) : "no op";
}

void guest_msr_run(struct guest_msr_vcpu *g, guest_msr_exit_fn on_exit, void *ctx)
{
	struct guest_msr_program *p = g->prog;
	struct kvm_run *run = g->vcpu->run;
	uint32_t op = 0;
	struct ucall uc;

	/* A program may run more than once: every result starts as not run. */
	for (op = 0; op < p->nops; op++)
		p->results[op] = (struct guest_msr_result){ .vector = GUEST_MSR_NOT_RUN };
	op = 0;

	for (;;) {
		suite_vcpu_run_ok(g->vcpu);
		op = guest_msr_current_op(g, op);

		switch (run->exit_reason) {
		case KVM_EXIT_X86_RDMSR:
		case KVM_EXIT_X86_WRMSR:
			TEST_ASSERT(on_exit, "Unexpected exit %s for %s of %#x (op %u)",
				    exit_reason_str(run->exit_reason), guest_msr_op_str(p, op),
				    run->msr.index, op);
			p->executed = op;
			on_exit(run, op, ctx);
			continue;
		case KVM_EXIT_IO:
			if (run->io.port == GUEST_MSR_DONE_PORT)
				goto done;
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			TEST_FAIL("Wanted exit KVM_EXIT_IO (done) or an MSR exit, got INTERNAL_ERROR "
				  "(suberror %u, ndata %u, data %#llx %#llx %#llx %#llx) at op %u of %u: %s of %#x",
				  run->internal.suberror, run->internal.ndata,
				  run->internal.data[0], run->internal.data[1],
				  run->internal.data[2], run->internal.data[3],
				  op, p->nops, guest_msr_op_str(p, op),
				  op < p->nops ? p->ops[op].index : 0);
		default:
			TEST_FAIL("Wanted exit KVM_EXIT_IO (done) or an MSR exit, got %s (op %u of %u)",
				  exit_reason_str(run->exit_reason), op, p->nops);
		}

		switch (get_ucall(g->vcpu, &uc)) {
		case UCALL_SYNC:
			goto done;
		case UCALL_ABORT:
			TEST_FAIL("guest assertion failed at op %u", op);
		default:
			TEST_FAIL("Unexpected exit: port %#x, ucall %lu (op %u of %u)",
				  run->io.port, (unsigned long)uc.cmd, op, p->nops);
		}
	}
done:
	TEST_ASSERT(p->executed == p->nops && op == p->nops,
		    "guest done after %u of %u ops (first without a result: %u)",
		    p->executed, p->nops, op);
}
