/* SPDX-License-Identifier: MIT */
/*
 * smp_atomics: two CPUs (run with -smp 2 / --cpus 2) hammer shared memory with locked
 * instructions and with spin locks built from them, and every count must come out exact. The
 * BSP starts the AP with INIT and two STARTUP IPIs into a real-mode trampoline at 0x70000 that
 * enters flat 32-bit protected mode (paging off, interrupts off). Then, test by test, both CPUs
 * run the same loop at once: lock xadd, a lock cmpxchg loop, every lock-prefixed ALU form,
 * cmpxchg8b with carries, and spin locks from cmpxchg, a ticket (xadd), xchg and bts/btr that
 * guard a counter updated by plain loads and stores. A store-buffer litmus round with mfence or
 * a locked or between each CPU's store and load must never let both CPUs read the old value. A
 * spin that gives up (a lost lock) is a failure, not a hang. Only counts are printed.
 *
 * Relies on: SDM Vol.3 §9.1.2 (locked operations), §9.2.3.4 (stores and loads not reordered
 * across a fence or locked instruction), §9.4.4 and §10.6.1 (INIT-SIPI-SIPI, ICR), §9.9.1
 * (real to protected mode); Vol.2 LOCK, XADD, XCHG, CMPXCHG, CMPXCHG8B, BTS, BTR, MFENCE.
 */
#include "guest.h"
#include "pc.h"

#define TRAMP		 0x70000u /* the STARTUP vector 0x70 */
#define ITERS		 100000u
#define ROUNDS		 20000u
#define SPIN_LIMIT	 (1u << 24)
#define LAPIC_ICR_LO	 0x300
#define LAPIC_ICR_HI	 0x310
#define ICR_PENDING	 (1u << 12)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_ASSERT	 (1u << 14)
#define ICR_INIT	 (5u << 8)
#define ICR_STARTUP	 (6u << 8)

/*
 * The AP's first code, copied to TRAMP and entered with CS = TRAMP >> 4, IP = 0: load a flat
 * GDT, set CR0.PE, far-jump to 32-bit code at its linear address, take the AP stack, call
 * ap_entry through a register (the copy is not where it was linked).
 */
extern const uint8_t tramp_start[], tramp_end[];
asm(".pushsection .rodata\n"
    ".code16\n"
    "tramp_start:\n"
    "	cli\n"
    "	mov %cs, %ax\n"
    "	mov %ax, %ds\n"
    "	lgdtl tramp_gdtr - tramp_start\n"
    "	mov %cr0, %eax\n"
    "	or $1, %eax\n"
    "	mov %eax, %cr0\n"
    "	ljmpl $0x08, $0x70000 + tramp_pm - tramp_start\n"
    ".code32\n"
    "tramp_pm:\n"
    "	mov $0x10, %ax\n"
    "	mov %ax, %ds\n"
    "	mov %ax, %es\n"
    "	mov %ax, %ss\n"
    "	mov %ax, %fs\n"
    "	mov %ax, %gs\n"
    "	mov $ap_stack + 8192, %esp\n"
    "	mov $ap_entry, %eax\n"
    "	call *%eax\n"
    "1:	cli\n"
    "	hlt\n"
    "	jmp 1b\n"
    ".balign 8\n"
    "tramp_gdt:\n"
    "	.quad 0\n"
    "	.quad 0x00cf9a000000ffff\n" /* 0x08: flat 32-bit code */
    "	.quad 0x00cf92000000ffff\n" /* 0x10: flat data */
    "tramp_gdtr:\n"
    "	.word 23\n"
    "	.long 0x70000 + tramp_gdt - tramp_start\n"
    "tramp_end:\n"
    ".popsection\n");

uint8_t ap_stack[8192] __attribute__((aligned(16))); /* the trampoline's reference */

void ap_entry(void);

/* What the CPUs share, each hot word in its own cache line. */
union line {
	volatile uint64_t q;
	volatile uint32_t w[16];
	volatile uint16_t h[32];
};
static union line sh[8] __attribute__((aligned(64)));
static volatile unsigned go, done[2], ap_alive, gave_up;

static void pause(void)
{
	asm volatile("pause" ::: "memory");
}

/* A spin's tries so far; past SPIN_LIMIT the lock counts as lost. */
static bool spin_on(unsigned *tries)
{
	pause();
	if (++*tries < SPIN_LIMIT)
		return true;
	gave_up = 1;
	return false;
}

static void plain_inc(volatile uint32_t *p)
{
	uint32_t v;

	/* a load and a store, not one read-modify-write */
	asm volatile("mov %1, %0\n\tinc %0\n\tmov %0, %1" : "=&r"(v), "+m"(*p));
}

static void t_xadd(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS; n++) {
		uint32_t one = 1;
		uint16_t minus = 0xffff;

		asm volatile("lock xaddl %0, %1" : "+r"(one), "+m"(sh[0].w[0]) : : "memory");
		asm volatile("lock xaddw %0, %1" : "+r"(minus), "+m"(sh[1].h[0]) : : "memory");
	}
}

static void t_cmpxchg(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS; n++) {
		uint32_t old = sh[0].w[0], nv;
		bool ok;

		do {
			nv = old + 1;
			asm volatile("lock cmpxchgl %3, %1"
				     : "=@ccz"(ok), "+m"(sh[0].w[0]), "+a"(old)
				     : "r"(nv)
				     : "memory");
		} while (!ok);
	}
}

static void t_alu(unsigned cpu)
{
	uint32_t bit = 1u << cpu, mask = ~bit;

	for (unsigned n = 0; n < ITERS; n++) {
		asm volatile("lock incl %0\n\t"
			     "lock decl %1\n\t"
			     "lock addl $3, %2\n\t"
			     "lock subl $5, %3\n\t"
			     "lock notl %4\n\t"
			     "lock negl %5\n\t"
			     "lock xorl %8, %6\n\t"
			     "stc\n\t"
			     "lock adcl $1, %7\n\t"
			     : "+m"(sh[0].w[0]), "+m"(sh[1].w[0]), "+m"(sh[2].w[0]),
			       "+m"(sh[3].w[0]), "+m"(sh[4].w[0]), "+m"(sh[5].w[0]),
			       "+m"(sh[6].w[0]), "+m"(sh[7].w[0])
			     : "r"(bit)
			     : "cc", "memory");
		asm volatile("lock orl %1, %0" : "+m"(sh[0].w[3]) : "r"(bit) : "cc", "memory");
		if (!(sh[0].w[3] & bit))
			gave_up = 1;
		asm volatile("lock andl %1, %0" : "+m"(sh[0].w[3]) : "r"(mask) : "cc", "memory");
		if (sh[0].w[3] & bit)
			gave_up = 1;
	}
}

static void t_cmpxchg8b(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS; n++) {
		uint64_t old = sh[0].q, nv;
		bool ok;

		do {
			nv = old + 1;
			asm volatile("lock cmpxchg8b %1"
				     : "=@ccz"(ok), "+m"(sh[0].q), "+A"(old)
				     : "b"((uint32_t)nv), "c"((uint32_t)(nv >> 32))
				     : "memory");
		} while (!ok);
	}
}

static void t_cas_lock(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS && !gave_up; n++) {
		unsigned tries = 0;
		bool ok;

		/* test-and-set retried without looking first: failing cmpxchgs all the time */
		do {
			uint32_t old = 0;

			asm volatile("lock cmpxchgl %3, %1"
				     : "=@ccz"(ok), "+m"(sh[0].w[0]), "+a"(old)
				     : "r"(1u)
				     : "memory");
		} while (!ok && spin_on(&tries));
		plain_inc(&sh[1].w[0]);
		asm volatile("movl $0, %0" : "=m"(sh[0].w[0]) : : "memory");
	}
}

static void t_ticket(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS && !gave_up; n++) {
		uint32_t t = 0x10000;
		unsigned tries = 0;

		asm volatile("lock xaddl %0, %1" : "+r"(t), "+m"(sh[0].w[0]) : : "memory");
		t >>= 16;
		while (sh[0].h[0] != (uint16_t)t && spin_on(&tries))
			;
		plain_inc(&sh[1].w[0]);
		asm volatile("addw $1, %0" : "+m"(sh[0].w[0]) : : "cc", "memory");
	}
}

static void t_xchg_lock(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS && !gave_up; n++) {
		unsigned tries = 0;
		uint32_t v;

		do {
			v = 1;
			asm volatile("xchgl %0, %1" : "+r"(v), "+m"(sh[0].w[0]) : : "memory");
		} while (v && spin_on(&tries));
		plain_inc(&sh[1].w[0]);
		asm volatile("movl $0, %0" : "=m"(sh[0].w[0]) : : "memory");
	}
}

static void t_bts_lock(unsigned cpu)
{
	(void)cpu;
	for (unsigned n = 0; n < ITERS && !gave_up; n++) {
		unsigned tries = 0;
		bool was;

		do
			asm volatile("lock btsl $0, %1"
				     : "=@ccc"(was), "+m"(sh[0].w[0])
				     :
				     : "memory");
		while (was && spin_on(&tries));
		plain_inc(&sh[1].w[0]);
		asm volatile("lock btrl $0, %0" : "+m"(sh[0].w[0]) : : "cc", "memory");
	}
}

/* Waits until the counter in sh[7] reaches want. */
static void meet(volatile uint32_t *ctr, uint32_t want)
{
	unsigned tries = 0;

	asm volatile("lock incl %0" : "+m"(*ctr) : : "cc", "memory");
	while (*ctr < want && spin_on(&tries))
		;
}

/*
 * Store-buffer rounds: each CPU stores the round number to its word, fences, and loads the
 * other's. Both reading an older round is what the fence forbids; the BSP counts it in sh[4].
 */
static void litmus(unsigned cpu, bool mfence)
{
	volatile uint32_t *mine = &sh[cpu].w[0], *other = &sh[1 - cpu].w[0];

	for (uint32_t r = 1; r <= ROUNDS && !gave_up; r++) {
		meet(&sh[5].w[0], 2 * r);
		*mine = r;
		if (mfence)
			asm volatile("mfence" ::: "memory");
		else
			asm volatile("lock orl $0, %0" : "+m"(sh[6].w[0]) : : "cc", "memory");
		sh[2 + cpu].w[0] = *other;
		meet(&sh[7].w[0], 2 * r);
		if (cpu == 0 && sh[2].w[0] < r && sh[3].w[0] < r)
			sh[4].w[0]++;
	}
}

static void t_litmus_mfence(unsigned cpu)
{
	litmus(cpu, true);
}

static void t_litmus_lock(unsigned cpu)
{
	litmus(cpu, false);
}

static void (*const tests[])(unsigned cpu) = {
	t_xadd,	  t_cmpxchg,   t_alu,	   t_cmpxchg8b,	    t_cas_lock,
	t_ticket, t_xchg_lock, t_bts_lock, t_litmus_mfence, t_litmus_lock,
};

void ap_entry(void)
{
	ap_alive = 1;
	for (unsigned k = 1; k <= ARRAY_SIZE(tests); k++) {
		while (go < k)
			pause();
		tests[k - 1](1);
		__atomic_store_n(&done[1], k, __ATOMIC_RELEASE);
	}
	for (;;)
		asm volatile("cli; hlt");
}

static void ipi(uint32_t lo)
{
	unsigned tries = 0;

	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, lo);
	while ((lapic_read(LAPIC_ICR_LO) & ICR_PENDING) && ++tries < SPIN_LIMIT)
		pause();
}

static bool start_ap(void)
{
	unsigned tries = 0;

	memcpy((void *)TRAMP, tramp_start, (size_t)(tramp_end - tramp_start));
	lapic_write(LAPIC_SVR, 0x1ff);
	ipi(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	ipi(ICR_ALL_BUT_SELF | ICR_STARTUP | (TRAMP >> 12));
	ipi(ICR_ALL_BUT_SELF | ICR_STARTUP | (TRAMP >> 12));
	while (!ap_alive && ++tries < SPIN_LIMIT)
		pause();
	return ap_alive;
}

/* Runs test k on both CPUs at once. */
static void run(unsigned k)
{
	memset(sh, 0, sizeof(sh));
	gave_up = 0;
	if (k == 4)
		sh[0].q = 0x100000000ull - ITERS; /* cmpxchg8b carries into the high half */
	if (k == 3) {
		sh[4].w[0] = 0x1234;
		sh[5].w[0] = 0x5678;
	}
	__atomic_store_n(&go, k, __ATOMIC_RELEASE);
	tests[k - 1](0);
	while (__atomic_load_n(&done[1], __ATOMIC_ACQUIRE) < k)
		pause();
}

void guest_main(void)
{
	const uint64_t two = 2ull * ITERS;

	if (!check(start_ap(), "the AP started"))
		return;
	run(1);
	check_eq("lock xadd: 32-bit count", (uint32_t)sh[0].w[0], (uint32_t)two);
	check_eq("lock xadd: 16-bit count down", sh[1].h[0], (uint16_t)(0 - two));
	run(2);
	check_eq("lock cmpxchg loop: count", (uint32_t)sh[0].w[0], (uint32_t)two);
	run(3);
	check_eq("lock inc", (uint32_t)sh[0].w[0], (uint32_t)two);
	check_eq("lock dec", sh[1].w[0], (uint32_t)(0 - two));
	check_eq("lock add", sh[2].w[0], (uint32_t)(3 * two));
	check_eq("lock sub", sh[3].w[0], (uint32_t)(0 - 5 * two));
	check_eq("lock not (an even count)", sh[4].w[0], 0x1234);
	check_eq("lock neg (an even count)", sh[5].w[0], 0x5678);
	check_eq("lock xor of each CPU's bit", (uint32_t)sh[6].w[0], 0);
	check_eq("lock adc with CF set", sh[7].w[0], (uint32_t)(2 * two));
	check(!gave_up, "lock or/and: no CPU saw its own bit changed by the other");
	check_eq("lock or/and: bits clear at the end", sh[0].w[3], 0);
	run(4);
	check_eq("lock cmpxchg8b: 64-bit count with carry", sh[0].q, 0x100000000ull + ITERS);
	static const char *const locks[] = { "cmpxchg", "ticket (xadd)", "xchg", "bts/btr" };
	for (unsigned k = 5; k <= 8; k++) {
		run(k);
		check(!gave_up, "%s spin lock: never lost", locks[k - 5]);
		check_eq("  the counter it guards", sh[1].w[0], (uint32_t)two);
	}
	run(9);
	check(!gave_up, "store-buffer rounds with mfence: in step");
	check_eq("  rounds where both CPUs read the old value", sh[4].w[0], 0);
	run(10);
	check(!gave_up, "store-buffer rounds with lock or: in step");
	check_eq("  rounds where both CPUs read the old value", sh[4].w[0], 0);
}
