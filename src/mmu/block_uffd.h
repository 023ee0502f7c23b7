/* SPDX-License-Identifier: MIT */
/*
 * block_uffd: an anonymous host range whose pages are filled on demand
 * through Linux userfaultfd (Documentation/admin-guide/mm/userfaultfd.rst).
 * block_ram's copy-in mode uses it: a touch of a page that is not there, by
 * any thread and also by KVM inside KVM_RUN (its page-table walker and its
 * get_user_pages), stops that thread in the kernel until cove fills the page,
 * so unlike a missing memory slot nothing is ever reported to the guest.
 *
 * Offsets are from the start of the range. One thread per range reads the
 * faults and calls fault() for each; fault() must resolve it (copy, zero
 * page or wake) and must never touch the range's missing pages itself.
 */
#ifndef COVE_MMU_BLOCK_UFFD_H
#define COVE_MMU_BLOCK_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block_uffd;

/* write: a write-protect fault on a present page, else the page is missing */
typedef void (*block_uffd_fault_fn)(void *opaque, uint64_t off, bool write);

/*
 * Maps len bytes (a multiple of 4K) of anonymous memory, registers them for
 * missing faults and, where the kernel can, write-protect faults, and starts
 * the fault thread. 0, or -errno with a one-line reason in why.
 */
int block_uffd_open(uint64_t len, block_uffd_fault_fn fault, void *opaque,
		    struct block_uffd **out, char *why, size_t whylen);
/* Stops the thread and unmaps the range. */
void block_uffd_close(struct block_uffd *u);
/* 0 when this host can open a range of len bytes, else -errno and a reason in why. */
int block_uffd_probe(uint64_t len, char *why, size_t whylen);

void *block_uffd_base(const struct block_uffd *u);
/* True when write-protect faults are reported (dirty tracking). */
bool block_uffd_can_protect(const struct block_uffd *u);

/*
 * The operations fault() and its owner resolve faults with; each 0 or -errno.
 * copy: fills missing pages [off, off+len) from src, write-protected if wp,
 * without waking the faulting threads (wake() does, once a block is whole).
 */
int block_uffd_copy(struct block_uffd *u, uint64_t off, const void *src, uint64_t len, bool wp);
int block_uffd_zeropage(struct block_uffd *u, uint64_t off, uint64_t len);
/* Sets or clears write protection; clearing wakes the threads waiting on it. */
int block_uffd_protect(struct block_uffd *u, uint64_t off, uint64_t len, bool wp);
/* Drops the pages (their next touch is a missing fault again). */
int block_uffd_zap(struct block_uffd *u, uint64_t off, uint64_t len);
int block_uffd_wake(struct block_uffd *u, uint64_t off, uint64_t len);

#endif
