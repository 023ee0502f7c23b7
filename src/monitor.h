/* SPDX-License-Identifier: MIT */
/*
 * The control socket (--monitor PATH): a Unix stream socket, mode 0600,
 * served on the I/O thread, any number of clients. Each sends lines ending
 * in '\n'; each line gets exactly one reply line (cove(1), "MONITOR"):
 *   status -> running | paused     pause, resume, powerdown, quit -> ok
 *   anything else, or a line over MONITOR_MAX_LINE bytes -> error: REASON
 * A client that does not read its replies until its socket buffer is full is
 * disconnected; one that disconnects mid-line is forgotten.
 */
#ifndef COVE_MONITOR_H
#define COVE_MONITOR_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define MONITOR_MAX_LINE 256 /* bytes, without the '\n' */

struct iothread;
struct monitor;

enum monitor_cmd {
	MONITOR_CMD_INVALID = 0,
	MONITOR_CMD_STATUS,
	MONITOR_CMD_PAUSE,
	MONITOR_CMD_RESUME,
	MONITOR_CMD_POWERDOWN,
	MONITOR_CMD_QUIT,
};

/* What the commands do; called on the I/O thread. 0 or -errno. */
struct monitor_ops {
	bool (*is_paused)(void *opaque);
	int (*pause)(void *opaque); /* returns once every vCPU is stopped */
	int (*resume)(void *opaque);
	int (*powerdown)(void *opaque);
	int (*quit)(void *opaque); /* called after the "ok" went out */
};

/*
 * One command line (without its '\n'): a trailing '\r' and blanks around the
 * word are ignored. MONITOR_CMD_INVALID with *why set otherwise.
 */
enum monitor_cmd monitor_parse(const char *line, size_t len, const char **why);

/*
 * Splits a byte stream into lines of at most MONITOR_MAX_LINE bytes. Feed
 * returns how many bytes it used (up to and including the first '\n'); when
 * a line is complete *done is set and line()/overlong() describe it until the
 * next feed.
 */
struct monitor_linebuf {
	char buf[MONITOR_MAX_LINE + 1];
	size_t len;
	bool overlong;
};
size_t monitor_linebuf_feed(struct monitor_linebuf *lb, const char *data, size_t len, bool *done);
void monitor_linebuf_reset(struct monitor_linebuf *lb);

/* Errors read "reason" (the caller names the flag and path). */
struct monitor *monitor_open(const char *path, struct iothread *io, const struct monitor_ops *ops,
			     void *opaque, GError **err);
/* Disconnects every client and removes the socket file. Not on the I/O thread. */
void monitor_close(struct monitor *m);

#endif
