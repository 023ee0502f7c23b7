/* SPDX-License-Identifier: MIT */
/*
 * isa-debug-exit: the value written, zero-extended from the access width
 * (1, 2 or 4 bytes, at any offset in the 4-byte window), is shifted left and
 * ORed with 1, so a guest can never produce status 0 and "the guest exited
 * through the port" is told apart from a normal VMM exit.
 */
#include "devices/debugexit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"

#define DEBUGEXIT_IOSIZE 4

struct debugexit {
	pthread_mutex_t lock; /* serialises exit_fn between vCPUs */
	void (*exit_fn)(void *opaque, int status);
	void *opaque;
};

static void debugexit_read(void *dev, uint64_t off, void *data, unsigned size)
{
	(void)dev;
	(void)off;
	memset(data, 0, size);
}

static void debugexit_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct debugexit *d = dev;
	uint64_t v = 0;

	(void)off;
	/* x86 is little-endian: the low bytes of v are the bytes written. */
	memcpy(&v, data, size < sizeof(v) ? size : sizeof(v));
	if (d->exit_fn)
		d->exit_fn(d->opaque, (int)(uint32_t)((v << 1) | 1));
}

/* No guest-visible state: the port remembers nothing. */
static void debugexit_save(void *dev, void *state)
{
	(void)dev;
	(void)state;
}

static void debugexit_load(void *dev, const void *state)
{
	(void)dev;
	(void)state;
}

static const struct bus_ops debugexit_ops = {
	.read = debugexit_read,
	.write = debugexit_write,
	.state_size = 0,
	.save = debugexit_save,
	.load = debugexit_load,
};

int debugexit_create(struct bus *pio, uint16_t port, void (*exit_fn)(void *opaque, int status),
		     void *opaque, struct debugexit **out)
{
	struct debugexit *d;
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ret = -pthread_mutex_init(&d->lock, NULL);
	if (ret)
		goto out_free;
	d->exit_fn = exit_fn;
	d->opaque = opaque;
	ret = bus_register(pio, port, DEBUGEXIT_IOSIZE, &debugexit_ops, d, &d->lock);
	if (ret)
		goto out_mutex;
	*out = d;
	return 0;

out_mutex:
	pthread_mutex_destroy(&d->lock);
out_free:
	free(d);
	return ret;
}

void debugexit_destroy(struct debugexit *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}
