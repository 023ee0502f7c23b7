// SPDX-License-Identifier: MIT
/*
 * Local APIC. Reference: Intel SDM Vol.3 chapter 10 ("Advanced Programmable
 * Interrupt Controller"): register map (Table 10-1, 10-6), LVT (§10.5.1),
 * error handling (§10.5.3), timer (§10.5.4), IPIs (§10.6), priorities
 * (§10.8.3), EOI (§10.8.5), spurious interrupts (§10.9) and x2APIC (§10.12).
 */
#include "devices/irqchip/lapic.h"

#include "devices/irqchip/lapic_regs.h"
#include "pc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lapic_create(const struct lapic_params *p, struct lapic **out)
{
	struct lapic *l;

	if (!p || !p->ops || !p->ops->send_ipi || !p->ops->eoi || p->index >= 0xff)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->index = p->index;
	l->clock = p->clock;
	l->tsc_hz = p->tsc_hz;
	l->ops = p->ops;
	l->opaque = p->opaque;
	l->base = p->bsp ? APIC_BASE_BSP : 0;
	lapic_reset(l, true);
	*out = l;
	return 0;
}

void lapic_destroy(struct lapic *l)
{
	free(l);
}

void lapic_reset(struct lapic *l, bool power_on)
{
	uint32_t id = power_on ? l->index << 24 : reg(l, APIC_ID);

	if (power_on) {
		l->base = PC_LAPIC_BASE | APIC_BASE_ENABLE | (l->base & APIC_BASE_BSP);
		l->wait_sipi = false;
		l->init_pending = false;
		l->sipi_pending = false;
	}
	/* SDM Vol.3 §10.4.7.1: everything zero except what follows. */
	memset(l->regs, 0, sizeof(l->regs));
	set_reg(l, APIC_ID, id);
	set_reg(l, APIC_VER, LAPIC_VERSION);
	set_reg(l, APIC_DFR, 0xffffffffu);
	set_reg(l, APIC_SVR, 0xff);
	for (uint32_t off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10)
		set_reg(l, off, APIC_LVT_MASKED);
	if (l->base & APIC_BASE_BSP)
		set_reg(l, APIC_LVT_LINT0, APIC_DM_EXTINT << 8);
	if (lapic_x2apic_mode(l))
		set_reg(l, APIC_LDR, lapic_x2apic_ldr(l->index));
	l->esr_pending = 0;
	l->nmi_pending = false;
	l->extint_pending = false;
	l->lint_level = 0;
	l->timer.armed = false;
	l->tsc_deadline = 0;
}

bool lapic_hw_enabled(const struct lapic *l)
{
	return l->base & APIC_BASE_ENABLE;
}

bool lapic_x2apic_mode(const struct lapic *l)
{
	return (l->base & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) ==
	       (APIC_BASE_ENABLE | APIC_BASE_EXTD);
}

uint32_t lapic_id(const struct lapic *l)
{
	return lapic_x2apic_mode(l) ? l->index : reg(l, APIC_ID) >> 24;
}

uint64_t lapic_mmio_base(const struct lapic *l)
{
	if (!lapic_hw_enabled(l) || lapic_x2apic_mode(l))
		return 0;
	return l->base & APIC_BASE_ADDR_MASK;
}

/* ---- 256-bit registers (ISR, TMR, IRR) and priorities ---- */

static bool vec_test(const struct lapic *l, uint32_t base, unsigned v)
{
	return reg(l, base + (v >> 5) * 0x10) & (1u << (v & 31));
}

static void vec_set(struct lapic *l, uint32_t base, unsigned v)
{
	l->regs[(base + (v >> 5) * 0x10) >> 2] |= 1u << (v & 31);
}

static void vec_clear(struct lapic *l, uint32_t base, unsigned v)
{
	l->regs[(base + (v >> 5) * 0x10) >> 2] &= ~(1u << (v & 31));
}

static int vec_highest(const struct lapic *l, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = reg(l, base + (uint32_t)i * 0x10);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static bool sw_enabled(const struct lapic *l)
{
	return reg(l, APIC_SVR) & APIC_SVR_ENABLE;
}

/* SDM Vol.3 §10.8.3.1: PPR from TPR and the highest vector in service. */
uint8_t lapic_get_ppr(const struct lapic *l)
{
	uint8_t tpr = reg(l, APIC_TPR) & 0xff;
	int isrv = vec_highest(l, APIC_ISR);
	uint8_t isr_class = isrv < 0 ? 0 : (uint8_t)isrv & 0xf0;

	return (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

uint8_t lapic_get_tpr(const struct lapic *l)
{
	return reg(l, APIC_TPR) & 0xff;
}

void lapic_set_tpr(struct lapic *l, uint8_t tpr)
{
	set_reg(l, APIC_TPR, tpr);
}

int lapic_pending_vector(const struct lapic *l)
{
	int v;

	if (!lapic_hw_enabled(l))
		return -1;
	v = vec_highest(l, APIC_IRR);
	if (v < 0 || (v & 0xf0) <= (lapic_get_ppr(l) & 0xf0))
		return -1;
	return v;
}

int lapic_acknowledge(struct lapic *l)
{
	int v;

	if (!lapic_hw_enabled(l))
		return -1;
	v = lapic_pending_vector(l);
	if (v < 0) /* SDM Vol.3 §10.9: masked by TPR since INTR was raised */
		return reg(l, APIC_SVR) & 0xff;
	vec_clear(l, APIC_IRR, (unsigned)v);
	vec_set(l, APIC_ISR, (unsigned)v);
	return v;
}

/* SDM Vol.3 §10.8.5: retire the highest ISR bit; level vectors reach the I/O APIC. */
static void do_eoi(struct lapic *l)
{
	int v = vec_highest(l, APIC_ISR);

	if (v < 0)
		return;
	vec_clear(l, APIC_ISR, (unsigned)v);
	if (vec_test(l, APIC_TMR, (unsigned)v))
		l->ops->eoi(l->opaque, (uint8_t)v);
}

/* ---- errors (SDM Vol.3 §10.5.3) ---- */

void lapic_error(struct lapic *l, uint32_t bits)
{
	uint32_t lvt = reg(l, APIC_LVT_ERROR);
	uint8_t v = lvt & 0xff;

	l->esr_pending |= bits;
	if (lvt & APIC_LVT_MASKED)
		return;
	/* An illegal error vector is itself an error, but not another interrupt. */
	if (v < 16) {
		l->esr_pending |= APIC_ESR_RECV_ILLEGAL;
		return;
	}
	if (lapic_hw_enabled(l) && sw_enabled(l)) {
		vec_set(l, APIC_IRR, v);
		vec_clear(l, APIC_TMR, v);
	}
}

bool lapic_accept(struct lapic *l, uint8_t vector, bool trigger_level)
{
	if (!lapic_hw_enabled(l))
		return false;
	if (vector < 16) {
		lapic_error(l, APIC_ESR_RECV_ILLEGAL);
		return false;
	}
	/* Software-disabled: IRR/ISR are held, new fixed interrupts are not taken. */
	if (!sw_enabled(l))
		return false;
	vec_set(l, APIC_IRR, vector);
	if (trigger_level)
		vec_set(l, APIC_TMR, vector);
	else
		vec_clear(l, APIC_TMR, vector);
	return true;
}

void lapic_deliver(struct lapic *l, const struct apic_msg *m)
{
	if (!lapic_hw_enabled(l))
		return;
	switch (m->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		lapic_accept(l, m->vector, m->level);
		break;
	case APIC_DM_NMI:
		l->nmi_pending = true;
		break;
	case APIC_DM_INIT:
		/* INIT level de-assert only resyncs arbitration IDs (§10.4.7.4). */
		if (!(m->level && !m->assert))
			l->init_pending = true;
		break;
	case APIC_DM_STARTUP:
		/* Only a CPU in (or about to enter) wait-for-SIPI takes one. */
		if ((l->wait_sipi || l->init_pending) && !l->sipi_pending) {
			l->sipi_pending = true;
			l->sipi_vector = m->vector;
		}
		break;
	case APIC_DM_EXTINT:
		l->extint_pending = true;
		break;
	default: /* SMI: no SMM here */
		break;
	}
}

void lapic_set_lint(struct lapic *l, unsigned pin, int level)
{
	uint32_t bit, lvt;
	bool rising;

	if (pin > 1)
		return;
	bit = 1u << pin;
	rising = level && !(l->lint_level & bit);
	if (level)
		l->lint_level |= bit;
	else
		l->lint_level &= ~bit;
	lvt = reg(l, pin ? APIC_LVT_LINT1 : APIC_LVT_LINT0);
	if (!lapic_hw_enabled(l) || (lvt & APIC_LVT_MASKED) || !rising)
		return;
	switch ((lvt >> 8) & 7) {
	case APIC_DM_FIXED:
		lapic_accept(l, lvt & 0xff, lvt & APIC_LVT_LEVEL);
		break;
	case APIC_DM_NMI:
		l->nmi_pending = true;
		break;
	case APIC_DM_INIT:
		l->init_pending = true;
		break;
	case APIC_DM_EXTINT:
		l->extint_pending = true;
		break;
	default:
		break;
	}
}

bool lapic_pic_connected(const struct lapic *l)
{
	uint32_t lvt = reg(l, APIC_LVT_LINT0);

	if (!lapic_hw_enabled(l))
		return true;
	return !(lvt & APIC_LVT_MASKED) && ((lvt >> 8) & 7) == APIC_DM_EXTINT;
}

bool lapic_extint_pending(const struct lapic *l)
{
	return l->extint_pending;
}

void lapic_clear_extint(struct lapic *l)
{
	l->extint_pending = false;
}

bool lapic_nmi_pending(const struct lapic *l)
{
	return l->nmi_pending;
}

bool lapic_take_nmi(struct lapic *l)
{
	bool was = l->nmi_pending;

	l->nmi_pending = false;
	return was;
}

bool lapic_init_pending(const struct lapic *l)
{
	return l->init_pending;
}

bool lapic_take_init(struct lapic *l)
{
	if (!l->init_pending)
		return false;
	l->init_pending = false;
	lapic_reset(l, false);
	/* SDM Vol.3 §8.4.2: APs wait for a SIPI after INIT; the BSP restarts. */
	l->wait_sipi = !(l->base & APIC_BASE_BSP);
	return true;
}

bool lapic_waiting_for_sipi(const struct lapic *l)
{
	return l->wait_sipi;
}

bool lapic_sipi_pending(const struct lapic *l)
{
	return l->sipi_pending && l->wait_sipi;
}

int lapic_take_sipi(struct lapic *l)
{
	if (!l->sipi_pending || !l->wait_sipi)
		return -1;
	l->sipi_pending = false;
	l->wait_sipi = false;
	return l->sipi_vector;
}

/* ---- destinations (SDM Vol.3 §10.6.2, §10.12.9) ---- */

uint32_t lapic_x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

static bool match_x2apic(const struct lapic *l, const struct apic_msg *m)
{
	uint32_t ldr = reg(l, APIC_LDR);
	uint32_t bcast = m->x2apic ? APIC_BROADCAST_X2APIC : APIC_BROADCAST_XAPIC;
	uint32_t dest = m->x2apic ? m->dest : m->dest & 0xff;

	if (dest == bcast)
		return true;
	if (!m->logical)
		return dest == l->index;
	/* An 8-bit logical destination can only name cluster 0. */
	return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
}

bool lapic_match_dest(const struct lapic *l, const struct apic_msg *m)
{
	uint32_t ldr, d;

	if (!lapic_hw_enabled(l))
		return false;
	if (lapic_x2apic_mode(l))
		return match_x2apic(l, m);
	if (m->x2apic && m->dest == APIC_BROADCAST_X2APIC)
		return true;
	d = m->dest & 0xff;
	if (d == APIC_BROADCAST_XAPIC)
		return true;
	if (!m->logical)
		return d == reg(l, APIC_ID) >> 24;
	ldr = reg(l, APIC_LDR) >> 24;
	if ((reg(l, APIC_DFR) >> 28) == 0xf) /* flat model */
		return ldr & d;
	/* cluster model: cluster in bits 7:4, up to four members in 3:0 */
	return (ldr >> 4) == (d >> 4) && (ldr & d & 0xf);
}

/* ---- IPIs (SDM Vol.3 §10.6.1) ---- */

static void send_icr(struct lapic *l, uint32_t low, uint32_t dest)
{
	struct apic_msg m = {
		.dest = dest,
		.vector = low & 0xff,
		.delivery = (low >> 8) & 7,
		.logical = low & APIC_ICR_LOGICAL,
		.level = low & APIC_ICR_LEVEL,
		.assert = low & APIC_ICR_ASSERT,
		.shorthand = (low >> 18) & 3,
		.x2apic = lapic_x2apic_mode(l),
		.source = (int)l->index,
	};

	if ((m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST) && m.vector < 16) {
		lapic_error(l, APIC_ESR_SEND_ILLEGAL);
		return;
	}
	if (m.delivery == APIC_DM_INIT && m.level && !m.assert)
		return; /* INIT level de-assert: nothing to do on this bus */
	l->ops->send_ipi(l->opaque, &m);
}

/* ---- register access ---- */

static uint32_t lvt_writable(uint32_t off)
{
	switch (off) {
	case APIC_LVT_TIMER:
		return APIC_LVT_MASKED | APIC_LVT_TIMER_MODE | 0xff;
	case APIC_LVT_LINT0:
	case APIC_LVT_LINT1:
		return APIC_LVT_MASKED | APIC_LVT_LEVEL | APIC_LVT_POLARITY | 0x7ff;
	case APIC_LVT_ERROR:
		return APIC_LVT_MASKED | 0xff;
	default: /* thermal, performance */
		return APIC_LVT_MASKED | 0x7ff;
	}
}

static void write_lvt(struct lapic *l, uint32_t off, uint32_t val)
{
	val &= lvt_writable(off);
	/* SDM Vol.3 §10.4.7.2: while software-disabled, masks cannot be cleared. */
	if (!sw_enabled(l))
		val |= APIC_LVT_MASKED;
	if (off == APIC_LVT_TIMER)
		lapic_timer_lvt_write(l, val);
	else
		set_reg(l, off, val);
}

static void write_svr(struct lapic *l, uint32_t val)
{
	/* Focus checking (bit 9) is kept; EOI-broadcast suppression is not offered. */
	set_reg(l, APIC_SVR, val & 0x3ff);
	if (!(val & APIC_SVR_ENABLE))
		for (uint32_t off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10)
			set_reg(l, off, reg(l, off) | APIC_LVT_MASKED);
}

static void write_esr(struct lapic *l)
{
	/* §10.5.3: a write publishes the errors seen since the last one. */
	set_reg(l, APIC_ESR, l->esr_pending);
	l->esr_pending = 0;
}

/* Registers whose reads are the same in both modes; false if not one. */
static bool read_common(struct lapic *l, uint32_t off, uint32_t *val)
{
	switch (off) {
	case APIC_VER:
	case APIC_TPR:
	case APIC_SVR:
	case APIC_ESR:
	case APIC_LVT_TIMER:
	case APIC_LVT_THERMAL:
	case APIC_LVT_PERF:
	case APIC_LVT_LINT0:
	case APIC_LVT_LINT1:
	case APIC_LVT_ERROR:
	case APIC_TMICT:
	case APIC_TDCR:
	case APIC_ICR:
	case APIC_LDR:
		*val = reg(l, off);
		return true;
	case APIC_PPR:
		*val = lapic_get_ppr(l);
		return true;
	case APIC_TMCCT:
		*val = lapic_timer_current(l);
		return true;
	}
	if (off >= APIC_ISR && off < APIC_IRR + 0x80) {
		*val = reg(l, off);
		return true;
	}
	return false;
}

static uint32_t xapic_read(struct lapic *l, uint32_t off)
{
	uint32_t v;

	if (read_common(l, off, &v))
		return v;
	switch (off) {
	case APIC_ID:
	case APIC_DFR:
	case APIC_ICR2:
		return reg(l, off);
	case APIC_APR: /* no APR on version 0x14 (Pentium 4) parts */
	case APIC_EOI: /* write-only */
	case APIC_RRD: /* remote read is not supported */
		return 0;
	}
	lapic_error(l, APIC_ESR_ILLEGAL_REG);
	return 0;
}

static void xapic_write(struct lapic *l, uint32_t off, uint32_t val)
{
	switch (off) {
	case APIC_ID:
		set_reg(l, off, val & 0xff000000u);
		break;
	case APIC_TPR:
		set_reg(l, off, val & 0xff);
		break;
	case APIC_EOI:
		do_eoi(l);
		break;
	case APIC_LDR:
		set_reg(l, off, val & 0xff000000u);
		break;
	case APIC_DFR:
		set_reg(l, off, (val & 0xf0000000u) | 0x0fffffffu);
		break;
	case APIC_SVR:
		write_svr(l, val);
		break;
	case APIC_ESR:
		write_esr(l);
		break;
	case APIC_ICR:
		set_reg(l, off, val & APIC_ICR_WRITABLE);
		send_icr(l, val, reg(l, APIC_ICR2) >> 24);
		break;
	case APIC_ICR2:
		set_reg(l, off, val & 0xff000000u);
		break;
	case APIC_LVT_TIMER:
	case APIC_LVT_THERMAL:
	case APIC_LVT_PERF:
	case APIC_LVT_LINT0:
	case APIC_LVT_LINT1:
	case APIC_LVT_ERROR:
		write_lvt(l, off, val);
		break;
	case APIC_TMICT:
		lapic_timer_set_initial(l, val);
		break;
	case APIC_TDCR:
		lapic_timer_set_divide(l, val);
		break;
	case APIC_VER:
	case APIC_APR:
	case APIC_PPR:
	case APIC_RRD:
	case APIC_TMCCT:
		break; /* read-only */
	default:
		if (off >= APIC_ISR && off < APIC_IRR + 0x80)
			break;
		lapic_error(l, APIC_ESR_ILLEGAL_REG);
		break;
	}
}

void lapic_mmio_read(struct lapic *l, uint32_t off, void *data, unsigned size)
{
	uint32_t v = 0, sub = off & 0xf;

	memset(data, 0, size);
	if (lapic_mmio_base(l) == 0)
		return;
	lapic_timer_check(l);
	if (off >= APIC_PAGE_REGS) {
		lapic_error(l, APIC_ESR_ILLEGAL_REG);
		return;
	}
	v = xapic_read(l, off & ~0xfu);
	if (sub >= 4)
		return;
	v >>= sub * 8;
	memcpy(data, &v, size < 4 - sub ? size : 4 - sub);
}

void lapic_mmio_write(struct lapic *l, uint32_t off, const void *data, unsigned size)
{
	uint32_t v;

	if (lapic_mmio_base(l) == 0)
		return;
	lapic_timer_check(l);
	/* SDM Vol.3 §10.4.1: registers take aligned 32-bit stores only. */
	if ((off & 0xf) || size < 4)
		return;
	if (off >= APIC_PAGE_REGS) {
		lapic_error(l, APIC_ESR_ILLEGAL_REG);
		return;
	}
	memcpy(&v, data, 4);
	xapic_write(l, off, v);
}

/* ---- MSRs ---- */

uint64_t lapic_get_base(const struct lapic *l)
{
	return l->base;
}

int lapic_set_base(struct lapic *l, uint64_t val)
{
	bool was_enabled = lapic_hw_enabled(l), was_x2 = lapic_x2apic_mode(l);

	if (val & ~(APIC_BASE_ADDR_MASK | APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_ENABLE))
		return -EINVAL;
	if ((val & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) == APIC_BASE_EXTD)
		return -EINVAL;
	lapic_timer_check(l);
	l->base = val;
	if (was_enabled && !lapic_hw_enabled(l)) {
		/* §10.4.3: a globally disabled APIC loses its state. */
		lapic_reset(l, false);
	} else if (!was_x2 && lapic_x2apic_mode(l)) {
		/* §10.12.5.1: x2APIC ID is the initial APIC ID, LDR derives from it. */
		set_reg(l, APIC_ID, l->index << 24);
		set_reg(l, APIC_LDR, lapic_x2apic_ldr(l->index));
	}
	return 0;
}

/* §10.12.5, Figure 10-27: the transitions software may make. */
static int guest_set_base(struct lapic *l, uint64_t val)
{
	bool en = val & APIC_BASE_ENABLE, x2 = val & APIC_BASE_EXTD;

	if (lapic_x2apic_mode(l) && en && !x2)
		return -EINVAL; /* x2APIC -> xAPIC needs a trip through disabled */
	if (!lapic_hw_enabled(l) && en && x2)
		return -EINVAL; /* disabled -> x2APIC needs a trip through xAPIC */
	return lapic_set_base(l, val);
}

static int x2apic_read(struct lapic *l, uint32_t off, uint64_t *val)
{
	uint32_t v;

	if (off == APIC_ICR) {
		*val = ((uint64_t)reg(l, APIC_ICR2) << 32) | reg(l, APIC_ICR);
		return 0;
	}
	if (off == APIC_ID) {
		*val = l->index;
		return 0;
	}
	if (!read_common(l, off, &v))
		return -EINVAL;
	*val = v;
	return 0;
}

static int x2apic_write(struct lapic *l, uint32_t off, uint64_t val)
{
	if (off != APIC_ICR && (val >> 32))
		return -EINVAL;
	switch (off) {
	case APIC_TPR:
		if (val & ~0xffull)
			return -EINVAL;
		set_reg(l, off, (uint32_t)val);
		return 0;
	case APIC_EOI:
	case APIC_ESR:
		/* §10.12.1.2: only zero may be written. */
		if (val)
			return -EINVAL;
		if (off == APIC_EOI)
			do_eoi(l);
		else
			write_esr(l);
		return 0;
	case APIC_SVR:
		write_svr(l, (uint32_t)val);
		return 0;
	case APIC_ICR:
		set_reg(l, APIC_ICR, (uint32_t)val & APIC_ICR_WRITABLE & ~APIC_ICR_BUSY);
		set_reg(l, APIC_ICR2, (uint32_t)(val >> 32));
		send_icr(l, (uint32_t)val, (uint32_t)(val >> 32));
		return 0;
	case APIC_LVT_TIMER:
	case APIC_LVT_THERMAL:
	case APIC_LVT_PERF:
	case APIC_LVT_LINT0:
	case APIC_LVT_LINT1:
	case APIC_LVT_ERROR:
		write_lvt(l, off, (uint32_t)val);
		return 0;
	case APIC_TMICT:
		lapic_timer_set_initial(l, (uint32_t)val);
		return 0;
	case APIC_TDCR:
		lapic_timer_set_divide(l, (uint32_t)val);
		return 0;
	case APIC_SELF_IPI: {
		/* §10.12.11: a fixed, edge, self-directed IPI. */
		if (val & ~0xffull)
			return -EINVAL;
		send_icr(l, (uint32_t)val | (APIC_SH_SELF << 18), 0);
		return 0;
	}
	default:
		return -EINVAL; /* read-only or reserved */
	}
}

int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val)
{
	if (msr == MSR_IA32_APIC_BASE) {
		*val = l->base;
		return 0;
	}
	if (msr == MSR_IA32_TSC_DEADLINE) {
		lapic_timer_check(l);
		*val = lapic_timer_mode(l) == APIC_TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
		return 0;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return -ENOENT;
	if (!lapic_x2apic_mode(l))
		return -EINVAL;
	lapic_timer_check(l);
	return x2apic_read(l, (msr - MSR_X2APIC_FIRST) << 4, val);
}

int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val)
{
	if (msr == MSR_IA32_APIC_BASE)
		return guest_set_base(l, val);
	if (msr == MSR_IA32_TSC_DEADLINE) {
		lapic_timer_set_tsc_deadline(l, val);
		return 0;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST)
		return -ENOENT;
	if (!lapic_x2apic_mode(l))
		return -EINVAL;
	lapic_timer_check(l);
	return x2apic_write(l, (msr - MSR_X2APIC_FIRST) << 4, val);
}

/* ---- KVM_GET/SET_LAPIC ---- */

void lapic_get_state(struct lapic *l, struct kvm_lapic_state *s)
{
	uint32_t *r = (uint32_t *)s->regs;

	_Static_assert(sizeof(l->regs) == sizeof(s->regs), "register page size");
	lapic_timer_check(l);
	memcpy(s->regs, l->regs, sizeof(s->regs));
	r[APIC_PPR >> 2] = lapic_get_ppr(l);
	r[APIC_TMCCT >> 2] = lapic_timer_current(l);
}

int lapic_set_state(struct lapic *l, const struct kvm_lapic_state *s)
{
	uint32_t tmcct;

	memcpy(l->regs, s->regs, sizeof(l->regs));
	tmcct = reg(l, APIC_TMCCT);
	/* Keep what the hardware fixes, whatever the file says. */
	set_reg(l, APIC_VER, LAPIC_VERSION);
	set_reg(l, APIC_DFR, reg(l, APIC_DFR) | 0x0fffffffu);
	set_reg(l, APIC_PPR, 0);
	set_reg(l, APIC_TMCCT, 0);
	set_reg(l, APIC_TDCR, reg(l, APIC_TDCR) & 0xb);
	set_reg(l, APIC_ICR, reg(l, APIC_ICR) & APIC_ICR_WRITABLE & ~APIC_ICR_BUSY);
	if (lapic_x2apic_mode(l)) {
		set_reg(l, APIC_ID, l->index << 24);
		set_reg(l, APIC_LDR, lapic_x2apic_ldr(l->index));
	}
	l->esr_pending = 0;
	lapic_timer_restore(l, tmcct);
	return 0;
}
