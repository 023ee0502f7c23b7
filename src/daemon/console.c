/* SPDX-License-Identifier: MIT */
#include "daemon/console.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

/* Keystrokes the guest has not taken yet; beyond this they are dropped. */
#define CONSOLE_INBUF_MAX 65536

struct console {
	int fd;
	guint in_src, out_src;
	GByteArray *pending; /* client -> guest */
	struct rpc_stream *stream;
	console_gone_cb gone;
	void *owner;
};

static void console_free(struct console *c)
{
	if (c->in_src)
		g_source_remove(c->in_src);
	if (c->out_src)
		g_source_remove(c->out_src);
	close(c->fd);
	g_byte_array_unref(c->pending);
	c->gone(c->owner, c);
	g_free(c);
}

static gboolean on_guest_output(gint fd, GIOCondition cond, gpointer data)
{
	struct console *c = data;
	uint8_t buf[16384];
	ssize_t n;

	(void)cond;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->in_src = 0;
		console_close(c);
		return G_SOURCE_REMOVE;
	}
	/* a client that does not read loses output rather than stalling the daemon */
	rpc_stream_send(c->stream, buf, (size_t)n);
	return G_SOURCE_CONTINUE;
}

static void flush_pending(struct console *c);

static gboolean on_guest_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct console *c = data;

	(void)fd;
	(void)cond;
	c->out_src = 0;
	flush_pending(c);
	return G_SOURCE_REMOVE;
}

static void flush_pending(struct console *c)
{
	while (c->pending->len) {
		ssize_t n = send(c->fd, c->pending->data, c->pending->len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		g_byte_array_remove_range(c->pending, 0, (guint)n);
	}
	if (c->pending->len && !c->out_src)
		c->out_src = g_unix_fd_add(c->fd, G_IO_OUT, on_guest_writable, c);
}

static void from_client(void *priv, const uint8_t *p, size_t n)
{
	struct console *c = priv;

	if (c->pending->len + n > CONSOLE_INBUF_MAX)
		return;
	g_byte_array_append(c->pending, p, (guint)n);
	flush_pending(c);
}

/* The client finished or aborted: its stream is gone already. */
static void client_ended(void *priv)
{
	struct console *c = priv;

	c->stream = NULL;
	console_free(c);
}

static const struct rpc_stream_ops console_stream_ops = {
	.data = from_client,
	.finish = client_ended,
	.abort = client_ended,
};

struct console *console_open(const char *path, struct rpc_call *call, console_gone_cb gone,
			     void *owner, GError **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct console *c;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, COVE_ERROR, 0, "%s: path too long", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		g_set_error(err, COVE_ERROR, 0, "console %s: %s", path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	c = g_new0(struct console, 1);
	c->fd = fd;
	c->pending = g_byte_array_new();
	c->gone = gone;
	c->owner = owner;
	c->stream = rpc_stream_open(call, &console_stream_ops, c);
	c->in_src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_guest_output, c);
	return c;
}

void console_close(struct console *c)
{
	if (c->stream)
		rpc_stream_end(c->stream);
	c->stream = NULL;
	console_free(c);
}
