// SPDX-License-Identifier: MIT
/*
 * Data breakpoints in DR0-DR3 (SDM Vol.3 §18.2.4, §18.2.5, §18.3.1.2).
 * mmu.c calls soft_dbg_data() for every explicit data access while
 * c->dbg_data says DR7 enables one, and a match sets DR6.Bn; run.c, which
 * runs one instruction at a time while DR7 enables anything, clears B0-B3
 * before the instruction and delivers the trap after it (step_one). I/O
 * breakpoints (R/W = 10 with CR4.DE) are not implemented.
 */
#include "sys_priv.h"

#define DR7_RW(dr7, n)	(((dr7) >> (16 + 4 * (n))) & 3)
#define DR7_LEN(dr7, n) (((dr7) >> (18 + 4 * (n))) & 3)
#define RW_WRITE	1u
#define RW_ACCESS	3u

void soft_dbg_update(struct soft_cpu *c)
{
	uint64_t dr7 = c->dr[7];
	bool on = false;

	for (unsigned n = 0; n < 4; n++) {
		unsigned rw = DR7_RW(dr7, n);

		if (((dr7 >> (2 * n)) & 3) && (rw == RW_WRITE || rw == RW_ACCESS))
			on = true;
	}
	c->dbg_data = on;
}

void soft_dbg_data(struct soft_cpu *c, uint64_t la, unsigned size, bool write)
{
	/* LEN: 00 one byte, 01 two, 10 eight, 11 four; the address's low bits are ignored */
	static const uint8_t len[4] = { 1, 2, 8, 4 };
	uint64_t dr7 = c->dr[7];

	for (unsigned n = 0; n < 4; n++) {
		unsigned rw = DR7_RW(dr7, n);

		if (!((dr7 >> (2 * n)) & 3) || !(rw == RW_ACCESS || (rw == RW_WRITE && write)))
			continue;
		uint64_t l = len[DR7_LEN(dr7, n)];
		uint64_t lo = c->dr[n] & ~(l - 1);
		if (la < lo + l && lo < la + size)
			c->dr[6] |= 1ull << n;
	}
}
