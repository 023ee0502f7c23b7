/* SPDX-License-Identifier: MIT */
/*
 * A minimal i8042 keyboard controller at ports 0x60 (data) and 0x64
 * (status/command): enough for a guest to probe it, talk to an idle keyboard
 * and reset the machine (command 0xFE, as Linux's "reboot=k" does). There is
 * no auxiliary (mouse) device and no key input from the host.
 */
#ifndef COVE_DEVICES_I8042_H
#define COVE_DEVICES_I8042_H

#include <stdint.h>

struct bus;
struct irq_sink;
struct i8042;

/*
 * Registers the controller's two ports on pio. reset(opaque) is called on the
 * vCPU thread, with the device lock held, when the guest pulses the reset
 * line; it must not access the i8042. Returns 0 or a negative errno.
 */
int i8042_create(struct bus *pio, void (*reset)(void *opaque), void *opaque, struct i8042 **out);
void i8042_destroy(struct i8042 *k);

/*
 * Optional: raise gsi (ISA IRQ 1) while the output buffer holds a byte and
 * the command byte enables the keyboard interrupt. Without it a guest must
 * poll the status port. Call before any vCPU runs.
 */
void i8042_set_irq(struct i8042 *k, struct irq_sink *irq, uint32_t gsi);

#endif
