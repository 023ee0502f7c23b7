/* SPDX-License-Identifier: MIT */
/*
 * Private to the core part of the soft CPU (soft.c, platform.c, frame.c,
 * run.c): the VM and vCPU structs behind accel.h's opaque types, code frames
 * and blocks as run.c executes them, and the counters --stats prints.
 * Nothing outside src/vcpu/soft/ includes this, nor do the insn and sys parts.
 *
 * Ownership: a vCPU's frames belong to that vCPU alone (built, run, and freed
 * by its thread), so executing takes no lock but, for a locked instruction
 * on a misaligned operand, the VM's split lock (mem.h). Other threads (another
 * vCPU's stores, the VMM's DMA) only queue invalidations for it and set
 * SOFT_EV_FLUSH; per-VM page counts say which pages hold frames.
 */
#ifndef COVE_SOFT_CORE_H
#define COVE_SOFT_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "cpu.h"
#include "insn.h"
#include "vcpu/accel.h"

#define SOFT_PAGE_SIZE 4096ull
#define SOFT_PAGE_MASK (~(SOFT_PAGE_SIZE - 1))
#define SOFT_MAX_SLOTS 32768	     /* block RAM: a slot per mapped block */
#define SOFT_TSC_HZ    1000000000ull /* 1 GHz: one TSC tick per guest ns */
#define SOFT_INVAL_MAX 16	     /* queued cross-CPU invalidations before "all" */

struct irqchip;
struct soft_frames;

/* A code array a slot outgrew, freed with the VM. */
struct soft_retired {
	_Atomic uint32_t *code;
	struct soft_retired *next;
};

struct soft_slot {
	_Atomic uint64_t size; /* 0: unused; stored last on add, first on delete */
	uint64_t gpa;
	uint8_t *hva;
	uint32_t flags;		/* KVM_MEM_* */
	_Atomic uint32_t *code; /* per page: how many frames (all vCPUs) are on it */
	uint64_t ncode;		/* pages code has room for (kept for the slot's next use) */
};

struct soft_vm {
	unsigned ncpus;
	struct accel_io_handler io;
	bool deterministic;
	FILE *log;

	/*
	 * lock guards the slot map and cpus[] against vcpu_destroy. Lock order:
	 * the irqchip's mutex, then lock, then a vCPU's inval_lock, then its
	 * lock. vCPUs read slots without the lock. Deleting a slot bumps
	 * mem_gen, which makes every vCPU drop its frames and translations, and
	 * then waits until every other vCPU has passed a quiescent point
	 * (qs_gen caught up, or qs_off): only then may the VMM munmap the hva.
	 * A slot's code array is never freed while the VM lives.
	 */
	pthread_mutex_t lock;
	struct soft_slot *slot;	    /* SOFT_MAX_SLOTS entries */
	_Atomic unsigned nslots;    /* highest slot in use + 1 */
	_Atomic unsigned slot_hint; /* the slot last found */
	_Atomic uint64_t mem_gen;
	struct soft_retired *retired;
	/* locked instructions on operands host atomics cannot cover (soft_vm.h); a leaf lock */
	pthread_mutex_t split_lock;

	struct irqchip *ic;
	struct guest_clock clock; /* the irqchip's time: soft_vm_now() */
	/* deterministic mode: guest ns skipped while every CPU was halted */
	_Atomic uint64_t det_skip_ns;

	struct soft_vcpu **cpus; /* ncpus entries, NULL until created */
};

struct soft_run_stats {
	uint64_t blocks;	/* blocks entered */
	uint64_t chain_hits;	/* blocks entered through a linked stub */
	uint64_t monitor_exits; /* returns to the monitor: lookups, unsafe insns, events */
	uint64_t frames_built, frames_invalidated, blocks_built;
	uint64_t halts, irqs, nmis;
	uint64_t pattern_hits, pattern_misses, pattern_rollbacks; /* pattern.c */
};

struct soft_vcpu {
	struct soft_cpu c; /* first: a soft_cpu pointer is a soft_vcpu pointer */
	struct soft_vm *vm;
	struct accel_exit exit;

	/* halt and kick: waiters sleep on cond, wakers set c.events and signal */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool wait_sipi; /* an AP before its startup IPI */

	struct soft_frames *frames;	/* frame.c */
	struct soft_patterns *patterns; /* pattern.c: the unit cache */
	/*
	 * Stubs link blocks only within one chain epoch: it is bumped whenever
	 * a frame dies or the mode, CS base or translations may have changed.
	 */
	uint64_t chain_epoch;
	uint64_t mem_gen;      /* soft_vm.mem_gen this vCPU's caches were built under */
	uint64_t check_icount; /* run.c: icount at which to look at time again */
	uint64_t tsc_offset;   /* run.c: c.msr.tsc_offset as the irqchip last heard it */
	uint64_t dr6_saved;    /* run.c: DR6 while B0-B3 are cleared around one instruction */
	bool dr6_cleared;

	/* quiescence for slot deletion (soft.c): see struct soft_vm */
	_Atomic uint64_t qs_gen; /* mem_gen its caches were last rebuilt under, between blocks */
	atomic_bool qs_off;	 /* holds no pointer into guest RAM: asleep, outside, in the VMM */

	/* invalidations queued by other threads (inval_lock) */
	pthread_mutex_t inval_lock;
	uint64_t inval[SOFT_INVAL_MAX][2]; /* gpa, len */
	unsigned ninval;
	bool inval_all;
	/* DMA ranges for the segment shadow (soft_seg_invalidate on this thread) */
	uint64_t seg_inval[SOFT_INVAL_MAX][2];
	unsigned nseg_inval;
	bool seg_inval_all;
	atomic_bool inval_pending; /* readable without the lock */

	struct soft_run_stats st;
};

static inline struct soft_vcpu *soft_vcpu_of(struct soft_cpu *c)
{
	return (struct soft_vcpu *)c;
}

/*
 * A block: instructions from one start offset of a frame's page up to a
 * control transfer, an unsafe instruction, the page end or a length cap.
 * stub[0] follows a direct branch target, stub[1] the fall-through rip.
 */
struct soft_stub {
	uint64_t rip;	       /* where this exit goes (valid: has_rip) */
	struct soft_block *to; /* linked target, valid while epoch matches */
	uint64_t epoch;
	bool has_rip;
};

struct soft_block {
	struct soft_frame *frame;
	struct soft_block *hnext; /* the frame's block hash */
	struct soft_stub stub[2];
	uint64_t rip;	/* the rip it was decoded at (targets are absolute) */
	uint64_t gpa2;	/* straddle: the next page the last insn reads */
	uint16_t off;	/* start offset in the page */
	uint16_t bytes; /* guest bytes covered */
	uint16_t n;	/* instructions */
	bool straddle;	/* the (only) instruction crosses into the next page */
	struct soft_insn insn[];
};

/* frame.c */
int soft_frames_create(struct soft_vcpu *v);
void soft_frames_destroy(struct soft_vcpu *v);
/*
 * The block at linear la (= CS.base + c->rip) under the current mode, built
 * on a miss. Fetch and decode faults of the first instruction are raised
 * (longjmp) with c->rip at it.
 */
struct soft_block *soft_block_lookup(struct soft_cpu *c, uint64_t la);
/*
 * The block that follows b in its frame (same page, fall-through rip), built
 * without raising anything; NULL where that is not possible (the page ends,
 * a straddling or undecodable instruction). For pattern.c.
 */
struct soft_block *soft_block_next(struct soft_cpu *c, struct soft_block *b);
/* Re-checks a straddling block's second page; false: its frame was dropped. */
bool soft_block_straddle_ok(struct soft_cpu *c, struct soft_block *b, uint64_t la);
/*
 * Between blocks: applies invalidations queued by other threads, frees dead
 * frames, and drops everything when the slot map changed.
 */
void soft_frames_maintain(struct soft_vcpu *v);
void soft_frames_flush(struct soft_vcpu *v);
/* The VMM wrote guest RAM (DMA): queues it for every vCPU's segment shadow. */
void soft_frames_dma_written(struct soft_vm *vm, uint64_t gpa, uint64_t len);
/* Dead frames to free or invalidations queued: soft_frames_maintain() has work. */
bool soft_frames_dirty(struct soft_vcpu *v);
unsigned soft_frames_live(struct soft_vcpu *v);

/* soft.c */
/* Guest ns: host monotonic time, or retired instructions in deterministic mode. */
uint64_t soft_vm_now(struct soft_vm *vm);
/* Counts a frame on guest-physical page gpa in or out (soft_frame_page_has_code). */
void soft_vm_code_mark(struct soft_vm *vm, uint64_t gpa, bool on);
/* Wakes a vCPU sleeping in hlt or wait-for-SIPI after setting ev in its events. */
void soft_vcpu_wake(struct soft_vcpu *v, uint32_t ev);
/* The irqchip's port-I/O chips (PIC, PIT, port 0x61), saved and restored for pattern.c. */
size_t soft_vm_legacy_state_size(void);
void soft_vm_legacy_save(struct soft_vm *vm, void *state);
void soft_vm_legacy_load(struct soft_vm *vm, const void *state);

/* run.c */
int soft_run(struct soft_vcpu *v, struct accel_exit **exit);
/* Power-on state of the core (SDM Vol.3 §10.1.1 Table 10-1), for create and INIT. */
void soft_cpu_power_on(struct soft_cpu *c);

#endif
