// SPDX-License-Identifier: MIT
/*
 * The soft run: a struct soft_cpu in 64-bit mode at CPL 3 with 4-level
 * paging that maps the code, data and stack pages at their native addresses
 * (and nothing else). The real decoder, handlers, flags, segmentation and
 * MMU (mmu.c) run; the machine around them (soft.c's slot map, frame.c's code
 * pages) is stood in for below by a buffer of guest RAM, as in
 * tests/unit/soft/test_mmu.c. Instructions are decoded and executed one at a
 * time with run.c's convention: next_rip preset to the fall-through, the
 * handler runs, rip = next_rip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu/soft/cpu.h"
#include "vcpu/soft/decode.h"
#include "vcpu/soft/excp.h"
#include "vcpu/soft/frame.h"
#include "vcpu/soft/mem.h"
#include "vcpu/soft/mmu.h"
#include "vcpu/soft/platform.h"
#include "vcpu/soft/seg.h"
#include "vcpu/soft/soft_vm.h"
#include "diff.h"

#define RAM_BASE DIFF_CODE
#define RAM_SIZE 0x400000ull
#define PT_BASE	 (RAM_BASE + 0x300000) /* PML4, PDPT, PD, PT */

#define P  (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define XD (1ull << 63)

/* --- the test double for the machine --- */

struct soft_vm {
	uint8_t *ram;
	uint64_t stray_gpa; /* an access outside RAM, or 0 */
};

uint8_t *soft_vm_ram(struct soft_vm *vm, uint64_t gpa, uint64_t len, bool *writable)
{
	if (gpa < RAM_BASE || gpa - RAM_BASE >= RAM_SIZE || len > RAM_SIZE - (gpa - RAM_BASE))
		return NULL;
	*writable = true;
	return vm->ram + (gpa - RAM_BASE);
}

/* No block RAM here: a miss stays a miss. */
uint8_t *soft_vm_ram_fault(struct soft_cpu *c, uint64_t gpa, uint64_t len, bool *writable)
{
	return soft_vm_ram(c->vm, gpa, len, writable);
}

void soft_vm_mmio(struct soft_cpu *c, uint64_t gpa, void *data, unsigned size, bool write)
{
	c->vm->stray_gpa = gpa ? gpa : 1;
	if (!write)
		memset(data, 0xff, size);
}

uint64_t soft_vm_mem_generation(struct soft_vm *vm)
{
	(void)vm;
	return 1;
}

void soft_vm_flush_others(struct soft_cpu *c)
{
	(void)c;
}

void soft_vm_split_lock(struct soft_vm *vm)
{
	(void)vm;
}

void soft_vm_split_unlock(struct soft_vm *vm)
{
	(void)vm;
}

unsigned soft_vm_ncpus(struct soft_vm *vm)
{
	(void)vm;
	return 1;
}

bool soft_frame_page_has_code(struct soft_vm *vm, uint64_t gpa)
{
	(void)vm;
	(void)gpa;
	return false;
}

void soft_frame_written(struct soft_vm *vm, struct soft_cpu *c, uint64_t gpa, uint64_t len)
{
	(void)vm;
	(void)c;
	(void)gpa;
	(void)len;
}

/*
 * platform.c: the system instructions the dispatcher links in. Generated
 * sequences never reach them (no in/out, rdtsc, rdmsr or CR8 at CPL 3).
 */
void soft_port_io(struct soft_cpu *c, uint16_t port, void *data, unsigned size, bool write)
{
	(void)c;
	(void)port;
	(void)write;
	memset(data, 0xff, size);
}

uint64_t soft_tsc(struct soft_cpu *c)
{
	return c->icount;
}

uint64_t soft_tsc_hz(struct soft_cpu *c)
{
	(void)c;
	return 1000000000ull;
}

bool soft_apic_msr_read(struct soft_cpu *c, uint32_t msr, uint64_t *v)
{
	(void)c;
	(void)msr;
	*v = 0;
	return false;
}

bool soft_apic_msr_write(struct soft_cpu *c, uint32_t msr, uint64_t v)
{
	(void)c;
	(void)msr;
	(void)v;
	return false;
}

uint64_t soft_apic_get_cr8(struct soft_cpu *c)
{
	return c->cr8;
}

void soft_apic_set_cr8(struct soft_cpu *c, uint64_t v)
{
	c->cr8 = v;
}

void soft_irq_recheck(struct soft_cpu *c)
{
	(void)c;
}

/* --- the CPU --- */

struct diff_soft {
	struct soft_vm vm;
	struct soft_cpu *c;
};

static uint64_t *pte(struct diff_soft *d, uint64_t gpa)
{
	return (uint64_t *)(d->vm.ram + (gpa - RAM_BASE));
}

/* Identity-maps the 4K page at la with flags; one PT covers the 2 MiB around RAM_BASE. */
static void map(struct diff_soft *d, uint64_t la, uint64_t flags)
{
	*pte(d, PT_BASE + 0x3000 + ((la >> 12) & 511) * 8) = la | flags;
}

struct diff_soft *diff_soft_new(void)
{
	struct diff_soft *d = calloc(1, sizeof(*d));
	struct soft_cpu *c;

	if (!d)
		return NULL;
	d->vm.ram = calloc(1, RAM_SIZE);
	d->c = c = calloc(1, sizeof(*c));
	if (!d->vm.ram || !c) {
		free(d->vm.ram);
		free(c);
		free(d);
		return NULL;
	}
	c->vm = &d->vm;
	soft_seg_init(c);

	*pte(d, PT_BASE) = (PT_BASE + 0x1000) | P | RW | US;
	*pte(d, PT_BASE + 0x1000 + ((RAM_BASE >> 30) & 511) * 8) = (PT_BASE + 0x2000) | P | RW | US;
	*pte(d, PT_BASE + 0x2000 + ((RAM_BASE >> 21) & 511) * 8) = (PT_BASE + 0x3000) | P | RW | US;
	for (uint64_t a = DIFF_CODE; a < DIFF_CODE + DIFF_CODE_SIZE; a += 4096)
		map(d, a, P | US);
	for (uint64_t a = DIFF_MEM; a < DIFF_MEM + DIFF_MEM_SIZE; a += 4096)
		map(d, a, P | RW | US | XD);

	c->cr3 = PT_BASE;
	c->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	c->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	c->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	/* the flat user segments Linux uses: CS 0x33 (L), SS/DS/ES 0x2b */
	c->seg[S_CS] = (struct kvm_segment){
		.selector = 0x33,
		.limit = 0xffffffff,
		.type = 0xb,
		.present = 1,
		.dpl = 3,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	c->seg[S_SS] = (struct kvm_segment){
		.selector = 0x2b,
		.limit = 0xffffffff,
		.type = 0x3,
		.present = 1,
		.dpl = 3,
		.s = 1,
		.db = 1,
		.g = 1,
	};
	c->seg[S_DS] = c->seg[S_ES] = c->seg[S_SS];
	c->seg[S_FS] = c->seg[S_GS] = (struct kvm_segment){ .unusable = 1 };
	c->seg[S_LDTR] = (struct kvm_segment){ .type = 2, .present = 1, .limit = 0xffff };
	c->seg[S_TR] = (struct kvm_segment){ .type = 11, .present = 1, .limit = 0x67 };
	soft_mode_changed(c);
	soft_mmu_flush(c, true);
	return d;
}

void diff_soft_free(struct diff_soft *d)
{
	if (!d)
		return;
	soft_seg_destroy(d->c);
	free(d->c);
	free(d->vm.ram);
	free(d);
}

static unsigned index_of(const struct diff_seq *s, uint64_t rip, uint64_t start)
{
	uint64_t off = rip - start;

	for (unsigned k = 0; k < s->n; k++)
		if (off < s->off[k + 1])
			return k;
	return s->n;
}

int diff_soft_run(struct diff_soft *d, const struct diff_seq *s, uint64_t rip,
		  struct diff_regs *out, uint8_t *mem, unsigned *where, char *why, unsigned whylen)
{
	struct soft_cpu *c = d->c;
	const uint64_t end = rip + s->len;
	volatile unsigned steps = 0;
	const unsigned max_steps = 64 * s->n + 64;
	struct soft_insn i;

	memcpy(d->vm.ram + (DIFF_MEM - RAM_BASE), s->mem, DIFF_MEM_SIZE);
	memcpy(d->vm.ram + (rip - RAM_BASE), s->code, s->len);
	memset(d->vm.ram + (end - RAM_BASE), 0xcc, 16);
	d->vm.stray_gpa = 0;
	soft_excp_reset(c);
	memcpy(c->gpr, s->init.gpr, sizeof(c->gpr));
	soft_flags_set(c, s->init.rflags);
	soft_fpu_reset(&c->fpu);
	memcpy(c->fpu.fx.xmm, s->init.xmm, sizeof(s->init.xmm));
	c->fpu.fx.mxcsr = s->init.mxcsr;
	for (unsigned k = 0; k < 8; k++)
		memcpy(&c->fpu.fx.st[k], s->init.st[k], 10);
	c->rip = c->next_rip = rip;
	c->intr_shadow = 0;
	/* the sequence's pages may have been rewritten: forget what was cached */
	soft_mmu_flush(c, true);

	if (setjmp(c->fault_jmp)) {
		*where = index_of(s, c->rip, rip);
		if (c->segs.excp.internal)
			snprintf(why, whylen, "internal error: %s", soft_internal_why(c));
		else
			snprintf(why, whylen, "soft CPU raised vector %d (error code %#x)",
				 c->segs.excp.vector, c->segs.excp.errcode);
		return -1;
	}
	while (c->rip != end) {
		uint8_t buf[SOFT_INSN_MAX_LEN];
		uint64_t gpa;
		unsigned n;
		int r;

		if (++steps > max_steps || c->rip < rip || c->rip > end) {
			*where = index_of(s, c->rip, rip);
			snprintf(why, whylen,
				 "soft CPU left the sequence: rip %#llx after %u steps",
				 (unsigned long long)c->rip, steps);
			return -1;
		}
		n = soft_fetch(c, c->rip, buf, sizeof(buf), &gpa);
		r = soft_decode(buf, n, 8, c->rip, &i);
		if (r == -EAGAIN && n < sizeof(buf)) {
			n += soft_fetch(c, c->rip + n, buf + n, sizeof(buf) - n, &gpa);
			r = soft_decode(buf, n, 8, c->rip, &i);
		}
		if (r) {
			*where = index_of(s, c->rip, rip);
			snprintf(why, whylen, "soft_decode failed: %d", r);
			return -1;
		}
		c->next_rip = c->rip + i.len;
		i.exec(c, &i);
		c->rip = c->next_rip;
		c->icount++;
		if (d->vm.stray_gpa) {
			*where = index_of(s, c->rip - 1, rip);
			snprintf(why, whylen, "access outside RAM at gpa %#llx",
				 (unsigned long long)d->vm.stray_gpa);
			return -1;
		}
	}
	memcpy(out->gpr, c->gpr, sizeof(out->gpr));
	out->rflags = soft_flags_get(c);
	memcpy(out->xmm, c->fpu.fx.xmm, sizeof(out->xmm));
	out->mxcsr = c->fpu.fx.mxcsr;
	out->fcw = c->fpu.fx.fcw;
	out->fsw = c->fpu.fx.fsw;
	out->ftw = c->fpu.fx.ftw;
	for (unsigned k = 0; k < 8; k++)
		memcpy(out->st[k], &c->fpu.fx.st[k], 10);
	memcpy(mem, d->vm.ram + (DIFF_MEM - RAM_BASE), DIFF_MEM_SIZE);
	return 0;
}
