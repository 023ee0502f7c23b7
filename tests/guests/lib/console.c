/* SPDX-License-Identifier: MIT */
/*
 * COM1 output and a small printf: %d %u %x %s %c %%, with l/ll, width and '0' padding.
 * Each byte waits for LSR.THRE (bit 5) with the classic in/test/jz loop (8250/16550 datasheet).
 * No "\r" is added: the serial log is compared byte for byte.
 */
#include "guest.h"

#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

void serial_init(void)
{
	outb(COM1_PORT + UART_IER, 0x00);	/* no UART interrupts */
	outb(COM1_PORT + UART_LCR, 0x80);	/* DLAB */
	outb(COM1_PORT + UART_DLL, 0x01);	/* 115200 baud */
	outb(COM1_PORT + UART_DLM, 0x00);
	outb(COM1_PORT + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1_PORT + UART_FCR, 0x00);	/* no FIFO: one byte per THRE */
	outb(COM1_PORT + UART_MCR, 0x03);	/* DTR, RTS; OUT2 off keeps IRQ4 quiet */
}

void serial_putc(char c)
{
	asm volatile("1:\n\t"
		     "inb %%dx, %%al\n\t"
		     "testb $0x20, %%al\n\t"
		     "jz 1b\n\t"
		     :
		     : "d"(COM1_PORT + UART_LSR)
		     : "eax", "cc");
	outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static int put_num(unsigned long long v, unsigned base, int width, char pad, bool neg)
{
	char buf[24];
	int n = 0, out = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		width--;
	if (neg && pad == '0') {
		serial_putc('-');
		out++;
	}
	for (; width > n; width--, out++)
		serial_putc(pad);
	if (neg && pad != '0') {
		serial_putc('-');
		out++;
	}
	while (n) {
		serial_putc(buf[--n]);
		out++;
	}
	return out;
}

int vprintf(const char *fmt, va_list ap)
{
	int out = 0;

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		unsigned long long u;
		long long s;

		if (*fmt != '%') {
			serial_putc(*fmt);
			out++;
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			s = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			u = s < 0 ? -(unsigned long long)s : (unsigned long long)s;
			out += put_num(u, 10, width, pad, s < 0);
			break;
		case 'u':
		case 'x':
			u = lng >= 2 ? va_arg(ap, unsigned long long)
			    : lng    ? va_arg(ap, unsigned long)
				     : va_arg(ap, unsigned int);
			out += put_num(u, *fmt == 'x' ? 16 : 10, width, pad, false);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len;

			if (!str)
				str = "(null)";
			len = (int)strlen(str);
			for (; width > len; width--, out++)
				serial_putc(' ');
			serial_puts(str);
			out += len;
			break;
		}
		case 'c':
			serial_putc((char)va_arg(ap, int));
			out++;
			break;
		case '%':
			serial_putc('%');
			out++;
			break;
		case '\0':
			return out;
		default:
			serial_putc('%');
			serial_putc(*fmt);
			out += 2;
			break;
		}
	}
	return out;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
