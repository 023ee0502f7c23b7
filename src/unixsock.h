/* SPDX-License-Identifier: MIT */
/*
 * Listening Unix stream sockets for the console (chardev.h) and the monitor
 * (monitor.h): created mode 0600, a stale socket file is replaced, anything
 * else at the path is an error, and the file is removed again only if it is
 * still the one cove bound.
 */
#ifndef COVE_UNIXSOCK_H
#define COVE_UNIXSOCK_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

struct unixsock {
	int fd; /* listening, non-blocking, close-on-exec; -1 when closed */
	char *path;
	dev_t dev;
	ino_t ino;
};

/*
 * Checks what can be checked before anything is created: the path is not
 * empty and fits sun_path, its folder exists, and nothing but a socket is at
 * the path. Error messages give the reason only; callers name the path.
 */
bool unixsock_check_path(const char *path, GError **err);
/* Binds and listens; on error s->fd stays -1. */
bool unixsock_listen(struct unixsock *s, const char *path, GError **err);
/* Closes the socket and removes its file (if it is still ours). */
void unixsock_close(struct unixsock *s);
/* Accepts one pending connection: a non-blocking fd, or -1 (none, or an error). */
int unixsock_accept(struct unixsock *s);

#endif
