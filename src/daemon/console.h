/* SPDX-License-Identifier: MIT */
/*
 * virDomainOpenConsole: joins an RPC stream to a cove process's serial console
 * socket (--console unix:PATH). Guest output becomes STREAM CONTINUE packets;
 * the client's packets are written to the guest. Either side's end closes both.
 */
#ifndef COVE_DAEMON_CONSOLE_H
#define COVE_DAEMON_CONSOLE_H

#include <glib.h>

#include "daemon/rpc.h"

struct console;

/* Called once when the console is over (either side); the console is freed after. */
typedef void (*console_gone_cb)(void *owner, struct console *c);

/* Connects to path and binds the stream to call (whose OK reply the caller sends next). */
struct console *console_open(const char *path, struct rpc_call *call, console_gone_cb gone,
			     void *owner, GError **err);
/* The owner ends it (the domain stopped, or another client forced it away). */
void console_close(struct console *c);

#endif
