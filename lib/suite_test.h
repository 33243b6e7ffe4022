/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a kvm-msr-suite test binary includes: the KVM selftests library (via
 * compat.h), the suite's glue and the kselftest harness.
 */
#ifndef KVM_MSR_SUITE_SUITE_TEST_H
#define KVM_MSR_SUITE_SUITE_TEST_H

#include "suite.h"

/*
 * 6.1's test_util.h has an ASSERT_EQ of its own; tests use the harness's,
 * so it is defined last.
 */
#undef ASSERT_EQ
#include "kselftest_harness.h"

/* Use instead of TEST_HARNESS_MAIN. */
#define SUITE_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		suite_init(argc, argv);					\
		return test_harness_run(argc, argv);			\
	}

#endif
