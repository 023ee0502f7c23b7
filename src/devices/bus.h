/* SPDX-License-Identifier: MIT */
/*
 * The port-I/O and MMIO buses. A device registers address ranges with an ops
 * table; an exit (or the soft CPU's in-line I/O) is dispatched to the device
 * that claims the address. Devices raise interrupts through an irq_sink that
 * the VMM wires to the accelerator's irq-line operation.
 *
 * Locking: each registration names the device's mutex; the bus holds it
 * around read/write, so handlers run one at a time per device even with many
 * vCPU threads. A device that is also driven by the host side (e.g. input
 * arriving on the I/O thread) takes the same mutex there.
 */
#ifndef COVE_DEVICES_BUS_H
#define COVE_DEVICES_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* off is relative to the registered base; size is 1, 2, 4 or 8 */
	void (*read)(void *dev, uint64_t off, void *data, unsigned size);
	void (*write)(void *dev, uint64_t off, const void *data, unsigned size);
	/*
	 * Optional, for the soft CPU's pattern rollback: copy the device's
	 * whole guest-visible state out and back in. A device whose writes
	 * reach the host at once (e.g. bytes sent to the console) still has
	 * these, but patterns never write to it.
	 */
	size_t state_size;
	void (*save)(void *dev, void *state);
	void (*load)(void *dev, const void *state);
};

struct bus;

enum bus_kind { BUS_PIO, BUS_MMIO };

int bus_create(enum bus_kind kind, unsigned ncpus, struct bus **out);
void bus_destroy(struct bus *b);

/*
 * Claims [base, base+len) for dev. lock may be NULL for a device with no
 * mutable state. -EEXIST on overlap. Register before any vCPU runs.
 */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev,
		 pthread_mutex_t *lock);

/*
 * Dispatches one access from vCPU cpu. Returns 0, or -ENOENT when no device
 * claims addr (a read then returns all ones), or -EAGAIN when cpu holds a
 * checkpoint and the device cannot save its state.
 */
int bus_access(struct bus *b, int cpu, uint64_t addr, void *data, unsigned size, bool write);

/*
 * Checkpoints for one vCPU: from bus_checkpoint() on, the first access to
 * each device saves its state and keeps its lock held, so nothing else
 * changes it; bus_rollback() restores those devices, bus_commit() keeps the
 * changes. Both release the locks. Accesses must not block in between.
 */
int bus_checkpoint(struct bus *b, int cpu);
void bus_rollback(struct bus *b, int cpu);
void bus_commit(struct bus *b, int cpu);

/* Counters, for --stats and tests. */
uint64_t bus_unclaimed_accesses(const struct bus *b);

/* Interrupt lines as devices see them. */
struct irq_sink {
	void (*set_level)(struct irq_sink *s, uint32_t gsi, int level);
};

static inline void irq_sink_set(struct irq_sink *s, uint32_t gsi, int level)
{
	if (s)
		s->set_level(s, gsi, level);
}

#endif
