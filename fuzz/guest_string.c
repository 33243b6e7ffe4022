// SPDX-License-Identifier: GPL-2.0
/*
 * memset() and memcpy() for the fuzz engine builds, safe to run in the
 * guest (built like guest code: the tree's gcc, -mgeneral-regs-only, no
 * fuzzer instrumentation) and fast on the host.
 *
 * The selftests library overrides memset/memcpy/memcmp/strnlen for the
 * whole program with byte loops (lib/string_override.c), because the guest
 * runs the program's own code but has no libc.  In the engine builds the
 * fuzzer runtime's own per-input memsets (clearing its counters) went
 * through those loops; here "rep stosb"/"rep movsb" do the same job, in
 * the guest too.  The engine builds link this object and weaken the
 * library's memset/memcpy (lib/selftests.mk); the other builds do not use
 * it.
 */
#include <stddef.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

void *memset(void *s, int c, size_t n)
{
	void *d = s;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}
