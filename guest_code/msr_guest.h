/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest payload: an interpreter of RDMSR/WRMSR sequences.
 *
 * The host writes a program (a list of operations) into guest memory and
 * runs the vCPU; the guest executes every operation with exception fixup,
 * records per operation the value read or the exception vector, then tells
 * the host it is done and waits for the next program.  One payload serves the conformance matrix, the ioctl tests and
 * the fuzzers.
 *
 * "retired" per operation proves that execution continued exactly after the
 * instruction: the fixup only lands on its own label after the instruction,
 * and retired is set only by the instruction that follows it.  A double
 * execution shows as an extra exit on the host, a skipped one as a missing
 * exit or a wrong value.
 *
 * A program ends with GUEST_SYNC(nops), or, after guest_msr_prog_done_port(),
 * with a plain OUT to GUEST_MSR_DONE_PORT; guest_msr_run() takes both.
 *
 * Speed: guest instructions are expensive on some backends (PVM emulates
 * guest kernel code; a memory access costs microseconds), so the loop does
 * two to four memory accesses per operation, a #GP takes a short path
 * (guest_msr_gp_entry: the library's fixup protocol, without its generic
 * handler), and the done port spares the ucall (hundreds of microseconds
 * of guest code there).  The host finds the operation an MSR exit belongs
 * to from the results written so far (guest_msr_current_op()), not from a
 * per-operation store.
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
	/*
	 * Instructions that read MSRs as a side effect, each natively and
	 * through the forced emulation prefix (the _FEP kind right after it).
	 * result.value and result.aux hold what proves the MSR was used:
	 *   RDTSCP    EDX:EAX, and ECX (TSC_AUX[31:0])
	 *   RDPID     the register (TSC_AUX)
	 *   RDTSC     EDX:EAX
	 *   SYSCALL   landed at LSTAR (guest_msr_syscall_entry): value = RFLAGS
	 *             there (masked by SFMASK), aux = CS | SS << 16 | R11 << 32;
	 *             it returns to RCX
	 *   SYSENTER  landed at SYSENTER_EIP (guest_msr_sysenter_entry): value
	 *             = RSP there (SYSENTER_ESP), aux = CS | SS << 16
	 *   SWAPGS    value = the 8 bytes at %gs:0 after it, aux = the same after
	 *             a second (native) SWAPGS; the host puts at the GS base and
	 *             at KERNEL_GS_BASE their own addresses
	 *             (guest_msr_side_effect_load())
	 *   SYSCALL_COMPAT  SYSCALL in compatibility mode (a far return to a
	 *             32-bit code segment first): landed at CSTAR
	 *             (guest_msr_cstar_entry) in 64-bit mode, recorded as
	 *             SYSCALL; it returns to the 64-bit code after the far
	 *             return
	 */
	GUEST_RDTSCP,
	GUEST_RDTSCP_FEP,
	GUEST_RDPID,
	GUEST_RDPID_FEP,
	GUEST_RDTSC,
	GUEST_RDTSC_FEP,
	GUEST_SYSCALL,
	GUEST_SYSCALL_FEP,
	GUEST_SYSENTER,
	GUEST_SYSENTER_FEP,
	GUEST_SWAPGS,
	GUEST_SWAPGS_FEP,
	GUEST_SYSCALL_COMPAT,
	GUEST_SYSCALL_COMPAT_FEP,
	GUEST_MSR_OP_KINDS
};

#define GUEST_MSR_SIDE_EFFECT_FIRST	GUEST_RDTSCP

struct guest_msr_op {
	uint32_t kind;			/* enum guest_msr_op_kind */
	uint32_t index;			/* ECX */
	uint64_t value;			/* EDX:EAX for WRMSR */
};

/*
 * vector and retired are written by one 16-bit store once the operation is
 * over; before that they hold GUEST_MSR_NOT_RUN and 0.
 */
struct guest_msr_result {
	uint64_t value;			/* EDX:EAX after RDMSR (WRMSR: not written) */
	uint8_t vector;			/* exception vector, 0 if none */
	uint8_t retired;		/* the code after the instruction ran */
	uint8_t pad[6];
	uint64_t aux;			/* side-effect instructions (above) */
};

#define GUEST_MSR_NOT_RUN	0xff	/* result.vector before the op ran */

/* Port of the OUT that ends a program (not the ucall port, 0x1000). */
#define GUEST_MSR_DONE_PORT	0x4d53

#define GUEST_MSR_MAX_OPS	8192

/* program.done_port of L2 (guest_code/msr_l1.h): L1 ends the program. */
#define GUEST_MSR_END_L1	2

struct guest_msr_program {
	uint32_t nops;
	uint32_t executed;		/* nops once the guest is done; during an MSR
					 * exit, the operation being executed (set by
					 * the host) */
	uint32_t done_port;		/* end with an OUT to GUEST_MSR_DONE_PORT
					 * instead of GUEST_SYNC; GUEST_MSR_END_L1:
					 * with guest_msr_l2_exit() (msr_l1.h) */
	uint32_t pad;
	struct guest_msr_op ops[GUEST_MSR_MAX_OPS];
	struct guest_msr_result results[GUEST_MSR_MAX_OPS];
};

static inline bool guest_msr_op_is_write(uint32_t kind)
{
	return kind == GUEST_WRMSR || kind == GUEST_WRMSR_FEP;
}

static inline bool guest_msr_op_is_side_effect(uint32_t kind)
{
	return kind >= GUEST_MSR_SIDE_EFFECT_FIRST && kind < GUEST_MSR_OP_KINDS;
}

static inline bool guest_msr_op_is_fep(uint32_t kind)
{
	return kind == GUEST_RDMSR_FEP || kind == GUEST_WRMSR_FEP ||
	       (guest_msr_op_is_side_effect(kind) && ((kind - GUEST_MSR_SIDE_EFFECT_FIRST) & 1));
}

const char *guest_msr_op_kind_str(uint32_t kind);

/* Guest side. */
void guest_msr_interpreter(struct guest_msr_program *prog);
/* Where SYSCALL and SYSENTER land (the host puts them in LSTAR, SYSENTER_EIP). */
extern char guest_msr_syscall_entry[], guest_msr_sysenter_entry[], guest_msr_cstar_entry[];
/* L2: hand the program's end to L1 (guest_code/msr_l1.c). */
void guest_msr_l2_exit(void);
/* #GP entry point installed by guest_msr_vcpu_create() (IDT vector 13). */
extern char guest_msr_gp_entry[];
/* #UD entry point, vector 6 (see msr_guest.c). */
extern char guest_msr_ud_entry[];

/* Host side: one VM with one vCPU running the interpreter. */
struct guest_msr_l1;
struct guest_msr_vcpu {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct guest_msr_program *prog;	/* host view of the guest's program */
	struct guest_msr_l1 *l1;	/* the interpreter runs as L2 (guest_code/msr_l1.h) */
	uint8_t *l1_map;		/* host view of L1's MSR permission map */
};

/*
 * Creates the VM and vCPU, sets up exception handling and installs the
 * short #GP path (anything that is not one of the interpreter's fixups goes
 * on to the library's handler).  The guest CPUID is the suite's, not the
 * host's: MSR_CPUID_ABSENT (lib/msr_host.h); msr_guest_cpuid_set() before
 * the first KVM_RUN changes it.
 */
void guest_msr_vcpu_create(struct guest_msr_vcpu *g);
/*
 * The same with @extra_pages more guest memory: the library sizes memslot 0
 * for a 2 MB program image, and the whole executable (code, data, bss) is
 * loaded there; a binary with a bigger image (a libFuzzer build: ~10 MB of
 * bss) needs the difference.
 */
void guest_msr_vcpu_create_extra(struct guest_msr_vcpu *g, uint64_t extra_pages);
void guest_msr_vcpu_free(struct guest_msr_vcpu *g);

/*
 * A further vCPU @vcpu_id in @first's VM, running the interpreter on a
 * program of its own (freeing @first frees the VM; @g is then invalid).
 */
void guest_msr_vcpu_add(struct guest_msr_vcpu *g, const struct guest_msr_vcpu *first,
			uint32_t vcpu_id);

/* Program building. */
void guest_msr_prog_clear(struct guest_msr_vcpu *g);
/* End every program with the done port (true) or GUEST_SYNC (false, default). */
void guest_msr_prog_done_port(struct guest_msr_vcpu *g, bool on);
void guest_msr_prog_add(struct guest_msr_vcpu *g, uint32_t kind, uint32_t index,
			uint64_t value);

/*
 * Userspace's answer to a KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR exit: fill
 * run->msr.data / run->msr.error.  @op is the operation being executed.
 */
typedef void (*guest_msr_exit_fn)(struct kvm_run *run, uint32_t op, void *ctx);

/*
 * Side-effect instructions: distinctive values of the MSRs they read (the
 * entry points above, a stack of the payload's, selectors whose GDT
 * entries guest_msr_side_effect_load() copies from the library's kernel
 * CS and DS), and loading them into @g through KVM_SET_MSRS (EFER.SCE set
 * too) and KVM_SET_SREGS (GS base, the GDT entries), the SWAPGS markers
 * into guest memory.
 */
struct msr_side_effect_state;
void guest_msr_side_effect_values(struct msr_side_effect_state *st);
void guest_msr_side_effect_load(struct guest_msr_vcpu *g, const struct msr_side_effect_state *st);

/* The operation the guest is executing: the first one without a result. */
uint32_t guest_msr_current_op(const struct guest_msr_vcpu *g, uint32_t from);

/*
 * Run the program to its end (every KVM_RUN bounded).  MSR exits go to
 * @on_exit; with @on_exit NULL any MSR exit fails the test.  Any other exit
 * than the program's end (done port or GUEST_SYNC) fails the test, naming it.
 */
void guest_msr_run(struct guest_msr_vcpu *g, guest_msr_exit_fn on_exit, void *ctx);

#endif
