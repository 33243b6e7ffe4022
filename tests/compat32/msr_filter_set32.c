// SPDX-License-Identifier: GPL-2.0
/*
 * Built with -m32.  KVM refuses VM ioctls from any process but the VM's
 * creator (kvm->mm != current->mm: EIO), so this 32-bit process creates its
 * own VM, installs one of msr_compat_filter_specs[] through the 32-bit
 * KVM_X86_SET_MSR_FILTER (the kernel's KVM_X86_SET_MSR_FILTER_COMPAT path)
 * and runs msr_filter_probes[] in a minimal real-mode guest.  The KVM
 * selftests library is 64-bit only, hence the few raw ioctls below.
 *
 *   msr_filter_set32 SPEC
 *
 * Prints "filter ERRNO" (0: installed), then "probe I REASON" per probe
 * (REASON: kvm_run->msr.reason of its exit, 0 if it did not exit).
 * Exit status: 0, or 255 with a message when the VM cannot be set up, and
 * 4 (KSFT_SKIP) when the backend cannot run a real-mode guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msr_filter_specs.h"

#define GUEST_MEM	0x10000
#define CODE_GPA	0x1000
#define RUN_TIMEOUT_S	10

static uint8_t bitmaps[MSR_SPEC_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];

static void die(const char *what)
{
	fprintf(stderr, "msr_filter_set32: %s: %s\n", what, strerror(errno));
	exit(255);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die(what);
	return r;
}

/* mov ecx, index; [xor eax, eax; xor edx, edx;] rdmsr/wrmsr.  Returns length. */
static unsigned int emit_probe(uint8_t *p, const struct msr_filter_probe *probe)
{
	static const uint8_t wr[] = { 0x66, 0x31, 0xc0, 0x66, 0x31, 0xd2, 0x0f, 0x30 };
	static const uint8_t rd[] = { 0x0f, 0x32 };
	unsigned int n = 0;

	p[n++] = 0x66;
	p[n++] = 0xb9;
	memcpy(p + n, &probe->index, 4);
	n += 4;
	memcpy(p + n, probe->write ? wr : rd, probe->write ? sizeof(wr) : sizeof(rd));
	return n + (probe->write ? sizeof(wr) : sizeof(rd));
}

int main(int argc, char **argv)
{
	uint64_t insn_rip[MSR_FILTER_PROBES];
	uint32_t reason[MSR_FILTER_PROBES] = { 0 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args = { MSR_FILTER_PROBE_MASK } };
	struct kvm_userspace_memory_region region;
	struct kvm_msr_filter f;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	unsigned long spec;
	unsigned int i, off = CODE_GPA;
	int kvm, vm, vcpu, err;
	uint8_t *mem;

	if (argc != 2 || (spec = strtoul(argv[1], NULL, 0)) >= MSR_COMPAT_FILTER_SPECS) {
		fprintf(stderr, "usage: %s SPEC (0..%zu)\n", argv[0], MSR_COMPAT_FILTER_SPECS - 1);
		return 255;
	}
	if (sizeof(void *) != 4) {
		fprintf(stderr, "%s: not a 32-bit build\n", argv[0]);
		return 255;
	}

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = xioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	region = (struct kvm_userspace_memory_region){
		.memory_size = GUEST_MEM, .userspace_addr = (uintptr_t)mem };
	xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
	xioctl(vm, KVM_ENABLE_CAP, &cap, "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");

	msr_filter_spec_build(&msr_compat_filter_specs[spec], &f, bitmaps);
	err = ioctl(vm, KVM_X86_SET_MSR_FILTER, &f) ? errno : 0;
	printf("filter %d\n", err);

	for (i = 0; i < MSR_FILTER_PROBES; i++) {
		insn_rip[i] = off + (msr_filter_probes[i].write ? 12 : 6);
		off += emit_probe(mem + off, &msr_filter_probes[i]);
	}
	mem[off] = 0xf4;	/* hlt */

	vcpu = xioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
	run = mmap(NULL, xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE"),
		   PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap(kvm_run)");
	xioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	xioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	regs = (struct kvm_regs){ .rip = CODE_GPA, .rflags = 2 };
	xioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	alarm(RUN_TIMEOUT_S);	/* SIGALRM kills us: KVM_RUN cannot hang */
	for (;;) {
		xioctl(vcpu, KVM_RUN, NULL, "KVM_RUN");
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR ||
		    run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
			fprintf(stderr, "%s: the backend cannot run a real-mode guest (exit %u)\n",
				argv[0], run->exit_reason);
			return 4;
		}
		if (run->exit_reason != KVM_EXIT_X86_RDMSR &&
		    run->exit_reason != KVM_EXIT_X86_WRMSR) {
			fprintf(stderr, "%s: unexpected exit %u\n", argv[0], run->exit_reason);
			return 255;
		}
		xioctl(vcpu, KVM_GET_REGS, &regs, "KVM_GET_REGS");
		for (i = 0; i < MSR_FILTER_PROBES && insn_rip[i] != regs.rip; i++)
			;
		if (i == MSR_FILTER_PROBES) {
			fprintf(stderr, "%s: MSR exit at unexpected RIP %#llx\n", argv[0],
				(unsigned long long)regs.rip);
			return 255;
		}
		reason[i] = run->msr.reason;
		run->msr.error = 0;
		run->msr.data = 0;
	}
	for (i = 0; i < MSR_FILTER_PROBES; i++)
		printf("probe %u %u\n", i, reason[i]);
	return 0;
}
