/* SPDX-License-Identifier: MIT */
/*
 * Unsafe-instruction patterns (DESIGN.md "Unsafe instructions and patterns").
 * When a block ends in an in/out, the decoded instructions from there on
 * (that block's last one and the blocks after it in the same frame) are
 * matched against the sequences below; a match runs in the monitor as one
 * unit, each instruction with its normal handler:
 *
 *   UART_TX   in al,dx; test al,0x20 (or 0x60) | and al,0x20; jz back
 *             (8250/16550 LSR.THRE poll, DX an LSR port); predicted: THRE set
 *   PIC_EOI   out 0xa0,al; [mov al,0x20;] out 0x20,al, or out 0x20,al after
 *             mov al,0x20 (8259A OCW2 non-specific EOI: al = 0x20)
 *   PIT_LOAD  out 0x43,al; out 0x40,al; out 0x40,al with movs of al from
 *             registers or immediates between (8254: channel 0, lobyte/hibyte)
 *   CMOS      out 0x70,al; in al,0x71 [; mov m8,al] or out 0x70,al; movs;
 *             out 0x71,al, up to four index/data pairs (MC146818)
 *
 * A unit runs under a device checkpoint (accel_io_handler.checkpoint). Every
 * instruction must fall through to the next one (the jz not taken), raise
 * nothing, and leave the running code alone; otherwise the unit is rolled
 * back (registers, flags, rip, CR2, retired count, the bytes it stored and
 * the devices) and the instruction runs the normal way. Memory operands are
 * allowed only where the undo is exact (one vCPU, paging off, RAM); elsewhere
 * the unit ends before them. The irqchip's ports are not on the VMM's bus:
 * their state is saved on first touch and loaded on a rollback, and the
 * patterns are built so that nothing after such an access can diverge (only
 * register and immediate movs follow one), since loading it would drop an
 * irq line another thread changed meanwhile.
 *
 * The cache keeps CACHE_SIZE blocks (a block is a guest-physical rip, the
 * mode of its frame and the linear rip), matched or not, least recently used
 * out first; an entry dies with its frame. A pattern that rolls back far more
 * often than it commits stops being tried.
 */
#include "pattern.h"

#include <Zydis/Mnemonic.h>
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "excp.h"
#include "exec.h"
#include "exec_sys.h"
#include "frame.h"
#include "seg.h"
#include "soft_vm.h"

#define CACHE_SIZE  64
#define MOVS_MAX    2 /* movs of al between two port accesses */
#define CMOS_PAIRS  4
#define BACK_MAX    32 /* the poll loop's jz goes back at most this far */
#define UNDO_MAX    8  /* stores one unit may undo */
#define GIVE_UP_MIN 16 /* rollbacks before an entry may be given up */

struct entry {
	const struct soft_block *b; /* NULL: free */
	enum soft_pattern_kind kind;
	unsigned n;
	const struct soft_insn *seq[SOFT_PATTERN_MAX_INSNS];
	uint64_t last_use;
	uint64_t hits, rollbacks;
};

struct undo {
	uint8_t *hva;
	uint64_t gpa;
	unsigned len;
	uint8_t old[8];
};

struct cpu_snap {
	uint64_t gpr[16];
	uint64_t rip, next_rip, rflags, cr2, icount;
	struct soft_lazy_flags lf;
	struct soft_excp_state excp;
};

struct soft_patterns {
	struct entry e[CACHE_SIZE];
	uint64_t tick;
	/* the unit in progress: here rather than on the stack, as it outlives a longjmp */
	struct cpu_snap snap;
	struct undo undo[UNDO_MAX];
	unsigned nundo;
	unsigned step;
	bool legacy_saved;
	void *legacy;  /* the irqchip's PIC/PIT state at the unit's first access */
	jmp_buf outer; /* run.c's fault_jmp while the unit has its own */
};

/* ---- matching ---- */

static bool is_io(const struct soft_insn *i, uint16_t mnemonic, bool imm, unsigned port)
{
	if (i->mnemonic != mnemonic || i->exec != soft_exec_system || i->osz != 1)
		return false;
	if (!imm)
		return i->op != SOFT_SYS_IO_IMM;
	return i->op == SOFT_SYS_IO_IMM && (i->imm & 0xff) == port;
}

static bool is_mov_al_imm(const struct soft_insn *i, unsigned v)
{
	return i->mnemonic == ZYDIS_MNEMONIC_MOV && i->exec == soft_op_mov_EI && i->osz == 1 &&
	       !is_mem(i) && i->rm == R_AX && (i->imm & 0xff) == v;
}

/* mov al, imm8 | r8 (| m8 when mem) */
static bool is_mov_to_al(const struct soft_insn *i, bool mem)
{
	if (i->mnemonic != ZYDIS_MNEMONIC_MOV || i->osz != 1)
		return false;
	if (i->exec == soft_op_mov_EI || i->exec == soft_op_mov_EG)
		return !is_mem(i) && i->rm == R_AX;
	if (i->exec == soft_op_mov_GE)
		return i->reg == R_AX && (mem || !is_mem(i));
	return mem && i->exec == soft_op_mov_load_moffs;
}

/* mov m8, al */
static bool is_store_al(const struct soft_insn *i)
{
	if (i->mnemonic != ZYDIS_MNEMONIC_MOV || i->osz != 1)
		return false;
	if (i->exec == soft_op_mov_EG)
		return is_mem(i) && i->reg == R_AX;
	return i->exec == soft_op_mov_store_moffs;
}

/* test al,0x20 / test al,0x60 / and al,0x20: LSR.THRE (and TEMT) */
static bool is_thre_test(const struct soft_insn *i)
{
	unsigned m = i->imm & 0xff;

	if (is_mem(i) || i->rm != R_AX || i->osz != 1)
		return false;
	if (i->mnemonic == ZYDIS_MNEMONIC_TEST && i->exec == soft_op_test_EI)
		return m == 0x20 || m == 0x60;
	return i->mnemonic == ZYDIS_MNEMONIC_AND && i->exec == soft_op_and_EI && m == 0x20;
}

static bool is_jz_back(const struct soft_insn *i, uint64_t rip)
{
	return i->mnemonic == ZYDIS_MNEMONIC_JZ && (i->flags & SOFT_I_DIRECT) &&
	       (i->flags & SOFT_I_COND) && i->imm <= rip && rip - i->imm < BACK_MAX;
}

static unsigned skip_movs(const struct soft_insn *const *seq, unsigned n, unsigned k, bool mem)
{
	for (unsigned m = 0; m < MOVS_MAX && k < n && is_mov_to_al(seq[k], mem); m++)
		k++;
	return k;
}

static unsigned match_cmos(const struct soft_insn *const *seq, unsigned n)
{
	unsigned done = 0;

	for (unsigned g = 0; g < CMOS_PAIRS; g++) {
		unsigned j = g ? skip_movs(seq, n, done, true) : 0;

		if (j >= n || !is_io(seq[j], ZYDIS_MNEMONIC_OUT, true, 0x70))
			break;
		j++;
		if (j < n && is_io(seq[j], ZYDIS_MNEMONIC_IN, true, 0x71)) {
			j++;
			if (j < n && is_store_al(seq[j]))
				j++;
		} else {
			j = skip_movs(seq, n, j, true);
			if (j >= n || !is_io(seq[j], ZYDIS_MNEMONIC_OUT, true, 0x71))
				break;
			j++;
		}
		done = j;
	}
	return done;
}

enum soft_pattern_kind soft_pattern_match(const struct soft_insn *const *seq, unsigned n,
					  const struct soft_insn *prev, uint64_t rip, unsigned *len)
{
	unsigned k;

	*len = 0;
	if (!n)
		return SOFT_PAT_NONE;
	if (n >= 3 && is_io(seq[0], ZYDIS_MNEMONIC_IN, false, 0) && is_thre_test(seq[1]) &&
	    is_jz_back(seq[2], rip)) {
		*len = 3;
		return SOFT_PAT_UART_TX;
	}
	if (is_io(seq[0], ZYDIS_MNEMONIC_OUT, true, 0xa0)) {
		k = 1;
		if (k < n && is_mov_al_imm(seq[k], 0x20))
			k++;
		if (k >= n || !is_io(seq[k], ZYDIS_MNEMONIC_OUT, true, 0x20))
			return SOFT_PAT_NONE;
		*len = k + 1;
		return SOFT_PAT_PIC_EOI;
	}
	if (is_io(seq[0], ZYDIS_MNEMONIC_OUT, true, 0x20)) {
		if (!prev || !is_mov_al_imm(prev, 0x20))
			return SOFT_PAT_NONE;
		*len = 1;
		return SOFT_PAT_PIC_EOI;
	}
	if (is_io(seq[0], ZYDIS_MNEMONIC_OUT, true, 0x43)) {
		k = 1;
		for (unsigned w = 0; w < 2; w++) {
			k = skip_movs(seq, n, k, false);
			if (k >= n || !is_io(seq[k], ZYDIS_MNEMONIC_OUT, true, 0x40))
				return SOFT_PAT_NONE;
			k++;
		}
		*len = k;
		return SOFT_PAT_PIT_LOAD;
	}
	if ((k = match_cmos(seq, n))) {
		*len = k;
		return SOFT_PAT_CMOS;
	}
	return SOFT_PAT_NONE;
}

const char *soft_pattern_name(enum soft_pattern_kind kind)
{
	switch (kind) {
	case SOFT_PAT_UART_TX:
		return "uart-tx-poll";
	case SOFT_PAT_PIC_EOI:
		return "pic-eoi";
	case SOFT_PAT_PIT_LOAD:
		return "pit-load";
	case SOFT_PAT_CMOS:
		return "cmos";
	default:
		return "none";
	}
}

/* ---- the cache ---- */

int soft_patterns_create(struct soft_vcpu *v)
{
	struct soft_patterns *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->legacy = malloc(soft_vm_legacy_state_size());
	if (!p->legacy) {
		free(p);
		return -ENOMEM;
	}
	v->patterns = p;
	return 0;
}

void soft_patterns_destroy(struct soft_vcpu *v)
{
	if (!v->patterns)
		return;
	free(v->patterns->legacy);
	free(v->patterns);
	v->patterns = NULL;
}

void soft_patterns_forget(struct soft_vcpu *v, const struct soft_frame *f)
{
	struct soft_patterns *p = v->patterns;

	if (!p)
		return;
	for (unsigned k = 0; k < CACHE_SIZE; k++)
		if (p->e[k].b && p->e[k].b->frame == f)
			p->e[k].b = NULL;
}

static struct entry *lookup(struct soft_patterns *p, const struct soft_block *b)
{
	for (unsigned k = 0; k < CACHE_SIZE; k++)
		if (p->e[k].b == b)
			return &p->e[k];
	return NULL;
}

static struct entry *victim(struct soft_patterns *p)
{
	struct entry *old = &p->e[0];

	for (unsigned k = 0; k < CACHE_SIZE; k++) {
		if (!p->e[k].b)
			return &p->e[k];
		if (p->e[k].last_use < old->last_use)
			old = &p->e[k];
	}
	return old;
}

/* Matches the instructions from b's last one on and caches the outcome. */
static struct entry *learn(struct soft_vcpu *v, struct soft_block *b)
{
	struct soft_cpu *c = &v->c;
	const struct soft_insn *seq[SOFT_PATTERN_MAX_INSNS];
	struct soft_block *cur = b;
	unsigned n = 0, k = b->n - 1, len;

	while (n < SOFT_PATTERN_MAX_INSNS) {
		const struct soft_insn *i = &cur->insn[k];

		seq[n++] = i;
		/* no pattern goes on past a branch or an unsafe instruction other than in/out */
		if ((i->flags & SOFT_I_BRANCH) ||
		    ((i->flags & SOFT_I_UNSAFE) && i->mnemonic != ZYDIS_MNEMONIC_IN &&
		     i->mnemonic != ZYDIS_MNEMONIC_OUT))
			break;
		if (++k == cur->n) {
			cur = soft_block_next(c, cur);
			if (!cur)
				break;
			k = 0;
		}
	}
	enum soft_pattern_kind kind =
		soft_pattern_match(seq, n, b->n > 1 ? &b->insn[b->n - 2] : NULL, c->rip, &len);
	struct entry *e = victim(v->patterns);

	*e = (struct entry){ .b = b, .kind = kind, .n = len };
	memcpy(e->seq, seq, len * sizeof(seq[0]));
	return e;
}

/* ---- running a unit ---- */

static uint64_t ip_mask(const struct soft_cpu *c)
{
	return c->csize == 2 ? 0xffffull : c->csize == 4 ? 0xffffffffull : ~0ull;
}

/* SDM Vol.1 §19.5: the unit's in/out cannot fault when IOPL allows them. */
static bool io_allowed(const struct soft_cpu *c)
{
	if (!soft_protected(c))
		return true;
	return !(c->rflags & X86_VM) && c->cpl <= ((c->rflags & X86_IOPL) >> 12);
}

static bool assumptions_hold(const struct soft_cpu *c, const struct entry *e)
{
	uint8_t al = (uint8_t)c->gpr[R_AX];
	uint16_t dx = (uint16_t)c->gpr[R_DX];

	switch (e->kind) {
	case SOFT_PAT_UART_TX:
		/* LSR of COM1-COM4 */
		return dx == 0x3fd || dx == 0x2fd || dx == 0x3ed || dx == 0x2ed;
	case SOFT_PAT_PIC_EOI:
		return al == 0x20;
	case SOFT_PAT_PIT_LOAD:
		return (al & 0xf0) == 0x30; /* channel 0, lobyte then hibyte */
	case SOFT_PAT_CMOS:
		return true;
	default:
		return false;
	}
}

static bool irqchip_port(uint16_t port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 ||
	       (port >= 0x40 && port <= 0x43) || port == 0x61 || port == 0x4d0 || port == 0x4d1;
}

/*
 * A memory operand: false when its undo would not be exact (the unit ends
 * before it); a store's old bytes are logged.
 */
static bool memory_step(struct soft_vcpu *v, const struct soft_insn *i)
{
	struct soft_cpu *c = &v->c;
	struct soft_patterns *p = v->patterns;
	bool moffs = i->exec == soft_op_mov_load_moffs || i->exec == soft_op_mov_store_moffs;
	bool store = is_store_al(i);
	unsigned len = i->osz;
	bool writable;

	if (v->vm->ncpus != 1 || (c->cr0 & X86_CR0_PG) || len > 8)
		return false;
	uint64_t ea = moffs ? i->imm : soft_ea(c, i);
	uint64_t gpa = (c->seg[i->seg].base + ea) & 0xffffffffull;
	uint8_t *hva = soft_vm_ram(v->vm, gpa, len, &writable);

	if (!hva || (gpa & ~SOFT_PAGE_MASK) + len > SOFT_PAGE_SIZE)
		return false;
	if (!store)
		return true;
	if (!writable || p->nundo == UNDO_MAX)
		return false;
	struct undo *u = &p->undo[p->nundo++];
	u->hva = hva;
	u->gpa = gpa;
	u->len = len;
	memcpy(u->old, hva, len);
	return true;
}

enum { STEP_OK, STEP_END, STEP_DIVERGED };

static int step(struct soft_vcpu *v, const struct soft_insn *i)
{
	struct soft_cpu *c = &v->c;
	struct soft_patterns *p = v->patterns;
	uint64_t fall = (c->rip + i->len) & ip_mask(c);

	if (!c->code64 && c->rip + i->len - 1 > c->seg[S_CS].limit)
		return STEP_DIVERGED; /* #GP: the normal way raises it */
	if (is_mem(i) && !memory_step(v, i))
		return STEP_END;
	if (i->exec == soft_exec_system && !p->legacy_saved) {
		uint16_t port = i->op == SOFT_SYS_IO_IMM ? (uint16_t)(i->imm & 0xff)
							 : (uint16_t)c->gpr[R_DX];

		if (irqchip_port(port)) {
			soft_vm_legacy_save(v->vm, p->legacy);
			p->legacy_saved = true;
		}
	}
	c->next_rip = fall;
	i->exec(c, i);
	c->rip = c->next_rip;
	c->icount++;
	/* a taken branch, or a store into the code being run */
	return c->smc || c->rip != fall ? STEP_DIVERGED : STEP_OK;
}

static void snapshot(const struct soft_cpu *c, struct cpu_snap *s)
{
	memcpy(s->gpr, c->gpr, sizeof(s->gpr));
	s->rip = c->rip;
	s->next_rip = c->next_rip;
	s->rflags = c->rflags;
	s->lf = c->lf;
	s->cr2 = c->cr2;
	s->icount = c->icount;
	s->excp = c->segs.excp;
}

static void rollback(struct soft_vcpu *v)
{
	struct soft_cpu *c = &v->c;
	struct soft_patterns *p = v->patterns;
	const struct cpu_snap *s = &p->snap;
	struct soft_vm *vm = v->vm;

	memcpy(c->gpr, s->gpr, sizeof(c->gpr));
	c->rip = s->rip;
	c->next_rip = s->next_rip;
	c->rflags = s->rflags;
	c->lf = s->lf;
	c->cr2 = s->cr2;
	c->icount = s->icount;
	c->segs.excp = s->excp;
	while (p->nundo) {
		struct undo *u = &p->undo[--p->nundo];

		/* looked up again: a device's DMA may have moved a block RAM page */
		uint8_t *h = soft_vm_ram_fault(c, u->gpa, u->len, NULL);

		if (h)
			memcpy(h, u->old, u->len);
		/* what saw the unit's bytes (frames, the segment shadow) must look again */
		soft_frame_written(vm, c, u->gpa, u->len);
		soft_seg_invalidate(c, u->gpa, u->len);
	}
	if (p->legacy_saved)
		soft_vm_legacy_load(vm, p->legacy);
	vm->io.rollback(vm->io.opaque, (int)c->index);
}

static bool run_unit(struct soft_vcpu *v, struct entry *e)
{
	struct soft_cpu *c = &v->c;
	struct soft_patterns *p = v->patterns;
	struct soft_vm *vm = v->vm;

	snapshot(c, &p->snap);
	p->nundo = 0;
	p->legacy_saved = false;
	if (vm->io.checkpoint(vm->io.opaque, (int)c->index))
		return false; /* no checkpoint now: the normal way */
	memcpy(p->outer, c->fault_jmp, sizeof(jmp_buf));
	if (setjmp(c->fault_jmp) == 0) {
		for (p->step = 0; p->step < e->n; p->step++) {
			int r = step(v, e->seq[p->step]);

			if (r == STEP_DIVERGED)
				goto diverged;
			if (r == STEP_END)
				break;
		}
		memcpy(c->fault_jmp, p->outer, sizeof(jmp_buf));
		vm->io.commit(vm->io.opaque, (int)c->index);
		e->hits++;
		v->st.pattern_hits++;
		return true;
	}
	/* a fault (or an internal error) in one of the instructions */
diverged:
	memcpy(c->fault_jmp, p->outer, sizeof(jmp_buf));
	rollback(v);
	e->rollbacks++;
	v->st.pattern_rollbacks++;
	return false;
}

bool soft_pattern_run(struct soft_vcpu *v, struct soft_block *b)
{
	struct soft_cpu *c = &v->c;
	struct soft_patterns *p = v->patterns;
	const struct soft_insn *i = &b->insn[b->n - 1];
	const struct accel_io_handler *io = &v->vm->io;
	struct entry *e;

	if (!p || (i->mnemonic != ZYDIS_MNEMONIC_IN && i->mnemonic != ZYDIS_MNEMONIC_OUT))
		return false;
	/* without device checkpoints patterns exclude devices, and all of them touch one */
	if (!io->checkpoint || !io->rollback || !io->commit)
		return false;
	if (c->intr_shadow || !io_allowed(c))
		return false;
	e = lookup(p, b);
	if (!e) {
		v->st.pattern_misses++;
		e = learn(v, b);
	}
	e->last_use = ++p->tick;
	if (e->kind == SOFT_PAT_NONE || !assumptions_hold(c, e))
		return false;
	if (e->rollbacks >= GIVE_UP_MIN && e->rollbacks > 4 * e->hits)
		return false; /* this one mostly diverges: not worth the checkpoints */
	return run_unit(v, e);
}
