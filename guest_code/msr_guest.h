/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest payload: an interpreter of RDMSR/WRMSR sequences.
 *
 * The host writes a program (a list of operations) into guest memory and
 * runs the vCPU; the guest executes every operation with the library's
 * exception fixup, records per operation the value read or the exception
 * vector, then syncs with the host (GUEST_SYNC) and waits for the next
 * program.  One payload serves the conformance matrix, the ioctl tests and
 * the fuzzers.
 *
 * "retired" per operation proves that execution continued exactly after the
 * instruction: KVM_ASM_SAFE's fixup only lands on the instruction's own
 * address, and the guest sets retired only by running the code after it.  A
 * double execution shows as an extra exit on the host, a skipped one as a
 * missing exit or a wrong value.
 */
#ifndef KVM_MSR_SUITE_MSR_GUEST_H
#define KVM_MSR_SUITE_MSR_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "compat.h"

enum guest_msr_op_kind {
	GUEST_RDMSR,
	GUEST_WRMSR,
	GUEST_RDMSR_FEP,	/* through the forced emulation prefix */
	GUEST_WRMSR_FEP,
	GUEST_MSR_OP_KINDS
};

struct guest_msr_op {
	uint32_t kind;			/* enum guest_msr_op_kind */
	uint32_t index;			/* ECX */
	uint64_t value;			/* EDX:EAX for WRMSR */
};

struct guest_msr_result {
	uint64_t value;			/* EDX:EAX after RDMSR */
	uint8_t vector;			/* exception vector, 0 if none */
	uint8_t retired;		/* the code after the instruction ran */
};

#define GUEST_MSR_MAX_OPS	8192

struct guest_msr_program {
	uint32_t nops;
	uint32_t executed;		/* operations the guest went through */
	struct guest_msr_op ops[GUEST_MSR_MAX_OPS];
	struct guest_msr_result results[GUEST_MSR_MAX_OPS];
};

static inline bool guest_msr_op_is_write(uint32_t kind)
{
	return kind == GUEST_WRMSR || kind == GUEST_WRMSR_FEP;
}

static inline bool guest_msr_op_is_fep(uint32_t kind)
{
	return kind == GUEST_RDMSR_FEP || kind == GUEST_WRMSR_FEP;
}

const char *guest_msr_op_kind_str(uint32_t kind);

/* Guest side. */
void guest_msr_interpreter(struct guest_msr_program *prog);

/* Host side: one VM with one vCPU running the interpreter. */
struct guest_msr_vcpu {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct guest_msr_program *prog;	/* host view of the guest's program */
};

void guest_msr_vcpu_create(struct guest_msr_vcpu *g);
void guest_msr_vcpu_free(struct guest_msr_vcpu *g);

/* Program building. */
void guest_msr_prog_clear(struct guest_msr_vcpu *g);
void guest_msr_prog_add(struct guest_msr_vcpu *g, uint32_t kind, uint32_t index,
			uint64_t value);

/*
 * Userspace's answer to a KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR exit: fill
 * run->msr.data / run->msr.error.  @op is the operation being executed.
 */
typedef void (*guest_msr_exit_fn)(struct kvm_run *run, uint32_t op, void *ctx);

/*
 * Run the program to its end (every KVM_RUN bounded).  MSR exits go to
 * @on_exit; with @on_exit NULL any MSR exit fails the test.  Any other exit
 * than the final sync fails the test, naming it.
 */
void guest_msr_run(struct guest_msr_vcpu *g, guest_msr_exit_fn on_exit, void *ctx);

#endif
