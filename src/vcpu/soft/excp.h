/* SPDX-License-Identifier: MIT */
/*
 * Exceptions and interrupts (excp.c): raising faults from anywhere in an
 * instruction, and delivering events through the IVT (real mode) or the IDT
 * (protected and long mode: interrupt and trap gates, privilege change with
 * the TSS stack switch, IST), with double fault and triple fault.
 *
 * The protocol with run.c (core):
 *
 *	switch (setjmp(c->fault_jmp)) {
 *	case 0:
 *		break;
 *	case SOFT_JMP_FAULT:		// soft_raise*(): c->rip is the faulting insn
 *		soft_deliver_pending(c); // may longjmp again (nested fault): same switch
 *		break;
 *	case SOFT_JMP_SHUTDOWN:		// triple fault: return ACCEL_EXIT_SHUTDOWN
 *		...
 *	case SOFT_JMP_INTERNAL:		// return ACCEL_EXIT_INTERNAL_ERROR with
 *		...			// soft_internal_why(c) as the reason
 *	}
 *
 * soft_raise() records the fault in c->segs.excp (vector, errcode) and
 * longjmps with SOFT_JMP_FAULT. soft_deliver_pending() delivers it with
 * ret_rip = c->rip. External interrupts and NMIs are delivered by run.c with
 * soft_deliver(c, vector, SOFT_EVENT_EXTINT/NMI, SOFT_NO_ERRCODE, c->rip)
 * inside the same setjmp scope. Delivery that faults longjmps like any fault;
 * the next soft_deliver() sees c->exc_depth != 0 and applies SDM Vol.3 §6.15
 * Table 6-5 (serial delivery, #DF, or a triple fault).
 *
 * After a successful delivery c->rip == c->next_rip == the handler, the CPU is
 * no longer halted and the interrupt shadow is gone.
 */
#ifndef COVE_SOFT_EXCP_H
#define COVE_SOFT_EXCP_H

#include <stdbool.h>
#include <stdint.h>

struct soft_cpu;

#define SOFT_NO_ERRCODE 0xffffffffu

/* longjmp values on c->fault_jmp. */
enum {
	SOFT_JMP_FAULT = 1,    /* a fault is pending: soft_deliver_pending() */
	SOFT_JMP_SHUTDOWN = 2, /* triple fault: the CPU is shut down */
	SOFT_JMP_INTERNAL = 3, /* the soft CPU cannot go on: soft_internal_why() */
};

/* excp.c's state, embedded in struct soft_seg_state (seg.h) as c->segs.excp. */
struct soft_excp_state {
	int vector;	  /* the fault soft_raise() recorded */
	uint32_t errcode; /* its error code or SOFT_NO_ERRCODE */
	int delivering;	  /* vector being delivered while c->exc_depth != 0 */
	uint8_t delivering_class; /* its Table 6-5 class (excp.c) */
	bool shutdown;	  /* a triple fault happened; cleared by soft_excp_reset() */
	bool internal;	  /* an internal error happened; why[] says what */
	char why[120];
	uint64_t delivered[32]; /* exceptions delivered, by vector (for --stats) */
	uint64_t interrupts;	/* external interrupts and NMIs delivered */
};

/*
 * Abandons the current instruction (longjmp to run.c) and delivers the fault
 * with c->rip still at the faulting instruction. errcode is SOFT_NO_ERRCODE for
 * vectors without one; the vector decides whether one is pushed.
 */
_Noreturn void soft_raise(struct soft_cpu *c, int vector, uint32_t errcode);
/* #PF: sets CR2 = la first. */
_Noreturn void soft_raise_pf(struct soft_cpu *c, uint64_t la, uint32_t errcode);

/*
 * Something the soft CPU deliberately does not implement (task switches,
 * virtual-8086 mode, ...): records a one-line reason and longjmps with
 * SOFT_JMP_INTERNAL. Architectural state is left as it was before the
 * instruction.
 */
_Noreturn void soft_internal_error(struct soft_cpu *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The reason recorded by the last soft_internal_error(). */
const char *soft_internal_why(const struct soft_cpu *c);

/* Kinds of event, for delivery rules (privilege checks on int n, error codes, EXT bit). */
enum soft_event_kind {
	SOFT_EVENT_EXCEPTION, /* fault or trap raised by the CPU */
	SOFT_EVENT_EXTINT,    /* external interrupt from the irqchip */
	SOFT_EVENT_NMI,
	SOFT_EVENT_SOFTINT,   /* int n: gate DPL checked against CPL */
	SOFT_EVENT_SOFTEXC,   /* int3 / into: like SOFTINT but reported as exceptions */
	SOFT_EVENT_ICEBP,     /* int1 (F1) */
};

/*
 * Delivers an event now, with return address ret_rip (the faulting
 * instruction for faults, the next one for traps and software interrupts).
 * Handles nesting: a fault during delivery becomes #DF per SDM Vol.3 Table 6-5,
 * a fault while delivering #DF becomes a triple fault (soft_cpu_shutdown(),
 * then longjmp with SOFT_JMP_SHUTDOWN). Returns normally with the CPU at the
 * handler; may itself longjmp when a nested fault must be delivered instead.
 * An NMI blocks further NMIs until the next iret (c->nmi_blocked).
 */
void soft_deliver(struct soft_cpu *c, int vector, enum soft_event_kind kind, uint32_t errcode,
		  uint64_t ret_rip);
/* Delivers the fault soft_raise() recorded (run.c, after SOFT_JMP_FAULT). */
void soft_deliver_pending(struct soft_cpu *c);
/*
 * A debug trap after an instruction (single step with TF, data breakpoints):
 * ORs dr6_bits (e.g. DR6.BS, bit 14) into DR6 and delivers #DB at ret_rip.
 */
void soft_debug_trap(struct soft_cpu *c, uint64_t dr6_bits, uint64_t ret_rip);

/* Triple fault: marks the CPU shut down; run.c returns ACCEL_EXIT_SHUTDOWN. */
void soft_cpu_shutdown(struct soft_cpu *c);
/* Clears pending/nesting/shutdown/internal-error state (vCPU reset, set_regs). */
void soft_excp_reset(struct soft_cpu *c);

#endif
