/* SPDX-License-Identifier: MIT */
/*
 * The soft CPU's execution loop. vcpu_run alternates between the monitor
 * (events, time, interrupts, halt, INIT/SIPI, frame upkeep) and blocks of
 * decoded instructions (frame.c). A block's exit follows a linked stub when
 * its rip matches and the chain epoch is unchanged; otherwise the next block
 * is looked up (and the stub linked), and unsafe instructions, faults and
 * events return to the monitor.
 *
 * Instruction convention (cpu.h): c->next_rip is preset to the fall-through
 * address, the handler moves it for a control transfer (or leaves it at
 * c->rip to repeat a long rep), and the loop commits c->rip = c->next_rip.
 * Faults longjmp to c->fault_jmp (excp.h has the protocol) with c->rip still
 * at the faulting instruction.
 */
#include <Zydis/Mnemonic.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "devices/irqchip/irqchip.h"
#include "excp.h"
#include "exec_sys.h"
#include "mmu.h"
#include "pattern.h"
#include "seg.h"
#include "soft_vm.h"

/* Instructions between looks at the clock (and at a deterministic deadline). */
#define RUN_BUDGET  4096
#define DR6_BS	    (1ull << 14) /* single step */
#define DR7_ENABLES 0xffull	 /* L0-L3, G0-G3 */

void soft_cpu_power_on(struct soft_cpu *c)
{
	const struct kvm_segment data = {
		.limit = 0xffff,
		.type = 3,
		.present = 1,
		.s = 1,
	};

	memset(c->gpr, 0, sizeof(c->gpr));
	c->gpr[R_DX] = 0x600; /* family 6, as CPUID leaf 1 says */
	c->rip = c->next_rip = 0xfff0;
	soft_flags_set(c, 2);
	for (int s = 0; s < S_LDTR; s++)
		c->seg[s] = data;
	c->seg[S_CS].selector = 0xf000;
	c->seg[S_CS].base = 0xffff0000;
	c->seg[S_CS].type = 0xb;
	c->seg[S_LDTR] = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	c->seg[S_TR] = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	c->gdtr = (struct kvm_dtable){ .limit = 0xffff };
	c->idtr = (struct kvm_dtable){ .limit = 0xffff };
	c->cr0 = 0x60000010; /* CD, NW, ET */
	c->cr2 = c->cr3 = c->cr4 = c->cr8 = 0;
	c->efer = 0;
	soft_fpu_reset(&c->fpu);
	c->intr_shadow = 0;
	c->halted = 0;
	c->nmi_blocked = 0;
	soft_sys_reset(c);
	soft_mode_changed(c);
	soft_mmu_flush(c, true);
}

static uint64_t linear_rip(const struct soft_cpu *c)
{
	if (c->code64)
		return c->rip;
	return (c->seg[S_CS].base + c->rip) & 0xffffffffull;
}

static uint64_t ip_mask(const struct soft_cpu *c)
{
	return c->csize == 2 ? 0xffffull : c->csize == 4 ? 0xffffffffull : ~0ull;
}

static bool is_iret(uint16_t mnemonic)
{
	return mnemonic == ZYDIS_MNEMONIC_IRET || mnemonic == ZYDIS_MNEMONIC_IRETD ||
	       mnemonic == ZYDIS_MNEMONIC_IRETQ;
}

static bool is_soft_int(uint16_t mnemonic)
{
	return mnemonic == ZYDIS_MNEMONIC_INT || mnemonic == ZYDIS_MNEMONIC_INT3 ||
	       mnemonic == ZYDIS_MNEMONIC_INTO || mnemonic == ZYDIS_MNEMONIC_INT1;
}

/* Instruction breakpoints in DR0-DR3 that match linear la (SDM Vol.3 §17.2.4, §17.3.1.1). */
static unsigned insn_breakpoints(const struct soft_cpu *c, uint64_t la)
{
	uint64_t dr7 = c->dr[7];
	unsigned hit = 0;

	for (unsigned n = 0; n < 4; n++) {
		bool on = (dr7 >> (2 * n)) & 3;
		unsigned rw = (dr7 >> (16 + 4 * n)) & 3;

		if (on && rw == 0 && c->dr[n] == la)
			hit |= 1u << n;
	}
	return hit;
}

/*
 * The first instruction of b with the debug features: instruction
 * breakpoints (a fault before it unless RF), RF cleared after it, and the
 * single-step trap when TF was set as it began.
 */
static void step_one(struct soft_vcpu *v, struct soft_block *b, uint64_t la)
{
	struct soft_cpu *c = &v->c;
	const struct soft_insn *i = &b->insn[0];
	uint64_t flags = c->rflags;
	unsigned hit;

	v->chain_epoch++;
	if (!c->code64 && c->rip + i->len - 1 > c->seg[S_CS].limit)
		soft_raise(c, X86_EXC_GP, 0);
	if (!(flags & X86_RF) && (hit = insn_breakpoints(c, la))) {
		c->dr[6] = (c->dr[6] & ~0xfull) | hit;
		soft_raise(c, X86_EXC_DB, SOFT_NO_ERRCODE);
	}
	/*
	 * Data breakpoints: mmu.c reports a match by setting DR6.Bn during the
	 * access; B0-B3 are cleared around the instruction to see which fired.
	 */
	bool dr_write = i->exec == soft_exec_system && i->op == SOFT_SYS_MOV_TO_DR;
	uint64_t dr6 = c->dr[6];
	if (!dr_write) {
		c->dr[6] &= ~0xfull;
		v->dr6_saved = dr6;
		v->dr6_cleared = true; /* a fault in the instruction puts them back */
	}
	uint8_t shadow = c->intr_shadow;
	c->next_rip = (c->rip + i->len) & ip_mask(c);
	i->exec(c, i);
	c->rip = c->next_rip;
	c->icount++;
	if (shadow)
		c->intr_shadow = 0;
	if ((flags & X86_RF) && !is_iret(i->mnemonic))
		c->rflags &= ~X86_RF;
	v->dr6_cleared = false;
	uint64_t data_hits = dr_write ? 0 : c->dr[6] & 0xf;
	if (!dr_write)
		c->dr[6] = data_hits ? (dr6 & ~0xfull) | data_hits : dr6;
	/* no single-step trap after int n/int3/into: their delivery cleared TF (§17.3.1.4) */
	uint64_t bs = (flags & X86_TF) && !is_soft_int(i->mnemonic) ? DR6_BS : 0;
	if (bs || data_hits)
		soft_debug_trap(c, bs, c->rip);
}

/* ---- blocks ---- */

/* Runs blocks from c->rip until something needs the monitor. */
static void execute(struct soft_vcpu *v)
{
	struct soft_cpu *c = &v->c;
	uint64_t la = linear_rip(c);
	struct soft_block *b = soft_block_lookup(c, la);

	for (;;) {
		const struct soft_insn *i = NULL;
		uint64_t mask = ip_mask(c);
		bool limit_check, leave = false;

		v->st.blocks++;
		c->cur_frame = b->frame;
		if (b->straddle && !soft_block_straddle_ok(c, b, la))
			return;
		if ((c->rflags & (X86_TF | X86_RF)) || (c->dr[7] & DR7_ENABLES)) {
			/* debug features: one instruction at a time, through the monitor */
			step_one(v, b, la);
			return;
		}
		limit_check = !c->code64 && c->rip + b->bytes - 1 > c->seg[S_CS].limit;
		for (unsigned k = 0; k < b->n; k++) {
			uint64_t fall;
			uint8_t shadow = c->intr_shadow;

			i = &b->insn[k];
			fall = (c->rip + i->len) & mask;
			/* SDM Vol.3 §5.3: every byte fetched must lie within CS */
			if (limit_check && c->rip + i->len - 1 > c->seg[S_CS].limit)
				soft_raise(c, X86_EXC_GP, 0);
			/* a known sequence of unsafe instructions runs as one unit */
			if ((i->flags & SOFT_I_UNSAFE) && k + 1 == b->n && soft_pattern_run(v, b))
				return;
			c->next_rip = fall;
			i->exec(c, i);
			c->rip = c->next_rip;
			c->icount++;
			if (shadow) {
				/* the instruction after sti/mov ss has run: interrupts may come */
				c->intr_shadow = 0;
				leave = true;
			}
			if (c->smc || leave || c->rip != fall)
				break;
		}
		if (c->smc)
			return;
		if (i->flags & SOFT_I_UNSAFE) {
			if (!(i->flags & SOFT_I_KEEPS_CHAINS))
				v->chain_epoch++;
			return;
		}
		if (leave || c->halted || atomic_load_explicit(&c->events, memory_order_relaxed) ||
		    c->icount >= v->check_icount)
			return;

		/* the next block: through a linked stub, or looked up and linked */
		struct soft_stub *s = NULL;
		for (unsigned j = 0; j < 2; j++) {
			if (b->stub[j].has_rip && b->stub[j].rip == c->rip) {
				s = &b->stub[j];
				break;
			}
		}
		la = linear_rip(c);
		if (s && s->to && s->epoch == v->chain_epoch) {
			v->st.chain_hits++;
			b = s->to;
			continue;
		}
		uint64_t epoch = v->chain_epoch;
		struct soft_block *nb = soft_block_lookup(c, la);
		/* a frame died during the lookup: b may be gone, link nothing */
		if (s && epoch == v->chain_epoch) {
			s->to = nb;
			s->epoch = epoch;
		}
		b = nb;
	}
}

/* ---- the monitor ---- */

static void set_internal(struct soft_vcpu *v, const char *why)
{
	v->exit.reason = ACCEL_EXIT_INTERNAL_ERROR;
	v->exit.internal.suberror = 0;
	snprintf(v->exit.internal.why, sizeof(v->exit.internal.why), "%s", why);
}

/* Sleeps until an event arrives or host-monotonic deadline_ns passes. */
static void wait_event(struct soft_vcpu *v, uint64_t deadline_ns)
{
	const uint32_t wake = SOFT_EV_KICK | SOFT_EV_IRQ | SOFT_EV_FLUSH;
	struct timespec ts;

	if (deadline_ns != UINT64_MAX) {
		if (deadline_ns > (uint64_t)INT64_MAX)
			deadline_ns = INT64_MAX;
		ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
	}
	atomic_store(&v->qs_off, true);
	pthread_mutex_lock(&v->lock);
	while (!(atomic_load(&v->c.events) & wake)) {
		if (deadline_ns == UINT64_MAX) {
			pthread_cond_wait(&v->cond, &v->lock);
		} else if (pthread_cond_timedwait(&v->cond, &v->lock, &ts) == ETIMEDOUT) {
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
	atomic_store(&v->qs_off, false);
}

/* INIT and SIPI (SDM Vol.3 §9.4.4): false while the CPU waits for its SIPI. */
static bool handle_init_sipi(struct soft_vcpu *v)
{
	struct soft_cpu *c = &v->c;
	struct irqchip *ic = v->vm->ic;

	if (irqchip_cpu_init_pending(ic, c->index) && irqchip_cpu_take_init(ic, c->index)) {
		soft_cpu_power_on(c);
		soft_frames_flush(v);
		/* the BSP restarts at the reset vector, as under KVM; APs wait for a SIPI */
		v->wait_sipi = c->index != 0;
	}
	if (!v->wait_sipi)
		return true;
	int vec = irqchip_cpu_take_sipi(ic, c->index);
	if (vec < 0)
		return false;
	c->seg[S_CS].selector = (uint16_t)(vec << 8);
	c->seg[S_CS].base = (uint64_t)vec << 12;
	c->rip = c->next_rip = 0;
	soft_mode_changed(c);
	v->chain_epoch++;
	v->wait_sipi = false;
	return true;
}

/*
 * Between blocks. Returns true with v->exit filled to leave vcpu_run, false
 * to run the guest at c->rip. Interrupt delivery may fault (longjmp).
 */
static bool monitor(struct soft_vcpu *v)
{
	struct soft_cpu *c = &v->c;
	struct soft_vm *vm = v->vm;
	struct irqchip *ic = vm->ic;

	v->st.monitor_exits++;
	for (;;) {
		uint32_t ev = atomic_load(&c->events);

		if (ev & SOFT_EV_FLUSH) {
			/* clear first: a request that arrives meanwhile stays pending */
			atomic_fetch_and(&c->events, ~(uint32_t)SOFT_EV_FLUSH);
			soft_mmu_flush(c, true);
			soft_frames_maintain(v);
		}
		if (c->smc || soft_frames_dirty(v) || v->mem_gen != soft_vm_mem_generation(vm))
			soft_frames_maintain(v);
		c->smc = false;
		/* a quiescent point: caches hold nothing from before v->mem_gen */
		if (atomic_load_explicit(&v->qs_gen, memory_order_relaxed) != v->mem_gen)
			atomic_store(&v->qs_gen, v->mem_gen);
		if (ev & SOFT_EV_KICK) {
			atomic_fetch_and(&c->events, ~(uint32_t)SOFT_EV_KICK);
			v->exit.reason = ACCEL_EXIT_INTR;
			return true;
		}
		if (c->msr.tsc_offset != v->tsc_offset) {
			v->tsc_offset = c->msr.tsc_offset;
			irqchip_set_tsc_offset(ic, c->index, v->tsc_offset);
		}
		if (!handle_init_sipi(v)) {
			wait_event(v, UINT64_MAX);
			continue;
		}

		uint64_t now = soft_vm_now(vm);
		uint64_t dl = irqchip_next_deadline(ic);
		if (dl <= now) {
			irqchip_advance(ic, now);
			dl = irqchip_next_deadline(ic);
			if (dl <= now)
				dl = now + 1000000; /* a model that did not move on: no busy loop */
		}

		atomic_fetch_and(&c->events, ~(uint32_t)SOFT_EV_IRQ);
		if (!c->nmi_blocked && irqchip_cpu_nmi_pending(ic, c->index)) {
			if (irqchip_cpu_take_nmi(ic, c->index)) {
				v->st.nmis++;
				v->chain_epoch++;
				soft_deliver(c, X86_EXC_NMI, SOFT_EVENT_NMI, SOFT_NO_ERRCODE,
					     c->rip);
			}
		} else if (irqchip_cpu_pending(ic, c->index)) {
			if ((c->rflags & X86_IF) && !c->intr_shadow) {
				int vec = irqchip_cpu_ack(ic, c->index);

				if (vec >= 0) {
					v->st.irqs++;
					v->chain_epoch++;
					soft_deliver(c, vec, SOFT_EVENT_EXTINT, SOFT_NO_ERRCODE,
						     c->rip);
				}
			} else if (c->intr_shadow) {
				/* look again right after the shadowed instruction */
				atomic_fetch_or(&c->events, SOFT_EV_IRQ);
			}
		}

		if (c->halted) {
			/* with IF clear only an NMI or INIT wakes it: from another CPU */
			if (!(c->rflags & X86_IF) && vm->ncpus == 1) {
				v->exit.reason = ACCEL_EXIT_HLT;
				return true;
			}
			v->st.halts++;
			if (vm->deterministic && dl != UINT64_MAX) {
				/* nothing runs until the timer: skip the idle time */
				if (dl > now)
					atomic_fetch_add(&vm->det_skip_ns, dl - now);
				continue;
			}
			wait_event(v, vm->deterministic ? UINT64_MAX : dl);
			continue;
		}

		v->check_icount = c->icount + RUN_BUDGET;
		if (vm->deterministic && c->index == 0 && dl != UINT64_MAX) {
			uint64_t skip = atomic_load(&vm->det_skip_ns);
			uint64_t at = dl > skip ? dl - skip : 0;

			if (at < v->check_icount)
				v->check_icount = at;
		}
		return false;
	}
}

int soft_run(struct soft_vcpu *v, struct accel_exit **exit)
{
	struct soft_cpu *c = &v->c;

	*exit = &v->exit;
	memset(&v->exit, 0, sizeof(v->exit));
	if (c->segs.excp.shutdown) {
		v->exit.reason = ACCEL_EXIT_SHUTDOWN;
		return 0;
	}
	switch (setjmp(c->fault_jmp)) {
	case 0:
		break;
	case SOFT_JMP_FAULT:
		/* the instruction is undone; a nested fault lands here again */
		v->chain_epoch++;
		if (v->dr6_cleared) {
			c->dr[6] |= v->dr6_saved & 0xf;
			v->dr6_cleared = false;
		}
		soft_deliver_pending(c);
		break;
	case SOFT_JMP_SHUTDOWN:
		v->exit.reason = ACCEL_EXIT_SHUTDOWN;
		return 0;
	case SOFT_JMP_INTERNAL:
	default:
		set_internal(v, soft_internal_why(c));
		return 0;
	}
	for (;;) {
		if (monitor(v))
			return 0;
		execute(v);
	}
}
