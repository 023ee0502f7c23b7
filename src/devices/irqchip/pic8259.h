/* SPDX-License-Identifier: MIT */
/*
 * The PC's pair of 8259A programmable interrupt controllers: a master on
 * ports 0x20/0x21, a slave on 0xa0/0xa1 cascaded into master IR2, and the
 * PIIX edge/level control registers (ELCR) on 0x4d0/0x4d1.
 *
 * The model has no locking, no callbacks and no notion of time: the owner
 * serialises calls, raises input lines with pic_set_irq(), watches the INTR
 * output with pic_has_interrupt() and runs the INTA cycle with
 * pic_acknowledge().
 *
 * Edge-triggered requests are latched in IRR on the rising edge and stay
 * there until acknowledged even if the line falls again (as KVM's in-kernel
 * PIC does, so devices that pulse a line behave the same under both
 * accelerators). A level-triggered request follows its line; one that went
 * away (or was masked) between INTR and INTA yields the spurious IR7 vector
 * of that chip without setting ISR (8259A datasheet, "Interrupt Sequence").
 */
#ifndef COVE_IRQCHIP_PIC8259_H
#define COVE_IRQCHIP_PIC8259_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIC_PORT_MASTER	     0x20
#define PIC_PORT_SLAVE	     0xa0
#define PIC_PORT_ELCR	     0x4d0
#define PIC_IRQ_CASCADE	     2
#define PIC_STATE_SIZE	     64 /* upper bound of pic_save()'s buffer */

struct pic;

int pic_create(struct pic **out);
void pic_destroy(struct pic *p);
/* Power-on state: both chips uninitialised (IMR clear, base 0), ELCR 0. */
void pic_reset(struct pic *p);

/* True for the six ports the pair decodes. */
bool pic_owns_port(uint16_t port);
/* Byte accesses; -ENOENT for a port that is not the PIC's. */
int pic_io_read(struct pic *p, uint16_t port, uint8_t *val);
int pic_io_write(struct pic *p, uint16_t port, uint8_t val);

/* Input line irq 0-15 (IRQ2 is the cascade and ignored here). */
void pic_set_irq(struct pic *p, unsigned irq, int level);
/* The master's INTR output. */
bool pic_has_interrupt(const struct pic *p);
/* The INTA cycle: the vector the pair puts on the bus. */
uint8_t pic_acknowledge(struct pic *p);

/* KVM_GET/SET_IRQCHIP format; chip is KVM_IRQCHIP_PIC_MASTER or _SLAVE. */
int pic_get_state(const struct pic *p, unsigned chip, struct kvm_pic_state *s);
int pic_set_state(struct pic *p, unsigned chip, const struct kvm_pic_state *s);

/* bus_ops-compatible flat copies of the whole guest-visible state. */
void pic_save(void *dev, void *state);
void pic_load(void *dev, const void *state);

#endif
