/* SPDX-License-Identifier: MIT */
/*
 * A whole soft accelerator with one vCPU and a buffer of guest RAM, for the
 * tests that look inside it (test_frame.c, test_seg.c): modes set through
 * set_sregs as the VMM would, single instructions decoded and executed with
 * the real handlers, and runs to a hlt. Port and MMIO accesses are refused.
 */
#ifndef COVE_TESTS_SOFT_FIXTURE_H
#define COVE_TESTS_SOFT_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu/accel.h"
#include "vcpu/soft/core.h"
#include "vcpu/soft/decode.h"

#define FX_RAM_SIZE (4u << 20)
#define FX_PML4	    0x300000ull /* 64-bit mode: identity map of the first 4 MiB */

struct fx {
	struct accel *a;
	struct accel_vcpu *cpu; /* the vCPU the helpers work on: cpus[0] unless fx_use() */
	struct soft_vcpu *v;
	struct soft_cpu *c;
	uint8_t *ram;
	unsigned ncpus;
	struct accel_vcpu *cpus[2];
};

static struct fx fx;

static inline int fx_pio(void *opaque, int cpu, uint16_t port, void *data, unsigned size,
			 bool write)
{
	(void)opaque, (void)cpu, (void)port, (void)data, (void)size, (void)write;
	return -ENOENT;
}

static inline int fx_mmio(void *opaque, int cpu, uint64_t gpa, void *data, unsigned size,
			  bool write)
{
	(void)opaque, (void)cpu, (void)gpa;
	if (!write)
		memset(data, 0xff, size);
	return -ENOENT;
}

static struct accel_io_handler fx_io = { .pio = fx_pio, .mmio = fx_mmio };

static inline void fx_use(unsigned i)
{
	ck_assert_uint_lt(i, fx.ncpus);
	fx.cpu = fx.cpus[i];
	fx.v = (struct soft_vcpu *)fx.cpu;
	fx.c = &fx.v->c;
}

static inline void fx_setup_n(unsigned ncpus)
{
	struct accel_vm_params vp = { .ncpus = ncpus, .io = &fx_io };

	memset(&fx, 0, sizeof(fx));
	ck_assert_uint_le(ncpus, 2);
	ck_assert_int_eq(accel_soft_ops.vm_create(&vp, &fx.a), 0);
	fx.ram = aligned_alloc(4096, FX_RAM_SIZE);
	ck_assert_ptr_nonnull(fx.ram);
	memset(fx.ram, 0, FX_RAM_SIZE);
	ck_assert_int_eq(accel_soft_ops.set_memory_region(fx.a, 0, 0, FX_RAM_SIZE, fx.ram, 0), 0);
	fx.ncpus = ncpus;
	for (unsigned i = 0; i < ncpus; i++)
		ck_assert_int_eq(accel_soft_ops.vcpu_create(fx.a, i, &fx.cpus[i]), 0);
	fx_use(0);
}

static inline void fx_setup(void)
{
	fx_setup_n(1);
}

/* Two vCPUs; the second is only ever driven by fx_exec() and fx_block(), never run. */
static inline void fx_setup2(void)
{
	fx_setup_n(2);
}

static inline void fx_teardown(void)
{
	for (unsigned i = 0; i < fx.ncpus; i++)
		accel_soft_ops.vcpu_destroy(fx.cpus[i]);
	accel_soft_ops.vm_destroy(fx.a);
	free(fx.ram);
}

static inline void fx_put(uint64_t gpa, const void *bytes, size_t len)
{
	ck_assert_uint_le(gpa + len, FX_RAM_SIZE);
	memcpy(fx.ram + gpa, bytes, len);
}

static inline void fx_put64(uint64_t gpa, uint64_t v)
{
	fx_put(gpa, &v, 8);
}

static inline struct kvm_segment fx_flat(uint16_t sel, uint8_t type, unsigned dpl, bool db, bool l)
{
	return (struct kvm_segment){ .base = 0,
				     .limit = 0xffffffff,
				     .selector = sel,
				     .type = type,
				     .present = 1,
				     .dpl = (uint8_t)dpl,
				     .db = db,
				     .s = 1,
				     .l = l,
				     .g = 1 };
}

/* Real mode, CS = cs_sel (base cs_sel << 4), the other segments 0. */
static inline void fx_real(uint16_t cs_sel)
{
	struct kvm_sregs s;

	ck_assert_int_eq(accel_soft_ops.get_sregs(fx.cpu, &s), 0);
	s.cr0 &= ~(uint64_t)(X86_CR0_PE | X86_CR0_PG);
	s.efer = 0;
	s.cs.selector = cs_sel;
	s.cs.base = (uint64_t)cs_sel << 4;
	s.cs.limit = 0xffff;
	s.ds.selector = s.es.selector = s.ss.selector = 0;
	s.ds.base = s.es.base = s.ss.base = 0;
	ck_assert_int_eq(accel_soft_ops.set_sregs(fx.cpu, &s), 0);
}

/* 32-bit protected mode without paging, flat segments at privilege level cpl. */
static inline void fx_prot32(unsigned cpl)
{
	struct kvm_sregs s;

	ck_assert_int_eq(accel_soft_ops.get_sregs(fx.cpu, &s), 0);
	s.cr0 = X86_CR0_PE | X86_CR0_ET;
	s.cr4 = 0;
	s.efer = 0;
	s.cs = fx_flat((uint16_t)(cpl ? 0x1b : 0x08), 0xb, cpl, true, false);
	s.ss = s.ds = s.es = s.fs = s.gs =
		fx_flat((uint16_t)(cpl ? 0x23 : 0x10), 0x3, cpl, true, false);
	ck_assert_int_eq(accel_soft_ops.set_sregs(fx.cpu, &s), 0);
}

/* 64-bit mode at CPL 0, 2M pages identity-mapping the first 4 MiB. */
static inline void fx_long64(void)
{
	struct kvm_sregs s;

	fx_put64(FX_PML4, (FX_PML4 + 0x1000) | 3);
	fx_put64(FX_PML4 + 0x1000, (FX_PML4 + 0x2000) | 3);
	fx_put64(FX_PML4 + 0x2000, 0x000000 | 0x83); /* P | RW | PS */
	fx_put64(FX_PML4 + 0x2008, 0x200000 | 0x83);
	ck_assert_int_eq(accel_soft_ops.get_sregs(fx.cpu, &s), 0);
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	s.cr3 = FX_PML4;
	s.cr4 = X86_CR4_PAE;
	s.efer = X86_EFER_LME | X86_EFER_LMA;
	s.cs = fx_flat(0x08, 0xb, 0, false, true);
	s.ss = s.ds = s.es = s.fs = s.gs = fx_flat(0x10, 0x3, 0, true, false);
	ck_assert_int_eq(accel_soft_ops.set_sregs(fx.cpu, &s), 0);
}

static inline void fx_set_rip(uint64_t rip)
{
	struct kvm_regs r;

	ck_assert_int_eq(accel_soft_ops.get_regs(fx.cpu, &r), 0);
	r.rip = rip;
	r.rflags = 2; /* IF clear: a hlt returns to the test */
	ck_assert_int_eq(accel_soft_ops.set_regs(fx.cpu, &r), 0);
}

/* Runs from rip to a hlt and returns where it stopped. */
static inline uint64_t fx_run(uint64_t rip)
{
	struct accel_exit *e;

	fx_set_rip(rip);
	fx.c->halted = 0; /* from the last run's hlt: set_regs leaves it, as KVM does */
	ck_assert_int_eq(accel_soft_ops.vcpu_run(fx.cpu, &e), 0);
	ck_assert_int_eq(e->reason, ACCEL_EXIT_HLT);
	return fx.c->rip;
}

static inline uint64_t fx_linear(uint64_t rip)
{
	if (fx.c->code64)
		return rip;
	return (fx.c->seg[S_CS].base + rip) & 0xffffffffull;
}

/*
 * Runs stmt with the soft CPU's fault handler set; evaluates to the vector it
 * raised (c->segs.excp has the error code), -2 for an internal error, or -1.
 */
#define FX_RAISED(stmt)                                                                            \
	({                                                                                         \
		volatile int r_ = -1;                                                              \
		switch (setjmp(fx.c->fault_jmp)) {                                                 \
		case 0:                                                                            \
			stmt;                                                                      \
			break;                                                                     \
		case SOFT_JMP_FAULT:                                                               \
			r_ = fx.c->segs.excp.vector;                                               \
			break;                                                                     \
		default:                                                                           \
			r_ = -2;                                                                   \
			break;                                                                     \
		}                                                                                  \
		r_;                                                                                \
	})

static inline uint32_t fx_errcode(void)
{
	return fx.c->segs.excp.errcode;
}

/* The block at rip under the current mode, built on a miss; fails the test on a fault. */
static inline struct soft_block *fx_block(uint64_t rip)
{
	struct soft_block *volatile b = NULL;

	fx.c->rip = fx.c->next_rip = rip;
	ck_assert_int_eq(FX_RAISED(b = soft_block_lookup(fx.c, fx_linear(rip))), -1);
	ck_assert_ptr_nonnull(b);
	return b;
}

/*
 * Decodes the instruction at rip from bytes (not guest memory) and executes it
 * with the real handler, as run.c would; returns the vector it raised or -1.
 * On a fault rip stays at the instruction.
 */
static inline int fx_exec(const uint8_t *bytes, unsigned len)
{
	static struct soft_insn i;
	struct soft_cpu *c = fx.c;

	ck_assert_int_eq(soft_decode(bytes, len, c->csize, c->rip, &i), 0);
	ck_assert_uint_eq(i.len, len);
	return FX_RAISED({
		c->next_rip = (c->rip + i.len) & soft_size_mask(c->csize);
		i.exec(c, &i);
		c->rip = c->next_rip;
	});
}

#define FX_EXEC(...)                                                                               \
	({                                                                                         \
		static const uint8_t b_[] = { __VA_ARGS__ };                                       \
		fx_exec(b_, sizeof(b_));                                                           \
	})

#endif
