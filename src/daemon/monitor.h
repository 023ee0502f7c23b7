/* SPDX-License-Identifier: MIT */
/*
 * A client of a cove process's --monitor socket: one line out, one line back
 * (status, pause, resume, powerdown, quit). Asynchronous on the default main
 * context; the callback always runs later, never inside monitor_request().
 */
#ifndef COVE_DAEMON_MONITOR_H
#define COVE_DAEMON_MONITOR_H

/* reply is the line without '\n', or NULL with why set when there was none. */
typedef void (*monitor_cb)(const char *reply, const char *why, void *data);

void monitor_request(const char *path, const char *cmd, unsigned timeout_ms, monitor_cb cb,
		     void *data);

/* Blocking, for start-up only (before coved serves anyone): the reply line, or NULL. */
char *monitor_request_sync(const char *path, const char *cmd, unsigned timeout_ms);

#endif
