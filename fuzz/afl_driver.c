// SPDX-License-Identifier: GPL-2.0
/*
 * AFL++ driver: persistent mode with deferred initialisation and the test
 * case in shared memory (afl-clang-fast's __AFL_* macros).
 *
 * fuzz_init() runs before the fork server starts (no KVM fds: KVM refuses
 * VM ioctls from any process but the VM's creator, and each AFL++ child is
 * a fork); the targets create their VMs lazily in the child, on its first
 * input, and keep them for the __AFL_LOOP iterations of that child.
 *
 * Outside afl-fuzz: "afl/<target> FILE..." runs the files, "afl/<target> <
 * FILE" one input from stdin.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=fuzz_target_<name>"
#endif

extern const struct fuzz_target FUZZ_TARGET;

#define AFL_LOOP_ITERATIONS	100000

__AFL_FUZZ_INIT();

static int run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return FUZZ_EXIT_HARNESS;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	fuzz_run_one(&FUZZ_TARGET, buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *buf;
	int i;

	fuzz_init(&FUZZ_TARGET);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_file(argv[i]))
				return FUZZ_EXIT_HARNESS;
		return 0;
	}

	__AFL_INIT();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(AFL_LOOP_ITERATIONS)) {
		size_t len = __AFL_FUZZ_TESTCASE_LEN;

		fuzz_run_one(&FUZZ_TARGET, buf, len);
	}
	return 0;
}
