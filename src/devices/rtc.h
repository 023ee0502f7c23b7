/* SPDX-License-Identifier: MIT */
/*
 * MC146818 CMOS real-time clock and its 128 bytes of CMOS RAM, at ports 0x70
 * (index; bit 7 masks NMI) and 0x71 (data), interrupting on ISA IRQ 8.
 * Time is clock->epoch + guest_clock_ns(clock) / 1e9 plus whatever offset
 * the guest sets; register 0x32 holds the century.
 */
#ifndef COVE_DEVICES_RTC_H
#define COVE_DEVICES_RTC_H

#include <stdint.h>

struct bus;
struct guest_clock;
struct irq_sink;
struct rtc;

/* clock NULL means host time (CLOCK_MONOTONIC, wall clock read once here). */
int rtc_create(struct bus *pio, struct irq_sink *irq, struct guest_clock *clock, struct rtc **out);
void rtc_destroy(struct rtc *r);

/*
 * Interrupt flags (periodic, alarm, update-ended) are brought up to date on
 * every guest access. To deliver IRQ 8 to a guest that waits without
 * touching the RTC, call rtc_poll() from a timer: it updates the flags and
 * the line, and returns the guest_clock_ns() time at which it should be
 * called next (UINT64_MAX: no interrupt can become due before the guest
 * acts). Any thread.
 */
uint64_t rtc_poll(struct rtc *r);

#endif
