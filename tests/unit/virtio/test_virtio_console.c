/* SPDX-License-Identifier: MIT */
/* virtio-console: output to the chardev, input with flow control. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "chardev_stub.h"
#include "devices/virtio/virtio_console.h"
#include "devices/virtio/virtio_mmio.h"
#include "vdriver.h"

#define BASE  0xd0001000ULL
#define GSI   17
#define RINGS 0x1000ULL /* queue 0 at 0x1000, queue 1 at 0x5000 */
#define TXBUF 0x20000ULL
#define RXBUF 0x30000ULL
#define RXQ   0
#define TXQ   1

static struct guest_mem *mem;
static struct bus *bus;
static struct test_irq irq;
static struct chardev *chr;
static struct virtio_console *con;
static struct vdrv drv;

static void setup(void)
{
	ck_assert_int_eq(guest_mem_create(&mem), 0);
	ck_assert_int_eq(guest_mem_add_ram(mem, 0, 0x100000), 0);
	ck_assert_int_eq(bus_create(BUS_MMIO, 1, &bus), 0);
	test_irq_init(&irq);
	chr = stub_chardev_new();
	ck_assert_int_eq(virtio_console_create(chr, bus, BASE, mem, &irq.sink, GSI, &con), 0);
	drv = (struct vdrv){ .bus = bus, .base = BASE, .mem = mem };
}

static void teardown(void)
{
	virtio_console_destroy(con);
	stub_chardev_free(chr);
	bus_destroy(bus);
	guest_mem_destroy(mem);
}

static void post_rx(uint32_t len)
{
	struct vd_buf b = { RXBUF, len, true };

	vd_add_chain(&drv, RXQ, &b, 1);
	vd_kick(&drv, RXQ);
}

START_TEST(test_virtio_console_identifies_as_console)
{
	ck_assert_uint_eq(vd_read(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	vd_write(&drv, VIRTIO_MMIO_QUEUE_SEL, TXQ);
	ck_assert_uint_eq(vd_read(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	/* No MULTIPORT: the control queues do not exist (§5.3.2). */
	vd_write(&drv, VIRTIO_MMIO_QUEUE_SEL, 2);
	ck_assert_uint_eq(vd_read(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	ck_assert(!(vd_device_features(&drv) & (1ULL << VIRTIO_CONSOLE_F_MULTIPORT)));
}
END_TEST

START_TEST(test_virtio_console_tx_reaches_chardev)
{
	struct vd_buf b[2] = { { TXBUF, 7, false }, { TXBUF + 0x100, 5, false } };
	char out[64];
	uint32_t len;

	vd_bring_up(&drv, 2, RINGS);
	gm_write(mem, TXBUF, "hello, ", 7);
	gm_write(mem, TXBUF + 0x100, "world", 5);
	vd_add_chain(&drv, TXQ, b, 2);
	vd_kick(&drv, TXQ);
	ck_assert(vd_wait_used(&drv, TXQ, NULL, &len));
	ck_assert_uint_eq(len, 0);
	stub_chardev_output(chr, out, sizeof(out));
	ck_assert_str_eq(out, "hello, world");
	ck_assert_int_eq(test_irq_level(&irq), 1);
	ck_assert_uint_eq(irq.last_gsi, GSI);
}
END_TEST

START_TEST(test_virtio_console_rx_takes_only_posted_buffers)
{
	char got[8] = { 0 };
	uint32_t len;

	vd_bring_up(&drv, 2, RINGS);
	/* No receive buffer yet: nothing is taken, the chardev keeps it. */
	ck_assert_uint_eq(stub_chardev_feed(chr, "abcdefgh", 8), 0);
	unsigned w = stub_chardev_wakeups(chr);

	/* A 4-byte buffer: the chardev is told, and 4 bytes fit. */
	post_rx(4);
	ck_assert_uint_eq(stub_chardev_wakeups(chr), w + 1);
	ck_assert_uint_eq(stub_chardev_feed(chr, "abcdefgh", 8), 4);
	ck_assert(vd_poll_used(&drv, RXQ, NULL, &len));
	ck_assert_uint_eq(len, 4);
	gm_read(mem, RXBUF, got, 4);
	ck_assert(memcmp(got, "abcd", 4) == 0);
	ck_assert_int_eq(test_irq_level(&irq), 1);

	/* Full again: the rest waits for the next buffer. */
	ck_assert_uint_eq(stub_chardev_feed(chr, "efgh", 4), 0);
	post_rx(8);
	ck_assert_uint_eq(stub_chardev_wakeups(chr), w + 2);
	ck_assert_uint_eq(stub_chardev_feed(chr, "efgh", 4), 4);
	ck_assert(vd_poll_used(&drv, RXQ, NULL, &len));
	ck_assert_uint_eq(len, 4);
	gm_read(mem, RXBUF, got, 4);
	ck_assert(memcmp(got, "efgh", 4) == 0);
	/* No wakeup is owed while nothing was refused. */
	post_rx(8);
	ck_assert_uint_eq(stub_chardev_wakeups(chr), w + 2);
}
END_TEST

START_TEST(test_virtio_console_rx_before_driver_ok_takes_nothing)
{
	ck_assert_uint_eq(stub_chardev_feed(chr, "x", 1), 0);
	ck_assert_uint_eq(stub_chardev_wakeups(chr), 0);
	vd_bring_up(&drv, 2, RINGS);
	/* DRIVER_OK: the chardev may try again. */
	ck_assert_uint_eq(stub_chardev_wakeups(chr), 1);
	post_rx(1);
	ck_assert_uint_eq(stub_chardev_feed(chr, "x", 1), 1);
}
END_TEST

START_TEST(test_virtio_console_rx_spreads_over_buffers)
{
	char got[6] = { 0 };

	vd_bring_up(&drv, 2, RINGS);
	vd_add_chain(&drv, RXQ, &(struct vd_buf){ RXBUF, 3, true }, 1);
	vd_add_chain(&drv, RXQ, &(struct vd_buf){ RXBUF + 0x100, 3, true }, 1);
	vd_kick(&drv, RXQ);
	ck_assert_uint_eq(stub_chardev_feed(chr, "123456", 6), 6);
	gm_read(mem, RXBUF, got, 3);
	gm_read(mem, RXBUF + 0x100, got + 3, 3);
	ck_assert(memcmp(got, "123456", 6) == 0);
}
END_TEST

START_TEST(test_virtio_console_destroy_detaches_chardev)
{
	ck_assert(stub_chardev_has_receiver(chr));
	virtio_console_destroy(con);
	con = NULL;
	ck_assert(!stub_chardev_has_receiver(chr));
}
END_TEST

static Suite *console_suite(void)
{
	Suite *s = suite_create("virtio_console");
	TCase *tc = tcase_create("console");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_virtio_console_identifies_as_console);
	tcase_add_test(tc, test_virtio_console_tx_reaches_chardev);
	tcase_add_test(tc, test_virtio_console_rx_takes_only_posted_buffers);
	tcase_add_test(tc, test_virtio_console_rx_before_driver_ok_takes_nothing);
	tcase_add_test(tc, test_virtio_console_rx_spreads_over_buffers);
	tcase_add_test(tc, test_virtio_console_destroy_detaches_chardev);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(console_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
