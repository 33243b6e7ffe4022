/* SPDX-License-Identifier: GPL-2.0 */
/*
 * L1 for the L2 path (lib/msr_case.h MSR_PATH_L2): the test VM is L1, a
 * nested hypervisor built with the selftests library (svm_util.h on AMD,
 * vmx.h on Intel: guest_code/msr_l1_vmx.c), and it
 * runs the guest payload (guest_msr_interpreter()) as L2 on the same
 * program memory and page tables (no nested paging).
 *
 * L1's MSR permission map (guest_msr_l1_intercept()) intercepts or passes
 * through each (MSR, access).  An intercepted access is a #VMEXIT to L1,
 * which records it for its operation (struct guest_msr_l1_rec), answers a
 * RDMSR with GUEST_MSR_L1_VALUE(ECX), skips the instruction and resumes
 * L2: nothing reaches userspace.  A passed-through one is L0's (KVM's) to
 * handle, userspace exits included, while the vCPU is in guest mode.
 *
 * A program ends through L1: L2 executes VMMCALL or VMCALL (guest_msr_l2_exit()),
 * L1 ends the program with the OUT to GUEST_MSR_DONE_PORT itself and, on
 * the next KVM_RUN, re-enters L2 with a fresh VMRUN for the next program,
 * so every program starts with a nested VM-entry (where KVM merges L1's
 * map with its own: svm/nested.c:nested_svm_vmrun_msrpm()).  Any other
 * #VMEXIT is reported with an OUT to GUEST_MSR_L1_PORT, after which L1
 * stays there.
 */
#ifndef KVM_MSR_SUITE_MSR_L1_H
#define KVM_MSR_SUITE_MSR_L1_H

#include "msr_guest.h"

/* Port of the OUT by which L1 reports a #VMEXIT it did not expect. */
#define GUEST_MSR_L1_PORT	0x4d54

/* What L1 answers an intercepted RDMSR of @index with (EDX:EAX). */
#define GUEST_MSR_L1_VALUE(index)	(0x4c31da7a00000000ull ^ ((uint64_t)(index) << 4) ^ 0x11)

/* Bytes of L1's MSR permission map (SVM: MSRPM_SIZE, two pages; VMX: the first page). */
#define GUEST_MSR_L1_MAP_BYTES	8192

/* What L1 saw of one operation (all zero: no #VMEXIT). */
struct guest_msr_l1_rec {
	uint32_t exits;		/* #VMEXITs L1 took for it */
	uint32_t code;		/* the first one's exit code (SVM_EXIT_MSR), VMX exit reason */
	uint64_t info1;		/* its EXITINFO1: 0 RDMSR, 1 WRMSR (VMX: 0) */
	uint64_t ecx;
	uint64_t edx_eax;	/* WRMSR: EDX:EAX */
};

struct guest_msr_l1 {
	uint64_t prog;		/* gva of the program (L2's argument) */
	uint64_t svm;		/* gva of the library's struct svm_test_data */
	uint64_t vmx;		/* ... or of its struct vmx_pages (Intel) */
	uint64_t map_gpa;	/* L1's MSR permission map */
	uint64_t l2_stack;	/* top of L2's stack */
	uint32_t cursor;	/* L1: the first operation without a result */
	uint32_t pad;
	/* the #VMEXIT reported on GUEST_MSR_L1_PORT */
	uint64_t other_code, other_info1, other_info2, other_rip;
	struct guest_msr_l1_rec rec[GUEST_MSR_MAX_OPS];
};

/* Guest side: L1's entry point. */
void guest_msr_l1_main(struct guest_msr_l1 *l1);
void guest_msr_l1_vmx_main(struct guest_msr_l1 *l1);
/* L1, either vendor: record an intercepted access for the current operation. */
void guest_msr_l1_record(struct guest_msr_l1 *l1, uint32_t code, uint64_t info1, uint64_t ecx,
			 uint64_t edx_eax);
/* L1, either vendor: the program's end, and an exit it did not expect (never returns). */
void guest_msr_l1_done(struct guest_msr_l1 *l1);
void guest_msr_l1_other(struct guest_msr_l1 *l1, uint64_t code, uint64_t info1, uint64_t info2,
			uint64_t rip);
/* Host side of the VMX L1: its struct vmx_pages. */
uint64_t guest_msr_l1_vmx_alloc(struct kvm_vm *vm);

/*
 * Host side.  Whether this host runs L1 (nested SVM in
 * KVM_GET_SUPPORTED_CPUID); else @why says what is missing.
 */
bool guest_msr_l1_supported(const char **why);
/*
 * Make @g's vCPU (created, never run, guest CPUID with SVM) an L1 running
 * the interpreter as L2; L1 sets itself up on the first KVM_RUN.
 */
void guest_msr_l1_create(struct guest_msr_vcpu *g);
/* Every access passed through; nothing recorded (before a program). */
void guest_msr_l1_clear(struct guest_msr_vcpu *g, uint32_t nops);
/*
 * L1 intercepts @write (or read) accesses of @index; false if the index is
 * outside L1's map (L1 then gets them anyway).
 */
bool guest_msr_l1_intercept(struct guest_msr_vcpu *g, uint32_t index, bool write);
/* "#VMEXIT 0x7c (EXITINFO1 0x1, EXITINFO2 0) at L2 RIP 0x..." */
int guest_msr_l1_other_str(const struct guest_msr_vcpu *g, char *buf, size_t len);

#endif
