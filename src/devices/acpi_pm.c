/* SPDX-License-Identifier: MIT */
/*
 * ACPI PM1a event/control blocks and PM timer (ACPI 6.5 §4.8.3). Registers
 * are 16 bits wide but may be accessed a byte at a time: a write touches
 * only the bytes it covers.
 */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "devices/bus.h"
#include "pc.h"

/* Offsets inside the range. */
enum {
	PM1_STS = PC_PORT_ACPI_PM1_EVT - PC_PORT_ACPI_PM,
	PM1_EN = PM1_STS + 2,
	PM1_CNT = PC_PORT_ACPI_PM1_CNT - PC_PORT_ACPI_PM,
	PM_TMR = PC_PORT_ACPI_PM_TMR - PC_PORT_ACPI_PM,
};

/* PM1 status and enable bits (ACPI 6.5 Tables 4.16, 4.17). */
#define STS_TMR	   0x0001
#define STS_BM	   0x0010
#define STS_GBL	   0x0020
#define STS_PWRBTN 0x0100
#define STS_SLPBTN 0x0200
#define STS_RTC	   0x0400
#define STS_PCIEXP 0x4000
#define STS_WAK	   0x8000
#define STS_VALID                                                                                  \
	(STS_TMR | STS_BM | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC | STS_PCIEXP | STS_WAK)
#define EN_VALID    (STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC | 0x4000)
#define SCI_SOURCES (STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC)

/* PM1 control bits (ACPI 6.5 Table 4.18). */
#define CNT_SCI_EN	  0x0001
#define CNT_GBL_RLS	  0x0004 /* write-only */
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP	  0x1c00
#define CNT_SLP_EN	  0x2000 /* write-only */

#define PM_TIMER_HZ   3579545ULL
#define PM_TIMER_MASK 0xffffffu /* 24 bits: FADT TMR_VAL_EXT = 0 */
#define NS_PER_SEC    1000000000ULL

struct acpi_pm_state {
	uint16_t sts, en, cnt;
	uint64_t last_ticks; /* PM timer ticks when TMR_STS was last brought up to date */
};
_Static_assert(sizeof(struct acpi_pm_state) <= 4096, "bus checkpoint limit");

struct acpi_pm {
	pthread_mutex_t lock;
	struct acpi_pm_state st;
	struct guest_clock *clock;
	void (*poweroff)(void *opaque);
	void *opaque;
	struct irq_sink *irq;
	uint32_t gsi;
	int irq_level;
};

static uint64_t pm_ticks(struct acpi_pm *p)
{
	return (uint64_t)((unsigned __int128)guest_clock_ns(p->clock) * PM_TIMER_HZ / NS_PER_SEC);
}

/* TMR_STS is set whenever bit 23 of the counter changes (§4.8.3.3). */
static uint32_t timer_update(struct acpi_pm *p)
{
	uint64_t t = pm_ticks(p);

	if (t >> 23 != p->st.last_ticks >> 23)
		p->st.sts |= STS_TMR;
	p->st.last_ticks = t;
	return (uint32_t)t & PM_TIMER_MASK;
}

static void update_irq(struct acpi_pm *p, bool force)
{
	int level = !!(p->st.sts & p->st.en & SCI_SOURCES);

	if (level != p->irq_level || force) {
		p->irq_level = level;
		irq_sink_set(p->irq, p->gsi, level);
	}
}

static void pm_read(void *dev, uint64_t off, void *data, unsigned size)
{
	struct acpi_pm *p = dev;
	uint8_t regs[PC_ACPI_PM_LEN] = { 0 };
	uint32_t tmr = timer_update(p);
	uint16_t cnt = p->st.cnt | CNT_SCI_EN;

	memcpy(&regs[PM1_STS], &p->st.sts, 2);
	memcpy(&regs[PM1_EN], &p->st.en, 2);
	memcpy(&regs[PM1_CNT], &cnt, 2);
	memcpy(&regs[PM_TMR], &tmr, 4);
	/* the bus keeps off + size inside the range */
	memcpy(data, &regs[off], size);
	update_irq(p, false);
}

/* The bytes of a write that fall into the 16-bit register at reg, and their mask. */
static uint16_t write_lanes(uint64_t off, const uint8_t *b, unsigned size, unsigned reg,
			    uint16_t *mask)
{
	uint16_t v = 0;

	*mask = 0;
	for (unsigned i = 0; i < size; i++) {
		if (off + i >= reg && off + i < reg + 2u) {
			unsigned sh = 8 * (unsigned)(off + i - reg);

			v |= (uint16_t)(b[i] << sh);
			*mask |= (uint16_t)(0xff << sh);
		}
	}
	return v;
}

static void cnt_write(struct acpi_pm *p, uint16_t v, uint16_t mask)
{
	struct acpi_pm_state *st = &p->st;
	unsigned typ;

	st->cnt = (st->cnt & ~mask) | (v & mask & ~(CNT_SLP_EN | CNT_GBL_RLS | CNT_SCI_EN));
	if (!(v & mask & CNT_SLP_EN))
		return;
	typ = (st->cnt & CNT_SLP_TYP) >> CNT_SLP_TYP_SHIFT;
	if (typ == PC_ACPI_S5_TYPE) {
		if (p->poweroff)
			p->poweroff(p->opaque);
		return;
	}
	/*
	 * No other sleep state exists here: wake at once, so an OS that polls
	 * WAK_STS after SLP_EN (§4.8.3.2.1) carries on instead of spinning.
	 */
	st->sts |= STS_WAK;
}

static void pm_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct acpi_pm *p = dev;
	const uint8_t *b = data;
	uint16_t v, mask;

	timer_update(p);
	v = write_lanes(off, b, size, PM1_STS, &mask);
	p->st.sts &= ~(v & mask); /* write 1 to clear */
	v = write_lanes(off, b, size, PM1_EN, &mask);
	p->st.en = (p->st.en & ~mask) | (v & mask & EN_VALID);
	v = write_lanes(off, b, size, PM1_CNT, &mask);
	if (mask)
		cnt_write(p, v, mask);
	/* PM_TMR is read-only. */
	update_irq(p, false);
}

static void pm_save(void *dev, void *state)
{
	struct acpi_pm *p = dev;

	memcpy(state, &p->st, sizeof(p->st));
}

static void pm_load(void *dev, const void *state)
{
	struct acpi_pm *p = dev;

	memcpy(&p->st, state, sizeof(p->st));
	p->st.sts &= STS_VALID;
	p->st.en &= EN_VALID;
	p->st.cnt &= ~(CNT_SLP_EN | CNT_GBL_RLS | CNT_SCI_EN);
	update_irq(p, true);
}

static const struct bus_ops acpi_pm_ops = {
	.read = pm_read,
	.write = pm_write,
	.state_size = sizeof(struct acpi_pm_state),
	.save = pm_save,
	.load = pm_load,
};

int acpi_pm_create(struct bus *pio, struct guest_clock *clock, void (*poweroff)(void *opaque),
		   void *opaque, struct acpi_pm **out)
{
	struct acpi_pm *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = -pthread_mutex_init(&p->lock, NULL);
	if (ret)
		goto out_free;
	p->clock = clock;
	p->poweroff = poweroff;
	p->opaque = opaque;
	p->st.last_ticks = pm_ticks(p);
	ret = bus_register(pio, PC_PORT_ACPI_PM, PC_ACPI_PM_LEN, &acpi_pm_ops, p, &p->lock);
	if (ret)
		goto out_mutex;
	*out = p;
	return 0;

out_mutex:
	pthread_mutex_destroy(&p->lock);
out_free:
	free(p);
	return ret;
}

void acpi_pm_set_irq(struct acpi_pm *p, struct irq_sink *irq, uint32_t gsi)
{
	pthread_mutex_lock(&p->lock);
	p->irq = irq;
	p->gsi = gsi;
	update_irq(p, true);
	pthread_mutex_unlock(&p->lock);
}

void acpi_pm_power_button(struct acpi_pm *p)
{
	pthread_mutex_lock(&p->lock);
	p->st.sts |= STS_PWRBTN;
	update_irq(p, false);
	pthread_mutex_unlock(&p->lock);
}

void acpi_pm_destroy(struct acpi_pm *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
