/* SPDX-License-Identifier: MIT */
/*
 * Exception and interrupt handling for test guests (SDM Vol.3 §6.12 exception- and
 * interrupt-handling procedures, §6.13 error code).
 *
 * Every vector enters through a stub in lib/trap32.S or lib/trap64.S that builds a struct
 * trap_frame and calls trap_dispatch(). A vector can have a handler (it may edit the frame, which
 * the stub then returns to with iret). Without one, an exception raised inside trap_catch() ends
 * the caught call (like longjmp) and is reported through struct trap_info; anywhere else it is
 * unexpected: the guest prints it and fails.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include "guest.h"

enum {
	VEC_DE = 0,
	VEC_DB = 1,
	VEC_NMI = 2,
	VEC_BP = 3,
	VEC_OF = 4,
	VEC_BR = 5,
	VEC_UD = 6,
	VEC_NM = 7,
	VEC_DF = 8,
	VEC_TS = 10,
	VEC_NP = 11,
	VEC_SS = 12,
	VEC_GP = 13,
	VEC_PF = 14,
	VEC_MF = 16,
	VEC_AC = 17,
	VEC_XM = 19,
	VEC_IRQ0 = 0x20,   /* the runtime remaps the master 8259 here */
	VEC_IRQ8 = 0x28,   /* and the slave here */
	VEC_USER_RET = 0x30, /* DPL3 gate user code uses to come back (user_run) */
};

/* Page-fault error code bits (SDM Vol.3 §4.7). */
#define PF_P	(1u << 0)
#define PF_W	(1u << 1)
#define PF_U	(1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I	(1u << 4)

/* Selector error code bits (SDM Vol.3 §6.13). */
#define ERR_EXT (1u << 0)
#define ERR_IDT (1u << 1)
#define ERR_TI	(1u << 2)

#ifdef __x86_64__
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t ip, cs, flags, sp, ss;
};
#else
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t ip, cs, flags;
	uint32_t sp, ss; /* pushed by the CPU only on a privilege change */
};
#endif

typedef void (*trap_handler_t)(struct trap_frame *f);

struct trap_info {
	unsigned vector;
	ulong error;
	ulong ip;
	ulong cs;
	ulong flags;
	ulong sp;  /* stack pointer at the time of the event, wherever the frame says it was */
	ulong cr2; /* read on entry, meaningful for #PF */
	ulong ax;  /* a value the user code hands back to user_run() in eAX */
};

void trap_set_handler(unsigned vec, trap_handler_t h);
/* Calls fn(arg). Returns 0 if it returned, or 1 if an exception without a handler was raised:
 * then *ti describes it and the stack and segment registers are those of the caller again. */
int trap_catch(void (*fn)(void *), void *arg, struct trap_info *ti);
/* Used by a handler to end the current trap_catch() as if this exception had no handler. */
noreturn void trap_unwind(struct trap_frame *f);
/* Number of times each vector was dispatched (interrupts included). */
extern volatile unsigned trap_count[256];

/* Runs fn at CPL 3 on a user stack, with user segments. Returns 0 if fn returned normally (its
 * return value in ti->ax), 1 if it raised an exception (described in *ti). */
int user_run(ulong (*fn)(void), struct trap_info *ti);
extern uint8_t user_stack_top[];

/* Reports a caught event: prints "<what>: ok" or "<what>: FAIL (...)". Pass TRAP_ANY to skip
 * the error code or ip comparison. caught is trap_catch()'s return value. */
#define TRAP_ANY ((ulong)-1)
bool check_trap(const char *what, int caught, const struct trap_info *ti, unsigned vector,
		ulong error, ulong ip);

/* Saves callee-saved state (lib/trap*.S); used by trap_catch. */
int trap_catch_call(void (*fn)(void *), void *arg);
noreturn void trap_catch_unwind(void);

/*
 * A probe: a small assembly function named name, defined at file scope (a fault inside it comes
 * back through trap_catch with the probe's own addresses in the trap_info).
 */
#define PROBE(name, body)                                                                          \
	asm(".text\n\t.globl " #name "\n" #name ":\n\t" body "\n\t.previous");                 \
	extern char name[]

/* What trap_catch() runs: one argument (an address, a selector, a far pointer...). */
typedef void (*probe_fn)(void *);

#endif
