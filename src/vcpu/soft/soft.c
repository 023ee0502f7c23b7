/* SPDX-License-Identifier: MIT */
/*
 * The soft accelerator's accel_ops (accel.h): the VM with its memory slots
 * and irqchip models (devices/irqchip/irqchip.h, the counterpart of KVM's
 * in-kernel irqchip and PIT), one struct soft_cpu per vCPU, and the register
 * state translated between linux/kvm.h's structs and the soft CPU.
 *
 * Deterministic mode: guest time is vCPU 0's retired instructions, one
 * instruction = 1 ns (a 1 GHz CPU retiring one instruction per cycle), plus
 * the time skipped while halted until the next timer deadline. The TSC runs
 * at SOFT_TSC_HZ (1 GHz) in both modes.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/irqchip/irqchip.h"
#include "exec_sys.h"
#include "frame.h"
#include "mmu.h"
#include "pattern.h"
#include "pc.h"
#include "seg.h"
#include "soft_vm.h"
#include "vcpu/cpuid.h"

/* accel.h's opaque types are the soft structs themselves. */
struct accel {
	struct soft_vm vm;
};

struct accel_vcpu {
	struct soft_vcpu v;
};

static int soft_probe(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return 0; /* runs on any x86-64 or other host: nothing to probe */
}

/* ---- time ---- */

uint64_t soft_vm_now(struct soft_vm *vm)
{
	if (!vm->deterministic)
		return clock_host_ns();
	/* vm->lock keeps vCPU 0 alive while devices on other threads ask the time */
	pthread_mutex_lock(&vm->lock);
	uint64_t n = atomic_load(&vm->det_skip_ns);
	struct soft_vcpu *v0 = vm->cpus[0];

	if (v0)
		n += __atomic_load_n(&v0->c.icount, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vm->lock);
	return n;
}

static uint64_t soft_clock_now(struct guest_clock *gc)
{
	struct soft_vm *vm = (struct soft_vm *)((char *)gc - offsetof(struct soft_vm, clock));

	return soft_vm_now(vm);
}

static uint64_t soft_guest_ns(struct accel *a)
{
	return soft_vm_now(&a->vm);
}

/* ---- wake-ups ---- */

void soft_vcpu_wake(struct soft_vcpu *v, uint32_t ev)
{
	atomic_fetch_or(&v->c.events, ev);
	pthread_mutex_lock(&v->lock);
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* irqchip kick: runs with the irqchip's mutex held, so it only signals. */
static void soft_irqchip_kick(void *opaque, unsigned cpu)
{
	struct soft_vm *vm = opaque;

	if (cpu >= vm->ncpus)
		return;
	pthread_mutex_lock(&vm->lock); /* against vcpu_destroy */
	if (vm->cpus[cpu])
		soft_vcpu_wake(vm->cpus[cpu], SOFT_EV_IRQ);
	pthread_mutex_unlock(&vm->lock);
}

/* ---- the VM ---- */

static int soft_vm_create(const struct accel_vm_params *p, struct accel **out)
{
	struct irqchip_params ip;
	struct accel *a;
	int ret;

	if (!p->io || !p->io->pio || !p->io->mmio) {
		/* soft completes every access in-line; it has no I/O exits */
		if (p->log)
			fprintf(p->log, "soft: the VMM gave no in-line I/O handler, which soft "
					"requires\n");
		return -EINVAL;
	}
	if (p->ncpus == 0 || p->ncpus > IRQCHIP_MAX_CPUS)
		return -E2BIG;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->vm.ncpus = p->ncpus;
	a->vm.io = *p->io;
	a->vm.deterministic = p->deterministic;
	a->vm.log = p->log;
	a->vm.clock.now_ns = soft_clock_now;
	pthread_mutex_init(&a->vm.lock, NULL);
	pthread_mutex_init(&a->vm.split_lock, NULL);
	a->vm.cpus = calloc(p->ncpus, sizeof(a->vm.cpus[0]));
	/* untouched pages of the slot array cost nothing */
	a->vm.slot = calloc(SOFT_MAX_SLOTS, sizeof(a->vm.slot[0]));
	if (!a->vm.cpus || !a->vm.slot) {
		free(a->vm.slot);
		ret = -ENOMEM;
		goto out_free;
	}
	ip = (struct irqchip_params){
		.ncpus = p->ncpus,
		.clock = &a->vm.clock,
		.tsc_hz = SOFT_TSC_HZ,
		.kick = soft_irqchip_kick,
		.opaque = &a->vm,
	};
	ret = irqchip_create(&ip, &a->vm.ic);
	if (ret)
		goto out_cpus;
	*out = a;
	return 0;
out_cpus:
	free(a->vm.slot);
	free(a->vm.cpus);
out_free:
	pthread_mutex_destroy(&a->vm.split_lock);
	pthread_mutex_destroy(&a->vm.lock);
	free(a);
	return ret;
}

static void soft_vm_destroy(struct accel *a)
{
	if (!a)
		return;
	irqchip_destroy(a->vm.ic);
	for (unsigned i = 0; i < SOFT_MAX_SLOTS; i++)
		free((void *)a->vm.slot[i].code);
	free(a->vm.slot);
	while (a->vm.retired) {
		struct soft_retired *r = a->vm.retired;

		a->vm.retired = r->next;
		free((void *)r->code);
		free(r);
	}
	free(a->vm.cpus);
	pthread_mutex_destroy(&a->vm.split_lock);
	pthread_mutex_destroy(&a->vm.lock);
	free(a);
}

/*
 * Waits until no vCPU but the caller's can still use what the slot map held
 * before generation gen: each has rebuilt its caches since (qs_gen), or
 * holds no pointer into guest RAM (qs_off: asleep, outside vcpu_run, in the
 * VMM's handlers -- which is where a deleting vCPU itself is).
 */
static void wait_quiescent(struct soft_vm *vm, uint64_t gen)
{
	const struct timespec pause = { .tv_nsec = 20000 };

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct soft_vcpu *x = vm->cpus[i];

		while (x && !atomic_load(&x->qs_off) && atomic_load(&x->qs_gen) < gen) {
			soft_vcpu_wake(x, SOFT_EV_FLUSH);
			nanosleep(&pause, NULL);
		}
	}
}

static int soft_set_memory_region(struct accel *a, uint32_t slot, uint64_t gpa, uint64_t size,
				  void *hva, uint32_t flags)
{
	struct soft_vm *vm = &a->vm;
	struct soft_slot *s;
	_Atomic uint32_t *code = NULL;
	uint64_t pages = size / SOFT_PAGE_SIZE, gen = 0;
	unsigned n;

	if (slot >= SOFT_MAX_SLOTS)
		return -EINVAL;
	if (flags & ~(uint32_t)(KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES))
		return -EINVAL;
	if (size && ((gpa | size | (uintptr_t)hva) & ~SOFT_PAGE_MASK || gpa + size < gpa || !hva))
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	n = atomic_load(&vm->nslots);
	for (unsigned i = 0; size && i < n; i++) {
		const struct soft_slot *o = &vm->slot[i];
		uint64_t osize = atomic_load(&o->size);

		if (i != slot && osize && gpa < o->gpa + osize && o->gpa < gpa + size) {
			pthread_mutex_unlock(&vm->lock);
			return -EEXIST;
		}
	}
	s = &vm->slot[slot];
	if (atomic_load(&s->size)) {
		/* the old contents go first; vCPUs must let go of them */
		atomic_store(&s->size, 0);
		gen = atomic_fetch_add(&vm->mem_gen, 1) + 1;
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->cpus[i])
				soft_vcpu_wake(vm->cpus[i], SOFT_EV_FLUSH);
	}
	pthread_mutex_unlock(&vm->lock);
	if (gen)
		wait_quiescent(vm, gen);
	if (!size)
		return 0;
	/*
	 * A code array may still be read by a thread that found the old slot
	 * (DMA invalidation): it is reused, zeroed, or kept until vm_destroy.
	 */
	if (s->code && s->ncode >= pages) {
		for (uint64_t k = 0; k < pages; k++)
			atomic_store_explicit(&s->code[k], 0, memory_order_relaxed);
	} else {
		code = calloc(pages, sizeof(*code));
		if (!code)
			return -ENOMEM;
		if (s->code) {
			/* a slot that grows (not block RAM): the old array waits for vm_destroy */
			struct soft_retired *r = malloc(sizeof(*r));

			if (!r) {
				free((void *)code);
				return -ENOMEM;
			}
			pthread_mutex_lock(&vm->lock);
			r->code = s->code;
			r->next = vm->retired;
			vm->retired = r;
			pthread_mutex_unlock(&vm->lock);
		}
		s->code = code;
		s->ncode = pages;
	}
	pthread_mutex_lock(&vm->lock);
	s->gpa = gpa;
	s->hva = hva;
	s->flags = flags;
	atomic_store(&s->size, size);
	if (slot + 1 > atomic_load(&vm->nslots))
		atomic_store(&vm->nslots, slot + 1);
	/*
	 * No flush for a slot that appears: nothing cached RAM there, and
	 * translations that saw MMIO take the slow path, which finds it.
	 */
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static unsigned soft_max_memory_slots(struct accel *a)
{
	(void)a;
	return SOFT_MAX_SLOTS;
}

/* ---- soft_vm.h ---- */

/* The slot holding gpa and its size (read once: it may change under us), or NULL. */
static struct soft_slot *slot_of(struct soft_vm *vm, uint64_t gpa, uint64_t *size)
{
	unsigned h = atomic_load_explicit(&vm->slot_hint, memory_order_relaxed);
	unsigned n = atomic_load(&vm->nslots);
	struct soft_slot *s = &vm->slot[h];
	uint64_t sz = atomic_load_explicit(&s->size, memory_order_acquire);

	if (sz && gpa - s->gpa < sz) {
		*size = sz;
		return s;
	}
	for (unsigned i = 0; i < n; i++) {
		s = &vm->slot[i];
		sz = atomic_load_explicit(&s->size, memory_order_acquire);
		if (sz && gpa - s->gpa < sz) {
			atomic_store_explicit(&vm->slot_hint, i, memory_order_relaxed);
			*size = sz;
			return s;
		}
	}
	return NULL;
}

uint8_t *soft_vm_ram(struct soft_vm *vm, uint64_t gpa, uint64_t len, bool *writable)
{
	uint64_t size;
	struct soft_slot *s = slot_of(vm, gpa, &size);

	if (!s || len > size - (gpa - s->gpa))
		return NULL;
	if (writable)
		*writable = !(s->flags & KVM_MEM_READONLY);
	return s->hva + (gpa - s->gpa);
}

uint8_t *soft_vm_ram_fault(struct soft_cpu *c, uint64_t gpa, uint64_t len, bool *writable)
{
	struct soft_vm *vm = c->vm;
	struct soft_vcpu *v = soft_vcpu_of(c);
	uint8_t *h = soft_vm_ram(vm, gpa, len, writable);

	if (h || !vm->io.ram_fault)
		return h;
	/* another thread may release the block again before we look: try a few times */
	for (unsigned tries = 0; !h && tries < 4; tries++) {
		int ret;

		atomic_store(&v->qs_off, true);
		ret = vm->io.ram_fault(vm->io.opaque, (int)c->index, gpa);
		atomic_store(&v->qs_off, false);
		if (ret)
			return NULL;
		h = soft_vm_ram(vm, gpa, len, writable);
	}
	return h;
}

void soft_vm_mmio(struct soft_cpu *c, uint64_t gpa, void *data, unsigned size, bool write)
{
	struct soft_vm *vm = c->vm;
	int ret = irqchip_mmio(vm->ic, c->index, gpa, data, size, write);

	if (ret == 0) {
		/* a LAPIC/IOAPIC access may unmask, EOI or reprogram a timer */
		atomic_fetch_or(&c->events, SOFT_EV_IRQ);
		return;
	}
	/* a device may DMA, and block RAM may then release a block: hold no pointer */
	atomic_store(&soft_vcpu_of(c)->qs_off, true);
	ret = vm->io.mmio(vm->io.opaque, (int)c->index, gpa, data, size, write);
	atomic_store(&soft_vcpu_of(c)->qs_off, false);
	if (ret && !write)
		memset(data, 0xff, size);
}

uint64_t soft_vm_mem_generation(struct soft_vm *vm)
{
	return atomic_load(&vm->mem_gen);
}

void soft_vm_split_lock(struct soft_vm *vm)
{
	pthread_mutex_lock(&vm->split_lock);
}

void soft_vm_split_unlock(struct soft_vm *vm)
{
	pthread_mutex_unlock(&vm->split_lock);
}

unsigned soft_vm_ncpus(struct soft_vm *vm)
{
	return vm->ncpus;
}

void soft_vm_flush_others(struct soft_cpu *c)
{
	struct soft_vm *vm = c->vm;

	if (vm->ncpus == 1)
		return;
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct soft_vcpu *x = vm->cpus[i];

		if (x && &x->c != c)
			soft_vcpu_wake(x, SOFT_EV_FLUSH);
	}
	pthread_mutex_unlock(&vm->lock);
}

/* The per-page frame counts frame.c keeps on the slots. */
static _Atomic uint32_t *code_count(struct soft_vm *vm, uint64_t gpa)
{
	uint64_t size;
	struct soft_slot *s = slot_of(vm, gpa, &size);

	if (!s || !s->code || (gpa - s->gpa) / SOFT_PAGE_SIZE >= s->ncode)
		return NULL;
	return &s->code[(gpa - s->gpa) / SOFT_PAGE_SIZE];
}

bool soft_frame_page_has_code(struct soft_vm *vm, uint64_t gpa)
{
	_Atomic uint32_t *n = code_count(vm, gpa);

	return n && atomic_load_explicit(n, memory_order_relaxed);
}

void soft_vm_code_mark(struct soft_vm *vm, uint64_t gpa, bool on)
{
	_Atomic uint32_t *n = code_count(vm, gpa);
	uint32_t old;

	if (!n)
		return;
	if (on) {
		atomic_fetch_add(n, 1);
		return;
	}
	old = atomic_load(n);
	while (old && !atomic_compare_exchange_weak(n, &old, old - 1))
		;
}

size_t soft_vm_legacy_state_size(void)
{
	return IRQCHIP_LEGACY_STATE_SIZE;
}

void soft_vm_legacy_save(struct soft_vm *vm, void *state)
{
	irqchip_legacy_save(vm->ic, state);
}

void soft_vm_legacy_load(struct soft_vm *vm, const void *state)
{
	irqchip_legacy_load(vm->ic, state);
}

static void soft_notify_mem_write(struct accel *a, uint64_t gpa, uint64_t len)
{
	soft_frames_dma_written(&a->vm, gpa, len);
}

/* ---- vCPUs ---- */

static int soft_vcpu_create(struct accel *a, unsigned index, struct accel_vcpu **out)
{
	struct soft_vm *vm = &a->vm;
	struct accel_vcpu *av;
	struct soft_vcpu *v;
	struct soft_cpu *c;
	pthread_condattr_t ca;
	int ret;

	if (index >= vm->ncpus || vm->cpus[index])
		return -EINVAL;
	av = calloc(1, sizeof(*av));
	if (!av)
		return -ENOMEM;
	v = &av->v;
	c = &v->c;
	v->vm = vm;
	c->vm = vm;
	c->index = index;
	ret = soft_frames_create(v);
	if (ret)
		goto out_free;
	ret = soft_patterns_create(v);
	if (ret)
		goto out_frames;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->inval_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cond, &ca);
	pthread_condattr_destroy(&ca);
	soft_seg_init(c);
	soft_cpu_power_on(c);
	v->wait_sipi = index != 0;
	v->mem_gen = soft_vm_mem_generation(vm);
	atomic_store(&v->qs_off, true);
	pthread_mutex_lock(&vm->lock);
	vm->cpus[index] = v;
	pthread_mutex_unlock(&vm->lock);
	*out = av;
	return 0;
out_frames:
	soft_frames_destroy(v);
out_free:
	free(av);
	return ret;
}

static void soft_vcpu_destroy(struct accel_vcpu *av)
{
	if (!av)
		return;
	struct soft_vcpu *v = &av->v;
	struct soft_vm *vm = v->vm;

	pthread_mutex_lock(&vm->lock);
	vm->cpus[v->c.index] = NULL;
	if (v->c.index == 0 && vm->deterministic) /* guest time must not go back */
		atomic_fetch_add(&vm->det_skip_ns, v->c.icount);
	pthread_mutex_unlock(&vm->lock);
	soft_frames_destroy(v);
	soft_patterns_destroy(v); /* after the frames: their deaths forget units */
	soft_seg_destroy(&v->c);
	free(v->c.cpuid);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->inval_lock);
	free(av);
}

static int soft_vcpu_run(struct accel_vcpu *av, struct accel_exit **exit)
{
	int ret;

	atomic_store(&av->v.qs_off, false);
	ret = soft_run(&av->v, exit);
	atomic_store(&av->v.qs_off, true);
	return ret;
}

static void soft_vcpu_kick(struct accel_vcpu *av)
{
	soft_vcpu_wake(&av->v, SOFT_EV_KICK);
}

/* ---- register state ---- */

/* The VMM changed state behind the CPU: recompute the mode, drop what was derived. */
static void state_changed(struct soft_vcpu *v)
{
	struct soft_cpu *c = &v->c;

	soft_mode_changed(c);
	soft_seg_flush(c);
	soft_mmu_flush(c, true);
	v->chain_epoch++;
	atomic_fetch_or(&c->events, SOFT_EV_FLUSH);
}

static int soft_get_regs(struct accel_vcpu *av, struct kvm_regs *r)
{
	struct soft_cpu *c = &av->v.c;
	const uint64_t *g = c->gpr;

	*r = (struct kvm_regs){
		.rax = g[R_AX],
		.rbx = g[R_BX],
		.rcx = g[R_CX],
		.rdx = g[R_DX],
		.rsi = g[R_SI],
		.rdi = g[R_DI],
		.rsp = g[R_SP],
		.rbp = g[R_BP],
		.r8 = g[R_R8],
		.r9 = g[R_R9],
		.r10 = g[R_R10],
		.r11 = g[R_R11],
		.r12 = g[R_R12],
		.r13 = g[R_R13],
		.r14 = g[R_R14],
		.r15 = g[R_R15],
		.rip = c->rip,
		.rflags = soft_flags_get(c),
	};
	return 0;
}

static int soft_set_regs(struct accel_vcpu *av, const struct kvm_regs *r)
{
	struct soft_cpu *c = &av->v.c;
	uint64_t *g = c->gpr;

	g[R_AX] = r->rax;
	g[R_BX] = r->rbx;
	g[R_CX] = r->rcx;
	g[R_DX] = r->rdx;
	g[R_SI] = r->rsi;
	g[R_DI] = r->rdi;
	g[R_SP] = r->rsp;
	g[R_BP] = r->rbp;
	g[R_R8] = r->r8;
	g[R_R9] = r->r9;
	g[R_R10] = r->r10;
	g[R_R11] = r->r11;
	g[R_R12] = r->r12;
	g[R_R13] = r->r13;
	g[R_R14] = r->r14;
	g[R_R15] = r->r15;
	c->rip = c->next_rip = r->rip;
	/* bit 1 is forced on; the reserved bits above ID read as zero */
	soft_flags_set(c, r->rflags & 0x3f7fd5);
	c->intr_shadow = 0;
	soft_excp_reset(c);
	av->v.chain_epoch++;
	return 0;
}

static int soft_get_sregs(struct accel_vcpu *av, struct kvm_sregs *s)
{
	struct soft_cpu *c = &av->v.c;
	struct irqchip *ic = av->v.vm->ic;

	memset(s, 0, sizeof(*s));
	s->es = c->seg[S_ES];
	s->cs = c->seg[S_CS];
	s->ss = c->seg[S_SS];
	s->ds = c->seg[S_DS];
	s->fs = c->seg[S_FS];
	s->gs = c->seg[S_GS];
	s->ldt = c->seg[S_LDTR];
	s->tr = c->seg[S_TR];
	s->gdt = c->gdtr;
	s->idt = c->idtr;
	s->cr0 = c->cr0;
	s->cr2 = c->cr2;
	s->cr3 = c->cr3;
	s->cr4 = c->cr4;
	s->cr8 = irqchip_get_cr8(ic, c->index);
	s->efer = c->efer;
	s->apic_base = irqchip_get_apic_base(ic, c->index);
	return 0;
}

static int soft_set_sregs(struct accel_vcpu *av, const struct kvm_sregs *s)
{
	struct soft_vcpu *v = &av->v;
	struct soft_cpu *c = &v->c;
	struct irqchip *ic = v->vm->ic;
	int ret;

	/* the checks KVM makes (kvm_is_valid_sregs): nothing the soft CPU could not run */
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return -EINVAL;
	if ((s->efer & X86_EFER_LMA) &&
	    (!(s->cr0 & X86_CR0_PG) || !(s->cr4 & X86_CR4_PAE) || !(s->efer & X86_EFER_LME)))
		return -EINVAL;
	if (s->apic_base != irqchip_get_apic_base(ic, c->index)) {
		ret = irqchip_set_apic_base(ic, c->index, s->apic_base);
		if (ret)
			return ret;
	}
	c->seg[S_ES] = s->es;
	c->seg[S_CS] = s->cs;
	c->seg[S_SS] = s->ss;
	c->seg[S_DS] = s->ds;
	c->seg[S_FS] = s->fs;
	c->seg[S_GS] = s->gs;
	c->seg[S_LDTR] = s->ldt;
	c->seg[S_TR] = s->tr;
	c->gdtr = s->gdt;
	c->idtr = s->idt;
	c->cr0 = s->cr0 | X86_CR0_ET;
	c->cr2 = s->cr2;
	c->cr3 = s->cr3;
	c->cr4 = s->cr4;
	c->cr8 = s->cr8 & 0xf;
	irqchip_set_cr8(ic, c->index, c->cr8);
	c->efer = s->efer;
	/* a CPU the VMM gave state to is running, whatever INIT/SIPI said */
	v->wait_sipi = false;
	c->halted = 0;
	state_changed(v);
	return 0;
}

static int soft_get_fpu(struct accel_vcpu *av, struct kvm_fpu *f)
{
	soft_fpu_get_kvm(&av->v.c.fpu, f);
	return 0;
}

static int soft_set_fpu(struct accel_vcpu *av, const struct kvm_fpu *f)
{
	soft_fpu_set_kvm(&av->v.c.fpu, f);
	return 0;
}

static int soft_get_msrs(struct accel_vcpu *av, struct kvm_msr_entry *e, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t val;

		if (!soft_msr_get(&av->v.c, e[i].index, &val))
			break;
		e[i].data = val;
	}
	return (int)i;
}

static int soft_set_msrs(struct accel_vcpu *av, const struct kvm_msr_entry *e, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!soft_msr_set(&av->v.c, e[i].index, e[i].data, true))
			break;
	if (i)
		state_changed(&av->v);
	return (int)i;
}

static int soft_get_lapic(struct accel_vcpu *av, struct kvm_lapic_state *l)
{
	return irqchip_get_lapic(av->v.vm->ic, av->v.c.index, l);
}

static int soft_set_lapic(struct accel_vcpu *av, const struct kvm_lapic_state *l)
{
	return irqchip_set_lapic(av->v.vm->ic, av->v.c.index, l);
}

/* Exactly the baseline of cpuid.c (cpuid_soft_table): what the soft CPU implements. */
static int soft_get_cpuid(struct accel *a, struct kvm_cpuid2 *c, unsigned max_entries)
{
	(void)a;
	return cpuid_soft_table(c, max_entries);
}

static int soft_set_cpuid(struct accel_vcpu *av, const struct kvm_cpuid2 *c)
{
	size_t size;
	struct kvm_cpuid2 *copy;

	if (c->nent > 256)
		return -E2BIG;
	size = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	copy = malloc(size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, c, size);
	free(av->v.c.cpuid);
	av->v.c.cpuid = copy;
	return 0;
}

static int soft_set_guest_debug(struct accel_vcpu *av, const struct kvm_guest_debug *dbg)
{
	(void)av;
	return dbg->control & KVM_GUESTDBG_ENABLE ? -ENOTSUP : 0;
}

static int soft_irq_line(struct accel *a, uint32_t gsi, int level)
{
	return irqchip_set_gsi(a->vm.ic, gsi, level);
}

static int soft_get_irqchip_state(struct accel *a, struct accel_irqchip_state *st)
{
	int ret;

	memset(st, 0, sizeof(*st));
	st->pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	st->pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	st->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if ((ret = irqchip_get_chip(a->vm.ic, &st->pic[0])) ||
	    (ret = irqchip_get_chip(a->vm.ic, &st->pic[1])) ||
	    (ret = irqchip_get_chip(a->vm.ic, &st->ioapic)))
		return ret;
	irqchip_get_pit(a->vm.ic, &st->pit);
	return 0;
}

static int soft_set_irqchip_state(struct accel *a, const struct accel_irqchip_state *st)
{
	int ret;

	if ((ret = irqchip_set_chip(a->vm.ic, &st->pic[0])) ||
	    (ret = irqchip_set_chip(a->vm.ic, &st->pic[1])) ||
	    (ret = irqchip_set_chip(a->vm.ic, &st->ioapic)))
		return ret;
	irqchip_set_pit(a->vm.ic, &st->pit);
	return 0;
}

static void soft_print_stats(struct accel *a, FILE *out)
{
	struct soft_vm *vm = &a->vm;
	struct soft_run_stats t = { 0 };
	uint64_t insns = 0, tlb_hits = 0, tlb_misses = 0, tlb_flushes = 0;
	uint64_t seg_fills = 0, seg_inval = 0, seg_hits = 0, exc = 0, ints = 0;
	unsigned live = 0;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct soft_vcpu *v = vm->cpus[i];

		if (!v)
			continue;
		insns += v->c.icount;
		t.blocks += v->st.blocks;
		t.chain_hits += v->st.chain_hits;
		t.monitor_exits += v->st.monitor_exits;
		t.frames_built += v->st.frames_built;
		t.frames_invalidated += v->st.frames_invalidated;
		t.blocks_built += v->st.blocks_built;
		t.halts += v->st.halts;
		t.pattern_hits += v->st.pattern_hits;
		t.pattern_misses += v->st.pattern_misses;
		t.pattern_rollbacks += v->st.pattern_rollbacks;
		tlb_hits += v->c.mmu.hits;
		tlb_misses += v->c.mmu.misses;
		tlb_flushes += v->c.mmu.flushes;
		seg_fills += v->c.segs.fills;
		seg_inval += v->c.segs.invalidations;
		seg_hits += v->c.segs.hits;
		for (unsigned k = 0; k < 32; k++)
			exc += v->c.segs.excp.delivered[k];
		ints += v->c.segs.excp.interrupts;
		live += soft_frames_live(v);
	}
	fprintf(out, "soft: %u vCPU(s)%s\n", vm->ncpus, vm->deterministic ? ", deterministic" : "");
	fprintf(out, "soft: instructions retired %llu\n", (unsigned long long)insns);
	fprintf(out, "soft: blocks entered %llu, via chained stubs %llu, monitor exits %llu\n",
		(unsigned long long)t.blocks, (unsigned long long)t.chain_hits,
		(unsigned long long)t.monitor_exits);
	fprintf(out, "soft: frames built %llu, invalidated %llu, live %u; blocks built %llu\n",
		(unsigned long long)t.frames_built, (unsigned long long)t.frames_invalidated, live,
		(unsigned long long)t.blocks_built);
	fprintf(out, "soft: patterns matched %llu, rolled back %llu, cache misses %llu\n",
		(unsigned long long)t.pattern_hits, (unsigned long long)t.pattern_rollbacks,
		(unsigned long long)t.pattern_misses);
	fprintf(out, "soft: segment shadow fills %llu, hits %llu, invalidations %llu\n",
		(unsigned long long)seg_fills, (unsigned long long)seg_hits,
		(unsigned long long)seg_inval);
	fprintf(out, "soft: TLB hits %llu, misses %llu, flushes %llu\n",
		(unsigned long long)tlb_hits, (unsigned long long)tlb_misses,
		(unsigned long long)tlb_flushes);
	fprintf(out, "soft: exceptions delivered %llu, interrupts %llu, halts %llu\n",
		(unsigned long long)exc, (unsigned long long)ints, (unsigned long long)t.halts);
}

const struct accel_ops accel_soft_ops = {
	.name = "soft",
	.probe = soft_probe,
	.vm_create = soft_vm_create,
	.vm_destroy = soft_vm_destroy,
	.set_memory_region = soft_set_memory_region,
	.max_memory_slots = soft_max_memory_slots,
	.vcpu_create = soft_vcpu_create,
	.vcpu_destroy = soft_vcpu_destroy,
	.vcpu_run = soft_vcpu_run,
	.vcpu_kick = soft_vcpu_kick,
	.get_regs = soft_get_regs,
	.set_regs = soft_set_regs,
	.get_sregs = soft_get_sregs,
	.set_sregs = soft_set_sregs,
	.get_fpu = soft_get_fpu,
	.set_fpu = soft_set_fpu,
	.get_msrs = soft_get_msrs,
	.set_msrs = soft_set_msrs,
	.get_lapic = soft_get_lapic,
	.set_lapic = soft_set_lapic,
	.get_cpuid = soft_get_cpuid,
	.set_cpuid = soft_set_cpuid,
	.set_guest_debug = soft_set_guest_debug,
	.irq_line = soft_irq_line,
	.get_irqchip_state = soft_get_irqchip_state,
	.set_irqchip_state = soft_set_irqchip_state,
	.notify_mem_write = soft_notify_mem_write,
	.guest_ns = soft_guest_ns,
	.print_stats = soft_print_stats,
};
