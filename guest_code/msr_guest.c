// SPDX-License-Identifier: GPL-2.0
#include "msr_guest.h"
#include "msr_host.h"
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

/* Read by guest_msr_gp_entry; the library's #GP handler (set by the host). */
uint64_t guest_msr_gp_chain;
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
		GUEST_ASSERT(0);
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
 * Point IDT vector 13 at guest_msr_gp_entry, which chains to the handler
 * the library installed.  Guest code and data have the same addresses in
 * host and guest, so the host's symbols name the guest's copies.
 */
static void guest_msr_install_gp_entry(struct guest_msr_vcpu *g)
{
	struct kvm_sregs sregs;
	uint8_t *gate;

	vcpu_sregs_get(g->vcpu, &sregs);
	TEST_ASSERT(sregs.idt.limit >= 16 * 14 - 1, "guest IDT too small (limit %u)",
		    sregs.idt.limit);
	gate = (uint8_t *)addr_gva2hva(g->vm, sregs.idt.base) + 16 * 13;
	guest_msr_gp_chain = idt_gate_offset(gate);
	sync_global_to_guest(g->vm, guest_msr_gp_chain);
	idt_gate_set_offset(gate, (uint64_t)guest_msr_gp_entry);
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
	guest_msr_install_gp_entry(g);
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
