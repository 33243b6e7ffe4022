/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the suite needs from the KVM selftests library that older libraries
 * (6.1 LTS) do not provide.  Tests include this instead of the library's
 * headers and may use nothing beyond what both libraries and this file give.
 *
 * KSFT_LIB_VERSION (KERNEL_VERSION() encoding of the tree the library comes
 * from) and the KSFT_HAS_* / KSFT_HARNESS_* feature macros are detected from
 * the tree by scripts/ksrc.sh cflags.
 */
#ifndef KVM_MSR_SUITE_COMPAT_H
#define KVM_MSR_SUITE_COMPAT_H

#include <stdbool.h>
#include <stdio.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#ifndef KSFT_LIB_VERSION
#error "KSFT_LIB_VERSION must be set by the build (see Makefile)"
#endif
#define KSFT_LIB(maj, min) (((maj) << 16) + ((min) << 8))

/* Added to test_util.h in 6.7. */
#ifndef TEST_ASSERT_EQ
#define TEST_ASSERT_EQ(a, b)							\
do {										\
	typeof(a) __a = (a);							\
	typeof(b) __b = (b);							\
	TEST_ASSERT(__a == __b,							\
		    "%s == %s failed: expected %#llx, got %#llx",		\
		    #a, #b, (unsigned long long)__b, (unsigned long long)__a);	\
} while (0)
#endif

/*
 * The forced emulation prefix (ud2; "kvm") makes KVM emulate the next
 * instruction when the kvm module parameter force_emulation_prefix is set.
 */
#ifndef KVM_FEP
#define KVM_FEP "ud2; .byte 'k', 'v', 'm';"
#endif

static inline bool suite_forced_emulation_enabled(void)
{
	FILE *f = fopen("/sys/module/kvm/parameters/force_emulation_prefix", "r");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	/* An integer since 6.7 (bit 0: enable), a bool ('Y'/'N') before. */
	return c == 'Y' || (c >= '0' && c <= '9' && ((c - '0') & 1));
}

/*
 * Exception fixup in guest code (rdmsr_safe()/wrmsr_safe()) needs the IDT;
 * libraries since 6.10 install it for every vCPU themselves.
 */
static inline void suite_init_exceptions(struct kvm_vcpu *vcpu)
{
#ifdef KSFT_HAS_DESCRIPTOR_TABLES
	vm_init_descriptor_tables(vcpu->vm);
	vcpu_init_descriptor_tables(vcpu);
#else
	(void)vcpu;
#endif
}

/* The same for a further vCPU of a VM whose tables are set up already. */
static inline void suite_init_vcpu_exceptions(struct kvm_vcpu *vcpu)
{
#ifdef KSFT_HAS_DESCRIPTOR_TABLES
	vcpu_init_descriptor_tables(vcpu);
#else
	(void)vcpu;
#endif
}

#endif
