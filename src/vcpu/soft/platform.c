/* SPDX-License-Identifier: MIT */
/*
 * platform.h: what the instruction handlers may ask of the machine. Port I/O
 * goes to the irqchip's ports first (PIC 0x20/0x21/0xa0/0xa1, ELCR
 * 0x4d0/0x4d1, PIT 0x40-0x43 and port B 0x61: irqchip.h), then to the VMM's
 * in-line handler; a port nobody claims reads as all ones. The TSC runs at
 * SOFT_TSC_HZ on guest time (soft_vm_now: host monotonic, or retired
 * instructions in deterministic mode).
 */
#include "platform.h"

#include <errno.h>
#include <string.h>

#include "core.h"
#include "devices/irqchip/irqchip.h"

void soft_port_io(struct soft_cpu *c, uint16_t port, void *data, unsigned size, bool write)
{
	struct soft_vm *vm = c->vm;
	int ret;

	if (size != 1 && size != 2 && size != 4) {
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	ret = irqchip_pio(vm->ic, c->index, port, data, size, write);
	if (ret == 0) {
		/* an EOI, a mask change or a new PIT count: look again */
		atomic_fetch_or(&c->events, SOFT_EV_IRQ);
		return;
	}
	atomic_store(&soft_vcpu_of(c)->qs_off, true); /* as soft_vm_mmio */
	ret = vm->io.pio(vm->io.opaque, (int)c->index, port, data, size, write);
	atomic_store(&soft_vcpu_of(c)->qs_off, false);
	if (ret && !write)
		memset(data, 0xff, size);
}

uint64_t soft_tsc_hz(struct soft_cpu *c)
{
	(void)c;
	return SOFT_TSC_HZ;
}

uint64_t soft_tsc(struct soft_cpu *c)
{
	uint64_t ns = soft_vm_now(c->vm);

	/* SOFT_TSC_HZ is 1 GHz: one tick per ns, no scaling to overflow */
	_Static_assert(SOFT_TSC_HZ == 1000000000ull, "soft_tsc assumes a 1 GHz TSC");
	return ns;
}

bool soft_apic_msr_read(struct soft_cpu *c, uint32_t msr, uint64_t *v)
{
	return irqchip_msr_read(c->vm->ic, c->index, msr, v) == 0;
}

bool soft_apic_msr_write(struct soft_cpu *c, uint32_t msr, uint64_t v)
{
	int ret = irqchip_msr_write(c->vm->ic, c->index, msr, v);

	atomic_fetch_or(&c->events, SOFT_EV_IRQ);
	return ret == 0;
}

uint64_t soft_apic_get_cr8(struct soft_cpu *c)
{
	return irqchip_get_cr8(c->vm->ic, c->index);
}

void soft_apic_set_cr8(struct soft_cpu *c, uint64_t v)
{
	irqchip_set_cr8(c->vm->ic, c->index, v);
	/* a lower TPR can unmask a pending interrupt without any new request */
	atomic_fetch_or(&c->events, SOFT_EV_IRQ);
}

void soft_irq_recheck(struct soft_cpu *c)
{
	atomic_fetch_or(&c->events, SOFT_EV_IRQ);
}
