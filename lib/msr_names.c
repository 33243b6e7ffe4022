// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "msr_names.h"

const char *msr_name(uint32_t index)
{
	/* A few rotating buffers, so one message can name several MSRs. */
	static __thread char buf[4][24];
	static __thread unsigned int next;
	unsigned int i;
	char *b;

	for (i = 0; i < msr_names_count; i++)
		if (msr_names[i].index == index)
			return msr_names[i].name;

	b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "MSR_0x%x", index);
	return b;
}
