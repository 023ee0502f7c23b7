/* SPDX-License-Identifier: MIT */
/*
 * lapic: the local APIC (xAPIC, MMIO at 0xfee00000, paging off) with the 8259s masked. The
 * APIC base MSR; software enable through the spurious-interrupt vector register and the LVT
 * mask bits it forces while disabled; the divide configuration register; the LVT timer in
 * one-shot mode (one interrupt, then the current count stays 0) and in periodic mode ("sti;
 * hlt; cli" wakes on exactly one interrupt each time); ISR set in the handler until the EOI;
 * TPR holding back a vector of its priority class (left in IRR, PPR = TPR) until lowered.
 * Everything printed is a count of events that does not depend on the host's speed.
 * Known deviation of QEMU TCG 7.2 accepted only on QEMU TCG (guest.h, tcg_quirk): an LVT mask
 * bit can be cleared while the APIC is software-disabled.
 *
 * Relies on: SDM Vol.3 §11.4.1 and §11.4.4 (IA32_APIC_BASE), §11.4.7.2 (software enable, LVT
 * masks forced while disabled), §11.5.1 (LVT), §11.5.4 (APIC timer: divide configuration,
 * initial and current count, one-shot and periodic), §11.8.3.1 (PPR), §11.8.4 (IRR/ISR), §11.8.5
 * (EOI), §11.8.3 (TPR and priority classes), §11.9 (spurious-interrupt vector register); Vol.2B
 * STI and HLT.
 */
#include "guest.h"
#include "desc.h"
#include "pc.h"
#include "trap.h"

#define TIMER_VEC  0x41
#define SVR_ENABLE (1u << 8)
#define SPURIOUS   0xff
#define ONESHOT_COUNT  2000000u /* divide by 1 */
#define PERIODIC_COUNT 200000u  /* divide by 16 */
#define SPIN_LIMIT 200000000ul

static volatile unsigned ticks;
static volatile unsigned h_if_set, h_no_isr, h_isr_after, h_ppr_bad;
static volatile bool send_eoi = true;

static bool isr_bit(unsigned vec)
{
	return lapic_read(LAPIC_ISR + 0x10 * (vec / 32)) & (1u << (vec % 32));
}

static bool irr_bit(unsigned vec)
{
	return lapic_read(LAPIC_IRR + 0x10 * (vec / 32)) & (1u << (vec % 32));
}

/* Returns with IF = 0 so that each "sti; hlt; cli" takes exactly one interrupt. */
static void timer_irq(struct trap_frame *f)
{
	ticks++;
	if (read_flags() & EFL_IF)
		h_if_set++;
	f->flags &= ~(ulong)EFL_IF;
	if (!send_eoi)
		return;
	if (!isr_bit(TIMER_VEC))
		h_no_isr++;
	if ((lapic_read(LAPIC_PPR) & 0xf0) != (TIMER_VEC & 0xf0))
		h_ppr_bad++;
	lapic_eoi();
	if (isr_bit(TIMER_VEC))
		h_isr_after++;
}

static void reset_counters(void)
{
	ticks = 0;
	h_if_set = h_no_isr = h_isr_after = h_ppr_bad = 0;
}

static void check_handler_state(const char *mode)
{
	check(h_if_set == 0, "%s: every handler ran with IF=0", mode);
	check(h_no_isr == 0, "%s: ISR bit set in every handler before EOI", mode);
	check(h_ppr_bad == 0, "%s: PPR is the in-service vector's class in the handler", mode);
	check(h_isr_after == 0, "%s: ISR bit clear after every EOI", mode);
}

static void timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | TIMER_VEC);
	lapic_write(LAPIC_TIMER_ICR, 0);
}

static void base_and_svr(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	uint32_t v;

	check_eq("IA32_APIC_BASE: base address", base & 0xfffff000ull, LAPIC_BASE);
	check(base & (1u << 11), "IA32_APIC_BASE: global enable");
	check(base & (1u << 8), "IA32_APIC_BASE: BSP");

	/* Software-disabled: every LVT mask bit set and stuck. */
	lapic_write(LAPIC_SVR, SPURIOUS);
	check_eq("SVR software-disabled reads back", lapic_read(LAPIC_SVR) & 0x1ff, SPURIOUS);
	lapic_write(LAPIC_LVT_TIMER, TIMER_VEC);
	v = lapic_read(LAPIC_LVT_TIMER);
	/* QEMU TCG (7.2) lets the mask bit be cleared while the APIC is software-disabled. */
	check((v & LAPIC_LVT_MASKED) || tcg_quirk(true),
	      "software-disabled: LVT timer mask cannot be cleared");
	check_eq("software-disabled: LVT timer vector written", v & 0xff, TIMER_VEC);

	lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS);
	check_eq("SVR software-enabled, spurious vector 0xff", lapic_read(LAPIC_SVR) & 0x1ff,
		 SVR_ENABLE | SPURIOUS);
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED | 0xfe);
	lapic_write(LAPIC_TPR, 0);
	timer_stop();
	check_eq("LVT timer masked, vector kept", lapic_read(LAPIC_LVT_TIMER),
		 LAPIC_LVT_MASKED | TIMER_VEC);
	lapic_write(LAPIC_TIMER_DCR, 0xb); /* divide by 1 */
	check_eq("DCR: divide by 1 reads back", lapic_read(LAPIC_TIMER_DCR) & 0xb, 0xb);
	lapic_write(LAPIC_TIMER_DCR, 0x3); /* divide by 16 */
	check_eq("DCR: divide by 16 reads back", lapic_read(LAPIC_TIMER_DCR) & 0xb, 0x3);
	check_eq("initial count 0: current count 0", lapic_read(LAPIC_TIMER_CCR), 0);
	lapic_eoi(); /* nothing in service: harmless */
	check_eq("EOI with nothing in service: PPR 0", lapic_read(LAPIC_PPR), 0);
}

static void one_shot(void)
{
	unsigned long spins = 0;
	unsigned at;

	reset_counters();
	lapic_write(LAPIC_TIMER_DCR, 0xb);
	lapic_write(LAPIC_LVT_TIMER, TIMER_VEC);
	lapic_write(LAPIC_TIMER_ICR, ONESHOT_COUNT);
	check(lapic_read(LAPIC_TIMER_CCR) <= ONESHOT_COUNT,
	      "one-shot: current count within the initial count");
	asm volatile("sti; hlt; cli" ::: "memory");
	check(ticks == 1, "one-shot fired once");
	check_eq("one-shot: current count 0 after it fired", lapic_read(LAPIC_TIMER_CCR), 0);
	at = ticks;
	sti();
	while (spins < 2000000ul && lapic_read(LAPIC_TIMER_CCR) == 0)
		spins++;
	cli();
	check_eq("one-shot: current count stays 0", lapic_read(LAPIC_TIMER_CCR), 0);
	check_eq("one-shot: no second interrupt", ticks - at, 0);
	check_handler_state("one-shot");
	timer_stop();
}

static void periodic(unsigned n)
{
	unsigned i;
	uint32_t c;

	reset_counters();
	lapic_write(LAPIC_TIMER_DCR, 0x3);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | TIMER_VEC);
	lapic_write(LAPIC_TIMER_ICR, PERIODIC_COUNT);
	for (i = 0; i < n; i++)
		asm volatile("sti; hlt; cli" ::: "memory");
	c = lapic_read(LAPIC_TIMER_CCR);
	printf("periodic: %u halts, %u interrupts taken\n", i, ticks);
	check(ticks == n, "periodic: one interrupt per sti; hlt");
	check(c <= PERIODIC_COUNT, "periodic: current count reloaded within the initial count");
	check_handler_state("periodic");
	timer_stop();
	/* Whatever the last period left in IRR is taken now and not counted. */
	asm volatile("sti; nop; nop; cli" ::: "memory");
}

static void tpr(void)
{
	unsigned long spins = 0;

	reset_counters();
	lapic_write(LAPIC_TPR, TIMER_VEC & 0xf0);
	check_eq("TPR reads back", lapic_read(LAPIC_TPR) & 0xff, TIMER_VEC & 0xf0);
	check_eq("PPR = TPR with nothing in service", lapic_read(LAPIC_PPR) & 0xff,
		 TIMER_VEC & 0xf0);
	lapic_write(LAPIC_TIMER_DCR, 0xb);
	lapic_write(LAPIC_LVT_TIMER, TIMER_VEC);
	lapic_write(LAPIC_TIMER_ICR, ONESHOT_COUNT);
	sti();
	while (!irr_bit(TIMER_VEC) && ++spins < SPIN_LIMIT)
		;
	cli();
	check(irr_bit(TIMER_VEC), "TPR class 4: the timer interrupt waits in IRR");
	check_eq("TPR class 4: vector 0x41 held back", ticks, 0);
	lapic_write(LAPIC_TPR, 0x30);
	asm volatile("sti; nop; nop; cli" ::: "memory");
	check_eq("TPR class 3: the held interrupt is delivered at once", ticks, 1);
	check(!irr_bit(TIMER_VEC) && !isr_bit(TIMER_VEC), "TPR class 3: IRR and ISR clear after EOI");
	check_handler_state("TPR");
	lapic_write(LAPIC_TPR, 0);
	timer_stop();
}

void guest_main(void)
{
	unsigned n = (unsigned)mb_param("ticks", 10);

	printf("lapic: local APIC timer, TPR, EOI and SVR with the 8259s masked\n");
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	if (!check(cpu_has_apic(), "CPUID.1:EDX.APIC"))
		return;
	trap_set_handler(TIMER_VEC, timer_irq);
	base_and_svr();
	one_shot();
	periodic(n);
	tpr();
}
