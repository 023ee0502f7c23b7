// SPDX-License-Identifier: MIT
/*
 * The PC wiring of the irqchip models (see irqchip.h) and the one mutex
 * that serialises them.
 */
#include "devices/irqchip/irqchip.h"

#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "pc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct irqchip {
	pthread_mutex_t lock;
	unsigned ncpus;
	void (*kick)(void *opaque, unsigned cpu);
	void *opaque;
	struct pic *pic;
	struct ioapic *ioapic;
	struct pit *pit;
	struct lapic **lapic;
	bool *told; /* what each CPU was last kicked for, so kicks go on edges */
};

/* ---- routing (called with the lock held, from inside the models) ---- */

static bool targets(struct irqchip *ic, unsigned cpu, const struct apic_msg *m)
{
	struct lapic *l = ic->lapic[cpu];

	switch (m->shorthand) {
	case APIC_SH_SELF:
		return (int)cpu == m->source;
	case APIC_SH_ALL:
		return lapic_hw_enabled(l);
	case APIC_SH_ALL_BUT_SELF:
		return (int)cpu != m->source && lapic_hw_enabled(l);
	default:
		return lapic_match_dest(l, m);
	}
}

/*
 * Lowest priority (SDM Vol.3 §10.6.2.4): the addressed APIC with the lowest
 * processor priority; ties rotate with the vector so that no CPU takes all.
 */
static int lowest_priority(struct irqchip *ic, const struct apic_msg *m)
{
	int best = -1;
	unsigned best_key = ~0u;

	for (unsigned i = 0; i < ic->ncpus; i++) {
		unsigned cpu = (i + m->vector) % ic->ncpus, key;

		if (!targets(ic, cpu, m))
			continue;
		key = lapic_get_ppr(ic->lapic[cpu]) & 0xf0;
		if (best < 0 || key < best_key) {
			best = (int)cpu;
			best_key = key;
		}
	}
	return best;
}

static void route(void *opaque, const struct apic_msg *m)
{
	struct irqchip *ic = opaque;
	int cpu;

	if (m->delivery == APIC_DM_LOWEST && m->shorthand == APIC_SH_NONE) {
		cpu = lowest_priority(ic, m);
		if (cpu >= 0)
			lapic_deliver(ic->lapic[cpu], m);
		return;
	}
	for (unsigned i = 0; i < ic->ncpus; i++)
		if (targets(ic, i, m))
			lapic_deliver(ic->lapic[i], m);
}

static void lapic_eoi_cb(void *opaque, uint8_t vector)
{
	struct irqchip *ic = opaque;

	ioapic_eoi(ic->ioapic, vector);
}

static void pit_irq_cb(void *opaque, int level)
{
	struct irqchip *ic = opaque;

	pic_set_irq(ic->pic, 0, level);
	ioapic_set_irq(ic->ioapic, PC_GSI_TIMER, level);
}

static const struct lapic_ops irqchip_lapic_ops = {
	.send_ipi = route,
	.eoi = lapic_eoi_cb,
};

/* ---- per-CPU state ---- */

static bool pic_path(struct irqchip *ic, struct lapic *l)
{
	return (lapic_pic_connected(l) || lapic_extint_pending(l)) && pic_has_interrupt(ic->pic);
}

static bool cpu_pending(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = ic->lapic[cpu];

	return pic_path(ic, l) || lapic_pending_vector(l) >= 0;
}

static bool cpu_needs_attention(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = ic->lapic[cpu];

	return cpu_pending(ic, cpu) || lapic_nmi_pending(l) || lapic_init_pending(l) ||
	       lapic_sipi_pending(l);
}

/* After every change: kick each CPU that newly has something to take. */
static void flush(struct irqchip *ic)
{
	for (unsigned cpu = 0; cpu < ic->ncpus; cpu++) {
		bool now = cpu_needs_attention(ic, cpu);

		if (now && !ic->told[cpu] && ic->kick)
			ic->kick(ic->opaque, cpu);
		ic->told[cpu] = now;
	}
}

static void lock(struct irqchip *ic)
{
	pthread_mutex_lock(&ic->lock);
}

static void unlock_flush(struct irqchip *ic)
{
	flush(ic);
	pthread_mutex_unlock(&ic->lock);
}

/* ---- lifetime ---- */

int irqchip_create(const struct irqchip_params *p, struct irqchip **out)
{
	struct ioapic_params iop;
	struct pit_params pitp;
	struct irqchip *ic;
	int ret = -ENOMEM;

	if (!p || p->ncpus == 0 || p->ncpus > IRQCHIP_MAX_CPUS)
		return -EINVAL;
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return -ENOMEM;
	ic->ncpus = p->ncpus;
	ic->kick = p->kick;
	ic->opaque = p->opaque;
	ic->lapic = calloc(p->ncpus, sizeof(*ic->lapic));
	ic->told = calloc(p->ncpus, sizeof(*ic->told));
	if (!ic->lapic || !ic->told)
		goto out_free;
	ret = pthread_mutex_init(&ic->lock, NULL);
	if (ret) {
		ret = -ret;
		goto out_free;
	}
	ret = pic_create(&ic->pic);
	if (ret)
		goto out_mutex;
	iop = (struct ioapic_params){ .deliver = route, .opaque = ic };
	ret = ioapic_create(&iop, &ic->ioapic);
	if (ret)
		goto out_pic;
	pitp = (struct pit_params){ .clock = p->clock, .irq = pit_irq_cb, .opaque = ic };
	ret = pit_create(&pitp, &ic->pit);
	if (ret)
		goto out_ioapic;
	for (unsigned i = 0; i < p->ncpus; i++) {
		struct lapic_params lp = {
			.index = i,
			.bsp = i == 0,
			.clock = p->clock,
			.tsc_hz = p->tsc_hz,
			.ops = &irqchip_lapic_ops,
			.opaque = ic,
		};

		ret = lapic_create(&lp, &ic->lapic[i]);
		if (ret)
			goto out_lapics;
	}
	*out = ic;
	return 0;

out_lapics:
	for (unsigned i = 0; i < p->ncpus; i++)
		lapic_destroy(ic->lapic[i]);
	pit_destroy(ic->pit);
out_ioapic:
	ioapic_destroy(ic->ioapic);
out_pic:
	pic_destroy(ic->pic);
out_mutex:
	pthread_mutex_destroy(&ic->lock);
out_free:
	free(ic->told);
	free(ic->lapic);
	free(ic);
	return ret;
}

void irqchip_destroy(struct irqchip *ic)
{
	if (!ic)
		return;
	for (unsigned i = 0; i < ic->ncpus; i++)
		lapic_destroy(ic->lapic[i]);
	pit_destroy(ic->pit);
	ioapic_destroy(ic->ioapic);
	pic_destroy(ic->pic);
	pthread_mutex_destroy(&ic->lock);
	free(ic->told);
	free(ic->lapic);
	free(ic);
}

void irqchip_reset(struct irqchip *ic)
{
	lock(ic);
	pic_reset(ic->pic);
	ioapic_reset(ic->ioapic);
	pit_reset(ic->pit);
	for (unsigned i = 0; i < ic->ncpus; i++)
		lapic_reset(ic->lapic[i], true);
	unlock_flush(ic);
}

/* ---- lines and accesses ---- */

int irqchip_set_gsi(struct irqchip *ic, uint32_t gsi, int level)
{
	if (gsi >= IRQCHIP_GSIS)
		return -EINVAL;
	lock(ic);
	if (gsi < 16 && gsi != PIC_IRQ_CASCADE)
		pic_set_irq(ic->pic, gsi, level);
	ioapic_set_irq(ic->ioapic, gsi == 0 ? PC_GSI_TIMER : gsi, level);
	unlock_flush(ic);
	return 0;
}

static bool owns_port(uint16_t port)
{
	return pic_owns_port(port) || pit_owns_port(port);
}

int irqchip_pio(struct irqchip *ic, unsigned cpu, uint16_t port, void *data, unsigned size,
		bool write)
{
	uint8_t *bytes = data;

	(void)cpu; /* the legacy chips look the same from every CPU */
	if (!owns_port(port))
		return -ENOENT;
	if (size != 1 && size != 2 && size != 4)
		return -EINVAL;
	lock(ic);
	for (unsigned i = 0; i < size; i++) {
		uint16_t p = (uint16_t)(port + i);

		if (write) {
			if (pic_io_write(ic->pic, p, bytes[i]) == -ENOENT)
				pit_io_write(ic->pit, p, bytes[i]);
		} else if (pic_io_read(ic->pic, p, &bytes[i]) == -ENOENT &&
			   pit_io_read(ic->pit, p, &bytes[i]) == -ENOENT) {
			bytes[i] = 0xff;
		}
	}
	unlock_flush(ic);
	return 0;
}

int irqchip_mmio(struct irqchip *ic, unsigned cpu, uint64_t gpa, void *data, unsigned size,
		 bool write)
{
	uint64_t base;
	int ret = 0;

	if (cpu >= ic->ncpus || size == 0 || size > 8)
		return -EINVAL;
	lock(ic);
	base = lapic_mmio_base(ic->lapic[cpu]);
	if (base && gpa >= base && gpa - base <= LAPIC_MMIO_SIZE - size) {
		if (write)
			lapic_mmio_write(ic->lapic[cpu], (uint32_t)(gpa - base), data, size);
		else
			lapic_mmio_read(ic->lapic[cpu], (uint32_t)(gpa - base), data, size);
	} else if (gpa >= PC_IOAPIC_BASE && gpa - PC_IOAPIC_BASE <= IOAPIC_MMIO_SIZE - size) {
		if (write)
			ioapic_mmio_write(ic->ioapic, gpa - PC_IOAPIC_BASE, data, size);
		else
			ioapic_mmio_read(ic->ioapic, gpa - PC_IOAPIC_BASE, data, size);
	} else {
		ret = -ENOENT;
	}
	unlock_flush(ic);
	return ret;
}

int irqchip_msr_read(struct irqchip *ic, unsigned cpu, uint32_t msr, uint64_t *val)
{
	int ret;

	if (cpu >= ic->ncpus)
		return -EINVAL;
	lock(ic);
	ret = lapic_msr_read(ic->lapic[cpu], msr, val);
	unlock_flush(ic);
	return ret;
}

int irqchip_msr_write(struct irqchip *ic, unsigned cpu, uint32_t msr, uint64_t val)
{
	int ret;

	if (cpu >= ic->ncpus)
		return -EINVAL;
	lock(ic);
	ret = lapic_msr_write(ic->lapic[cpu], msr, val);
	unlock_flush(ic);
	return ret;
}

uint64_t irqchip_get_cr8(struct irqchip *ic, unsigned cpu)
{
	uint64_t v;

	if (cpu >= ic->ncpus)
		return 0;
	lock(ic);
	v = lapic_get_tpr(ic->lapic[cpu]) >> 4;
	pthread_mutex_unlock(&ic->lock);
	return v;
}

void irqchip_set_cr8(struct irqchip *ic, unsigned cpu, uint64_t cr8)
{
	if (cpu >= ic->ncpus)
		return;
	lock(ic);
	/* SDM Vol.3 §10.8.6.1: CR8[3:0] is TPR[7:4], TPR[3:0] become 0. */
	lapic_set_tpr(ic->lapic[cpu], (uint8_t)((cr8 & 0xf) << 4));
	unlock_flush(ic);
}

uint64_t irqchip_get_apic_base(struct irqchip *ic, unsigned cpu)
{
	uint64_t v;

	if (cpu >= ic->ncpus)
		return 0;
	lock(ic);
	v = lapic_get_base(ic->lapic[cpu]);
	pthread_mutex_unlock(&ic->lock);
	return v;
}

int irqchip_set_apic_base(struct irqchip *ic, unsigned cpu, uint64_t val)
{
	int ret;

	if (cpu >= ic->ncpus)
		return -EINVAL;
	lock(ic);
	ret = lapic_set_base(ic->lapic[cpu], val);
	unlock_flush(ic);
	return ret;
}

void irqchip_set_tsc_offset(struct irqchip *ic, unsigned cpu, uint64_t offset)
{
	if (cpu >= ic->ncpus)
		return;
	lock(ic);
	lapic_set_tsc_offset(ic->lapic[cpu], offset);
	unlock_flush(ic);
}

/* ---- what a CPU takes ---- */

bool irqchip_cpu_pending(struct irqchip *ic, unsigned cpu)
{
	bool r;

	if (cpu >= ic->ncpus)
		return false;
	lock(ic);
	r = cpu_pending(ic, cpu);
	pthread_mutex_unlock(&ic->lock);
	return r;
}

int irqchip_cpu_ack(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l;
	int v;

	if (cpu >= ic->ncpus)
		return -1;
	lock(ic);
	l = ic->lapic[cpu];
	/* The PIC answers first, as an ExtINT is not subject to APIC priority. */
	if (pic_path(ic, l)) {
		lapic_clear_extint(l);
		v = pic_acknowledge(ic->pic);
	} else if (lapic_pending_vector(l) >= 0 || !lapic_pic_connected(l)) {
		v = lapic_acknowledge(l);
	} else {
		/* INTR fell before INTA: the 8259 answers with its IR7 vector. */
		v = pic_acknowledge(ic->pic);
	}
	unlock_flush(ic);
	return v;
}

/* Takes the lock and returns cpu's LAPIC, or NULL (lock not taken) for a bad cpu. */
static struct lapic *cpu_lapic(struct irqchip *ic, unsigned cpu)
{
	if (cpu >= ic->ncpus)
		return NULL;
	lock(ic);
	return ic->lapic[cpu];
}

bool irqchip_cpu_nmi_pending(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = cpu_lapic(ic, cpu);
	bool r;

	if (!l)
		return false;
	r = lapic_nmi_pending(l);
	unlock_flush(ic);
	return r;
}

bool irqchip_cpu_take_nmi(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = cpu_lapic(ic, cpu);
	bool r;

	if (!l)
		return false;
	r = lapic_take_nmi(l);
	unlock_flush(ic);
	return r;
}

bool irqchip_cpu_init_pending(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = cpu_lapic(ic, cpu);
	bool r;

	if (!l)
		return false;
	r = lapic_init_pending(l);
	unlock_flush(ic);
	return r;
}

bool irqchip_cpu_take_init(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = cpu_lapic(ic, cpu);
	bool r;

	if (!l)
		return false;
	r = lapic_take_init(l);
	unlock_flush(ic);
	return r;
}

bool irqchip_cpu_waiting_for_sipi(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = cpu_lapic(ic, cpu);
	bool r;

	if (!l)
		return false;
	r = lapic_waiting_for_sipi(l);
	unlock_flush(ic);
	return r;
}

int irqchip_cpu_take_sipi(struct irqchip *ic, unsigned cpu)
{
	struct lapic *l = cpu_lapic(ic, cpu);
	int v;

	if (!l)
		return -1;
	v = lapic_take_sipi(l);
	unlock_flush(ic);
	return v;
}

/* ---- time ---- */

uint64_t irqchip_next_deadline(struct irqchip *ic)
{
	uint64_t d;

	lock(ic);
	d = pit_next_deadline(ic->pit);
	for (unsigned i = 0; i < ic->ncpus; i++) {
		uint64_t t = lapic_next_deadline(ic->lapic[i]);

		if (t < d)
			d = t;
	}
	pthread_mutex_unlock(&ic->lock);
	return d;
}

void irqchip_advance(struct irqchip *ic, uint64_t now_ns)
{
	lock(ic);
	pit_advance(ic->pit, now_ns);
	for (unsigned i = 0; i < ic->ncpus; i++)
		lapic_advance(ic->lapic[i], now_ns);
	unlock_flush(ic);
}

/* ---- snapshots ---- */

int irqchip_get_chip(struct irqchip *ic, struct kvm_irqchip *chip)
{
	int ret = 0;

	memset(&chip->chip, 0, sizeof(chip->chip));
	chip->pad = 0;
	lock(ic);
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		ret = pic_get_state(ic->pic, chip->chip_id, &chip->chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		ioapic_get_state(ic->ioapic, &chip->chip.ioapic);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	pthread_mutex_unlock(&ic->lock);
	return ret;
}

int irqchip_set_chip(struct irqchip *ic, const struct kvm_irqchip *chip)
{
	int ret = 0;

	lock(ic);
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		ret = pic_set_state(ic->pic, chip->chip_id, &chip->chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		ioapic_set_state(ic->ioapic, &chip->chip.ioapic);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	unlock_flush(ic);
	return ret;
}

void irqchip_get_pit(struct irqchip *ic, struct kvm_pit_state2 *s)
{
	lock(ic);
	pit_get_state(ic->pit, s);
	pthread_mutex_unlock(&ic->lock);
}

void irqchip_set_pit(struct irqchip *ic, const struct kvm_pit_state2 *s)
{
	lock(ic);
	pit_set_state(ic->pit, s);
	unlock_flush(ic);
}

int irqchip_get_lapic(struct irqchip *ic, unsigned cpu, struct kvm_lapic_state *s)
{
	if (cpu >= ic->ncpus)
		return -EINVAL;
	lock(ic);
	lapic_get_state(ic->lapic[cpu], s);
	unlock_flush(ic);
	return 0;
}

int irqchip_set_lapic(struct irqchip *ic, unsigned cpu, const struct kvm_lapic_state *s)
{
	int ret;

	if (cpu >= ic->ncpus)
		return -EINVAL;
	lock(ic);
	ret = lapic_set_state(ic->lapic[cpu], s);
	unlock_flush(ic);
	return ret;
}

void irqchip_legacy_save(void *dev, void *state)
{
	struct irqchip *ic = dev;

	lock(ic);
	pic_save(ic->pic, state);
	pit_save(ic->pit, (uint8_t *)state + PIC_STATE_SIZE);
	pthread_mutex_unlock(&ic->lock);
}

void irqchip_legacy_load(void *dev, const void *state)
{
	struct irqchip *ic = dev;

	lock(ic);
	pic_load(ic->pic, state);
	pit_load(ic->pit, (const uint8_t *)state + PIC_STATE_SIZE);
	unlock_flush(ic);
}
