/* SPDX-License-Identifier: MIT */
/*
 * The PC's 8254 programmable interval timer at 1.193182 MHz: channels 0-2 on
 * ports 0x40-0x42, the control word on 0x43, and system control port B
 * (0x61: channel 2 gate, speaker enable, refresh toggle, OUT2).
 *
 * Time is guest time from the guest_clock given at create. A count written
 * at guest time t has decremented floor((now - t) * 1193182 / 1e9) times at
 * now, so counter reads and OUT2 are exact functions of guest time (Linux
 * calibrates its TSC against them). Channel 0's OUT drives IRQ0: each rising
 * edge becomes a pulse irq(1), irq(0) when pit_advance() (or any port
 * access, which checks first) passes it; edges that were missed coalesce
 * into one pulse, as KVM's PIT does without reinjection.
 *
 * No locking, no threads, no sleeping: the owner serialises calls and asks
 * pit_next_deadline() when to call pit_advance() next.
 */
#ifndef COVE_IRQCHIP_PIT8254_H
#define COVE_IRQCHIP_PIT8254_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"

#define PIT_HZ		 1193182ull
#define PIT_PORT_CH0	 0x40
#define PIT_PORT_CONTROL 0x43
#define PIT_PORT_SYSCTL	 0x61 /* port B: gate 2 (bit 0), speaker (1), OUT2 (5) */
#define PIT_STATE_SIZE	 512  /* upper bound of pit_save()'s buffer */

struct pit;

struct pit_params {
	struct guest_clock *clock; /* NULL is host time */
	/* IRQ0 level; called from inside pit_advance and the port handlers. */
	void (*irq)(void *opaque, int level);
	void *opaque;
};

int pit_create(const struct pit_params *p, struct pit **out);
void pit_destroy(struct pit *pit);
/* Channels unprogrammed (KVM's mode 0xff), gates 0 and 1 high, gate 2 low. */
void pit_reset(struct pit *pit);

bool pit_owns_port(uint16_t port);
/* Byte accesses; -ENOENT for a port that is not the PIT's. */
int pit_io_read(struct pit *pit, uint16_t port, uint8_t *val);
int pit_io_write(struct pit *pit, uint16_t port, uint8_t val);

/* Guest ns of the next IRQ0 edge (maybe already past), or UINT64_MAX. */
uint64_t pit_next_deadline(const struct pit *pit);
void pit_advance(struct pit *pit, uint64_t now_ns);

/*
 * KVM_GET/SET_PIT2 format. count_load_time is in guest ns of this PIT's
 * clock (KVM's is host ktime: an accelerator that moves a snapshot between
 * the two rebases it). Lossy only for states KVM cannot express: a mode 0/4
 * count frozen by a low gate resumes as if running.
 */
void pit_get_state(struct pit *pit, struct kvm_pit_state2 *s);
void pit_set_state(struct pit *pit, const struct kvm_pit_state2 *s);

/* bus_ops-compatible flat copies of the guest-visible state. */
void pit_save(void *dev, void *state);
void pit_load(void *dev, const void *state);

#endif
