/* SPDX-License-Identifier: MIT */
#include "daemon/monitor.h"

#include <errno.h>
#include <poll.h>
#include <glib-unix.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The contract bounds a line to 256 bytes; a longer reply is a broken monitor. */
#define MONITOR_LINE_MAX 512

struct mreq {
	int fd;
	GString *line;
	guint io_src, timer;
	monitor_cb cb;
	void *data;
	char *why;
};

static void finish(struct mreq *r, const char *reply)
{
	if (r->io_src)
		g_source_remove(r->io_src);
	if (r->timer)
		g_source_remove(r->timer);
	if (r->fd >= 0)
		close(r->fd);
	r->cb(reply, reply ? NULL : (r->why ? r->why : "no reply"), r->data);
	g_string_free(r->line, TRUE);
	g_free(r->why);
	g_free(r);
}

static gboolean on_idle_fail(gpointer data)
{
	finish(data, NULL);
	return G_SOURCE_REMOVE;
}

static gboolean on_timeout(gpointer data)
{
	struct mreq *r = data;

	r->timer = 0;
	g_free(r->why);
	r->why = g_strdup("the monitor did not answer in time");
	finish(r, NULL);
	return G_SOURCE_REMOVE;
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct mreq *r = data;
	char buf[256];
	ssize_t n;
	char *nl;

	(void)cond;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	r->io_src = 0;
	if (n <= 0) {
		r->why = g_strdup("the monitor closed the connection");
		finish(r, NULL);
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(r->line, buf, n);
	nl = memchr(r->line->str, '\n', r->line->len);
	if (nl) {
		*nl = 0;
		finish(r, r->line->str);
		return G_SOURCE_REMOVE;
	}
	if (r->line->len > MONITOR_LINE_MAX) {
		r->why = g_strdup("the monitor's reply is too long");
		finish(r, NULL);
		return G_SOURCE_REMOVE;
	}
	r->io_src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, r);
	return G_SOURCE_REMOVE;
}

void monitor_request(const char *path, const char *cmd, unsigned timeout_ms, monitor_cb cb,
		     void *data)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mreq *r = g_new0(struct mreq, 1);
	char *line = g_strdup_printf("%s\n", cmd);
	size_t len = strlen(line);

	r->cb = cb;
	r->data = data;
	r->line = g_string_new(NULL);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (strlen(path) >= sizeof(sa.sun_path) || r->fd < 0) {
		r->why = g_strdup_printf("%s: cannot make a socket", path);
		goto fail;
	}
	strcpy(sa.sun_path, path);
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r->why = g_strdup_printf("%s: %s", path, g_strerror(errno));
		goto fail;
	}
	/* a line this short fits in an empty socket buffer */
	if (send(r->fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		r->why = g_strdup_printf("%s: write failed", path);
		goto fail;
	}
	g_free(line);
	r->io_src = g_unix_fd_add(r->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, r);
	r->timer = g_timeout_add(timeout_ms, on_timeout, r);
	return;
fail:
	g_free(line);
	g_idle_add(on_idle_fail, r);
}

char *monitor_request_sync(const char *path, const char *cmd, unsigned timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	char *line = g_strdup_printf("%s\n", cmd), buf[MONITOR_LINE_MAX + 1];
	size_t have = 0;
	int fd = -1;
	char *reply = NULL;

	if (strlen(path) >= sizeof(sa.sun_path))
		goto out;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line))
		goto out;
	while (have < MONITOR_LINE_MAX) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		gint64 left = (end - g_get_monotonic_time()) / 1000;
		ssize_t n;
		char *nl;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf + have, MONITOR_LINE_MAX - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		nl = memchr(buf, '\n', have);
		if (nl) {
			reply = g_strndup(buf, (gsize)(nl - buf));
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	g_free(line);
	return reply;
}
