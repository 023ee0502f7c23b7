/* SPDX-License-Identifier: MIT */
/*
 * XDR (RFC 4506) as libvirt's RPC uses it: big-endian 32-bit words, 64-bit
 * hypers, strings and opaques padded to 4 bytes. The decoder never trusts a
 * length or count from the wire: each is checked against both a caller's
 * maximum and the bytes left in the message before anything is allocated.
 * A failed read latches dec->bad; later reads return zeroes.
 */
#ifndef COVE_DAEMON_XDR_H
#define COVE_DAEMON_XDR_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xdr_dec {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

struct xdr_enc {
	GByteArray *buf;
};

void xdr_dec_init(struct xdr_dec *d, const void *p, size_t len);
uint32_t xdr_get_u32(struct xdr_dec *d);
int32_t xdr_get_i32(struct xdr_dec *d);
uint64_t xdr_get_u64(struct xdr_dec *d);
bool xdr_get_bool(struct xdr_dec *d); /* only 0 or 1 are valid */
/* A string of at most max bytes with no NUL inside; NULL (and d->bad) if not. */
char *xdr_get_string(struct xdr_dec *d, uint32_t max);
/* An optional string: *out is NULL when absent. false if malformed. */
bool xdr_get_opt_string(struct xdr_dec *d, uint32_t max, char **out);
bool xdr_get_fixed(struct xdr_dec *d, void *out, size_t n); /* fixed opaque */
/* A counted array's length, at most max and at most what the bytes left could hold
 * with elem_min bytes per element. */
uint32_t xdr_get_count(struct xdr_dec *d, uint32_t max, size_t elem_min);
/* true when every byte was consumed and nothing went wrong */
bool xdr_dec_done(const struct xdr_dec *d);

void xdr_enc_init(struct xdr_enc *e, GByteArray *buf);
void xdr_put_u32(struct xdr_enc *e, uint32_t v);
void xdr_put_i32(struct xdr_enc *e, int32_t v);
void xdr_put_u64(struct xdr_enc *e, uint64_t v);
void xdr_put_string(struct xdr_enc *e, const char *s);
void xdr_put_opt_string(struct xdr_enc *e, const char *s);
void xdr_put_fixed(struct xdr_enc *e, const void *p, size_t n);
void xdr_put_opaque(struct xdr_enc *e, const void *p, uint32_t n); /* counted */

#endif
