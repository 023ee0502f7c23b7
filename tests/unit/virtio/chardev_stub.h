/* SPDX-License-Identifier: MIT */
/*
 * A chardev for the console tests: it records output and lets the test play
 * the I/O thread, feeding input through the registered receiver. The real
 * chardev needs a terminal or a file and an I/O thread, and cannot show the
 * receiver's flow control from outside.
 */
#ifndef COVE_TESTS_VIRTIO_CHARDEV_STUB_H
#define COVE_TESTS_VIRTIO_CHARDEV_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "chardev.h"

struct chardev *stub_chardev_new(void);
void stub_chardev_free(struct chardev *c);
/* Bytes written so far (guest output), NUL-terminated copy. */
size_t stub_chardev_output(struct chardev *c, char *buf, size_t size);
/* Hands input to the receiver as the I/O thread would; returns bytes taken. */
size_t stub_chardev_feed(struct chardev *c, const void *buf, size_t len);
unsigned stub_chardev_wakeups(struct chardev *c);
int stub_chardev_has_receiver(struct chardev *c);

#endif
