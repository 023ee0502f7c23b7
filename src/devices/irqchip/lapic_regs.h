/* SPDX-License-Identifier: MIT */
/*
 * Private to lapic.c and lapic_timer.c: the local APIC's state and register
 * layout (SDM Vol.3 Table 10-1). Nothing outside this folder includes it.
 */
#ifndef COVE_IRQCHIP_LAPIC_REGS_H
#define COVE_IRQCHIP_LAPIC_REGS_H

#include "devices/irqchip/lapic.h"

/* Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + off / 16. */
#define APIC_ID		0x020
#define APIC_VER	0x030
#define APIC_TPR	0x080
#define APIC_APR	0x090
#define APIC_PPR	0x0a0
#define APIC_EOI	0x0b0
#define APIC_RRD	0x0c0
#define APIC_LDR	0x0d0
#define APIC_DFR	0x0e0
#define APIC_SVR	0x0f0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVT_TIMER	0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF	0x340
#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_LVT_ERROR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0 /* x2APIC only */
#define APIC_PAGE_REGS	0x400 /* the rest of the 4 KiB page is reserved */

#define APIC_SVR_ENABLE	    (1u << 8)
#define APIC_LVT_MASKED	    (1u << 16)
#define APIC_LVT_LEVEL	    (1u << 15)
#define APIC_LVT_POLARITY   (1u << 13)
#define APIC_LVT_TIMER_MODE (3u << 17)
#define APIC_ICR_LOGICAL    (1u << 11)
#define APIC_ICR_BUSY	    (1u << 12)
#define APIC_ICR_ASSERT	    (1u << 14)
#define APIC_ICR_LEVEL	    (1u << 15)
#define APIC_ICR_WRITABLE   0x000ccfffu /* vector, mode, dest mode, level, trigger, shorthand */

/* ESR bits (SDM Vol.3 Figure 10-9). */
#define APIC_ESR_SEND_ILLEGAL 0x20
#define APIC_ESR_RECV_ILLEGAL 0x40
#define APIC_ESR_ILLEGAL_REG  0x80

/* LVT timer modes (SDM Vol.3 Table 10-2). */
enum { APIC_TIMER_ONESHOT = 0, APIC_TIMER_PERIODIC = 1, APIC_TIMER_TSC_DEADLINE = 2 };

#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull

struct lapic {
	uint32_t regs[KVM_APIC_REG_SIZE / 4]; /* the page, one word per byte offset / 4 */
	uint64_t base;			      /* IA32_APIC_BASE */
	unsigned index;
	struct guest_clock *clock;
	uint64_t tsc_hz;
	uint64_t tsc_offset;
	const struct lapic_ops *ops;
	void *opaque;

	uint32_t esr_pending; /* errors since the last ESR write */
	uint32_t lint_level;  /* LINT0/1 input levels, for edges */
	bool nmi_pending;
	bool init_pending;
	bool sipi_pending;
	bool wait_sipi;
	bool extint_pending;
	uint8_t sipi_vector;

	/*
	 * Count-based timer: it reached base_count ticks after base_ns, and
	 * (periodic) every TMICT ticks after that; fired expirations are done.
	 */
	struct {
		bool armed;
		uint64_t base_ns;
		uint32_t base_count;
		uint64_t fired;
	} timer;
	uint64_t tsc_deadline; /* IA32_TSC_DEADLINE; 0 is disarmed */
};

static inline uint32_t reg(const struct lapic *l, uint32_t off)
{
	return l->regs[off >> 2];
}

static inline void set_reg(struct lapic *l, uint32_t off, uint32_t v)
{
	l->regs[off >> 2] = v;
}

/* lapic.c */
void lapic_error(struct lapic *l, uint32_t esr_bits);
uint32_t lapic_x2apic_ldr(uint32_t id);

/* lapic_timer.c (SDM Vol.3 §10.5.4) */
unsigned lapic_timer_mode(const struct lapic *l);
void lapic_timer_check(struct lapic *l); /* fire what is due by the clock's now */
uint32_t lapic_timer_current(struct lapic *l);
void lapic_timer_lvt_write(struct lapic *l, uint32_t val);
void lapic_timer_set_initial(struct lapic *l, uint32_t val);
void lapic_timer_set_divide(struct lapic *l, uint32_t val);
void lapic_timer_set_tsc_deadline(struct lapic *l, uint64_t val);
void lapic_timer_restore(struct lapic *l, uint32_t current);

#endif
