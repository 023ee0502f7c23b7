// SPDX-License-Identifier: MIT
/*
 * The native run: the sequence between a prologue that loads every GPR and
 * RFLAGS (and, with fxrstor/fxsave, the XMM registers and MXCSR) from a
 * register block at the fixed address DIFF_STATE, and an epilogue that
 * stores them back, both addressed with absolute [disp32] so
 * that no register has to hold a pointer. The host's callee-saved registers
 * and RSP are kept on the host stack and in the block.
 *
 * A fault in the sequence (a generator bug) comes back as its signal number
 * through a handler on an alternate stack: RSP then points into the data.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "diff.h"

struct native_block {
	uint64_t gpr[16];
	uint64_t rflags;
	uint64_t host_rsp;
	uint64_t stack[32]; /* for pushfq/popfq while RSP is the guest's */
	/* FXSAVE images: the host's x87/SSE state (MXCSR is callee-saved) and the sequence's */
	uint8_t host_fx[512] __attribute__((aligned(16)));
	uint8_t guest_fx[512] __attribute__((aligned(16)));
};

_Static_assert(sizeof(struct native_block) <= 4096, "the register block is one page");

#define FX_FCW	 0
#define FX_MXCSR 24
#define FX_XMM	 160

#define BLK	((struct native_block *)DIFF_STATE)
#define AT(f)	((uint32_t)(DIFF_STATE + offsetof(struct native_block, f)))
#define STK_TOP (AT(stack) + sizeof(BLK->stack))

static sigjmp_buf native_jmp;
static volatile sig_atomic_t native_active;

static void on_signal(int sig)
{
	if (native_active)
		siglongjmp(native_jmp, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

struct buf {
	uint8_t *p;
	unsigned n;
};

static void b8(struct buf *b, unsigned v)
{
	b->p[b->n++] = (uint8_t)v;
}

static void b32(struct buf *b, uint32_t v)
{
	memcpy(b->p + b->n, &v, 4);
	b->n += 4;
}

/* REX.W op r, [disp32] (ModRM mod 00 rm 100, SIB base 101 index 100). */
static void mov_abs(struct buf *b, unsigned opc, unsigned r, uint32_t at)
{
	b8(b, 0x48 | (r & 8 ? 4 : 0));
	b8(b, opc);
	b8(b, 0x04 | (r & 7) << 3);
	b8(b, 0x25);
	b32(b, at);
}

/* fxsave64 / fxrstor64 [disp32]: REX.W 0F AE /0 or /1. */
static void fx_abs(struct buf *b, unsigned digit, uint32_t at)
{
	b8(b, 0x48), b8(b, 0x0f), b8(b, 0xae), b8(b, 0x04 | digit << 3), b8(b, 0x25);
	b32(b, at);
}

static unsigned prologue(uint8_t *p)
{
	struct buf b = { p, 0 };
	static const uint8_t save[] = {
		0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57
	};

	memcpy(p, save, sizeof(save)); /* push rbx, rbp, r12-r15 */
	b.n = sizeof(save);
	fx_abs(&b, 0, AT(host_fx));
	fx_abs(&b, 1, AT(guest_fx));
	mov_abs(&b, 0x89, 4, AT(host_rsp));
	b8(&b, 0x48), b8(&b, 0xc7), b8(&b, 0xc4), b32(&b, STK_TOP);    /* mov rsp, imm32 */
	b8(&b, 0xff), b8(&b, 0x34), b8(&b, 0x25), b32(&b, AT(rflags)); /* push [rflags] */
	b8(&b, 0x9d);						       /* popfq */
	for (unsigned r = 0; r < 16; r++)
		if (r != 4)
			mov_abs(&b, 0x8b, r, AT(gpr) + 8 * r);
	mov_abs(&b, 0x8b, 4, AT(gpr) + 8 * 4);
	return b.n;
}

static unsigned epilogue(uint8_t *p)
{
	struct buf b = { p, 0 };
	static const uint8_t restore[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41,
					   0x5d, 0x41, 0x5c, 0x5d, 0x5b };

	for (unsigned r = 0; r < 16; r++)
		mov_abs(&b, 0x89, r, AT(gpr) + 8 * r);
	b8(&b, 0x48), b8(&b, 0xc7), b8(&b, 0xc4), b32(&b, STK_TOP);
	b8(&b, 0x9c);						       /* pushfq */
	b8(&b, 0x8f), b8(&b, 0x04), b8(&b, 0x25), b32(&b, AT(rflags)); /* pop [rflags] */
	b8(&b, 0xfc);						       /* cld */
	fx_abs(&b, 0, AT(guest_fx));
	fx_abs(&b, 1, AT(host_fx));
	mov_abs(&b, 0x8b, 4, AT(host_rsp));
	memcpy(p + b.n, restore, sizeof(restore)); /* pop r15-r12, rbp, rbx */
	b.n += sizeof(restore);
	b8(&b, 0xc3);
	return b.n;
}

static unsigned prologue_len;

static void *map_fixed(uint64_t at, uint64_t size, int prot)
{
	void *p = mmap((void *)at, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (p == MAP_FAILED || p != (void *)at) {
		fprintf(stderr, "diff-test: cannot map %#llx: %s\n", (unsigned long long)at,
			strerror(errno));
		return NULL;
	}
	return p;
}

int diff_native_init(void)
{
	static uint8_t altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK | SA_NODEFER };
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };

	if (!map_fixed(DIFF_CODE, DIFF_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) ||
	    !map_fixed(DIFF_MEM, DIFF_MEM_SIZE, PROT_READ | PROT_WRITE) ||
	    !map_fixed(DIFF_STATE, 4096, PROT_READ | PROT_WRITE))
		return -ENOMEM;
	if (sigaltstack(&ss, NULL))
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (unsigned k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		sigaction(sigs[k], &sa, NULL);
	prologue_len = prologue((uint8_t *)DIFF_CODE);
	return 0;
}

int diff_native_run(const struct diff_seq *s, struct diff_regs *out, uint8_t *mem)
{
	uint8_t *code = (uint8_t *)DIFF_CODE;
	int sig;

	/* The sequence runs where the soft CPU runs it: right after the prologue. */
	if (prologue_len + s->len + 256 > DIFF_CODE_SIZE)
		return -E2BIG;
	memcpy(code + prologue_len, s->code, s->len);
	epilogue(code + prologue_len + s->len);
	__builtin___clear_cache((char *)code, (char *)code + DIFF_CODE_SIZE);
	memcpy((void *)DIFF_MEM, s->mem, DIFF_MEM_SIZE);
	memcpy(BLK->gpr, s->init.gpr, sizeof(BLK->gpr));
	BLK->rflags = s->init.rflags;
	memset(BLK->guest_fx, 0, sizeof(BLK->guest_fx));
	*(uint16_t *)(BLK->guest_fx + FX_FCW) = 0x37f;
	memcpy(BLK->guest_fx + FX_MXCSR, &s->init.mxcsr, 4);
	memcpy(BLK->guest_fx + FX_XMM, s->init.xmm, sizeof(s->init.xmm));
	for (unsigned k = 0; k < 8; k++)
		memcpy(BLK->guest_fx + 32 + 16 * k, s->init.st[k], 10);

	native_active = 1;
	sig = sigsetjmp(native_jmp, 1);
	if (sig == 0)
		((void (*)(void))code)();
	native_active = 0;
	if (sig)
		return sig;
	memcpy(out->gpr, BLK->gpr, sizeof(out->gpr));
	out->rflags = BLK->rflags;
	memcpy(&out->mxcsr, BLK->guest_fx + FX_MXCSR, 4);
	memcpy(&out->fcw, BLK->guest_fx + FX_FCW, 2);
	memcpy(&out->fsw, BLK->guest_fx + 2, 2);
	out->ftw = BLK->guest_fx[4];
	for (unsigned k = 0; k < 8; k++)
		memcpy(out->st[k], BLK->guest_fx + 32 + 16 * k, 10);
	memcpy(out->xmm, BLK->guest_fx + FX_XMM, sizeof(out->xmm));
	memcpy(mem, (void *)DIFF_MEM, DIFF_MEM_SIZE);
	return 0;
}

uint64_t diff_native_seq_rip(void)
{
	return DIFF_CODE + prologue_len;
}
