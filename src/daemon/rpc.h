/* SPDX-License-Identifier: MIT */
/*
 * libvirt's RPC transport (docs/kbase/internals/rpc.rst, virnetprotocol.x):
 * each message is a u32 length that counts itself, a 24-byte header
 * {prog, vers, proc, type, serial, status} and an XDR payload. This file owns
 * the sockets, framing, the keepalive program, dispatch of calls to a table of
 * procedures, error replies, and the stream messages of an open console.
 * It never blocks: a procedure that must wait defers its reply, and pings are
 * answered meanwhile.
 */
#ifndef COVE_DAEMON_RPC_H
#define COVE_DAEMON_RPC_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/xdr.h"

#define RPC_REMOTE_PROGRAM    0x20008086u
#define RPC_REMOTE_VERSION    1u
#define RPC_KEEPALIVE_PROGRAM 0x6b656570u
#define RPC_KEEPALIVE_VERSION 1u
#define RPC_KEEPALIVE_PING    1
#define RPC_KEEPALIVE_PONG    2

enum rpc_type {
	RPC_CALL = 0,
	RPC_REPLY = 1,
	RPC_MESSAGE = 2,
	RPC_STREAM = 3,
	RPC_CALL_WITH_FDS = 4,
	RPC_REPLY_WITH_FDS = 5,
};

enum rpc_status {
	RPC_OK = 0,
	RPC_ERROR = 1,
	RPC_CONTINUE = 2,
};

#define RPC_HEADER_LEN 24u
/* The largest message cove accepts (libvirt allows more; no call we serve needs it). */
#define RPC_MSG_MAX (4u << 20)
/* Strings inside a message: libvirt's REMOTE_STRING_MAX. */
#define RPC_STRING_MAX (1u << 20)

/* virErrorNumber and virErrorDomain values from libvirt's virterror.h */
enum {
	VIR_ERR_INTERNAL_ERROR = 1,
	VIR_ERR_NO_SUPPORT = 3,
	VIR_ERR_INVALID_ARG = 8,
	VIR_ERR_OPERATION_FAILED = 9,
	VIR_ERR_XML_ERROR = 27,
	VIR_ERR_DOM_EXIST = 28,
	VIR_ERR_OPERATION_DENIED = 29,
	VIR_ERR_RPC = 39,
	VIR_ERR_NO_DOMAIN = 42,
	VIR_ERR_OPERATION_INVALID = 55,
	VIR_ERR_CONFIG_UNSUPPORTED = 67,
	VIR_ERR_OPERATION_TIMEOUT = 68,
};
enum {
	VIR_FROM_NONE = 0,
	VIR_FROM_RPC = 7,
	VIR_FROM_DOMAIN = 20,
};

struct rpc_header {
	uint32_t prog, vers;
	int32_t proc;
	uint32_t type, serial, status;
};

bool rpc_header_decode(struct xdr_dec *d, struct rpc_header *h);
void rpc_header_encode(struct xdr_enc *e, const struct rpc_header *h);
/* Is a frame's length word acceptable (header included, at most RPC_MSG_MAX)? */
bool rpc_frame_len_ok(uint32_t len);

struct rpc_server;
struct rpc_client;
struct rpc_stream;

/* One call in flight. A deferred call keeps its client alive until rpc_call_done(). */
struct rpc_call {
	struct rpc_client *client;
	struct rpc_header hdr;
	int err_code, err_domain;
	char *err_msg;
};

enum rpc_result {
	RPC_REPLY_NOW, /* send ret (or the error set on the call) */
	RPC_DEFERRED,  /* the handler owns the call and calls rpc_call_done() later */
	RPC_MALFORMED, /* the arguments did not decode: close the client */
};

typedef enum rpc_result (*rpc_handler)(struct rpc_call *call, struct xdr_dec *args,
				       struct xdr_enc *ret);

struct rpc_proc {
	int32_t proc;
	const char *name;
	rpc_handler fn;
	bool readonly_ok; /* allowed on a read-only connection */
};

struct rpc_server_cfg {
	const struct rpc_proc *procs;
	size_t nprocs;
	void *priv;   /* handed to procedures through rpc_call_priv() */
	bool verbose; /* log unknown procedures and dropped clients on stderr */
	unsigned max_clients;
};

struct rpc_server *rpc_server_new(const struct rpc_server_cfg *cfg);
void rpc_server_free(struct rpc_server *s);
/* Serves a listening Unix socket; the server owns fd from now on. */
void rpc_server_add_listener(struct rpc_server *s, int fd, bool readonly);
/* Serves one connected stream socket as a client (tests and the fuzz target). */
void rpc_server_add_client(struct rpc_server *s, int fd, bool readonly);
/* Creates, binds and listens on a Unix socket at path (a stale socket is replaced). */
int rpc_listen_unix(const char *path, unsigned mode, GError **err);
unsigned rpc_server_nclients(const struct rpc_server *s);

void *rpc_call_priv(const struct rpc_call *call);
bool rpc_call_readonly(const struct rpc_call *call);
void rpc_client_set_readonly(struct rpc_client *c);
void rpc_call_set_error(struct rpc_call *call, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Ends a deferred call: the error if one is set, else an OK reply with ret (may be NULL). */
void rpc_call_done(struct rpc_call *call, GByteArray *ret);

/* A stream bound to a call's serial (virDomainOpenConsole). */
struct rpc_stream_ops {
	void (*data)(void *priv, const uint8_t *p, size_t n); /* bytes from the client */
	void (*finish)(void *priv); /* client finished; the stream is gone after this */
	void (*abort)(void *priv);  /* client aborted or went away; gone after this */
};
/* Register before the call's reply is sent, so data follows the reply. */
struct rpc_stream *rpc_stream_open(struct rpc_call *call, const struct rpc_stream_ops *ops,
				   void *priv);
/* Sends bytes to the client; false if its queue is full (the bytes are dropped). */
bool rpc_stream_send(struct rpc_stream *st, const void *p, size_t n);
/* The owner ends the stream (end of file: an empty CONTINUE); no more callbacks. The
 * stream stays until the client's finish, which is confirmed here with an empty OK. */
void rpc_stream_end(struct rpc_stream *st);

#endif
