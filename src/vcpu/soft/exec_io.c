// SPDX-License-Identifier: MIT
/*
 * Port I/O: in, out, ins, outs (SDM Vol.2 per instruction), with the
 * protected-mode I/O permission checks of SDM Vol.1 §19.5 (IOPL, and the TSS
 * I/O permission bitmap when CPL > IOPL or in virtual-8086 mode). Ports go
 * to soft_port_io() (platform.h).
 *
 * ins/outs move one element per iteration and finish its memory access
 * before rSI/rDI/rCX move, so a fault leaves the registers describing the
 * remaining work and the instruction restarts at the faulting element. For
 * ins, the destination is checked for writing before the port is read, so a
 * fault does not consume a port read. A long rep returns after IO_REP_CHUNK
 * iterations with next_rip = rip, as exec_string.c does, so run.c can look
 * at interrupts and re-executes the instruction.
 */
#include "sys_priv.h"

#define IO_REP_CHUNK	4096
#define TSS_IOMAP_FIELD 0x66 /* 32/64-bit TSS: the I/O map base address (SDM Vol.1 §19.5.2) */
#define TSS_MIN_LIMIT	0x67

static uint8_t tss_byte(struct soft_cpu *c, const struct kvm_segment *tr, uint32_t off)
{
	uint64_t la = tr->base + off;

	if (!soft_long_mode(c))
		la &= 0xffffffff;
	return (uint8_t)soft_lin_read(c, la, 1, SOFT_ACC_IMPLICIT);
}

/* SDM Vol.1 §19.5.1-19.5.2: may the current privilege access ports [port, port+size)? */
static void io_check(struct soft_cpu *c, uint16_t port, unsigned size)
{
	uint64_t fl = c->rflags;

	if (!soft_protected(c))
		return;
	if (!(fl & X86_VM) && c->cpl <= ((fl & X86_IOPL) >> 12))
		return;

	/* The bitmap exists only in a 32-bit (or 64-bit) TSS that reaches the map base field. */
	const struct kvm_segment *tr = &c->seg[S_TR];
	if (tr->unusable || !tr->present || tr->s ||
	    (tr->type != SYS_TSS_AVAIL && tr->type != SYS_TSS_BUSY) || tr->limit < TSS_MIN_LIMIT)
		soft_raise(c, X86_EXC_GP, 0);
	uint32_t map = tss_byte(c, tr, TSS_IOMAP_FIELD) |
		       (uint32_t)tss_byte(c, tr, TSS_IOMAP_FIELD + 1) << 8;

	/* One bit per port; every byte holding a bit of the range must lie within the limit. */
	uint32_t bits = ((1u << size) - 1) << (port & 7);
	uint32_t first = map + port / 8;
	unsigned nbytes = ((port & 7) + size + 7) / 8;
	for (unsigned k = 0; k < nbytes; k++) {
		if (first + k > tr->limit)
			soft_raise(c, X86_EXC_GP, 0);
		if (tss_byte(c, tr, first + k) & (bits >> (k * 8)) & 0xff)
			soft_raise(c, X86_EXC_GP, 0);
	}
}

static uint16_t io_port(const struct soft_cpu *c, const struct soft_insn *i)
{
	if (i->op == SOFT_SYS_IO_IMM)
		return (uint16_t)(i->imm & 0xff);
	return (uint16_t)c->gpr[R_DX];
}

static uint32_t port_read(struct soft_cpu *c, uint16_t port, unsigned size)
{
	uint8_t b[4] = { 0 };

	soft_port_io(c, port, b, size, false);
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void port_write(struct soft_cpu *c, uint16_t port, unsigned size, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	soft_port_io(c, port, b, size, true);
}

/* The element size: 1, 2 or 4 (a 64-bit operand size does not exist for I/O). */
static unsigned io_size(const struct soft_insn *i)
{
	return i->osz >= 4 ? 4 : i->osz;
}

SYS_HANDLER(in)
{
	unsigned size = io_size(i);
	uint16_t port = io_port(c, i);

	io_check(c, port, size);
	soft_reg_write(c, R_AX, size, port_read(c, port, size));
}

SYS_HANDLER(out)
{
	unsigned size = io_size(i);
	uint16_t port = io_port(c, i);

	io_check(c, port, size);
	port_write(c, port, size, (uint32_t)c->gpr[R_AX]);
}

static void advance(struct soft_cpu *c, int reg, unsigned asz, int64_t d)
{
	soft_reg_write(c, reg, asz, c->gpr[reg] + (uint64_t)d);
}

/* One ins element: ES:rDI (no override, SDM Vol.2 INS) <- port. */
static void ins_step(struct soft_cpu *c, const struct soft_insn *i, uint16_t port, unsigned size,
		     int64_t d)
{
	uint64_t di = c->gpr[R_DI] & soft_size_mask(i->asz);

	soft_mem_check(c, S_ES, di, size, SOFT_ACC_WRITE);
	uint32_t v = port_read(c, port, size);
	soft_mem_write(c, S_ES, di, size, v);
	advance(c, R_DI, i->asz, d);
}

/* One outs element: port <- seg:rSI (DS or the override). */
static void outs_step(struct soft_cpu *c, const struct soft_insn *i, uint16_t port, unsigned size,
		      int64_t d)
{
	uint64_t si = c->gpr[R_SI] & soft_size_mask(i->asz);
	uint32_t v = (uint32_t)soft_mem_read(c, i->seg, si, size);

	port_write(c, port, size, v);
	advance(c, R_SI, i->asz, d);
}

static void string_io(struct soft_cpu *c, const struct soft_insn *i, bool out)
{
	unsigned size = io_size(i), asz = i->asz;
	uint16_t port = (uint16_t)c->gpr[R_DX];
	int64_t d = (c->rflags & X86_DF) ? -(int64_t)size : (int64_t)size;

	/* The permission check comes first, whatever the count. */
	io_check(c, port, size);
	if (!(i->flags & SOFT_I_REP)) {
		if (out)
			outs_step(c, i, port, size, d);
		else
			ins_step(c, i, port, size, d);
		return;
	}
	uint64_t n = c->gpr[R_CX] & soft_size_mask(asz);
	for (unsigned budget = IO_REP_CHUNK; n; budget--) {
		if (!budget) {
			c->next_rip = c->rip; /* not done: run again after an interrupt check */
			return;
		}
		if (out)
			outs_step(c, i, port, size, d);
		else
			ins_step(c, i, port, size, d);
		soft_reg_write(c, R_CX, asz, --n);
	}
}

SYS_HANDLER(ins)
{
	string_io(c, i, false);
}

SYS_HANDLER(outs)
{
	string_io(c, i, true);
}
