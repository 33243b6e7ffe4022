// SPDX-License-Identifier: GPL-2.0
#include "msr_guest.h"
#include "suite.h"
#include "ucall_common.h"

/*
 * KVM_ASM_SAFE() reports the exception vector; since 6.3 it also reports an
 * error code, and its outputs macro takes a second operand.
 */
#ifdef KVM_ASM_SAFE_FEP
#define GUEST_ASM_SAFE_OUTPUTS(v) KVM_ASM_SAFE_OUTPUTS(v, error_code)
#else
#define GUEST_ASM_SAFE_OUTPUTS(v) KVM_ASM_SAFE_OUTPUTS(v)
#endif

/*
 * One instruction with exception fixup; "retired" is set only by the code
 * that follows it, so it proves RIP moved exactly past the instruction.
 * With the forced emulation prefix, label 1 (the faulting RIP the fixup
 * matches) is the prefix itself: the emulator treats prefix + instruction as
 * one instruction.
 */
#define GUEST_MSR_INSN(insn)							\
	asm volatile(KVM_ASM_SAFE(insn)						\
		     : GUEST_ASM_SAFE_OUTPUTS(r->vector), "+a"(a), "+d"(d)	\
		     : "c"(op->index)						\
		     : KVM_ASM_SAFE_CLOBBERS, "memory")

static void guest_msr_exec(const struct guest_msr_op *op, struct guest_msr_result *r)
{
	uint64_t error_code __attribute__((unused));
	uint32_t a = (uint32_t)op->value, d = (uint32_t)(op->value >> 32);

	r->vector = 0;
	switch (op->kind) {
	case GUEST_RDMSR:
		GUEST_MSR_INSN("rdmsr");
		break;
	case GUEST_RDMSR_FEP:
		GUEST_MSR_INSN(KVM_FEP "rdmsr");
		break;
	case GUEST_WRMSR:
		GUEST_MSR_INSN("wrmsr");
		break;
	case GUEST_WRMSR_FEP:
		GUEST_MSR_INSN(KVM_FEP "wrmsr");
		break;
	default:
		GUEST_ASSERT(0);
	}
	r->value = (uint64_t)a | ((uint64_t)d << 32);
	r->retired = !r->vector;
}

void guest_msr_interpreter(struct guest_msr_program *prog)
{
	uint32_t i;

	for (;;) {
		for (i = 0; i < prog->nops; i++) {
			prog->executed = i;
			guest_msr_exec(&prog->ops[i], &prog->results[i]);
		}
		prog->executed = i;
		GUEST_SYNC(i);
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

void guest_msr_vcpu_create(struct guest_msr_vcpu *g)
{
	vm_vaddr_t gva;

	g->vm = vm_create_with_one_vcpu(&g->vcpu, guest_msr_interpreter);
	suite_init_exceptions(g->vcpu);
	gva = vm_vaddr_alloc(g->vm, sizeof(*g->prog), KVM_UTIL_MIN_VADDR);
	g->prog = addr_gva2hva(g->vm, gva);
	guest_msr_prog_clear(g);
	vcpu_args_set(g->vcpu, 1, gva);
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

void guest_msr_prog_add(struct guest_msr_vcpu *g, uint32_t kind, uint32_t index,
			uint64_t value)
{
	struct guest_msr_program *p = g->prog;

	TEST_ASSERT(p->nops < GUEST_MSR_MAX_OPS, "guest program full (%u ops)", p->nops);
	p->ops[p->nops] = (struct guest_msr_op){ .kind = kind, .index = index, .value = value };
	p->results[p->nops] = (struct guest_msr_result){ .vector = 0xff };
	p->nops++;
}

void guest_msr_run(struct guest_msr_vcpu *g, guest_msr_exit_fn on_exit, void *ctx)
{
	struct kvm_run *run = g->vcpu->run;
	struct ucall uc;

	for (;;) {
		suite_vcpu_run_ok(g->vcpu);

		switch (run->exit_reason) {
		case KVM_EXIT_X86_RDMSR:
		case KVM_EXIT_X86_WRMSR:
			TEST_ASSERT(on_exit, "Unexpected exit %s for %s of %#x (op %u)",
				    exit_reason_str(run->exit_reason),
				    guest_msr_op_kind_str(g->prog->ops[g->prog->executed].kind),
				    run->msr.index, g->prog->executed);
			on_exit(run, g->prog->executed, ctx);
			continue;
		case KVM_EXIT_IO:
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			TEST_FAIL("Wanted exit KVM_EXIT_IO (ucall) or an MSR exit, got INTERNAL_ERROR "
				  "(suberror %u, ndata %u, data %#llx %#llx %#llx %#llx) at op %u of %u: %s of %#x",
				  run->internal.suberror, run->internal.ndata,
				  run->internal.data[0], run->internal.data[1],
				  run->internal.data[2], run->internal.data[3],
				  g->prog->executed, g->prog->nops,
				  guest_msr_op_kind_str(g->prog->ops[g->prog->executed].kind),
				  g->prog->ops[g->prog->executed].index);
		default:
			TEST_FAIL("Wanted exit KVM_EXIT_IO (ucall) or an MSR exit, got %s (op %u of %u)",
				  exit_reason_str(run->exit_reason), g->prog->executed,
				  g->prog->nops);
		}

		switch (get_ucall(g->vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT_EQ(g->prog->executed, g->prog->nops);
			return;
		case UCALL_ABORT:
			TEST_FAIL("guest assertion failed at op %u", g->prog->executed);
		default:
			TEST_FAIL("Unexpected ucall %lu", (unsigned long)uc.cmd);
		}
	}
}
