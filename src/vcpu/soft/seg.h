/* SPDX-License-Identifier: MIT */
/*
 * Segmentation (seg.c): segment loads with the SDM's checks, effective to
 * linear address translation with limit and rights checks, and the shadow
 * descriptor table: after lgdt/lldt every entry is "not yet mapped"; the
 * first load of a selector validates and translates the guest descriptor
 * into the shadow; writes to guest descriptor-table pages invalidate it.
 *
 * The shadow and core's mmu agree through two functions declared here and
 * implemented by core (mmu.c): soft_watch_page() and soft_unwatch_page().
 * Filling an entry watches the guest-physical pages that hold it; every
 * later write to a watched page (through any mapping, or the VMM through
 * notify_mem_write) must call soft_seg_invalidate() on the watching vCPU,
 * which drops exactly the entries whose bytes were written. Only a VM with
 * one vCPU watches: other vCPUs' stores would not be seen, so with several
 * every entry is checked against guest memory on use. Remapping is
 * covered here: the shadow of a table is dropped when CR3, CR0.PG, CR4's
 * paging bits or EFER.LMA differ from when it was filled (whoever changed
 * them), and on invlpg of one of the table's pages.
 */
#ifndef COVE_SOFT_SEG_H
#define COVE_SOFT_SEG_H

#include <stdbool.h>
#include <stdint.h>

#include "excp.h"

struct soft_cpu;

struct soft_seg_state {
	void *shadow; /* seg.c's shadow descriptor table */
	uint64_t fills, invalidations;
	uint64_t hits;	     /* selector loads served from the shadow */
	uint64_t unwatched;  /* fills core could not watch: checked against guest memory on use */
	/*
	 * excp.c's bookkeeping (pending fault, nested delivery, shutdown,
	 * internal error). It lives here because cpu.h embeds this struct and
	 * has no slot of its own for it; see excp.h for the protocol.
	 */
	struct soft_excp_state excp;
};

/* After any change to CR0, EFER, CS or SS: recompute cpl, code64, csize, ssize. */
void soft_mode_changed(struct soft_cpu *c);
/* mov/pop/lds-style load of a data or stack segment register, with every check. */
void soft_seg_load(struct soft_cpu *c, int sreg, uint16_t sel);
/* Segment-relative -> linear, with limit and rights checks (#GP/#SS). */
uint64_t soft_seg_linear(struct soft_cpu *c, int sreg, uint64_t ea, unsigned size, unsigned acc);
/* The VMM or the guest wrote guest-physical [gpa, gpa+len): drop stale shadow entries. */
void soft_seg_invalidate(struct soft_cpu *c, uint64_t gpa, uint64_t len);
/* Drops the whole shadow (both tables); counted as invalidations. */
void soft_seg_flush(struct soft_cpu *c);

void soft_seg_init(struct soft_cpu *c);
void soft_seg_destroy(struct soft_cpu *c);

/*
 * Implemented by core (mmu.c), called by seg.c only.
 *
 * soft_watch_page: translates linear la as an implicit supervisor read,
 * without raising anything; when it maps to guest RAM, stores the
 * guest-physical address of la in *gpa, adds la's guest-physical page to this
 * vCPU's watch set for kind, and returns true. Watching is idempotent (a set
 * per vCPU and kind, not a count). Returns false when la is not mapped or not
 * RAM, or when the VM has more than one vCPU (a watch set sees only its own
 * vCPU's stores); seg.c then re-reads the descriptor from guest memory on
 * every use.
 *
 * While a page is watched with SOFT_WATCH_DESC, every write to it calls
 * soft_seg_invalidate(c, gpa, len) for the watching vCPU c.
 */
enum { SOFT_WATCH_DESC = 1 };
bool soft_watch_page(struct soft_cpu *c, uint64_t la, unsigned kind, uint64_t *gpa);
void soft_unwatch_page(struct soft_cpu *c, uint64_t gpa, unsigned kind);

#endif
