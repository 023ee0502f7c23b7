/* SPDX-License-Identifier: MIT */
/*
 * pit: 8254 channel 0 at about 1 kHz through the 8259 master's IRQ0. "sti; hlt" wakes on
 * exactly one tick each time (the STI shadow keeps the interrupt out until HLT), in rate
 * generator and square wave modes; the handler runs with IF = 0 and ISR bit 0 set until its
 * EOI; an IRQ whose ISR bit is still set, or whose IMR bit is set, waits in IRR and is delivered
 * once the EOI or unmask comes; a long REP MOVSB with IF = 1 completes however many ticks land
 * in it, and a tick taken between its iterations sees consistent ECX/ESI/EDI; a mode 0 count
 * interrupts once only. Everything printed is a count of events that does not depend on the
 * host's speed, never a time.
 *
 * Relies on: Intel 8254 datasheet (modes 0, 2 and 3, counter latch and read-back commands, the
 * status byte), Intel 8259A datasheet (edge-triggered IRR, IMR, ISR, priority, non-specific
 * EOI, OCW3 register reads), SDM Vol.2B STI (interrupts recognised after the next instruction)
 * and HLT, REP (interrupts are recognised between iterations, the registers then describe the
 * elements done), Vol.3 §6.8.1 (masking maskable interrupts), §6.12.1.3 (an interrupt gate
 * clears IF).
 */
#include "guest.h"
#include "desc.h"
#include "pc.h"
#include "trap.h"

#define COUNT_1KHZ 1193 /* PIT_HZ / 1000 */

static volatile unsigned ticks;
static volatile unsigned handler_if_set;     /* handler entered with IF = 1 */
static volatile unsigned handler_frame_noif; /* interrupted code had IF = 0 */
static volatile unsigned handler_no_isr;     /* ISR bit 0 clear before the EOI */
static volatile unsigned handler_isr_after;  /* ISR bit 0 still set after the EOI */
static volatile bool send_eoi = true;
static volatile bool track_out;	     /* count ticks that see OUT high (one_shot) */
static volatile unsigned out_high_ticks;
static volatile bool keep_if;		     /* return with IF as it was (rep_interrupted) */
static volatile unsigned rep_mid, rep_bad;  /* ticks inside the rep movsb; inconsistent ones */

#define REP_BYTES (256 * 1024)
static uint8_t rep_src[REP_BYTES], rep_dst[REP_BYTES];
extern char pit_rep_insn[];

/* A tick that interrupts the rep movsb itself must see the registers of an instruction that
 * stopped between two iterations: ESI and EDI advanced by exactly the bytes ECX says are done. */
static void note_rep_tick(const struct trap_frame *f)
{
	ulong done;

	if (f->ip != (ulong)pit_rep_insn)
		return;
	rep_mid++;
	done = REP_BYTES - f->ecx;
	if (f->ecx == 0 || f->ecx > REP_BYTES || f->esi != (ulong)rep_src + done ||
	    f->edi != (ulong)rep_dst + done)
		rep_bad++;
}

/* Returns to the interrupted code with IF = 0, so that each "sti; ...; cli" window takes at
 * most one interrupt however long the handler ran: the counts stay exact. */
static void irq0(struct trap_frame *f)
{
	ticks++;
	if (track_out && (pit_read_status(0) & 0x80))
		out_high_ticks++;
	if (read_flags() & EFL_IF)
		handler_if_set++;
	if (!(f->flags & EFL_IF))
		handler_frame_noif++;
	if (keep_if)
		note_rep_tick(f);
	else
		f->flags &= ~(ulong)EFL_IF;
	if (!send_eoi)
		return;
	if (!(pic_read_isr() & 1))
		handler_no_isr++;
	pic_eoi(0);
	if (pic_read_isr() & 1)
		handler_isr_after++;
}

static void reset_counters(void)
{
	ticks = 0;
	handler_if_set = handler_frame_noif = handler_no_isr = handler_isr_after = 0;
}

/* n times "sti; hlt; cli": returns how many halts it took. */
static unsigned halt_n(unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		asm volatile("sti; hlt; cli" ::: "memory");
	return i;
}

/* Waits (IF as the caller left it) until channel 0's counter has wrapped round `wraps` times,
 * i.e. at least that many full periods of the current count have passed. Mode 3 counts down by
 * two, mode 0 and 2 by one; a reload or wrap shows as a value larger than the previous one. */
static void wait_periods(unsigned wraps)
{
	uint16_t prev = pit_latch_count(0), now;
	unsigned long spins = 0;

	while (wraps) {
		now = pit_latch_count(0);
		if (now > prev)
			wraps--;
		prev = now;
		if (++spins == 20000000ul) { /* a safety net only; never reached when the PIT counts */
			fail("channel 0's counter stopped counting");
			return;
		}
	}
}

/* Waits (IF as the caller left it) until IRQ0's IRR bit is set, i.e. until the PIT's next edge
 * has reached the PIC (polling IRR rather than the counter: an emulated PIT may show the count
 * wrapping a little before its edge is delivered). False after 1000 wraps without it. */
static bool wait_irr0(void)
{
	uint16_t prev = pit_latch_count(0), now;
	unsigned wraps = 0;

	while (!(pic_read_irr() & 1)) {
		now = pit_latch_count(0);
		if (now > prev && ++wraps == 1000)
			return false;
		prev = now;
	}
	return true;
}

static void check_handler_state(const char *mode)
{
	check(handler_if_set == 0, "%s: every handler ran with IF=0", mode);
	check(handler_frame_noif == 0, "%s: every interrupted frame had IF=1", mode);
	check(handler_no_isr == 0, "%s: ISR bit 0 set in every handler before EOI", mode);
	check(handler_isr_after == 0, "%s: ISR bit 0 clear after every EOI", mode);
}

static void periodic(unsigned mode, const char *name, unsigned n)
{
	unsigned halts;
	uint16_t c;

	reset_counters();
	pit_program(0, mode, COUNT_1KHZ);
	check((pit_read_status(0) & 0x3f) == (0x30 | mode << 1),
	      "%s: read-back status shows the control word", name);
	c = pit_latch_count(0);
	check(c <= COUNT_1KHZ, "%s: latched count within the programmed count", name);
	pic_set_mask((uint16_t)~1u);
	halts = halt_n(n);
	pic_set_mask(0xffff);
	printf("%s: %u halts, %u ticks taken\n", name, halts, ticks);
	check(ticks == n, "%s: one tick per sti; hlt", name);
	check_handler_state(name);
}

static void held_in_irr(void)
{
	unsigned before;

	/* An IRQ that is in service (no EOI yet) blocks itself; the next edge waits in IRR. */
	reset_counters();
	send_eoi = false;
	pit_program(0, PIT_MODE_RATE, COUNT_1KHZ);
	pic_set_mask((uint16_t)~1u);
	asm volatile("sti; hlt; cli" ::: "memory");
	check_eq("no EOI: one tick", ticks, 1);
	check(pic_read_isr() & 1, "no EOI: ISR bit 0 stays set");
	sti();
	check(wait_irr0(), "no EOI: the next edge is held in IRR");
	cli();
	check_eq("no EOI: no further tick while IRQ0 is in service", ticks, 1);
	send_eoi = true;
	pic_eoi(0);
	asm volatile("sti; nop; nop; cli" ::: "memory");
	check_eq("after the late EOI the held IRQ is delivered at once", ticks, 2);
	check(!(pic_read_isr() & 1), "after the late EOI ISR bit 0 is clear");

	/* A masked line still latches its edge in IRR; unmasking delivers it. */
	pic_set_mask(0xffff);
	before = ticks;
	sti();
	check(wait_irr0(), "IMR masks IRQ0: the edge is held in IRR");
	cli();
	check_eq("IMR masks IRQ0: no tick", ticks - before, 0);
	pic_set_mask((uint16_t)~1u);
	asm volatile("sti; nop; nop; cli" ::: "memory");
	check_eq("unmasking IRQ0 delivers the held edge at once", ticks - before, 1);
	pic_set_mask(0xffff);

	/* With IF = 0 nothing is delivered; IRR holds it. */
	before = ticks;
	pic_set_mask((uint16_t)~1u);
	check(wait_irr0(), "IF=0: the edge is held in IRR");
	check_eq("IF=0: no tick", ticks - before, 0);
	asm volatile("sti; nop; nop; cli" ::: "memory");
	check_eq("IF=1: the pending tick arrives", ticks - before, 1);
	pic_set_mask(0xffff);
}

/*
 * Mode 0 counts once: OUT goes low with the control word and high at the terminal count, one
 * edge. An edge the earlier periodic modes left in IRR (IRQ0 was masked) may come first, so
 * the handler tells them apart by OUT: low for a stale edge, high for the terminal count.
 */
static void one_shot(void)
{
	unsigned i, at_tc;

	reset_counters();
	out_high_ticks = 0;
	pic_set_mask(0xffff);
	pit_program(0, PIT_MODE_ONESHOT, 0x8000); /* about 27 ms */
	track_out = true;
	pic_set_mask((uint16_t)~1u);
	for (i = 0; i < 3 && !out_high_ticks; i++)
		asm volatile("sti; hlt; cli" ::: "memory");
	check_eq("mode 0: the terminal count interrupts once, with OUT high", out_high_ticks, 1);
	at_tc = ticks;
	sti();
	wait_periods(2); /* the counter wraps round and keeps counting, OUT stays high */
	cli();
	track_out = false;
	check_eq("mode 0: no interrupt after the terminal count", ticks - at_tc, 0);
	check(pit_read_status(0) & 0x80, "mode 0: OUT high after the terminal count");
	check_handler_state("mode 0");
}

static __attribute__((noinline)) void rep_copy_with_if(void)
{
	void *d = rep_dst;
	const void *sp = rep_src;
	ulong n = REP_BYTES;

	asm volatile("sti\n"
		     ".globl pit_rep_insn\npit_rep_insn: rep movsb\n\t"
		     "cli"
		     : "+D"(d), "+S"(sp), "+c"(n)
		     :
		     : "memory");
}

/* A long rep movsb with the timer running and IF = 1: whether and where ticks land inside it
 * depends on the host, so nothing about them is printed, but the copy must complete and any
 * tick taken inside must show consistent registers. */
static void rep_interrupted(void)
{
	unsigned round, i;
	bool ok = true;

	reset_counters();
	rep_mid = rep_bad = 0;
	keep_if = true;
	pit_program(0, PIT_MODE_RATE, COUNT_1KHZ);
	pic_set_mask((uint16_t)~1u);
	for (round = 0; round < 8; round++) {
		for (i = 0; i < REP_BYTES; i++)
			rep_src[i] = (uint8_t)(i * 13 + round * 7 + (i >> 9));
		memset(rep_dst, 0, REP_BYTES);
		rep_copy_with_if();
		ok &= !memcmp(rep_dst, rep_src, REP_BYTES);
	}
	pic_set_mask(0xffff);
	keep_if = false;
	check(ok, "rep movsb with the 1 kHz timer running: every copy complete");
	check(rep_bad == 0, "rep movsb with the 1 kHz timer running: ticks inside it saw ECX, ESI "
			    "and EDI agree");
	check(rep_mid <= ticks, "rep movsb with the 1 kHz timer running: tick count consistent");
}

void guest_main(void)
{
	unsigned n = (unsigned)mb_param("ticks", 100);

	printf("pit: 8254 channel 0 at 1 kHz on IRQ0 of the 8259, sti; hlt; EOI\n");
	if (cpu_has_apic()) {
		lapic_virtual_wire();
		ioapic_mask_all();
	}
	trap_set_handler(VEC_IRQ0, irq0);
	periodic(PIT_MODE_RATE, "mode 2 (rate generator)", n);
	periodic(PIT_MODE_SQUARE, "mode 3 (square wave)", n);
	held_in_irr();
	rep_interrupted();
	one_shot();
	pit_program(0, PIT_MODE_ONESHOT, 1);
	pic_set_mask(0xffff);
}
