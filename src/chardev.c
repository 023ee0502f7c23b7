/* SPDX-License-Identifier: MIT */
#include "chardev.h"
#include "iothread.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_A 0x01

enum chardev_kind { CHARDEV_NONE, CHARDEV_STDIO, CHARDEV_FILE, CHARDEV_SOCKET };

struct chardev {
	enum chardev_kind kind;
	int out_fd, in_fd; /* -1 when absent */
	struct iothread *io;
	GMutex lock;

	/* input, on the I/O thread: bytes read but not yet taken by the receiver */
	uint8_t pending[512];
	size_t npending, pending_off;
	bool escape;	/* the last byte read was Ctrl-A */
	bool stdin_eof; /* end of input (socket: the client shut its sending side) */
	GSource *watch; /* input readable; removed while pending holds bytes */

	/* socket: in_fd == out_fd == the one client, or -1 (I/O thread, under lock) */
	struct unixsock sock;
	GSource *accept_watch, *hup_watch;
	bool detached; /* the I/O thread let go of every source (chardev_close) */

	chardev_rx_fn rx;
	void *rx_opaque;
	chardev_event_fn event;
	void *event_opaque;
};

/* The one terminal cove may have put into raw mode; global because signal handlers restore it. */
static struct termios saved_tio;
static volatile sig_atomic_t tty_raw;

void chardev_restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tty_raw = 0;
	}
}

static void tty_make_raw(void)
{
	struct termios tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio = saved_tio;
	/* the guest's own tty does line discipline and sends "\r\n": pass bytes through as they are */
	cfmakeraw(&tio);
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &tio))
		tty_raw = 1;
}

static void emit_event(struct chardev *c, int ev)
{
	if (c->event)
		c->event(c->event_opaque, ev);
}

static gboolean input_ready(gint fd, GIOCondition cond, gpointer data);

static void watch_input(struct chardev *c)
{
	if (c->watch || c->in_fd < 0 || c->stdin_eof)
		return;
	c->watch = g_unix_fd_source_new(c->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->watch, G_SOURCE_FUNC(input_ready), c, NULL);
	g_source_attach(c->watch, iothread_context(c->io));
}

static void drop_source(GSource **s)
{
	if (*s) {
		g_source_destroy(*s);
		g_source_unref(*s);
		*s = NULL;
	}
}

static void unwatch_input(struct chardev *c)
{
	drop_source(&c->watch);
}

/* Forgets the socket client and whatever it sent that the guest did not take. (I/O thread) */
static void drop_client(struct chardev *c)
{
	unwatch_input(c);
	drop_source(&c->hup_watch);
	g_mutex_lock(&c->lock);
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = c->out_fd = -1;
	g_mutex_unlock(&c->lock);
	c->npending = c->pending_off = 0;
	c->stdin_eof = false;
}

/* The peer closed both directions (POLLHUP), not just its sending side. */
static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static gboolean client_hup(gint fd, GIOCondition cond, gpointer data)
{
	struct chardev *c = data;

	(void)fd;
	(void)cond;
	drop_client(c);
	return G_SOURCE_REMOVE;
}

/*
 * read() saw end of file. stdin: the guest keeps running without input. A
 * socket client that only shut its sending side still gets output until it
 * hangs up.
 */
static void input_ended(struct chardev *c)
{
	unwatch_input(c);
	c->stdin_eof = true;
	if (c->kind != CHARDEV_SOCKET)
		return;
	if (client_gone(c->in_fd)) {
		drop_client(c);
		return;
	}
	c->hup_watch = g_unix_fd_source_new(c->in_fd, G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->hup_watch, G_SOURCE_FUNC(client_hup), c, NULL);
	g_source_attach(c->hup_watch, iothread_context(c->io));
}

/* Hands pending bytes to the receiver; true when all were taken. (I/O thread) */
static bool deliver_pending(struct chardev *c)
{
	chardev_rx_fn rx;
	void *opaque;

	g_mutex_lock(&c->lock);
	rx = c->rx;
	opaque = c->rx_opaque;
	g_mutex_unlock(&c->lock);
	if (!rx) {
		c->npending = c->pending_off = 0;
		return true;
	}
	while (c->pending_off < c->npending) {
		size_t took = rx(opaque, c->pending + c->pending_off, c->npending - c->pending_off);

		if (!took)
			return false;
		c->pending_off += took;
	}
	c->npending = c->pending_off = 0;
	return true;
}

/* Strips the Ctrl-A escapes out of buf (in place); returns the bytes left. */
static size_t filter_escapes(struct chardev *c, uint8_t *buf, size_t n, bool *quit)
{
	size_t w = 0;

	for (size_t r = 0; r < n; r++) {
		uint8_t b = buf[r];

		if (c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				*quit = true;
				return w;
			}
			if (b != CTRL_A)
				buf[w++] = CTRL_A; /* not an escape after all: pass both */
			buf[w++] = b;
		} else if (b == CTRL_A) {
			c->escape = true;
		} else {
			buf[w++] = b;
		}
	}
	return w;
}

static gboolean input_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct chardev *c = data;
	bool quit = false;
	ssize_t n;

	(void)cond;
	n = read(fd, c->pending, sizeof(c->pending));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n < 0 && c->kind == CHARDEV_SOCKET) {
		drop_client(c); /* ECONNRESET and the like */
		return G_SOURCE_REMOVE;
	}
	if (n <= 0) {
		input_ended(c);
		return G_SOURCE_REMOVE;
	}
	c->npending = c->kind == CHARDEV_STDIO && tty_raw
			      ? filter_escapes(c, c->pending, (size_t)n, &quit)
			      : (size_t)n;
	c->pending_off = 0;
	if (quit) {
		c->npending = 0;
		emit_event(c, CHARDEV_EVENT_QUIT);
		return G_SOURCE_CONTINUE;
	}
	if (!deliver_pending(c)) {
		/* receiver is full: stop reading until it calls chardev_rx_wakeup() */
		g_source_unref(c->watch);
		c->watch = NULL;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean rx_wakeup_cb(gpointer data)
{
	struct chardev *c = data;

	if (deliver_pending(c))
		watch_input(c);
	return G_SOURCE_REMOVE;
}

/* A new connection: it becomes the client unless a live one is there. (I/O thread) */
static gboolean accept_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct chardev *c = data;
	int cfd;

	(void)fd;
	(void)cond;
	cfd = unixsock_accept(&c->sock);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	if (c->in_fd >= 0 && !client_gone(c->in_fd)) {
		close(cfd); /* one client at a time */
		return G_SOURCE_CONTINUE;
	}
	if (c->in_fd >= 0)
		drop_client(c); /* hung up while the guest was not reading */
	g_mutex_lock(&c->lock);
	c->in_fd = c->out_fd = cfd;
	g_mutex_unlock(&c->lock);
	watch_input(c);
	return G_SOURCE_CONTINUE;
}

static bool socket_open(struct chardev *c, const char *path, GError **err)
{
	c->kind = CHARDEV_SOCKET;
	if (!c->io) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "unix:%s: needs an I/O thread",
			    path);
		return false;
	}
	if (!unixsock_listen(&c->sock, path, err)) {
		g_prefix_error(err, "unix:%s: ", path);
		return false;
	}
	c->accept_watch = g_unix_fd_source_new(c->sock.fd, G_IO_IN);
	g_source_set_callback(c->accept_watch, G_SOURCE_FUNC(accept_ready), c, NULL);
	g_source_attach(c->accept_watch, iothread_context(c->io));
	return true;
}

struct chardev *chardev_open(const char *spec, struct iothread *io, GError **err)
{
	struct chardev *c = g_new0(struct chardev, 1);

	g_mutex_init(&c->lock);
	c->io = io;
	c->out_fd = c->in_fd = -1;
	c->sock.fd = -1;
	if (g_str_has_prefix(spec, "unix:")) {
		if (!socket_open(c, spec + strlen("unix:"), err)) {
			g_mutex_clear(&c->lock);
			g_free(c);
			return NULL;
		}
	} else if (!strcmp(spec, "none")) {
		c->kind = CHARDEV_NONE;
	} else if (!strcmp(spec, "stdio")) {
		c->kind = CHARDEV_STDIO;
		c->out_fd = STDOUT_FILENO;
		if (io) {
			c->in_fd = STDIN_FILENO;
			tty_make_raw();
		}
	} else {
		c->kind = CHARDEV_FILE;
		c->out_fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", spec,
				    g_strerror(errno));
			g_mutex_clear(&c->lock);
			g_free(c);
			return NULL;
		}
	}
	return c;
}

static gboolean unwatch_cb(gpointer data)
{
	struct chardev *c = data;

	if (c->kind == CHARDEV_SOCKET)
		drop_client(c);
	unwatch_input(c);
	drop_source(&c->accept_watch);
	g_mutex_lock(&c->lock);
	c->in_fd = -1;
	c->detached = true;
	g_mutex_unlock(&c->lock);
	return G_SOURCE_REMOVE;
}

void chardev_close(struct chardev *c)
{
	if (!c)
		return;
	if (c->io && (c->in_fd >= 0 || c->kind == CHARDEV_SOCKET)) {
		/* the watches belong to the I/O thread: remove them there, then wait */
		iothread_call(c->io, unwatch_cb, c);
		for (;;) {
			bool done;

			g_mutex_lock(&c->lock);
			done = c->detached;
			g_mutex_unlock(&c->lock);
			if (done)
				break;
			g_usleep(1000);
		}
	}
	if (c->kind == CHARDEV_STDIO)
		chardev_restore_tty();
	if (c->kind == CHARDEV_FILE)
		close(c->out_fd);
	if (c->kind == CHARDEV_SOCKET)
		unixsock_close(&c->sock);
	g_mutex_clear(&c->lock);
	g_free(c);
}

void chardev_write(struct chardev *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!c || (c->kind != CHARDEV_SOCKET && c->out_fd < 0))
		return;
	g_mutex_lock(&c->lock);
	while (len && c->out_fd >= 0) {
		ssize_t n;

		/*
		 * A socket client that does not keep up loses what does not fit
		 * its socket buffer: a vCPU never waits for it.
		 */
		if (c->kind == CHARDEV_SOCKET)
			n = send(c->out_fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(c->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the host side went away: drop output, the guest goes on */
		p += n;
		len -= (size_t)n;
	}
	g_mutex_unlock(&c->lock);
}

void chardev_set_rx(struct chardev *c, chardev_rx_fn fn, void *opaque)
{
	if (!c)
		return;
	g_mutex_lock(&c->lock);
	c->rx = fn;
	c->rx_opaque = opaque;
	g_mutex_unlock(&c->lock);
	if (c->io && (c->in_fd >= 0 || c->kind == CHARDEV_SOCKET))
		iothread_call(c->io, rx_wakeup_cb, c);
}

void chardev_rx_wakeup(struct chardev *c)
{
	if (c && c->io && (c->in_fd >= 0 || c->kind == CHARDEV_SOCKET))
		iothread_call(c->io, rx_wakeup_cb, c);
}

void chardev_set_event(struct chardev *c, chardev_event_fn fn, void *opaque)
{
	if (!c)
		return;
	c->event = fn;
	c->event_opaque = opaque;
}
