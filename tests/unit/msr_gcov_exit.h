/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Coverage builds only: kselftest_harness.h runs each TEST() in a forked
 * child that leaves with _exit(), which skips gcov's atexit flush, so the
 * model's counters would read 0%.  Force-include this header
 * (-include tests/unit/msr_gcov_exit.h --coverage) to dump the counters
 * first.  Normal builds must not include it.
 */
#ifndef MSR_GCOV_EXIT_H
#define MSR_GCOV_EXIT_H

#include <unistd.h>

void __gcov_dump(void);

#define _exit(code) (__gcov_dump(), _exit(code))

#endif /* MSR_GCOV_EXIT_H */
