/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2 §5.3) over virtio-mmio with one port, port 0,
 * connected to a chardev. Guest output (transmitq) is written to the chardev
 * from the device's worker thread; host input arrives on the I/O thread and
 * is taken only as far as the guest has posted receive buffers, the rest
 * stays in the chardev until the guest posts more (chardev_rx_wakeup).
 *
 * Ports are kept in a table indexed by port number with their queue numbers
 * computed as §5.3.2 lays them out, so named ports (VIRTIO_CONSOLE_F_MULTIPORT
 * with its control queues) can be added without reshaping the device.
 */
#ifndef COVE_DEVICES_VIRTIO_VIRTIO_CONSOLE_H
#define COVE_DEVICES_VIRTIO_VIRTIO_CONSOLE_H

#include <stdint.h>

struct bus;
struct chardev;
struct guest_mem;
struct irq_sink;
struct virtio_console;

/* Feature bits, virtio 1.2 §5.3.3 (none offered yet) */
#define VIRTIO_CONSOLE_F_SIZE	     0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/*
 * chr may be NULL (output dropped, no input). Takes over chr's receiver
 * (chardev_set_rx) until destroy. Returns 0 or -errno.
 */
int virtio_console_create(struct chardev *chr, struct bus *mmio, uint64_t base,
			  struct guest_mem *mem, struct irq_sink *irq, uint32_t gsi,
			  struct virtio_console **out);
/*
 * Detaches from the chardev and stops the worker. As for virtio-blk, only
 * once no vCPU can reach the window any more. Relies on chardev_set_rx(chr,
 * NULL, NULL) returning only when no receive callback is running.
 */
void virtio_console_destroy(struct virtio_console *c);

#endif
