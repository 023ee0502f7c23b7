/* SPDX-License-Identifier: MIT */
/*
 * Locked instructions across vCPU threads (SDM Vol.3 §9.1.2): two vCPUs of
 * the whole soft accelerator, each run by its own host thread in 64-bit
 * mode, hammer shared guest memory with lock-prefixed read-modify-writes,
 * xchg, cmpxchg/8b/16b and bts/btr, and with spin locks built from them that
 * guard a counter updated by plain loads and stores. Every count must come
 * out exact: one update lost to a non-atomic read-modify-write shows, and a
 * lock lost that way ends a spin after SPIN_MAX tries with the fail flag.
 * A store-buffer litmus test checks that mfence and locked instructions
 * order an earlier store before a later load across the threads.
 *
 * The guest code is assembled by the host assembler below (position
 * independent, AT&T syntax) and copied into guest RAM. Registers on entry:
 * rdi the data, rsi the iterations, r9 SPIN_MAX, r10 the vCPU index,
 * r11 1 << index, r12 DATA (the flags). Each program ends at "done", which sets its done flag and
 * halts; the test then kicks both vCPUs out of their halt.
 */
#include <pthread.h>
#include <time.h>

#include "soft_fixture.h"
#include "../check_main.h"

#define CODE	 0x10000ull
#define DATA	 0x20000ull /* a page of shared data, then the next page */
#define DONE	 0x800	    /* DATA + DONE + 4 * index: the vCPU finished (r12 = DATA) */
#define FAIL	 0x810	    /* DATA + FAIL: a spin gave up */
#define SPIN_MAX (1ull << 25)

/* Stamps out one guest program: name_start .. name_end, ending at the shared epilogue. */
#define GUEST(name, body)                                                                          \
	extern const uint8_t name##_start[], name##_end[];                                         \
	__asm__(".pushsection .rodata\n"                                                           \
		".globl " #name "_start\n"                                                         \
		".globl " #name "_end\n" #name "_start:\n" body "done_" #name ":\n"                \
		"\tmovl $1, 0x800(%r12,%r10,4)\n"                                                  \
		"\thlt\n"                                                                          \
		"\tjmp done_" #name "\n"                                                           \
		"fail_" #name ":\n"                                                                \
		"\tmovl $1, 0x810(%r12)\n"                                                         \
		"\tjmp done_" #name "\n" #name "_end:\n"                                           \
		".popsection\n")

/* A failed spin: r8 counts the tries of one acquisition. */
#define SPIN(name, again)                                                                          \
	"\tpause\n"                                                                                \
	"\tinc %r8\n"                                                                              \
	"\tcmp %r9, %r8\n"                                                                         \
	"\tjae fail_" #name "\n"                                                                   \
	"\tjmp " again "\n"

/* The critical section: a plain, non-atomic increment of the counter at 8(%rdi). */
#define CRITICAL                                                                                   \
	"\tmov 8(%rdi), %rax\n"                                                                    \
	"\tinc %rax\n"                                                                             \
	"\tmov %rax, 8(%rdi)\n"

GUEST(g_xadd, "1:\tmov $1, %rax\n"
	      "\tlock xadd %rax, (%rdi)\n"
	      "\tmov $-1, %eax\n"
	      "\tlock xadd %ax, 8(%rdi)\n"
	      "\tdec %rsi\n"
	      "\tjnz 1b\n");

GUEST(g_cmpxchg, "1:\tmov (%rdi), %rax\n"
		 "2:\tlea 1(%rax), %rdx\n"
		 "\tlock cmpxchg %rdx, (%rdi)\n"
		 "\tjnz 2b\n"
		 "\tdec %rsi\n"
		 "\tjnz 1b\n");

/* Every lock-prefixed ALU form, at three sizes; or/and/xor on the vCPU's own bit (r11). */
GUEST(g_alu, "1:\tlock incq (%rdi)\n"
	     "\tlock decq 8(%rdi)\n"
	     "\tlock addq $3, 16(%rdi)\n"
	     "\tlock subq $5, 24(%rdi)\n"
	     "\tlock notq 32(%rdi)\n"
	     "\tlock negq 40(%rdi)\n"
	     "\tlock xorq %r11, 48(%rdi)\n"
	     "\tstc\n"
	     "\tlock adcq $1, 56(%rdi)\n"
	     "\tstc\n"
	     "\tlock sbbq $1, 64(%rdi)\n"
	     "\tlock incw 72(%rdi)\n"
	     "\tlock addb $1, 80(%rdi)\n"
	     "\tlock orq %r11, 88(%rdi)\n"
	     "\ttest %r11, 88(%rdi)\n"
	     "\tjz fail_g_alu\n"
	     "\tmov %r11, %rax\n"
	     "\tnot %rax\n"
	     "\tlock andq %rax, 88(%rdi)\n"
	     "\ttest %r11, 88(%rdi)\n"
	     "\tjnz fail_g_alu\n"
	     "\tdec %rsi\n"
	     "\tjnz 1b\n");

/* Test-and-set with cmpxchg, retried without looking first: failed cmpxchgs all the time. */
GUEST(g_cas_lock, "1:\txor %r8d, %r8d\n"
		  "2:\txor %eax, %eax\n"
		  "\tmov $1, %edx\n"
		  "\tlock cmpxchg %edx, (%rdi)\n"
		  "\tjz 3f\n" SPIN(g_cas_lock, "2b") "3:\n" CRITICAL "\tmovl $0, (%rdi)\n"
						     "\tdec %rsi\n"
						     "\tjnz 1b\n");

/* A ticket lock (head in bits 15:0, tail in 31:16) released by a plain add to the head. */
GUEST(g_ticket, "1:\tmov $0x10000, %eax\n"
		"\tlock xadd %eax, (%rdi)\n"
		"\tshr $16, %eax\n"
		"\txor %r8d, %r8d\n"
		"2:\tcmpw %ax, (%rdi)\n"
		"\tje 3f\n" SPIN(g_ticket, "2b") "3:\n" CRITICAL "\taddw $1, (%rdi)\n"
						 "\tdec %rsi\n"
						 "\tjnz 1b\n");

GUEST(g_xchg_lock, "1:\txor %r8d, %r8d\n"
		   "2:\tmov $1, %eax\n"
		   "\txchg %eax, (%rdi)\n"
		   "\ttest %eax, %eax\n"
		   "\tjz 3f\n" SPIN(g_xchg_lock, "2b") "3:\n" CRITICAL "\tmovl $0, (%rdi)\n"
						       "\tdec %rsi\n"
						       "\tjnz 1b\n");

GUEST(g_bts_lock, "1:\txor %r8d, %r8d\n"
		  "2:\tlock btsl $0, (%rdi)\n"
		  "\tjnc 3f\n" SPIN(g_bts_lock, "2b") "3:\n" CRITICAL "\tlock btrl $0, (%rdi)\n"
						      "\tdec %rsi\n"
						      "\tjnz 1b\n");

/* A 128-bit and a 64-bit counter incremented with carries through cmpxchg16b and cmpxchg8b. */
GUEST(g_cx16, "1:\tmov (%rdi), %rax\n"
	      "\tmov 8(%rdi), %rdx\n"
	      "2:\tmov %rax, %rbx\n"
	      "\tmov %rdx, %rcx\n"
	      "\tadd $1, %rbx\n"
	      "\tadc $0, %rcx\n"
	      "\tlock cmpxchg16b (%rdi)\n"
	      "\tjnz 2b\n"
	      "\tmov 16(%rdi), %eax\n"
	      "\tmov 20(%rdi), %edx\n"
	      "3:\tmov %eax, %ebx\n"
	      "\tmov %edx, %ecx\n"
	      "\tadd $1, %ebx\n"
	      "\tadc $0, %ecx\n"
	      "\tlock cmpxchg8b 16(%rdi)\n"
	      "\tjnz 3b\n"
	      "\tdec %rsi\n"
	      "\tjnz 1b\n");

/*
 * The store-buffer litmus test (SDM Vol.3 §9.2.3.4 forbids it with a fence
 * between): in round r each vCPU stores r to its x, fences, and reads the
 * other's x into its result; vCPU 0 counts rounds where both read an older
 * round (at 0x180). Two barriers (counters at 0x100, 0x140) keep the rounds
 * in step. r13 = its x, r14 = the other's, r15 = its result.
 */
#define LITMUS(name, fence)                                                                        \
	GUEST(name, "\tmov $1, %ecx\n"                                                             \
		    "1:\txor %r8d, %r8d\n"                                                         \
		    "\tlock incl 0x100(%r12)\n"                                                    \
		    "\tlea (%rcx,%rcx), %eax\n"                                                    \
		    "2:\tcmp %eax, 0x100(%r12)\n"                                                  \
		    "\tjae 3f\n" SPIN(                                                             \
			    name, "2b") "3:\tmov %rcx, (%r13)\n" fence "\tmov (%r14), %rax\n"      \
					"\tmov %rax, (%r15)\n"                                     \
					"\txor %r8d, %r8d\n"                                       \
					"\tlock incl 0x140(%r12)\n"                                \
					"\tlea (%rcx,%rcx), %eax\n"                                \
					"4:\tcmp %eax, 0x140(%r12)\n"                              \
					"\tjae 5f\n" SPIN(name, "4b") "5:\ttest %r10, %r10\n"      \
								      "\tjnz 6f\n"                 \
								      "\tcmp %rcx, 0x80(%r12)\n"   \
								      "\tjae 6f\n"                 \
								      "\tcmp %rcx, 0xc0(%r12)\n"   \
								      "\tjae 6f\n"                 \
								      "\tincq 0x180(%r12)\n"       \
								      "6:\tinc %rcx\n"             \
								      "\tdec %rsi\n"               \
								      "\tjnz 1b\n")

LITMUS(g_sb_mfence, "\tmfence\n");
LITMUS(g_sb_lock_or, "\tlock orl $0, 0x200(%r12)\n");
LITMUS(g_sb_xchg, "\txchg %eax, 0x240(%r12)\n");

struct runner {
	struct accel_vcpu *cpu;
	int ret;
	unsigned reason;
};

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	struct accel_exit *e = NULL;

	r->ret = accel_soft_ops.vcpu_run(r->cpu, &e);
	r->reason = e ? e->reason : ~0u;
	return NULL;
}

static uint32_t data32(uint64_t off)
{
	return __atomic_load_n((uint32_t *)(fx.ram + DATA + off), __ATOMIC_ACQUIRE);
}

static uint64_t data64(uint64_t off)
{
	uint64_t v;

	memcpy(&v, fx.ram + DATA + off, 8);
	return v;
}

/*
 * Copies the program to CODE (code_off into its page), starts both vCPUs at
 * it with iters iterations each and data at DATA + data_off, waits for both
 * done flags and kicks them out of their halt.
 */
static void run_both(const uint8_t *start, const uint8_t *end, uint64_t code_off, uint64_t data_off,
		     uint64_t iters)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	struct runner r[2];
	pthread_t t[2];

	fx_put(CODE + code_off, start, (size_t)(end - start));
	for (unsigned k = 0; k < 2; k++) {
		struct kvm_regs regs;

		fx_use(k);
		fx_long64();
		ck_assert_int_eq(accel_soft_ops.get_regs(fx.cpu, &regs), 0);
		regs.rip = CODE + code_off;
		regs.rflags = 2; /* IF clear: the final hlt waits for the kick */
		regs.rdi = DATA + data_off;
		regs.rsi = iters;
		regs.r9 = SPIN_MAX;
		regs.r10 = k;
		regs.r11 = 1ull << k;
		regs.r12 = DATA;
		regs.r13 = DATA + 0x40 * k;
		regs.r14 = DATA + 0x40 * (1 - k);
		regs.r15 = DATA + 0x80 + 0x40 * k;
		ck_assert_int_eq(accel_soft_ops.set_regs(fx.cpu, &regs), 0);
		fx.c->halted = 0;
		r[k] = (struct runner){ .cpu = fx.cpu };
	}
	for (unsigned k = 0; k < 2; k++)
		ck_assert_int_eq(pthread_create(&t[k], NULL, runner_main, &r[k]), 0);
	/* no time limit here: a lost lock ends a spin (SPIN_MAX), the suite has a timeout */
	while (!data32(DONE) || !data32(DONE + 4))
		nanosleep(&tick, NULL);
	for (unsigned k = 0; k < 2; k++) {
		accel_soft_ops.vcpu_kick(r[k].cpu);
		ck_assert_int_eq(pthread_join(t[k], NULL), 0);
		ck_assert_int_eq(r[k].ret, 0);
		ck_assert_uint_eq(r[k].reason, ACCEL_EXIT_INTR);
	}
	ck_assert_msg(!data32(FAIL), "a spin lock was never released (or a bit check failed)");
	fx_use(0);
}

#define RUN(g, code_off, data_off, n) run_both(g##_start, g##_end, code_off, data_off, n)

#define N 1000000ull

/* Runs a spin-lock program N times on each vCPU: the counter it guards counts every one. */
static void run_lock(const uint8_t *start, const uint8_t *end)
{
	run_both(start, end, 0, 0, N);
	ck_assert_uint_eq(data64(8), 2 * N);
}

START_TEST(test_smp_lock_xadd_counts_exactly)
{
	RUN(g_xadd, 0, 0, N);
	ck_assert_uint_eq(data64(0), 2 * N);
	ck_assert_uint_eq(data64(8) & 0xffff, (0 - 2 * N) & 0xffff);
}
END_TEST

START_TEST(test_smp_lock_cmpxchg_loop_counts_exactly)
{
	RUN(g_cmpxchg, 0, 0, N);
	ck_assert_uint_eq(data64(0), 2 * N);
}
END_TEST

START_TEST(test_smp_every_locked_alu_form_is_atomic)
{
	uint64_t n = N / 2; /* even: not, neg and xor come back to where they started */

	fx_put64(DATA + 32, 0x1234);
	fx_put64(DATA + 40, 0x5678);
	RUN(g_alu, 0, 0, n);
	ck_assert_uint_eq(data64(0), 2 * n);
	ck_assert_uint_eq(data64(8), 0 - 2 * n);
	ck_assert_uint_eq(data64(16), 3 * 2 * n);
	ck_assert_uint_eq(data64(24), 0 - 5 * 2 * n);
	ck_assert_uint_eq(data64(32), 0x1234);
	ck_assert_uint_eq(data64(40), 0x5678);
	ck_assert_uint_eq(data64(48), 0);
	ck_assert_uint_eq(data64(56), 2 * 2 * n);
	ck_assert_uint_eq(data64(64), 0 - 2 * 2 * n);
	ck_assert_uint_eq(data64(72) & 0xffff, (2 * n) & 0xffff);
	ck_assert_uint_eq(data64(80) & 0xff, (2 * n) & 0xff);
	ck_assert_uint_eq(data64(88), 0);
}
END_TEST

START_TEST(test_smp_cmpxchg_spin_lock_guards_plain_counter)
{
	run_lock(g_cas_lock_start, g_cas_lock_end);
	ck_assert_uint_eq(data32(0), 0);
}
END_TEST

START_TEST(test_smp_ticket_lock_guards_plain_counter)
{
	run_lock(g_ticket_start, g_ticket_end);
	ck_assert_uint_eq(data32(0) & 0xffff, data32(0) >> 16);
	ck_assert_uint_eq(data32(0) & 0xffff, (2 * N) & 0xffff);
}
END_TEST

START_TEST(test_smp_xchg_lock_guards_plain_counter)
{
	run_lock(g_xchg_lock_start, g_xchg_lock_end);
}
END_TEST

START_TEST(test_smp_bts_btr_lock_guards_plain_counter)
{
	run_lock(g_bts_lock_start, g_bts_lock_end);
	ck_assert_uint_eq(data32(0), 0);
}
END_TEST

START_TEST(test_smp_cmpxchg16b_and_8b_count_exactly_with_carries)
{
	fx_put64(DATA, 0 - N); /* the low half carries into the high half on the way */
	fx_put64(DATA + 16, 0xffffffffull - N + 1);
	RUN(g_cx16, 0, 0, N);
	ck_assert_uint_eq(data64(0), N);
	ck_assert_uint_eq(data64(8), 1);
	ck_assert_uint_eq(data64(16), 0x100000000ull + N);
}
END_TEST

/* Operands across a page boundary and misaligned in a page: the per-VM lock fallback. */
START_TEST(test_smp_split_and_misaligned_locked_operands_count_exactly)
{
	RUN(g_xadd, 0, 0xffc, N / 4); /* the 8-byte counter straddles into the next page */
	ck_assert_uint_eq(data64(0xffc), 2 * (N / 4));
	ck_assert_uint_eq(data64(0x1004) & 0xffff, (0 - 2 * (N / 4)) & 0xffff);
	memset(fx.ram + DATA + DONE, 0, 8);
	RUN(g_cmpxchg, 0, 0x101, N / 4); /* misaligned inside the page */
	ck_assert_uint_eq(data64(0x101), 2 * (N / 4));
}
END_TEST

/* Data beside the running code: stores to it take the slow path, which frames watch. */
START_TEST(test_smp_locked_ops_on_a_code_page_count_exactly)
{
	uint64_t n = 20000;

	RUN(g_xadd, 0, CODE - DATA + 0x800, n);
	ck_assert_uint_eq(data64(CODE - DATA + 0x800), 2 * n);
}
END_TEST

/* A store before a fence or a locked instruction is seen by the other vCPU before a load after it.
 */
START_TEST(test_smp_fences_and_locked_ops_order_store_before_load)
{
	uint64_t rounds = 100000;

	RUN(g_sb_mfence, 0, 0, rounds);
	ck_assert_uint_eq(data64(0x180), 0);
	memset(fx.ram + DATA, 0, 0x1000);
	RUN(g_sb_lock_or, 0, 0, rounds);
	ck_assert_uint_eq(data64(0x180), 0);
	memset(fx.ram + DATA, 0, 0x1000);
	RUN(g_sb_xchg, 0, 0, rounds);
	ck_assert_uint_eq(data64(0x180), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("soft_smp");
	TCase *t = tcase_create("locked");

	tcase_add_checked_fixture(t, fx_setup2, fx_teardown);
	tcase_set_timeout(t, 300);
	tcase_add_test(t, test_smp_lock_xadd_counts_exactly);
	tcase_add_test(t, test_smp_lock_cmpxchg_loop_counts_exactly);
	tcase_add_test(t, test_smp_every_locked_alu_form_is_atomic);
	tcase_add_test(t, test_smp_cmpxchg_spin_lock_guards_plain_counter);
	tcase_add_test(t, test_smp_ticket_lock_guards_plain_counter);
	tcase_add_test(t, test_smp_xchg_lock_guards_plain_counter);
	tcase_add_test(t, test_smp_bts_btr_lock_guards_plain_counter);
	tcase_add_test(t, test_smp_cmpxchg16b_and_8b_count_exactly_with_carries);
	tcase_add_test(t, test_smp_split_and_misaligned_locked_operands_count_exactly);
	tcase_add_test(t, test_smp_locked_ops_on_a_code_page_count_exactly);
	tcase_add_test(t, test_smp_fences_and_locked_ops_order_store_before_load);
	suite_add_tcase(s, t);
	return cove_check_run(s);
}
