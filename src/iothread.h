/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread: a GLib main loop of its own, where host-side work that can
 * block (stdin, image files, sockets) is done, never inside a vCPU exit.
 */
#ifndef COVE_IOTHREAD_H
#define COVE_IOTHREAD_H

#include <glib.h>

struct iothread;

struct iothread *iothread_start(const char *name);
void iothread_stop(struct iothread *t); /* joins the thread */
GMainContext *iothread_context(struct iothread *t);
/* Runs fn(data) once on the I/O thread; any thread. */
void iothread_call(struct iothread *t, GSourceFunc fn, gpointer data);

#endif
