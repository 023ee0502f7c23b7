/* SPDX-License-Identifier: MIT */
#include "monitor.h"
#include "iothread.h"
#include "unixsock.h"

#include <errno.h>
#include <stdarg.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct monitor_client {
	struct monitor *m;
	int fd;
	GSource *watch;
	struct monitor_linebuf lb;
};

struct monitor {
	struct unixsock sock;
	struct iothread *io;
	const struct monitor_ops *ops;
	void *opaque;
	GSource *accept_watch;
	GList *clients; /* I/O thread only */
	GMutex lock;
	bool detached; /* under lock: the I/O thread let go (monitor_close) */
};

/* ---- parsing (pure; tests/unit/core/test_monitor.c) ---- */

static const struct {
	const char *word;
	enum monitor_cmd cmd;
} monitor_words[] = {
	{ "status", MONITOR_CMD_STATUS }, { "pause", MONITOR_CMD_PAUSE },
	{ "resume", MONITOR_CMD_RESUME }, { "powerdown", MONITOR_CMD_POWERDOWN },
	{ "quit", MONITOR_CMD_QUIT },
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

enum monitor_cmd monitor_parse(const char *line, size_t len, const char **why)
{
	while (len && blank(line[len - 1]))
		len--;
	while (len && blank(*line)) {
		line++;
		len--;
	}
	if (!len) {
		*why = "empty line (commands: status, pause, resume, powerdown, quit)";
		return MONITOR_CMD_INVALID;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(monitor_words); i++)
		if (strlen(monitor_words[i].word) == len &&
		    !memcmp(monitor_words[i].word, line, len))
			return monitor_words[i].cmd;
	*why = "unknown command (commands: status, pause, resume, powerdown, quit)";
	return MONITOR_CMD_INVALID;
}

void monitor_linebuf_reset(struct monitor_linebuf *lb)
{
	lb->len = 0;
	lb->overlong = false;
	lb->buf[0] = '\0';
}

size_t monitor_linebuf_feed(struct monitor_linebuf *lb, const char *data, size_t len, bool *done)
{
	const char *nl = memchr(data, '\n', len);
	size_t take = nl ? (size_t)(nl - data) : len;
	size_t room = MONITOR_MAX_LINE - lb->len;

	/* what does not fit is dropped, and the line is answered as too long */
	if (take > room) {
		lb->overlong = true;
		memcpy(lb->buf + lb->len, data, room);
		lb->len = MONITOR_MAX_LINE;
	} else {
		memcpy(lb->buf + lb->len, data, take);
		lb->len += take;
	}
	lb->buf[lb->len] = '\0';
	*done = nl != NULL;
	return nl ? take + 1 : len;
}

/* ---- serving clients (I/O thread) ---- */

static void client_free(struct monitor_client *cl)
{
	struct monitor *m = cl->m;

	m->clients = g_list_remove(m->clients, cl);
	if (cl->watch) {
		g_source_destroy(cl->watch);
		g_source_unref(cl->watch);
	}
	close(cl->fd);
	g_free(cl);
}

/* One reply line; false when the client cannot take it (it is then dropped). */
static bool reply(struct monitor_client *cl, const char *fmt, ...)
{
	char buf[MONITOR_MAX_LINE + 16];
	va_list ap;
	ssize_t n;
	int len;

	va_start(ap, fmt);
	len = g_vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return false;
	if ((size_t)len > sizeof(buf) - 2)
		len = (int)sizeof(buf) - 2;
	buf[len++] = '\n';
	do {
		n = send(cl->fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == len;
}

static bool reply_result(struct monitor_client *cl, const char *what, int ret)
{
	if (ret)
		return reply(cl, "error: %s: %s", what, g_strerror(-ret));
	return reply(cl, "ok");
}

static bool handle_line(struct monitor_client *cl)
{
	struct monitor *m = cl->m;
	const struct monitor_ops *ops = m->ops;
	const char *why = NULL;
	enum monitor_cmd cmd;
	bool ok;

	if (cl->lb.overlong)
		return reply(cl, "error: line longer than %d bytes", MONITOR_MAX_LINE);
	cmd = monitor_parse(cl->lb.buf, cl->lb.len, &why);
	switch (cmd) {
	case MONITOR_CMD_STATUS:
		return reply(cl, "%s", ops->is_paused(m->opaque) ? "paused" : "running");
	case MONITOR_CMD_PAUSE:
		return reply_result(cl, "pause", ops->pause(m->opaque));
	case MONITOR_CMD_RESUME:
		return reply_result(cl, "resume", ops->resume(m->opaque));
	case MONITOR_CMD_POWERDOWN:
		return reply_result(cl, "powerdown", ops->powerdown(m->opaque));
	case MONITOR_CMD_QUIT:
		/* answer first: the VM stops and cove exits right after */
		ok = reply(cl, "ok");
		ops->quit(m->opaque);
		return ok;
	case MONITOR_CMD_INVALID:
	default:
		return reply(cl, "error: %s", why ? why : "invalid command");
	}
}

static gboolean client_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct monitor_client *cl = data;
	char buf[512];
	ssize_t n;

	(void)cond;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		/* gone, maybe mid-line: nothing to answer */
		client_free(cl);
		return G_SOURCE_REMOVE;
	}
	for (size_t off = 0; off < (size_t)n;) {
		bool done;

		off += monitor_linebuf_feed(&cl->lb, buf + off, (size_t)n - off, &done);
		if (!done)
			continue;
		if (!handle_line(cl)) {
			client_free(cl);
			return G_SOURCE_REMOVE;
		}
		monitor_linebuf_reset(&cl->lb);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean accept_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct monitor *m = data;
	struct monitor_client *cl;
	int cfd;

	(void)fd;
	(void)cond;
	cfd = unixsock_accept(&m->sock);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	cl = g_new0(struct monitor_client, 1);
	cl->m = m;
	cl->fd = cfd;
	monitor_linebuf_reset(&cl->lb);
	cl->watch = g_unix_fd_source_new(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(cl->watch, G_SOURCE_FUNC(client_ready), cl, NULL);
	g_source_attach(cl->watch, iothread_context(m->io));
	m->clients = g_list_prepend(m->clients, cl);
	return G_SOURCE_CONTINUE;
}

struct monitor *monitor_open(const char *path, struct iothread *io, const struct monitor_ops *ops,
			     void *opaque, GError **err)
{
	struct monitor *m = g_new0(struct monitor, 1);

	if (!unixsock_listen(&m->sock, path, err)) {
		g_free(m);
		return NULL;
	}
	g_mutex_init(&m->lock);
	m->io = io;
	m->ops = ops;
	m->opaque = opaque;
	m->accept_watch = g_unix_fd_source_new(m->sock.fd, G_IO_IN);
	g_source_set_callback(m->accept_watch, G_SOURCE_FUNC(accept_ready), m, NULL);
	g_source_attach(m->accept_watch, iothread_context(io));
	return m;
}

static gboolean detach_cb(gpointer data)
{
	struct monitor *m = data;

	while (m->clients)
		client_free(m->clients->data);
	g_source_destroy(m->accept_watch);
	g_source_unref(m->accept_watch);
	m->accept_watch = NULL;
	g_mutex_lock(&m->lock);
	m->detached = true;
	g_mutex_unlock(&m->lock);
	return G_SOURCE_REMOVE;
}

void monitor_close(struct monitor *m)
{
	if (!m)
		return;
	/* the sources belong to the I/O thread: remove them there, then wait */
	iothread_call(m->io, detach_cb, m);
	for (;;) {
		bool done;

		g_mutex_lock(&m->lock);
		done = m->detached;
		g_mutex_unlock(&m->lock);
		if (done)
			break;
		g_usleep(1000);
	}
	unixsock_close(&m->sock);
	g_mutex_clear(&m->lock);
	g_free(m);
}
