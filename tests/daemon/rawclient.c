/* SPDX-License-Identifier: MIT */
/*
 * rawclient: writes hand-made libvirt RPC messages to coved's socket, for what virsh never sends.
 *   rawclient SOCKET ping                 keepalive PING -> PONG
 *   rawclient SOCKET unknown-proc         a call to procedure 9999 -> error code 39, domain 7
 *   rawclient SOCKET truncated            a frame that promises 200 bytes, 40 sent, then close
 *   rawclient SOCKET oversized            a length word of 2 GiB -> coved closes the connection
 *   rawclient SOCKET short-length         a length word of 8 -> closed
 *   rawclient SOCKET hostile-string       lookup by name with a 4 GiB string length -> closed
 *   rawclient SOCKET create-and-close DOM start DOM and hang up before the reply
 *   rawclient SOCKET ping-during-create DOM  start DOM, ping; the PONG must come (the start of
 *                                         a hung cove cannot finish), then hang up mid-call
 *   rawclient PATH notify-wait           binds a datagram socket at PATH (a NOTIFY_SOCKET), prints
 *                                         the first datagram; 0 if it says READY=1
 * Exit 0 when coved behaved as described, 1 otherwise.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define PROG	  0x20008086u
#define KEEPALIVE 0x6b656570u

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void put32(struct msg *m, uint32_t v)
{
	m->b[m->n++] = v >> 24;
	m->b[m->n++] = v >> 16;
	m->b[m->n++] = v >> 8;
	m->b[m->n++] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_string(struct msg *m, const char *s)
{
	size_t n = strlen(s);

	put32(m, (uint32_t)n);
	memcpy(m->b + m->n, s, n);
	m->n += n;
	while (m->n & 3)
		m->b[m->n++] = 0;
}

/* length placeholder + header */
static void start(struct msg *m, uint32_t prog, int32_t proc, uint32_t type, uint32_t serial)
{
	m->n = 0;
	put32(m, 0);
	put32(m, prog);
	put32(m, 1);
	put32(m, (uint32_t)proc);
	put32(m, type);
	put32(m, serial);
	put32(m, 0);
}

static void seal(struct msg *m)
{
	size_t n = m->n;

	m->n = 0;
	put32(m, (uint32_t)n);
	m->n = n;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror(path);
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n) {
		perror("send");
		exit(1);
	}
}

static void send_msg(int fd, struct msg *m)
{
	seal(m);
	send_all(fd, m->b, m->n);
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* One reply: header words in h[6], payload in body (at most cap bytes kept). */
static bool read_msg(int fd, uint32_t h[6], uint8_t *body, size_t cap, size_t *blen)
{
	uint8_t hdr[28];
	uint32_t len;

	if (!read_full(fd, hdr, 28))
		return false;
	len = get32(hdr);
	for (int i = 0; i < 6; i++)
		h[i] = get32(hdr + 4 + 4 * i);
	if (len < 28 || len - 28 > cap) {
		fprintf(stderr, "rawclient: reply of %u bytes\n", len);
		return false;
	}
	*blen = len - 28;
	return read_full(fd, body, *blen);
}

/* true when coved closes the connection (EOF or reset) rather than answering */
static bool closed_by_peer(int fd)
{
	uint8_t b[256];
	ssize_t r;

	for (;;) {
		r = recv(fd, b, sizeof(b), 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0) {
			perror("recv (coved neither answered nor closed)");
			return false;
		}
	}
}

static int lookup(int fd, const char *name, uint8_t *dom, size_t *domlen)
{
	struct msg m;
	uint32_t h[6];

	start(&m, PROG, 23, 0, 1); /* DOMAIN_LOOKUP_BY_NAME */
	put_string(&m, name);
	send_msg(fd, &m);
	if (!read_msg(fd, h, dom, 512, domlen) || h[5] != 0) {
		fprintf(stderr, "rawclient: lookup of %s failed\n", name);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t body[4096];
	uint32_t h[6];
	size_t blen;
	struct msg m;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: rawclient SOCKET MODE [DOMAIN]\n");
		return 2;
	}
	const char *mode = argv[2];

	if (!strcmp(mode, "notify-wait")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct timeval tv = { .tv_sec = 60 };
		char dg[512];
		ssize_t n;

		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror(argv[1]);
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, dg, sizeof(dg) - 1, 0);
		if (n < 0) {
			perror("no notification");
			return 1;
		}
		dg[n] = 0;
		printf("%s\n", dg);
		return !strstr(dg, "READY=1");
	}
	fd = connect_to(argv[1]);

	if (!strcmp(mode, "ping")) {
		start(&m, KEEPALIVE, 1, 2, 0);
		send_msg(fd, &m);
		if (!read_msg(fd, h, body, sizeof(body), &blen))
			return 1;
		printf("reply prog %#x proc %u type %u\n", h[0], h[2], h[3]);
		return !(h[0] == KEEPALIVE && h[2] == 2 && h[3] == 2 && blen == 0);
	}
	if (!strcmp(mode, "unknown-proc")) {
		start(&m, PROG, 9999, 0, 7);
		send_msg(fd, &m);
		if (!read_msg(fd, h, body, sizeof(body), &blen) || blen < 8)
			return 1;
		printf("reply type %u serial %u status %u code %u domain %u\n", h[3], h[4], h[5],
		       get32(body), get32(body + 4));
		return !(h[3] == 1 && h[4] == 7 && h[5] == 1 && get32(body) == 39 &&
			 get32(body + 4) == 7);
	}
	if (!strcmp(mode, "truncated")) {
		start(&m, PROG, 60, 0, 1);
		put32(&m, 10);
		seal(&m);
		m.b[3] = 200; /* the frame claims 200 bytes; 40 follow */
		while (m.n < 40)
			m.b[m.n++] = 0;
		send_all(fd, m.b, 40);
		close(fd);
		return 0;
	}
	if (!strcmp(mode, "oversized") || !strcmp(mode, "short-length")) {
		start(&m, PROG, 60, 0, 1);
		put32(&m, 10);
		seal(&m);
		uint32_t len = !strcmp(mode, "oversized") ? 0x80000000u : 8;

		m.n = 0;
		put32(&m, len);
		m.n = 28 + 4;
		send_all(fd, m.b, m.n);
		return !closed_by_peer(fd);
	}
	if (!strcmp(mode, "hostile-string")) {
		start(&m, PROG, 23, 0, 1);
		put32(&m, 0xfffffff0u); /* a string "of 4 GiB" in a 40-byte message */
		put32(&m, 0x41414141);
		send_msg(fd, &m);
		return !closed_by_peer(fd);
	}
	if ((!strcmp(mode, "create-and-close") || !strcmp(mode, "ping-during-create")) &&
	    argc == 4) {
		uint8_t dom[512];
		size_t domlen;

		if (lookup(fd, argv[3], dom, &domlen))
			return 1;
		start(&m, PROG, 9, 0, 2); /* DOMAIN_CREATE */
		memcpy(m.b + m.n, dom, domlen);
		m.n += domlen;
		send_msg(fd, &m);
		if (!strcmp(mode, "create-and-close")) {
			close(fd);
			return 0;
		}
		start(&m, KEEPALIVE, 1, 2, 0);
		send_msg(fd, &m);
		if (!read_msg(fd, h, body, sizeof(body), &blen))
			return 1;
		printf("first message: prog %#x proc %u type %u\n", h[0], h[2], h[3]);
		close(fd); /* and the create is still in flight */
		return !(h[0] == KEEPALIVE && h[2] == 2);
	}
	fprintf(stderr, "rawclient: unknown mode %s\n", mode);
	return 2;
}
