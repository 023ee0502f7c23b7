/* SPDX-License-Identifier: MIT */
/*
 * A test-guest exit port, compatible with QEMU's isa-debug-exit
 * (-device isa-debug-exit,iobase=0xf4,iosize=0x04): a write of value v, of
 * any width, ends the run with status (v << 1) | 1. Reads return 0.
 */
#ifndef COVE_DEVICES_DEBUGEXIT_H
#define COVE_DEVICES_DEBUGEXIT_H

#include <stdint.h>

struct bus;
struct debugexit;

/*
 * Registers [port, port+4) on pio. exit_fn(opaque, status) runs on the vCPU
 * thread with the device lock held, and gets the int QEMU would hand to
 * exit(3): (v << 1) | 1 truncated to 32 bits; the process status a shell sees
 * is its low 8 bits. Returns 0 or a negative errno.
 */
int debugexit_create(struct bus *pio, uint16_t port, void (*exit_fn)(void *opaque, int status),
		     void *opaque, struct debugexit **out);
void debugexit_destroy(struct debugexit *d);

#endif
