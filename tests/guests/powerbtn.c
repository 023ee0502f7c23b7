/* SPDX-License-Identifier: MIT */
/*
 * powerbtn: the guest the monitor tests drive (tests/cli/monitor.sh). Prints "powerbtn: ready",
 * then "powerbtn: tick N" every ~100 ms of guest time (the TSC, calibrated once against the ACPI
 * PM timer), until the ACPI power button is pressed (PM1_STS.PWRBTN_STS, polled: no PM1_EN bit
 * and no SCI are enabled); then prints "powerbtn: power button, powering off" and enters S5
 * through PM1a_CNT. Between polls it sleeps in "sti; hlt" on an 8254 tick, so a paused or idle
 * run does not spin the host. Not compared with QEMU: its output depends on time, and QEMU's PM
 * block is elsewhere.
 *
 * Relies on: ACPI 6.5 §4.8.3.1 (PM1 status: PWRBTN_STS is set whatever PWRBTN_EN says, write 1
 * to clear), §4.8.3.2 (PM1 control: SLP_TYP, SLP_EN), §4.8.3.3 (PM timer, 3.579545 MHz, 24 bits
 * here: FADT TMR_VAL_EXT = 0), §7.4.2 (\_S5); Intel 8254 and 8259A datasheets.
 */
#include "guest.h"
#include "pc.h"
#include "trap.h"

/* cove's fixed ACPI PM block: PC_PORT_ACPI_PM* in src/pc.h, also in the FADT cove builds. */
#define PM1_STS		0x600
#define PM1_CNT		0x604
#define PM_TMR		0x608
#define PM1_PWRBTN_STS	(1u << 8)
#define PM1_SLP_TYP(t)	((t) << 10)
#define PM1_SLP_EN	(1u << 13)
#define S5_TYPE		5 /* PC_ACPI_S5_TYPE: what cove's DSDT gives \_S5 */
#define PM_TMR_HZ	3579545u
#define PM_TMR_MASK	0xffffffu
#define PIT_COUNT_100HZ 11932 /* PIT_HZ / 100 */

static void irq0(struct trap_frame *f)
{
	(void)f;
	pic_eoi(0);
}

/* TSC ticks in 100 ms: measured over 10 ms of the PM timer. */
static uint64_t tsc_per_tick(void)
{
	uint32_t start = inl(PM_TMR) & PM_TMR_MASK;
	uint64_t tsc0 = rdtsc();

	while (((inl(PM_TMR) - start) & PM_TMR_MASK) < PM_TMR_HZ / 100)
		;
	return (rdtsc() - tsc0) * 10;
}

void guest_main(void)
{
	uint64_t per, next;
	unsigned n = 0;

	if (cpu_has_apic()) {
		lapic_virtual_wire();
		ioapic_mask_all();
	}
	trap_set_handler(VEC_IRQ0, irq0);
	per = tsc_per_tick();
	pit_program(0, PIT_MODE_RATE, PIT_COUNT_100HZ);
	pic_set_mask(0xfffe);
	printf("powerbtn: ready\n");
	next = rdtsc() + per;
	while (!(inw(PM1_STS) & PM1_PWRBTN_STS)) {
		/* after a pause the TSC has jumped: one tick, not a burst of them */
		if (rdtsc() >= next) {
			printf("powerbtn: tick %u\n", ++n);
			next = rdtsc() + per;
		}
		asm volatile("sti; hlt; cli" ::: "memory");
	}
	outw(PM1_STS, PM1_PWRBTN_STS);
	printf("powerbtn: power button, powering off\n");
	outw(PM1_CNT, PM1_SLP_TYP(S5_TYPE) | PM1_SLP_EN);
	fail("S5 did not power the machine off");
}
