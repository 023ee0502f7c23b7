/* SPDX-License-Identifier: MIT */
#include "daemon/rpc.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

/* A client that stops reading is dropped once this much is queued for it. */
#define RPC_OUTQ_MAX (16u << 20)
/* Stream data (console output) is dropped, not queued, past this. */
#define RPC_OUTQ_STREAM_MAX (1u << 20)
#define RPC_READ_CHUNK	    65536u

struct rpc_server {
	struct rpc_server_cfg cfg;
	GList *listeners; /* struct listener * */
	GList *clients;
	unsigned nclients, nro_clients;
};

struct listener {
	struct rpc_server *server;
	int fd;
	guint src;
	bool readonly;
};

struct rpc_client {
	struct rpc_server *server;
	int fd;
	int refs;
	bool closed, readonly;
	bool ro_slot; /* counted against the read-only socket's share */
	guint in_src, out_src;
	uint8_t lenbuf[4];
	size_t lenhave;
	uint8_t *msg; /* payload after the length word, once the length is known */
	size_t msglen, msghave, msgcap;
	GQueue outq; /* GBytes * */
	size_t outoff, outbytes;
	GList *streams;
};

struct rpc_stream {
	struct rpc_client *client;
	int32_t proc;
	uint32_t serial;
	const struct rpc_stream_ops *ops; /* NULL once the owner ended it */
	void *priv;
};

bool rpc_header_decode(struct xdr_dec *d, struct rpc_header *h)
{
	h->prog = xdr_get_u32(d);
	h->vers = xdr_get_u32(d);
	h->proc = xdr_get_i32(d);
	h->type = xdr_get_u32(d);
	h->serial = xdr_get_u32(d);
	h->status = xdr_get_u32(d);
	return !d->bad;
}

void rpc_header_encode(struct xdr_enc *e, const struct rpc_header *h)
{
	xdr_put_u32(e, h->prog);
	xdr_put_u32(e, h->vers);
	xdr_put_i32(e, h->proc);
	xdr_put_u32(e, h->type);
	xdr_put_u32(e, h->serial);
	xdr_put_u32(e, h->status);
}

bool rpc_frame_len_ok(uint32_t len)
{
	return len >= 4 + RPC_HEADER_LEN && len - 4 <= RPC_MSG_MAX;
}

static void client_unref(struct rpc_client *c);
static void client_close(struct rpc_client *c, const char *why);
static gboolean client_can_write(gint fd, GIOCondition cond, gpointer data);

static void client_flush(struct rpc_client *c)
{
	while (!g_queue_is_empty(&c->outq)) {
		GBytes *b = g_queue_peek_head(&c->outq);
		gsize len;
		const uint8_t *p = g_bytes_get_data(b, &len);
		ssize_t n = send(c->fd, p + c->outoff, len - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_close(c, "write failed");
			return;
		}
		c->outoff += (size_t)n;
		c->outbytes -= (size_t)n;
		if (c->outoff == len) {
			g_bytes_unref(g_queue_pop_head(&c->outq));
			c->outoff = 0;
		}
	}
	if (g_queue_is_empty(&c->outq)) {
		if (c->out_src) {
			g_source_remove(c->out_src);
			c->out_src = 0;
		}
	} else if (!c->out_src) {
		c->out_src = g_unix_fd_add(c->fd, G_IO_OUT, client_can_write, c);
	}
}

static gboolean client_can_write(gint fd, GIOCondition cond, gpointer data)
{
	struct rpc_client *c = data;

	(void)fd;
	(void)cond;
	c->out_src = 0;
	c->refs++;
	client_flush(c);
	client_unref(c);
	return G_SOURCE_REMOVE;
}

/* Frames header + payload and queues it. */
static void client_send(struct rpc_client *c, const struct rpc_header *h, const void *payload,
			size_t len)
{
	GByteArray *buf;
	struct xdr_enc e;
	uint32_t total;

	if (c->closed)
		return;
	total = (uint32_t)(4 + RPC_HEADER_LEN + len);
	buf = g_byte_array_sized_new(total);
	xdr_enc_init(&e, buf);
	xdr_put_u32(&e, total);
	rpc_header_encode(&e, h);
	if (len)
		g_byte_array_append(buf, payload, (guint)len);
	c->outbytes += buf->len;
	g_queue_push_tail(&c->outq, g_byte_array_free_to_bytes(buf));
	if (c->outbytes > RPC_OUTQ_MAX) {
		client_close(c, "not reading its replies");
		return;
	}
	client_flush(c);
}

/* remote_error (virnetprotocol.x virNetMessageError) */
static void encode_error(struct xdr_enc *e, int code, int domain, const char *msg)
{
	xdr_put_i32(e, code);
	xdr_put_i32(e, domain);
	xdr_put_opt_string(e, msg);
	xdr_put_i32(e, 2);	    /* VIR_ERR_ERROR */
	xdr_put_u32(e, 0);	    /* dom */
	xdr_put_opt_string(e, msg); /* str1, as libvirtd fills it */
	xdr_put_u32(e, 0);
	xdr_put_u32(e, 0);
	xdr_put_i32(e, 0);
	xdr_put_i32(e, 0);
	xdr_put_u32(e, 0); /* net */
}

static void send_error(struct rpc_client *c, const struct rpc_header *req, uint32_t type, int code,
		       int domain, const char *msg)
{
	struct rpc_header h = *req;
	GByteArray *buf = g_byte_array_new();
	struct xdr_enc e;

	h.type = type;
	h.status = RPC_ERROR;
	xdr_enc_init(&e, buf);
	encode_error(&e, code, domain, msg);
	client_send(c, &h, buf->data, buf->len);
	g_byte_array_unref(buf);
}

void *rpc_call_priv(const struct rpc_call *call)
{
	return call->client->server->cfg.priv;
}

bool rpc_call_readonly(const struct rpc_call *call)
{
	return call->client->readonly;
}

void rpc_client_set_readonly(struct rpc_client *c)
{
	c->readonly = true;
}

void rpc_call_set_error(struct rpc_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	g_free(call->err_msg);
	va_start(ap, fmt);
	call->err_msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	call->err_code = code;
	call->err_domain = code == VIR_ERR_RPC ? VIR_FROM_RPC : VIR_FROM_DOMAIN;
}

void rpc_call_done(struct rpc_call *call, GByteArray *ret)
{
	struct rpc_client *c = call->client;

	if (call->err_msg) {
		send_error(c, &call->hdr, RPC_REPLY, call->err_code, call->err_domain,
			   call->err_msg);
	} else {
		struct rpc_header h = call->hdr;

		h.type = RPC_REPLY;
		h.status = RPC_OK;
		client_send(c, &h, ret ? ret->data : NULL, ret ? ret->len : 0);
	}
	g_free(call->err_msg);
	g_free(call);
	client_unref(c);
}

static const struct rpc_proc *find_proc(const struct rpc_server *s, int32_t proc)
{
	for (size_t i = 0; i < s->cfg.nprocs; i++)
		if (s->cfg.procs[i].proc == proc)
			return &s->cfg.procs[i];
	return NULL;
}

static void handle_call(struct rpc_client *c, const struct rpc_header *h, struct xdr_dec *args)
{
	const struct rpc_proc *p = find_proc(c->server, h->proc);
	struct rpc_call *call;
	GByteArray *ret;
	struct xdr_enc e;
	enum rpc_result r;

	if (!p) {
		if (c->server->cfg.verbose)
			fprintf(stderr, "coved: unknown procedure %d (answered with an error)\n",
				h->proc);
		send_error(c, h, RPC_REPLY, VIR_ERR_RPC, VIR_FROM_RPC, "unknown procedure");
		return;
	}
	if (c->readonly && !p->readonly_ok) {
		send_error(c, h, RPC_REPLY, VIR_ERR_OPERATION_DENIED, VIR_FROM_RPC,
			   "operation forbidden on a read-only connection");
		return;
	}
	call = g_new0(struct rpc_call, 1);
	call->client = c;
	call->hdr = *h;
	c->refs++;
	ret = g_byte_array_new();
	xdr_enc_init(&e, ret);
	r = p->fn(call, args, &e);
	if (r == RPC_MALFORMED) {
		g_free(call->err_msg);
		g_free(call);
		client_unref(c);
		client_close(c, "malformed arguments");
	} else if (r == RPC_REPLY_NOW) {
		rpc_call_done(call, ret);
	}
	g_byte_array_unref(ret);
}

static struct rpc_stream *find_stream(struct rpc_client *c, uint32_t serial)
{
	for (GList *l = c->streams; l; l = l->next) {
		struct rpc_stream *st = l->data;

		if (st->serial == serial)
			return st;
	}
	return NULL;
}

static void stream_free(struct rpc_stream *st)
{
	st->client->streams = g_list_remove(st->client->streams, st);
	g_free(st);
}

static void handle_stream(struct rpc_client *c, const struct rpc_header *h, struct xdr_dec *d)
{
	struct rpc_stream *st = find_stream(c, h->serial);
	const struct rpc_stream_ops *ops = st ? st->ops : NULL;
	void *priv = st ? st->priv : NULL;

	switch (h->status) {
	case RPC_CONTINUE:
		if (ops && d->len > d->pos)
			ops->data(priv, d->p + d->pos, d->len - d->pos);
		break;
	case RPC_OK: {
		/* the client finished: confirm with an empty OK packet */
		struct rpc_header r = *h;

		r.type = RPC_STREAM;
		r.status = RPC_OK;
		client_send(c, &r, NULL, 0);
		if (st)
			stream_free(st);
		if (ops)
			ops->finish(priv);
		break;
	}
	case RPC_ERROR:
		send_error(c, h, RPC_REPLY, VIR_ERR_RPC, VIR_FROM_RPC,
			   "stream aborted at client request");
		if (st)
			stream_free(st);
		if (ops)
			ops->abort(priv);
		break;
	default:
		client_close(c, "bad stream status");
	}
}

static void handle_message(struct rpc_client *c, const uint8_t *p, size_t len)
{
	struct rpc_header h;
	struct xdr_dec d;

	xdr_dec_init(&d, p, len);
	if (!rpc_header_decode(&d, &h)) {
		client_close(c, "short header");
		return;
	}
	if (h.prog == RPC_KEEPALIVE_PROGRAM) {
		if (h.vers != RPC_KEEPALIVE_VERSION || h.type != RPC_MESSAGE) {
			client_close(c, "bad keepalive message");
			return;
		}
		if (h.proc == RPC_KEEPALIVE_PING) {
			h.proc = RPC_KEEPALIVE_PONG;
			client_send(c, &h, NULL, 0);
		}
		return;
	}
	if (h.prog != RPC_REMOTE_PROGRAM || h.vers != RPC_REMOTE_VERSION) {
		send_error(c, &h, RPC_REPLY, VIR_ERR_RPC, VIR_FROM_RPC, "unknown program");
		return;
	}
	switch (h.type) {
	case RPC_CALL:
		if (h.status != RPC_OK) {
			client_close(c, "call with a status");
			return;
		}
		handle_call(c, &h, &d);
		break;
	case RPC_STREAM:
		handle_stream(c, &h, &d);
		break;
	case RPC_CALL_WITH_FDS:
		/* cove passes no descriptors; refuse rather than leave fds behind */
		send_error(c, &h, RPC_REPLY, VIR_ERR_RPC, VIR_FROM_RPC,
			   "file descriptor passing is not supported");
		break;
	default:
		client_close(c, "unexpected message type");
	}
}

/* Reads what is there and handles every complete message. */
static gboolean client_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct rpc_client *c = data;
	uint8_t chunk[RPC_READ_CHUNK];
	ssize_t n;
	size_t off = 0;

	(void)cond;
	n = recv(fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->in_src = 0;
		client_close(c, n ? "read failed" : NULL);
		return G_SOURCE_REMOVE;
	}
	c->refs++;
	while (off < (size_t)n && !c->closed) {
		if (!c->msg) {
			size_t want = MIN(4 - c->lenhave, (size_t)n - off);
			uint32_t len;

			memcpy(c->lenbuf + c->lenhave, chunk + off, want);
			c->lenhave += want;
			off += want;
			if (c->lenhave < 4)
				break;
			len = (uint32_t)c->lenbuf[0] << 24 | (uint32_t)c->lenbuf[1] << 16 |
			      (uint32_t)c->lenbuf[2] << 8 | c->lenbuf[3];
			if (!rpc_frame_len_ok(len)) {
				client_close(c,
					     len < 28 ? "message too short" : "message too large");
				break;
			}
			c->msglen = len - 4;
			c->msghave = 0;
			/* memory follows the bytes that really arrive, not what the length word
			 * promises: a client cannot make coved hold RPC_MSG_MAX by saying so */
			c->msgcap = MIN(c->msglen, RPC_READ_CHUNK);
			c->msg = g_malloc(c->msgcap);
		}
		size_t want = MIN(c->msglen - c->msghave, (size_t)n - off);

		if (c->msghave + want > c->msgcap) {
			c->msgcap = MIN(c->msglen, MAX(c->msgcap * 2, c->msghave + want));
			c->msg = g_realloc(c->msg, c->msgcap);
		}
		memcpy(c->msg + c->msghave, chunk + off, want);
		c->msghave += want;
		off += want;
		if (c->msghave == c->msglen) {
			uint8_t *m = c->msg;
			size_t mlen = c->msglen;

			c->msg = NULL;
			c->lenhave = 0;
			handle_message(c, m, mlen);
			g_free(m);
		}
	}
	bool keep = !c->closed;

	if (!keep)
		c->in_src = 0;
	client_unref(c);
	return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void client_close(struct rpc_client *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = true;
	if (why && c->server->cfg.verbose)
		fprintf(stderr, "coved: client %d dropped: %s\n", c->fd, why);
	if (c->in_src) {
		g_source_remove(c->in_src);
		c->in_src = 0;
	}
	if (c->out_src) {
		g_source_remove(c->out_src);
		c->out_src = 0;
	}
	shutdown(c->fd, SHUT_RDWR);
	/* owners of the streams learn that the client is gone */
	while (c->streams) {
		struct rpc_stream *st = c->streams->data;
		const struct rpc_stream_ops *ops = st->ops;
		void *priv = st->priv;

		stream_free(st);
		if (ops)
			ops->abort(priv);
	}
	c->server->clients = g_list_remove(c->server->clients, c);
	c->server->nclients--;
	c->server->nro_clients -= c->ro_slot;
	client_unref(c);
}

static void client_unref(struct rpc_client *c)
{
	if (--c->refs)
		return;
	close(c->fd);
	g_queue_clear_full(&c->outq, (GDestroyNotify)g_bytes_unref);
	g_free(c->msg);
	g_free(c);
}

struct rpc_stream *rpc_stream_open(struct rpc_call *call, const struct rpc_stream_ops *ops,
				   void *priv)
{
	struct rpc_stream *st = g_new0(struct rpc_stream, 1);

	st->client = call->client;
	st->proc = call->hdr.proc;
	st->serial = call->hdr.serial;
	st->ops = ops;
	st->priv = priv;
	call->client->streams = g_list_prepend(call->client->streams, st);
	return st;
}

static void stream_header(const struct rpc_stream *st, struct rpc_header *h, uint32_t status)
{
	h->prog = RPC_REMOTE_PROGRAM;
	h->vers = RPC_REMOTE_VERSION;
	h->proc = st->proc;
	h->type = RPC_STREAM;
	h->serial = st->serial;
	h->status = status;
}

bool rpc_stream_send(struct rpc_stream *st, const void *p, size_t n)
{
	struct rpc_header h;

	if (st->client->closed || st->client->outbytes > RPC_OUTQ_STREAM_MAX)
		return false;
	stream_header(st, &h, RPC_CONTINUE);
	client_send(st->client, &h, p, n);
	return true;
}

void rpc_stream_end(struct rpc_stream *st)
{
	struct rpc_header h;

	/* end of file is an empty CONTINUE packet; an empty OK only confirms the client's finish
	 * (libvirt's virNetServerProgramSendStreamData) */
	stream_header(st, &h, RPC_CONTINUE);
	st->ops = NULL;
	st->priv = NULL;
	client_send(st->client, &h, NULL, 0);
}

static void add_client(struct rpc_server *s, int cfd, bool readonly)
{
	struct rpc_client *c = g_new0(struct rpc_client, 1);

	c->server = s;
	c->fd = cfd;
	c->refs = 1; /* the server's, dropped in client_close() */
	c->readonly = readonly;
	c->ro_slot = readonly;
	g_queue_init(&c->outq);
	c->in_src = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, client_readable, c);
	s->clients = g_list_prepend(s->clients, c);
	s->nclients++;
	s->nro_clients += readonly;
}

void rpc_server_add_client(struct rpc_server *s, int fd, bool readonly)
{
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	add_client(s, fd, readonly);
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct listener *l = data;
	struct rpc_server *s = l->server;
	int cfd;

	(void)cond;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	/* the read-only socket is open to everyone: it may fill only half the slots */
	if (s->nclients >= s->cfg.max_clients ||
	    (l->readonly && s->nro_clients >= s->cfg.max_clients / 2)) {
		if (s->cfg.verbose)
			fprintf(stderr, "coved: too many clients (%u); refusing one\n",
				s->nclients);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	add_client(s, cfd, l->readonly);
	return G_SOURCE_CONTINUE;
}

struct rpc_server *rpc_server_new(const struct rpc_server_cfg *cfg)
{
	struct rpc_server *s = g_new0(struct rpc_server, 1);

	s->cfg = *cfg;
	if (!s->cfg.max_clients)
		s->cfg.max_clients = 256;
	return s;
}

void rpc_server_add_listener(struct rpc_server *s, int fd, bool readonly)
{
	struct listener *l = g_new0(struct listener, 1);

	l->server = s;
	l->fd = fd;
	l->readonly = readonly;
	l->src = g_unix_fd_add(fd, G_IO_IN, on_accept, l);
	s->listeners = g_list_prepend(s->listeners, l);
}

unsigned rpc_server_nclients(const struct rpc_server *s)
{
	return s->nclients;
}

void rpc_server_free(struct rpc_server *s)
{
	while (s->clients)
		client_close(s->clients->data, NULL);
	for (GList *l = s->listeners; l; l = l->next) {
		struct listener *li = l->data;

		g_source_remove(li->src);
		close(li->fd);
		g_free(li);
	}
	g_list_free(s->listeners);
	g_free(s);
}

int rpc_listen_unix(const char *path, unsigned mode, GError **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char *dir;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, COVE_ERROR, 0, "%s: path too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0755)) {
		int e = errno;

		g_set_error(err, COVE_ERROR, 0, "%s: %s", dir, g_strerror(e));
		g_free(dir);
		return -e;
	}
	g_free(dir);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(err, COVE_ERROR, 0, "%s: exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, mode) ||
	    listen(fd, SOMAXCONN)) {
		int e = errno;

		g_set_error(err, COVE_ERROR, 0, "%s: %s", path, g_strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}
