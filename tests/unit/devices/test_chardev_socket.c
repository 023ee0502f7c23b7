/* SPDX-License-Identifier: MIT */
/*
 * The unix:PATH chardev with real sockets and the real I/O thread, a 16550A
 * as the receiver: input reaches the guest whole and in order under flow
 * control, one client at a time, output never blocks the writer, clients come
 * and go, and the socket file is made 0600 and removed again.
 */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chardev.h"
#include "devices/serial8250.h"
#include "devtest.h"
#include "iothread.h"
#include "pc.h"

#define COM1   PC_PORT_COM1
#define RBR    (COM1 + 0)
#define FCR    (COM1 + 2)
#define LSR    (COM1 + 5)
#define LSR_DR 0x01

static struct iothread *io;
static struct chardev *chr;
static struct bus *pio;
static struct serial8250 *uart;
static char dir[64], path[96], spec[104];

static void setup(void)
{
	GError *err = NULL;

	strcpy(dir, "/tmp/cove-test-sock-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console", dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	io = iothread_start("test-io");
	chr = chardev_open(spec, io, &err);
	ck_assert_msg(chr, "chardev_open: %s", err ? err->message : "?");
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &pio), 0);
	ck_assert_int_eq(serial8250_create(pio, COM1, NULL, PC_IRQ_COM1, chr, &uart), 0);
}

static void teardown(void)
{
	serial8250_destroy(uart);
	chardev_close(chr);
	iothread_stop(io);
	bus_destroy(pio);
	rmdir(dir);
}

static int client(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(a.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Writes guest output until fd sees some: then the I/O thread has taken it as the client. */
static void wait_attached(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	for (;;) {
		chardev_write(chr, "s", 1);
		if (poll(&p, 1, 2) == 1)
			break;
	}
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Reads until end of file or a quiet second; returns the bytes. */
static size_t drain(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n < cap && poll(&p, 1, 1000) == 1) {
		ssize_t r = recv(fd, buf + n, cap - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	return n;
}

START_TEST(test_socket_is_0600_removed_on_close_and_stale_replaced)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	serial8250_destroy(uart);
	uart = NULL; /* the bus keeps its range: no second UART on it */
	chardev_close(chr);
	ck_assert_int_ne(lstat(path, &st), 0);
	ck_assert_int_eq(errno, ENOENT);
	/* a stale socket file (bound, nobody listening) is replaced */
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		memcpy(a.sun_path, path, strlen(path) + 1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		close(fd);
	}
	ck_assert_int_eq(lstat(path, &st), 0);
	chr = chardev_open(spec, io, NULL);
	ck_assert_ptr_nonnull(chr);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(test_socket_refuses_regular_file_and_live_socket)
{
	char other[112];
	GError *err = NULL;
	FILE *f;

	/* the fixture's socket is live: a second chardev on it is refused */
	ck_assert_ptr_null(chardev_open(spec, io, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "another process listens"));
	g_clear_error(&err);
	snprintf(other, sizeof(other), "unix:%s/file", dir);
	f = fopen(other + 5, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_ptr_null(chardev_open(other, io, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "exists and is not a socket"));
	g_clear_error(&err);
	unlink(other + 5);
}
END_TEST

/* Far more than the UART holds: delivered as the guest drains it, none lost. */
START_TEST(test_socket_input_reaches_guest_whole_and_in_order)
{
	char sent[3000], got[3000];
	size_t n = 0;
	int fd = client();

	for (size_t i = 0; i < sizeof(sent); i++)
		sent[i] = (char)('!' + i % 90);
	outb(pio, FCR, 0x01);
	wait_attached(fd);
	ck_assert_int_eq(send(fd, sent, sizeof(sent), 0), (ssize_t)sizeof(sent));
	close(fd); /* what was sent is still delivered */
	while (n < sizeof(sent)) {
		if (inb(pio, LSR) & LSR_DR)
			got[n++] = (char)inb(pio, RBR);
		else
			g_usleep(100);
	}
	ck_assert_mem_eq(got, sent, sizeof(sent));
}
END_TEST

START_TEST(test_socket_second_client_is_closed_first_keeps_output)
{
	char buf[64];
	int a = client(), b;

	wait_attached(a);
	b = client();
	/* end of file at once, and nothing written to it */
	ck_assert_uint_eq(drain(b, buf, sizeof(buf)), 0);
	ck_assert_int_eq(recv(b, buf, sizeof(buf), 0), 0);
	close(b);
	chardev_write(chr, "after", 5);
	ck_assert_uint_eq(drain(a, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "after", 5);
	close(a);
}
END_TEST

/* A client that never reads: the writer is never held up, the overflow is dropped. */
START_TEST(test_socket_slow_client_never_blocks_output)
{
	static char chunk[64 * 1024], got[1 << 20];
	const size_t total = 64 * sizeof(chunk); /* 4 MiB, far over a socket buffer */
	size_t n;
	int fd = client();

	memset(chunk, 'o', sizeof(chunk));
	wait_attached(fd);
	for (size_t i = 0; i < total / sizeof(chunk); i++)
		chardev_write(chr, chunk, sizeof(chunk)); /* the Check timeout bounds a hang */
	n = drain(fd, got, sizeof(got));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, total);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(got[i], 'o');
	close(fd);
}
END_TEST

/* Output with nobody connected is dropped; a client may leave and another come. */
START_TEST(test_socket_clients_come_and_go)
{
	char buf[64];
	int a, b;

	chardev_write(chr, "nobody", 6);
	a = client();
	wait_attached(a);
	close(a);
	b = client();
	wait_attached(b);
	chardev_write(chr, "second", 6);
	ck_assert_uint_eq(drain(b, buf, sizeof(buf)), 6);
	ck_assert_mem_eq(buf, "second", 6);
	close(b);
}
END_TEST

/*
 * A client hangs up while the guest is not reading (its input is stuck in
 * flow control): the next client takes over instead of being turned away.
 */
START_TEST(test_socket_client_gone_while_guest_not_reading_is_replaced)
{
	char junk[2000], buf[64];
	int a = client(), b;

	memset(junk, 'j', sizeof(junk));
	wait_attached(a);
	ck_assert_int_eq(send(a, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	g_usleep(50 * 1000);
	close(a);
	b = client();
	wait_attached(b);
	chardev_write(chr, "mine", 4);
	ck_assert_uint_eq(drain(b, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "mine", 4);
	close(b);
}
END_TEST

/* A client that shuts only its sending side still gets output. */
START_TEST(test_socket_half_closed_client_keeps_output)
{
	char buf[64];
	int a = client();

	wait_attached(a);
	ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
	g_usleep(50 * 1000);
	chardev_write(chr, "still", 5);
	ck_assert_uint_eq(drain(a, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "still", 5);
	close(a);
}
END_TEST

static Suite *chardev_socket_suite(void)
{
	Suite *s = suite_create("chardev_socket");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_socket_is_0600_removed_on_close_and_stale_replaced);
	tcase_add_test(tc, test_socket_refuses_regular_file_and_live_socket);
	tcase_add_test(tc, test_socket_input_reaches_guest_whole_and_in_order);
	tcase_add_test(tc, test_socket_second_client_is_closed_first_keeps_output);
	tcase_add_test(tc, test_socket_slow_client_never_blocks_output);
	tcase_add_test(tc, test_socket_clients_come_and_go);
	tcase_add_test(tc, test_socket_client_gone_while_guest_not_reading_is_replaced);
	tcase_add_test(tc, test_socket_half_closed_client_keeps_output);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return devtest_run(chardev_socket_suite());
}
