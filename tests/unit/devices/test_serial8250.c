/* SPDX-License-Identifier: MIT */
/* 16550A register semantics, driven through a real port bus and a file chardev. */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chardev.h"
#include "devices/serial8250.h"
#include "devtest.h"
#include "iothread.h"
#include "pc.h"

#define COM1 PC_PORT_COM1
#define RBR  (COM1 + 0)
#define THR  (COM1 + 0)
#define DLL  (COM1 + 0)
#define IER  (COM1 + 1)
#define DLM  (COM1 + 1)
#define IIR  (COM1 + 2)
#define FCR  (COM1 + 2)
#define LCR  (COM1 + 3)
#define MCR  (COM1 + 4)
#define LSR  (COM1 + 5)
#define MSR  (COM1 + 6)
#define SCR  (COM1 + 7)

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

/* Per-test fixture (each test runs in its own process). */
static struct bus *pio;
static struct test_irq irq;
static struct chardev *chr;
static struct serial8250 *uart;
static char out_path[64];

static void setup(void)
{
	GError *err = NULL;
	int fd;

	strcpy(out_path, "/tmp/cove-test-serial-XXXXXX");
	fd = mkstemp(out_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	chr = chardev_open(out_path, NULL, &err);
	ck_assert_msg(chr, "chardev_open: %s", err ? err->message : "?");
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &pio), 0);
	test_irq_init(&irq);
	ck_assert_int_eq(serial8250_create(pio, COM1, &irq.sink, PC_IRQ_COM1, chr, &uart), 0);
}

static void teardown(void)
{
	serial8250_destroy(uart);
	bus_destroy(pio);
	chardev_close(chr);
	unlink(out_path);
}

/* What the guest sent to the host so far. */
static char *host_output(size_t *len)
{
	gchar *data = NULL;
	gsize n = 0;

	ck_assert(g_file_get_contents(out_path, &data, &n, NULL));
	*len = n;
	return data;
}

static void receive_all(const char *s)
{
	ck_assert_uint_eq(serial8250_receive(uart, (const uint8_t *)s, strlen(s)), strlen(s));
}

START_TEST(test_serial8250_lsr_tracks_transmit_and_receive)
{
	size_t n;
	char *out;

	ck_assert_uint_eq(inb(pio, LSR), LSR_THRE | LSR_TEMT);
	outb(pio, THR, 'A');
	/* transmit is immediate: THR and the shift register are empty again */
	ck_assert_uint_eq(inb(pio, LSR), LSR_THRE | LSR_TEMT);
	out = host_output(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(out[0], 'A');
	g_free(out);

	receive_all("x");
	ck_assert_uint_eq(inb(pio, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	ck_assert_uint_eq(inb(pio, RBR), 'x');
	ck_assert_uint_eq(inb(pio, LSR), LSR_THRE | LSR_TEMT);
}
END_TEST

START_TEST(test_serial8250_iir_reports_by_priority_and_thre_clears_on_read)
{
	outb(pio, IER, 0x0f);
	/* enabling ETBI with THR empty raises THRE */
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 1);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);
	/* that read reported THRE and so cleared it */
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 0);

	/* loopback: the MCR change is a modem-status event; two bytes in 16450 mode overrun */
	outb(pio, MCR, 0x10 | 0x02);
	outb(pio, THR, 'a');
	outb(pio, THR, 'b');
	ck_assert_uint_eq(inb(pio, IIR), 0x06); /* line status first */
	ck_assert_uint_eq(inb(pio, LSR) & LSR_OE, LSR_OE);
	ck_assert_uint_eq(inb(pio, IIR), 0x04); /* then received data */
	ck_assert_uint_eq(inb(pio, RBR), 'b');	/* the overrun replaced the unread byte */
	ck_assert_uint_eq(inb(pio, IIR), 0x02); /* then THRE (set by the THR writes) */
	ck_assert_uint_eq(inb(pio, IIR), 0x00); /* then modem status */
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 1);
	/* DSR and DCD fell (DTR, OUT2 are 0); CTS stayed up with RTS */
	ck_assert_uint_eq(inb(pio, MSR), 0x10 | 0x02 | 0x08);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 0);
}
END_TEST

START_TEST(test_serial8250_thr_write_clears_thre_and_etbi_reenable_raises_it)
{
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
	/* rewriting IER with ETBI still set is no 0->1 edge */
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(inb(pio, IIR), 0x01);
	outb(pio, IER, 0x00);
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);
	/* a transmitted byte empties THR again at once: THRE is pending anew */
	outb(pio, THR, 'z');
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 1);
	ck_assert_uint_eq(inb(pio, IIR), 0x02);
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 0);
}
END_TEST

START_TEST(test_serial8250_divisor_latch_leaves_ier_and_rbr_alone)
{
	outb(pio, IER, 0x05);
	receive_all("q");
	outb(pio, LCR, 0x83); /* DLAB, 8N1 */
	outb(pio, DLL, 0x0c);
	outb(pio, DLM, 0x01);
	ck_assert_uint_eq(inb(pio, DLL), 0x0c);
	ck_assert_uint_eq(inb(pio, DLM), 0x01);
	outb(pio, LCR, 0x03);
	ck_assert_uint_eq(inb(pio, LCR), 0x03);
	ck_assert_uint_eq(inb(pio, IER), 0x05);
	ck_assert_uint_eq(inb(pio, LSR) & LSR_DR, LSR_DR);
	ck_assert_uint_eq(inb(pio, RBR), 'q');
	/* and the latch kept its value */
	outb(pio, LCR, 0x83);
	ck_assert_uint_eq(inb(pio, DLL), 0x0c);
	ck_assert_uint_eq(inb(pio, DLM), 0x01);
}
END_TEST

START_TEST(test_serial8250_fifo_overflow_sets_oe_and_keeps_earlier_bytes)
{
	outb(pio, FCR, 0x07); /* enable and clear both FIFOs */
	outb(pio, MCR, 0x10);
	for (int i = 0; i < 17; i++)
		outb(pio, THR, (uint8_t)('a' + i));
	ck_assert_uint_eq(inb(pio, LSR) & (LSR_DR | LSR_OE), LSR_DR | LSR_OE);
	ck_assert_uint_eq(inb(pio, LSR) & LSR_OE, 0); /* OE clears on read */
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(inb(pio, RBR), 'a' + i);
	ck_assert_uint_eq(inb(pio, LSR) & LSR_DR, 0);
}
END_TEST

START_TEST(test_serial8250_loopback_echoes_into_rx_not_to_host)
{
	size_t n;
	char *out;

	outb(pio, MCR, 0x10 | 0x08 | 0x02); /* loop, OUT2, RTS */
	/* modem inputs follow the outputs: RTS->CTS, OUT2->DCD */
	ck_assert_uint_eq(inb(pio, MSR) & 0xf0, 0x90);
	outb(pio, THR, 'Z');
	ck_assert_uint_eq(inb(pio, LSR) & LSR_DR, LSR_DR);
	ck_assert_uint_eq(inb(pio, RBR), 'Z');
	out = host_output(&n);
	ck_assert_uint_eq(n, 0);
	g_free(out);
	/* host input is held back while the serial input is cut off */
	ck_assert_uint_eq(serial8250_receive(uart, (const uint8_t *)"h", 1), 0);
	outb(pio, MCR, 0x00);
	receive_all("h");
	ck_assert_uint_eq(inb(pio, RBR), 'h');
}
END_TEST

START_TEST(test_serial8250_rx_trigger_level_picks_data_or_timeout)
{
	outb(pio, FCR, 0x81); /* FIFO on, trigger level 8 */
	outb(pio, IER, 0x01);
	receive_all("1234567");
	/* below the trigger: the character timeout reports it */
	ck_assert_uint_eq(inb(pio, IIR), 0xcc);
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 1);
	receive_all("8");
	ck_assert_uint_eq(inb(pio, IIR), 0xc4);
	ck_assert_uint_eq(inb(pio, RBR), '1');
	ck_assert_uint_eq(inb(pio, IIR), 0xcc);
	for (int i = 0; i < 7; i++)
		inb(pio, RBR);
	ck_assert_uint_eq(inb(pio, IIR), 0xc1);
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 0);

	outb(pio, FCR, 0xc1); /* trigger level 14 */
	receive_all("abcdefghijklm");
	ck_assert_uint_eq(inb(pio, IIR), 0xcc);
	receive_all("n");
	ck_assert_uint_eq(inb(pio, IIR), 0xc4);
	/* clearing the receive FIFO drops the interrupt */
	outb(pio, FCR, 0xc3);
	ck_assert_uint_eq(inb(pio, IIR), 0xc1);
	ck_assert_uint_eq(inb(pio, LSR) & LSR_DR, 0);
}
END_TEST

START_TEST(test_serial8250_receive_accepts_only_fifo_room)
{
	const uint8_t buf[20] = "abcdefghijklmnopqrs";

	/* 16450 mode holds one byte */
	ck_assert_uint_eq(serial8250_receive(uart, buf, 5), 1);
	ck_assert_uint_eq(serial8250_receive(uart, buf + 1, 4), 0);
	ck_assert_uint_eq(inb(pio, RBR), 'a');
	outb(pio, FCR, 0x01);
	ck_assert_uint_eq(serial8250_receive(uart, buf, 20), 16);
	ck_assert_uint_eq(serial8250_receive(uart, buf + 16, 4), 0);
	/* nothing was overrun */
	ck_assert_uint_eq(inb(pio, LSR) & LSR_OE, 0);
	ck_assert_uint_eq(inb(pio, RBR), 'a');
	ck_assert_uint_eq(serial8250_receive(uart, buf + 16, 4), 1);
	for (int i = 1; i < 17; i++)
		ck_assert_uint_eq(inb(pio, RBR), buf[i]);
}
END_TEST

/*
 * End to end with the real chardev: piped stdin longer than the FIFO reaches
 * the guest whole and in order, because draining the FIFO wakes the I/O
 * thread to deliver the rest.
 */
START_TEST(test_serial8250_piped_input_is_never_lost)
{
	struct iothread *io;
	struct chardev *in;
	struct serial8250 *u2;
	struct bus *b2;
	GError *err = NULL;
	char sent[100], got[100];
	int fds[2];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(sent); i++)
		sent[i] = (char)('!' + i % 90);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(dup2(fds[0], STDIN_FILENO), 0);
	close(fds[0]);

	io = iothread_start("test-io");
	ck_assert_ptr_nonnull(io);
	in = chardev_open("stdio", io, &err);
	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(bus_create(BUS_PIO, 1, &b2), 0);
	ck_assert_int_eq(serial8250_create(b2, COM1, NULL, PC_IRQ_COM1, in, &u2), 0);
	/* FIFO on before any input exists: changing FCR0 empties the FIFO */
	outb(b2, FCR, 0x01);
	ck_assert_int_eq(write(fds[1], sent, sizeof(sent)), (ssize_t)sizeof(sent));
	close(fds[1]);
	/* poll as a guest would; the Check timeout bounds a hang */
	while (n < sizeof(sent)) {
		if (inb(b2, LSR) & LSR_DR)
			got[n++] = (char)inb(b2, RBR);
		else
			g_usleep(100);
	}
	ck_assert_mem_eq(got, sent, sizeof(sent));
	ck_assert_uint_eq(inb(b2, LSR) & LSR_OE, 0);

	serial8250_destroy(u2);
	chardev_close(in);
	iothread_stop(io);
	bus_destroy(b2);
}
END_TEST

/* The steps of Linux's 8250 autoconfig (a 16550A must come out) and its THRE test. */
START_TEST(test_serial8250_probes_as_16550a)
{
	uint8_t save_ier, save_mcr;

	/* scratch register */
	outb(pio, SCR, 0xa5);
	ck_assert_uint_eq(inb(pio, SCR), 0xa5);
	outb(pio, SCR, 0x5a);
	ck_assert_uint_eq(inb(pio, SCR), 0x5a);
	/* IER: low nibble sticks, high nibble reads 0 */
	save_ier = inb(pio, IER);
	outb(pio, IER, 0);
	ck_assert_uint_eq(inb(pio, IER) & 0x0f, 0);
	outb(pio, IER, 0x0f);
	ck_assert_uint_eq(inb(pio, IER) & 0x0f, 0x0f);
	outb(pio, IER, 0xff);
	ck_assert_uint_eq(inb(pio, IER), 0x0f);
	outb(pio, IER, save_ier);
	/* loopback test */
	save_mcr = inb(pio, MCR);
	outb(pio, MCR, 0x10 | 0x0a);
	ck_assert_uint_eq(inb(pio, MSR) & 0xf0, 0x90);
	outb(pio, MCR, save_mcr);
	/* EFR probe with LCR = 0xbf writes FCR on a 16550A; then the FIFO check */
	outb(pio, LCR, 0xbf);
	outb(pio, COM1 + 2, 0);
	outb(pio, LCR, 0);
	outb(pio, FCR, 0x01);
	ck_assert_uint_eq(inb(pio, IIR) >> 6, 3);
	/* not an ST16C650 (EFR reads as IIR, non-zero) */
	outb(pio, LCR, 0x80);
	ck_assert_uint_ne(inb(pio, COM1 + 2), 0);
	outb(pio, LCR, 0xbf);
	ck_assert_uint_ne(inb(pio, COM1 + 2), 0);
	/* not a National SuperIO: IIR bit 4 does not follow MCR loop */
	outb(pio, LCR, 0);
	outb(pio, MCR, 0x10);
	outb(pio, LCR, 0xe0);
	ck_assert_uint_eq(inb(pio, COM1 + 2) & 0x10, 0);
	outb(pio, LCR, 0);
	outb(pio, MCR, 0);
	/* not a 16750: FCR bit 5 does not show in IIR bit 5 */
	outb(pio, FCR, 0x21);
	ck_assert_uint_eq(inb(pio, IIR) & 0xe0, 0xc0);
	outb(pio, LCR, 0x80);
	outb(pio, FCR, 0x21);
	ck_assert_uint_eq(inb(pio, IIR) & 0xe0, 0xc0);
	outb(pio, LCR, 0);
	/* not an XScale: IER bit 6 (UUE) does not stick */
	outb(pio, IER, 0x40);
	ck_assert_uint_eq(inb(pio, IER) & 0x40, 0);
	outb(pio, IER, 0);
	/* startup's THRE test: IIR must show THRE again after ETBI is re-enabled */
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(inb(pio, IIR) & 0x0f, 0x02);
	outb(pio, IER, 0);
	outb(pio, IER, 0x02);
	ck_assert_uint_eq(inb(pio, IIR) & 0x01, 0);
	outb(pio, IER, 0);
	ck_assert_uint_ne(inb(pio, LSR), 0xff);
}
END_TEST

/* The bus checkpoint saves and restores the device state (bus_ops save/load). */
START_TEST(test_serial8250_save_load_round_trip_restores_state)
{
	outb(pio, FCR, 0x41);
	outb(pio, IER, 0x01);
	outb(pio, SCR, 0x11);
	receive_all("xyz");
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 1);

	ck_assert_int_eq(bus_checkpoint(pio, 0), 0);
	ck_assert_uint_eq(inb(pio, RBR), 'x');
	ck_assert_uint_eq(inb(pio, RBR), 'y');
	ck_assert_uint_eq(inb(pio, RBR), 'z');
	outb(pio, SCR, 0x22);
	outb(pio, IER, 0x00);
	outb(pio, LCR, 0x80);
	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 0);
	bus_rollback(pio, 0);

	ck_assert_int_eq(irq.level[PC_IRQ_COM1], 1);
	ck_assert_uint_eq(inb(pio, LCR), 0x00);
	ck_assert_uint_eq(inb(pio, SCR), 0x11);
	ck_assert_uint_eq(inb(pio, IER), 0x01);
	ck_assert_uint_eq(inb(pio, IIR), 0xcc);
	ck_assert_uint_eq(inb(pio, RBR), 'x');
	ck_assert_uint_eq(inb(pio, RBR), 'y');
	ck_assert_uint_eq(inb(pio, RBR), 'z');
	ck_assert_uint_eq(inb(pio, LSR) & LSR_DR, 0);

	/* commit keeps the changes */
	receive_all("w");
	ck_assert_int_eq(bus_checkpoint(pio, 0), 0);
	ck_assert_uint_eq(inb(pio, RBR), 'w');
	bus_commit(pio, 0);
	ck_assert_uint_eq(inb(pio, LSR) & LSR_DR, 0);
}
END_TEST

START_TEST(test_serial8250_wide_access_reaches_consecutive_registers)
{
	outb(pio, IER, 0x05);
	outb(pio, FCR, 0x01);
	/* a 16-bit read at base+1 reads IER then IIR */
	ck_assert_uint_eq(port_in(pio, IER, 2), 0xc105);
}
END_TEST

static Suite *serial8250_suite(void)
{
	Suite *s = suite_create("serial8250");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_serial8250_lsr_tracks_transmit_and_receive);
	tcase_add_test(tc, test_serial8250_iir_reports_by_priority_and_thre_clears_on_read);
	tcase_add_test(tc, test_serial8250_thr_write_clears_thre_and_etbi_reenable_raises_it);
	tcase_add_test(tc, test_serial8250_divisor_latch_leaves_ier_and_rbr_alone);
	tcase_add_test(tc, test_serial8250_fifo_overflow_sets_oe_and_keeps_earlier_bytes);
	tcase_add_test(tc, test_serial8250_loopback_echoes_into_rx_not_to_host);
	tcase_add_test(tc, test_serial8250_rx_trigger_level_picks_data_or_timeout);
	tcase_add_test(tc, test_serial8250_receive_accepts_only_fifo_room);
	tcase_add_test(tc, test_serial8250_piped_input_is_never_lost);
	tcase_add_test(tc, test_serial8250_probes_as_16550a);
	tcase_add_test(tc, test_serial8250_save_load_round_trip_restores_state);
	tcase_add_test(tc, test_serial8250_wide_access_reaches_consecutive_registers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return devtest_run(serial8250_suite());
}
