/* SPDX-License-Identifier: MIT */
#include "virtio_console.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "chardev.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtqueue.h"

/* Port 0 only for now; MULTIPORT would raise this and add queues 2 and 3. */
#define CONSOLE_PORTS	 1
#define CONSOLE_TX_CHUNK 4096

/* virtio 1.2 §5.3.4; no field is valid without a feature, all read 0. */
struct virtio_console_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
};

struct console_port {
	struct virtio_console *con;
	struct chardev *chr;
	unsigned rxq, txq;
	/* We refused input for want of buffers: wake the chardev on the next. */
	bool rx_stalled;
};

struct virtio_console {
	struct virtio_mmio t; /* its mutex guards everything below too */
	struct virtio_console_config config;
	struct console_port port[CONSOLE_PORTS];

	pthread_t worker;
	pthread_cond_t wake;
	bool kicked;
	bool stop;
	uint8_t txbuf[CONSOLE_TX_CHUNK]; /* worker only */
	struct virtq_req tx_req;	 /* worker only */
	struct virtq_req rx_req;	 /* receive callback only */
};

/* §5.3.2: port 0 uses queues 0/1, port n > 0 uses 2n+2 / 2n+3. */
static unsigned port_rxq(unsigned n)
{
	return n ? 2 * n + 2 : 0;
}

static unsigned port_txq(unsigned n)
{
	return n ? 2 * n + 3 : 1;
}

static void console_notify(void *dev, unsigned q)
{
	struct virtio_console *c = dev;

	for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
		struct console_port *port = &c->port[i];

		if (q == port->txq) {
			c->kicked = true;
			pthread_cond_signal(&c->wake);
		} else if (q == port->rxq && port->rx_stalled) {
			/* Never calls back synchronously, so safe under our mutex. */
			port->rx_stalled = false;
			chardev_rx_wakeup(port->chr);
		}
	}
}

static const struct virtio_dev_ops console_ops = {
	.notify = console_notify,
};

/* Host input, on the I/O thread: fill posted receive buffers, no more. */
static size_t console_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct console_port *port = opaque;
	struct virtio_console *c = port->con;
	size_t taken = 0;

	pthread_mutex_lock(&c->t.lock);
	while (taken < len && virtio_mmio_pop(&c->t, port->rxq, &c->rx_req) > 0) {
		uint64_t n = len - taken;
		int64_t w;

		if (n > c->rx_req.write_len)
			n = c->rx_req.write_len;
		w = virtq_req_write(c->t.p.mem, &c->rx_req, 0, buf + taken, n);
		if (w < 0)
			w = 0;
		virtio_mmio_push(&c->t, port->rxq, c->rx_req.head, (uint32_t)w);
		taken += (size_t)w;
	}
	if (taken < len)
		port->rx_stalled = true;
	pthread_mutex_unlock(&c->t.lock);
	return taken;
}

/* Sends one transmit chain to the chardev; mutex held on entry and exit. */
static void console_tx(struct virtio_console *c, struct console_port *port)
{
	struct virtq_req *req = &c->tx_req;
	uint64_t gen = c->t.regs.reset_count;

	for (uint64_t off = 0; off < req->read_len;) {
		int64_t n = virtq_req_read(c->t.p.mem, req, off, c->txbuf, sizeof(c->txbuf));

		if (n <= 0)
			break;
		/* chardev_write may block on the host terminal: not under the mutex. */
		pthread_mutex_unlock(&c->t.lock);
		chardev_write(port->chr, c->txbuf, (size_t)n);
		pthread_mutex_lock(&c->t.lock);
		if (c->t.regs.reset_count != gen)
			return;
		off += (uint64_t)n;
	}
	/* The device wrote nothing into a transmit buffer. */
	virtio_mmio_push(&c->t, port->txq, req->head, 0);
}

static void *console_worker(void *opaque)
{
	struct virtio_console *c = opaque;

	pthread_mutex_lock(&c->t.lock);
	while (!c->stop) {
		if (!c->kicked) {
			pthread_cond_wait(&c->wake, &c->t.lock);
			continue;
		}
		c->kicked = false;
		for (unsigned i = 0; i < CONSOLE_PORTS; i++) {
			struct console_port *port = &c->port[i];

			while (!c->stop && virtio_mmio_pop(&c->t, port->txq, &c->tx_req) > 0)
				console_tx(c, port);
		}
	}
	pthread_mutex_unlock(&c->t.lock);
	return NULL;
}

static int start_worker(struct virtio_console *c)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&c->worker, NULL, console_worker, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_setname_np(c->worker, "virtio-console");
	return 0;
}

static void stop_worker(struct virtio_console *c)
{
	pthread_mutex_lock(&c->t.lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->t.lock);
	pthread_join(c->worker, NULL);
}

int virtio_console_create(struct chardev *chr, struct bus *mmio, uint64_t base,
			  struct guest_mem *mem, struct irq_sink *irq, uint32_t gsi,
			  struct virtio_console **out)
{
	struct virtio_mmio_params mp;
	struct virtio_console *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < CONSOLE_PORTS; i++)
		c->port[i] = (struct console_port){
			.con = c,
			.chr = i == 0 ? chr : NULL,
			.rxq = port_rxq(i),
			.txq = port_txq(i),
		};
	mp = (struct virtio_mmio_params){
		.ops = &console_ops,
		.dev = c,
		.device_id = VIRTIO_ID_CONSOLE,
		.features = 0,
		.nqueues = 2,
		.config = &c->config,
		.config_size = sizeof(c->config),
		.mem = mem,
		.irq = irq,
		.gsi = gsi,
	};
	ret = virtio_mmio_init(&c->t, &mp);
	if (ret)
		goto out_free;
	ret = -pthread_cond_init(&c->wake, NULL);
	if (ret)
		goto out_fini;
	ret = start_worker(c);
	if (ret)
		goto out_cond;
	ret = virtio_mmio_register(&c->t, mmio, base);
	if (ret)
		goto out_worker;
	if (chr)
		chardev_set_rx(chr, console_rx, &c->port[0]);
	*out = c;
	return 0;

out_worker:
	stop_worker(c);
out_cond:
	pthread_cond_destroy(&c->wake);
out_fini:
	virtio_mmio_fini(&c->t);
out_free:
	free(c);
	return ret;
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONSOLE_PORTS; i++)
		if (c->port[i].chr)
			chardev_set_rx(c->port[i].chr, NULL, NULL);
	stop_worker(c);
	pthread_cond_destroy(&c->wake);
	virtio_mmio_fini(&c->t);
	free(c);
}
