/* SPDX-License-Identifier: MIT */
#include "chardev_stub.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct chardev {
	pthread_mutex_t lock;
	char out[65536];
	size_t out_len;
	chardev_rx_fn rx;
	void *rx_opaque;
	unsigned wakeups;
};

struct chardev *stub_chardev_new(void)
{
	struct chardev *c = calloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void stub_chardev_free(struct chardev *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void chardev_write(struct chardev *c, const void *buf, size_t len)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (len > sizeof(c->out) - c->out_len)
		len = sizeof(c->out) - c->out_len;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	pthread_mutex_unlock(&c->lock);
}

void chardev_set_rx(struct chardev *c, chardev_rx_fn fn, void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->rx = fn;
	c->rx_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

void chardev_rx_wakeup(struct chardev *c)
{
	pthread_mutex_lock(&c->lock);
	c->wakeups++;
	pthread_mutex_unlock(&c->lock);
}

size_t stub_chardev_output(struct chardev *c, char *buf, size_t size)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->out_len < size - 1 ? c->out_len : size - 1;
	memcpy(buf, c->out, n);
	buf[n] = 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t stub_chardev_feed(struct chardev *c, const void *buf, size_t len)
{
	chardev_rx_fn fn;
	void *opaque;

	pthread_mutex_lock(&c->lock);
	fn = c->rx;
	opaque = c->rx_opaque;
	pthread_mutex_unlock(&c->lock);
	return fn ? fn(opaque, buf, len) : 0;
}

unsigned stub_chardev_wakeups(struct chardev *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->wakeups;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int stub_chardev_has_receiver(struct chardev *c)
{
	int r;

	pthread_mutex_lock(&c->lock);
	r = c->rx != NULL;
	pthread_mutex_unlock(&c->lock);
	return r;
}
