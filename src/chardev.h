/* SPDX-License-Identifier: MIT */
/*
 * Host-side character endpoints for guest consoles: "stdio" (raw terminal
 * when stdin is a tty, Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A), "none",
 * a file path (output only), or "unix:PATH", a listening Unix stream socket
 * (unixsock.h) with one client at a time: a second connection is closed at
 * once; output while no client is connected, or that does not fit the
 * client's socket buffer, is dropped so that a vCPU never waits; a client
 * that hung up while the guest was not reading loses its unread input to the
 * next client. Input is read on the I/O thread (iothread.h) and handed to one
 * receiver with flow control, so piped input is never dropped: what the
 * receiver does not accept is kept until it asks again.
 */
#ifndef COVE_CHARDEV_H
#define COVE_CHARDEV_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

struct chardev;
struct iothread;

/* Returns how many bytes of buf the receiver took; called on the I/O thread. */
typedef size_t (*chardev_rx_fn)(void *opaque, const uint8_t *buf, size_t len);
/* The user typed the quit escape (Ctrl-A x) or input reached end of file. */
typedef void (*chardev_event_fn)(void *opaque, int event);

enum { CHARDEV_EVENT_QUIT = 1 };

/*
 * spec: "stdio", "none", "unix:PATH" or a path (created or truncated). The
 * stdio endpoint puts a tty into raw mode until chardev_close() or
 * chardev_restore_tty(); a socket's file is removed by chardev_close().
 * Errors read "SPEC: reason".
 */
struct chardev *chardev_open(const char *spec, struct iothread *io, GError **err);
void chardev_close(struct chardev *c);

/* Output; NULL chardev drops the bytes. Safe from any thread. */
void chardev_write(struct chardev *c, const void *buf, size_t len);

void chardev_set_rx(struct chardev *c, chardev_rx_fn fn, void *opaque);
/* The receiver has room again; any thread, never calls back synchronously. */
void chardev_rx_wakeup(struct chardev *c);
void chardev_set_event(struct chardev *c, chardev_event_fn fn, void *opaque);

/* Async-signal-safe: puts a terminal back as it was (used on every exit path). */
void chardev_restore_tty(void);

#endif
