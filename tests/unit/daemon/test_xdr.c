/* SPDX-License-Identifier: MIT */
/* XDR decoding against hostile lengths and counts, and round trips of what coved encodes. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "daemon/rpc.h"
#include "daemon/xdr.h"
#include "../check_main.h"

static GByteArray *words(const uint32_t *w, size_t n)
{
	GByteArray *b = g_byte_array_new();
	struct xdr_enc e;

	xdr_enc_init(&e, b);
	for (size_t i = 0; i < n; i++)
		xdr_put_u32(&e, w[i]);
	return b;
}

START_TEST(test_xdr_string_round_trip_pads_to_four)
{
	GByteArray *b = g_byte_array_new();
	struct xdr_enc e;
	struct xdr_dec d;
	char *s;

	xdr_enc_init(&e, b);
	xdr_put_string(&e, "cove:///system");
	xdr_put_opt_string(&e, NULL);
	xdr_put_u64(&e, 0x0102030405060708ull);
	ck_assert_uint_eq(b->len, 4 + 16 + 4 + 8);
	xdr_dec_init(&d, b->data, b->len);
	s = xdr_get_string(&d, 100);
	ck_assert_str_eq(s, "cove:///system");
	g_free(s);
	ck_assert(xdr_get_opt_string(&d, 100, &s));
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(xdr_get_u64(&d), 0x0102030405060708ull);
	ck_assert(xdr_dec_done(&d));
	g_byte_array_unref(b);
}
END_TEST

START_TEST(test_xdr_rejects_string_longer_than_message)
{
	/* claims 4 GiB - 16 in a 12-byte message: refused before any allocation */
	const uint32_t w[] = { 0xfffffff0u, 0x41414141, 0x41414141 };
	GByteArray *b = words(w, 3);
	struct xdr_dec d;

	xdr_dec_init(&d, b->data, b->len);
	ck_assert_ptr_null(xdr_get_string(&d, UINT32_MAX));
	ck_assert(d.bad);
	ck_assert(!xdr_dec_done(&d));
	/* later reads stay failed and return zero */
	ck_assert_uint_eq(xdr_get_u32(&d), 0);
	g_byte_array_unref(b);
}
END_TEST

START_TEST(test_xdr_rejects_string_over_caller_max)
{
	GByteArray *b = g_byte_array_new();
	struct xdr_enc e;
	struct xdr_dec d;

	xdr_enc_init(&e, b);
	xdr_put_string(&e, "0123456789");
	xdr_dec_init(&d, b->data, b->len);
	ck_assert_ptr_null(xdr_get_string(&d, 9));
	ck_assert(d.bad);
	g_byte_array_unref(b);
}
END_TEST

START_TEST(test_xdr_rejects_nul_and_nonzero_padding)
{
	const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b', 0 };
	const uint8_t pad[] = { 0, 0, 0, 3, 'a', 'b', 'c', 'X' };
	struct xdr_dec d;

	xdr_dec_init(&d, nul, sizeof(nul));
	ck_assert_ptr_null(xdr_get_string(&d, 100));
	xdr_dec_init(&d, pad, sizeof(pad));
	ck_assert_ptr_null(xdr_get_string(&d, 100));
}
END_TEST

START_TEST(test_xdr_count_bounded_by_bytes_left)
{
	/* 1,000,000 elements of at least 28 bytes in 8 bytes of message */
	const uint32_t w[] = { 1000000, 0 };
	GByteArray *b = words(w, 2);
	struct xdr_dec d;

	xdr_dec_init(&d, b->data, b->len);
	ck_assert_uint_eq(xdr_get_count(&d, 16384, 28), 0);
	ck_assert(d.bad);
	xdr_dec_init(&d, b->data, b->len);
	ck_assert_uint_eq(xdr_get_count(&d, 10, 0), 0); /* over the caller's max */
	ck_assert(d.bad);
	g_byte_array_unref(b);
}
END_TEST

START_TEST(test_xdr_bool_only_zero_or_one)
{
	const uint32_t w[] = { 2 };
	GByteArray *b = words(w, 1);
	struct xdr_dec d;
	char *s = (char *)1;

	xdr_dec_init(&d, b->data, b->len);
	ck_assert(!xdr_get_opt_string(&d, 10, &s));
	ck_assert_ptr_null(s);
	g_byte_array_unref(b);
}
END_TEST

START_TEST(test_xdr_truncated_reads_fail)
{
	const uint8_t three[] = { 1, 2, 3 };
	uint8_t uuid[16];
	struct xdr_dec d;

	xdr_dec_init(&d, three, sizeof(three));
	xdr_get_u32(&d);
	ck_assert(d.bad);
	xdr_dec_init(&d, three, sizeof(three));
	ck_assert(!xdr_get_fixed(&d, uuid, 16));
	xdr_dec_init(&d, three, sizeof(three));
	xdr_get_u64(&d);
	ck_assert(d.bad);
}
END_TEST

START_TEST(test_rpc_frame_length_bounds)
{
	ck_assert(!rpc_frame_len_ok(0));
	ck_assert(!rpc_frame_len_ok(27)); /* shorter than length + header */
	ck_assert(rpc_frame_len_ok(28));  /* header only */
	ck_assert(rpc_frame_len_ok(4 + RPC_MSG_MAX));
	ck_assert(!rpc_frame_len_ok(4 + RPC_MSG_MAX + 1));
	ck_assert(!rpc_frame_len_ok(0xffffffffu));
}
END_TEST

START_TEST(test_rpc_header_round_trip)
{
	struct rpc_header h = { RPC_REMOTE_PROGRAM, 1, 273, RPC_REPLY, 42, RPC_ERROR }, g;
	GByteArray *b = g_byte_array_new();
	struct xdr_enc e;
	struct xdr_dec d;

	xdr_enc_init(&e, b);
	rpc_header_encode(&e, &h);
	ck_assert_uint_eq(b->len, RPC_HEADER_LEN);
	ck_assert_uint_eq(b->data[0], 0x20); /* big-endian */
	xdr_dec_init(&d, b->data, b->len);
	ck_assert(rpc_header_decode(&d, &g));
	ck_assert_mem_eq(&h, &g, sizeof(h));
	xdr_dec_init(&d, b->data, b->len - 1);
	ck_assert(!rpc_header_decode(&d, &g));
	g_byte_array_unref(b);
}
END_TEST

static Suite *xdr_suite(void)
{
	Suite *s = suite_create("xdr");
	TCase *tc = tcase_create("xdr");

	tcase_add_test(tc, test_xdr_string_round_trip_pads_to_four);
	tcase_add_test(tc, test_xdr_rejects_string_longer_than_message);
	tcase_add_test(tc, test_xdr_rejects_string_over_caller_max);
	tcase_add_test(tc, test_xdr_rejects_nul_and_nonzero_padding);
	tcase_add_test(tc, test_xdr_count_bounded_by_bytes_left);
	tcase_add_test(tc, test_xdr_bool_only_zero_or_one);
	tcase_add_test(tc, test_xdr_truncated_reads_fail);
	tcase_add_test(tc, test_rpc_frame_length_bounds);
	tcase_add_test(tc, test_rpc_header_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return cove_check_run(xdr_suite());
}
