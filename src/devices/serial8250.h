/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART, used as the COM1 console. Eight byte-wide registers at base;
 * transmitted bytes go to a chardev at once, host input arrives through
 * serial8250_receive() with flow control (nothing is ever dropped).
 */
#ifndef COVE_DEVICES_SERIAL8250_H
#define COVE_DEVICES_SERIAL8250_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct chardev;
struct irq_sink;
struct serial8250;

/*
 * Registers [base, base+8) on pio and drives gsi through irq (a level line).
 * chr may be NULL (output dropped, no input); otherwise this UART becomes its
 * receiver. Returns 0 or a negative errno.
 */
int serial8250_create(struct bus *pio, uint16_t base, struct irq_sink *irq, uint32_t gsi,
		      struct chardev *chr, struct serial8250 **out);

/* Detaches from the chardev. The bus must no longer dispatch to s. */
void serial8250_destroy(struct serial8250 *s);

/*
 * Host input. Returns how many bytes of buf fit into the receive FIFO; when
 * that is fewer than len, the UART calls chardev_rx_wakeup() once the guest
 * has drained the FIFO. Any thread.
 */
size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len);

#endif
