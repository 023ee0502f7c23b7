/* SPDX-License-Identifier: MIT */
#include "daemon/xdr.h"

#include <string.h>

void xdr_dec_init(struct xdr_dec *d, const void *p, size_t len)
{
	d->p = p;
	d->len = len;
	d->pos = 0;
	d->bad = false;
}

static const uint8_t *take(struct xdr_dec *d, size_t n)
{
	const uint8_t *p;

	if (d->bad || n > d->len - d->pos) {
		d->bad = true;
		return NULL;
	}
	p = d->p + d->pos;
	d->pos += n;
	return p;
}

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

uint32_t xdr_get_u32(struct xdr_dec *d)
{
	const uint8_t *p = take(d, 4);

	if (!p)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int32_t xdr_get_i32(struct xdr_dec *d)
{
	return (int32_t)xdr_get_u32(d);
}

uint64_t xdr_get_u64(struct xdr_dec *d)
{
	uint64_t hi = xdr_get_u32(d);

	return hi << 32 | xdr_get_u32(d);
}

bool xdr_get_bool(struct xdr_dec *d)
{
	uint32_t v = xdr_get_u32(d);

	if (v > 1)
		d->bad = true;
	return v == 1;
}

/* Padding must be zero, as RFC 4506 §3 says; a sender that puts bytes there is broken. */
static bool skip_pad(struct xdr_dec *d, size_t n)
{
	const uint8_t *p = take(d, pad4(n));

	if (!p)
		return false;
	for (size_t i = 0; i < pad4(n); i++) {
		if (p[i]) {
			d->bad = true;
			return false;
		}
	}
	return true;
}

char *xdr_get_string(struct xdr_dec *d, uint32_t max)
{
	uint32_t n = xdr_get_u32(d);
	const uint8_t *p;
	char *s;

	if (d->bad)
		return NULL;
	if (n > max || n > d->len - d->pos) {
		d->bad = true;
		return NULL;
	}
	p = take(d, n);
	if (!p || memchr(p, 0, n) || !skip_pad(d, n)) {
		d->bad = true;
		return NULL;
	}
	s = g_malloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

bool xdr_get_opt_string(struct xdr_dec *d, uint32_t max, char **out)
{
	*out = NULL;
	if (!xdr_get_bool(d))
		return !d->bad;
	*out = xdr_get_string(d, max);
	return *out != NULL;
}

bool xdr_get_fixed(struct xdr_dec *d, void *out, size_t n)
{
	const uint8_t *p = take(d, n);

	if (!p || !skip_pad(d, n)) {
		memset(out, 0, n);
		return false;
	}
	memcpy(out, p, n);
	return true;
}

uint32_t xdr_get_count(struct xdr_dec *d, uint32_t max, size_t elem_min)
{
	uint32_t n = xdr_get_u32(d);

	if (d->bad)
		return 0;
	if (n > max || (elem_min && n > (d->len - d->pos) / elem_min)) {
		d->bad = true;
		return 0;
	}
	return n;
}

bool xdr_dec_done(const struct xdr_dec *d)
{
	return !d->bad && d->pos == d->len;
}

void xdr_enc_init(struct xdr_enc *e, GByteArray *buf)
{
	e->buf = buf;
}

void xdr_put_u32(struct xdr_enc *e, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	g_byte_array_append(e->buf, b, 4);
}

void xdr_put_i32(struct xdr_enc *e, int32_t v)
{
	xdr_put_u32(e, (uint32_t)v);
}

void xdr_put_u64(struct xdr_enc *e, uint64_t v)
{
	xdr_put_u32(e, (uint32_t)(v >> 32));
	xdr_put_u32(e, (uint32_t)v);
}

void xdr_put_fixed(struct xdr_enc *e, const void *p, size_t n)
{
	static const uint8_t zero[4];

	if (!n)
		return;
	g_byte_array_append(e->buf, p, (guint)n);
	g_byte_array_append(e->buf, zero, (guint)pad4(n));
}

void xdr_put_opaque(struct xdr_enc *e, const void *p, uint32_t n)
{
	xdr_put_u32(e, n);
	xdr_put_fixed(e, p, n);
}

void xdr_put_string(struct xdr_enc *e, const char *s)
{
	xdr_put_opaque(e, s, (uint32_t)strlen(s));
}

void xdr_put_opt_string(struct xdr_enc *e, const char *s)
{
	xdr_put_u32(e, s != NULL);
	if (s)
		xdr_put_string(e, s);
}
