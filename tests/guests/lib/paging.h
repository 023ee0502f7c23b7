/* SPDX-License-Identifier: MIT */
/*
 * What the paging guests (paging32, paging_pae, paging64) share: probes that touch one address
 * at CPL 0 or CPL 3, and the checks of a #PF's error code and CR2 (SDM Vol.3 §4.7).
 */
#ifndef COVE_GUEST_PAGING_H
#define COVE_GUEST_PAGING_H

#include "guest.h"
#include "trap.h"

/* Supervisor probes: the argument is the address. Read, write a dword, or call it. */
extern char p_read[], p_write[], p_call[];
/* User probes, run by probe_user(): the address is in u_target. */
extern char u_read[], u_write[], u_call[];
extern volatile ulong u_target;

/* Runs a p_* probe on addr at CPL 0, a u_* probe at CPL 3; trap_catch's result. */
int probe_sup(void *probe, ulong addr, struct trap_info *ti);
int probe_user(void *probe, ulong addr, struct trap_info *ti);

/* The probe raised #PF with error code err and CR2 = addr. */
void expect_pf(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr);
/*
 * A reserved-bit fault: P is set as well (SDM Vol.3 §4.7: "bit 3 of the error code can be set
 * only if bit 0 is also set"). QEMU TCG 7.2 leaves P clear; accepted there only (tcg_quirk).
 */
void expect_rsvd(const char *what, int c, const struct trap_info *ti, ulong err, ulong addr);

#endif
