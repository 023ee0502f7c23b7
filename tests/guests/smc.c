/* SPDX-License-Identifier: MIT */
/*
 * smc: self-modifying code. A store into code that is about to run, or that ran before, must
 * be seen by the next fetch of those bytes: an immediate patched later in the same straight-line
 * block and inside a hot loop, an opcode byte replaced, a jump displacement redirected, a whole
 * function rewritten (byte, dword and block stores), an instruction that straddles a page
 * boundary patched on either page, and, under 32-bit paging, code written through a different
 * linear alias of the same frame and a straddling instruction whose second page is remapped.
 *
 * Relies on: SDM Vol.3 §8.1.3 (handling self- and cross-modifying code: a write to a code
 * location is noticed by the processor; here every patched instruction is reached after the
 * store, through straight-line execution or a jump, as option 1 there describes), §11.6
 * (self-modifying code detection by physical address), §4.3 and §4.10.4.1 (32-bit paging,
 * INVLPG).
 */
#include "guest.h"
#include "trap.h"

/* (a) Patches inside the running block. */

/* Stores its argument into the imm32 of the very next instruction, which returns it. */
PROBE(smc_next, "movl 4(%esp), %ecx\n\t"
		"movl %ecx, smc_next_insn + 1\n"
		".globl smc_next_insn\nsmc_next_insn: movl $0, %eax\n\t"
		"ret");
extern char smc_next_insn[];

/* Stores the low byte of its argument into the imm8 of an instruction three further on. */
PROBE(smc_later, "movl 4(%esp), %ecx\n\t"
		 "movb %cl, smc_later_insn + 1\n\t"
		 "xorl %eax, %eax\n\t"
		 "addl $0x100, %eax\n\t"
		 "addl $0x200, %eax\n"
		 ".globl smc_later_insn\nsmc_later_insn: movb $0, %dl\n\t"
		 "movzbl %dl, %edx\n\t"
		 "addl %edx, %eax\n\t"
		 "ret");
extern char smc_later_insn[];

/* A loop whose body patches its own imm8 with the count each time round: 0 + 5 + 4 + 3 + 2. */
PROBE(smc_loop_imm, "movb $0, smc_loop_insn + 1\n\t"
		    "xorl %edx, %edx\n\t"
		    "movl $5, %ecx\n"
		    "1:\n"
		    ".globl smc_loop_insn\nsmc_loop_insn: movb $0, %al\n\t"
		    "movzbl %al, %eax\n\t"
		    "addl %eax, %edx\n\t"
		    "movb %cl, smc_loop_insn + 1\n\t"
		    "decl %ecx\n\t"
		    "jnz 1b\n\t"
		    "movl %edx, %eax\n\t"
		    "ret");

/* A loop that turns its own "inc %edx" (0x42) into "dec %edx" (0x4a) when ECX reaches 2:
 * 6, 5, 4, 3 increment, 2 and 1 decrement, so 2 (6 if the patch is never seen). */
PROBE(smc_loop_op, "xorl %edx, %edx\n\t"
		   "movl $6, %ecx\n"
		   "1:\tcmpl $2, %ecx\n\t"
		   "jne 2f\n\t"
		   "movb $0x4a, smc_loop_op_insn\n"
		   "2:\n"
		   ".globl smc_loop_op_insn\nsmc_loop_op_insn: .byte 0x42\n\t"
		   "decl %ecx\n\t"
		   "jnz 1b\n\t"
		   "movb $0x42, smc_loop_op_insn\n\t"
		   "movl %edx, %eax\n\t"
		   "ret");
extern char smc_loop_op_insn[];

/* A REP STOSB that overwrites the "movl $7, %eax" right after itself with NOPs, so EAX keeps
 * the 0x90909090 the fill used (7 if the old instruction runs). */
PROBE(smc_rep_stos, "pushl %edi\n\t"
		    "movl $0x90909090, %eax\n\t"
		    "movl $smc_rep_stos_insn, %edi\n\t"
		    "movl $5, %ecx\n\t"
		    "rep stosb\n"
		    ".globl smc_rep_stos_insn\nsmc_rep_stos_insn: movl $7, %eax\n\t"
		    "popl %edi\n\t"
		    "ret");
extern char smc_rep_stos_insn[];

/* (b) Functions rewritten between calls. */

PROBE(smc_func, ".globl smc_func_insn\nsmc_func_insn: movl $0x1111, %eax\n\tret");
extern char smc_func_insn[];

/* "jmp 1f" whose rel8 can be redirected to the second return. */
PROBE(smc_jmp, ".globl smc_jmp_insn\nsmc_jmp_insn: jmp 1f\n"
	       "1:\tmovl $1, %eax\n\tret\n"
	       ".globl smc_jmp_alt\nsmc_jmp_alt: movl $2, %eax\n\tret");
extern char smc_jmp_insn[], smc_jmp_alt[];

/* (c) Instructions straddling a page boundary, each in its own page-aligned section. */

/* "movl $0x44332211, %eax" at page offset 0xffd: opcode and two immediate bytes on the first
 * page, two on the second. */
asm(".section .text.smc_cross1, \"ax\", @progbits\n\t"
    ".balign 4096\n\t"
    ".org 0xffd, 0xcc\n"
    ".globl smc_cross\nsmc_cross: movl $0x44332211, %eax\n\t"
    "ret\n\t"
    ".previous");
extern char smc_cross[];

/* A loop in which the straddling "movb $imm8, %al" (opcode at 0xfff, imm8 on the next page) is
 * patched by code on the second page with the count: 0 + 3 + 2. */
asm(".section .text.smc_cross2, \"ax\", @progbits\n\t"
    ".balign 4096\n\t"
    ".org 0xff0, 0xcc\n"
    ".globl smc_cross_loop\nsmc_cross_loop: movb $0, smc_cross_loop_insn + 1\n\t"
    "xorl %edx, %edx\n\t"
    "jmp 1f\n\t"
    ".org 0xffd, 0xcc\n"
    "1:\tmovl $3, %ecx\n\t" /* 0xffd: b9 03 00 | 00 00 */
    "jmp smc_cross_loop_insn\n\t"
    ".org 0x1ffc, 0x90\n\t" /* (never reached: the loop below sits on the next page) */
    "ud2\n\t"
    ".org 0x1fff, 0xcc\n"
    ".globl smc_cross_loop_insn\nsmc_cross_loop_insn: movb $0, %al\n\t"
    "addb %al, %dl\n\t"
    "movb %cl, smc_cross_loop_insn + 1\n\t"
    "decl %ecx\n\t"
    "jnz smc_cross_loop_insn\n\t"
    "movzbl %dl, %eax\n\t"
    "ret\n\t"
    ".previous");
extern char smc_cross_loop[], smc_cross_loop_insn[];

typedef ulong (*fn0)(void);
typedef ulong (*fn1)(ulong);

static uint8_t codebuf[64] __attribute__((aligned(64)));

static void poke8(void *p, uint8_t v)
{
	*(volatile uint8_t *)p = v;
}

static void poke16(void *p, uint16_t v)
{
	*(volatile uint16_t *)p = v;
}

static void poke32(void *p, uint32_t v)
{
	*(volatile uint32_t *)p = v;
}

static ulong call0(const void *p)
{
	return ((fn0)(ulong)p)();
}

static void same_block(void)
{
	static const uint8_t mov7[] = { 0xb8, 0x07, 0x00, 0x00, 0x00 }; /* movl $7, %eax */
	fn1 next = (fn1)(ulong)smc_next, later = (fn1)(ulong)smc_later;

	check_eq("patched imm32 of the next instruction (1st run)", next(0x12345678), 0x12345678);
	check_eq("patched imm32 of the next instruction (2nd run)", next(0x9abcdef0), 0x9abcdef0);
	check_eq("patched imm32 of the next instruction (3rd run)", next(7), 7);
	check_eq("patched imm8 three instructions on (1st run)", later(0x11), 0x311);
	check_eq("patched imm8 three instructions on (2nd run)", later(0x22), 0x322);
	check_eq("loop patching its own imm8", call0(smc_loop_imm), 14);
	check_eq("loop patching its own imm8, again", call0(smc_loop_imm), 14);
	check_eq("loop turning its own inc into dec", call0(smc_loop_op), 2);
	check_eq("loop turning its own inc into dec, again", call0(smc_loop_op), 2);
	check_eq("rep stosb over the next instruction", call0(smc_rep_stos), 0x90909090);
	memcpy(smc_rep_stos_insn, mov7, sizeof(mov7));
	check_eq("rep stosb over the next instruction, again", call0(smc_rep_stos), 0x90909090);
	memcpy(smc_rep_stos_insn, mov7, sizeof(mov7));
}

static void rewritten_functions(void)
{
	/* mov $1, %eax; ret */
	static const uint8_t ret1[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };
	/* xor %eax, %eax; inc %eax; inc %eax; inc %eax; ret */
	static const uint8_t ret3[] = { 0x31, 0xc0, 0x40, 0x40, 0x40, 0xc3 };
	/* mov $0x77, %al; movzbl %al, %eax; ret */
	static const uint8_t ret77[] = { 0xb0, 0x77, 0x0f, 0xb6, 0xc0, 0xc3 };
	unsigned i;
	ulong r = 0;

	memcpy(codebuf, ret1, sizeof(ret1));
	for (i = 0; i < 10; i++)
		r += call0(codebuf);
	check_eq("code copied to a buffer runs (10 calls)", r, 10);
	poke8(codebuf + 1, 2);
	check_eq("after a byte store to its immediate", call0(codebuf), 2);
	memcpy(codebuf, ret3, sizeof(ret3));
	check_eq("after a byte-wise copy of a different function", call0(codebuf), 3);
	asm volatile("rep movsb"
		     : "+D"((void *){ codebuf }), "+S"((const void *){ ret77 }),
		       "+c"((ulong){ sizeof(ret77) })
		     :
		     : "memory");
	check_eq("after a rep movsb of a different function", call0(codebuf), 0x77);
	poke16(codebuf, 0x2eb0); /* mov $0x2e, %al (the movzbl and ret stay) */
	check_eq("after a word store over opcode and immediate", call0(codebuf), 0x2e);
	poke32(codebuf, 0xc3c3c031); /* xor %eax, %eax; ret */
	check_eq("after a dword store that shortens the function", call0(codebuf), 0);

	r = 0;
	for (i = 0; i < 5; i++)
		r += call0(smc_func);
	check_eq("function in .text (5 calls)", r, 5 * 0x1111);
	poke32(smc_func_insn + 1, 0x2222);
	check_eq("function in .text after a dword store to its immediate", call0(smc_func),
		 0x2222);
	poke32(smc_func_insn + 1, 0x1111);
	check_eq("function in .text restored", call0(smc_func), 0x1111);

	check_eq("jmp rel8 before the patch", call0(smc_jmp), 1);
	check_eq("jmp rel8 before the patch, again", call0(smc_jmp), 1);
	poke8(smc_jmp_insn + 1, (uint8_t)(smc_jmp_alt - (smc_jmp_insn + 2)));
	check_eq("jmp rel8 redirected", call0(smc_jmp), 2);
	poke8(smc_jmp_insn + 1, 0);
	check_eq("jmp rel8 restored", call0(smc_jmp), 1);
}

static void page_crossing(void)
{
	check(((ulong)smc_cross & 0xfff) == 0xffd, "straddling mov starts 3 bytes before a page end");
	check_eq("straddling mov", call0(smc_cross), 0x44332211);
	check_eq("straddling mov, again", call0(smc_cross), 0x44332211);
	poke8(smc_cross + 4, 0x99);
	check_eq("straddling mov, byte on the second page patched", call0(smc_cross), 0x99332211);
	poke8(smc_cross + 1, 0x00);
	check_eq("straddling mov, byte on the first page patched", call0(smc_cross), 0x99332200);
	poke16(smc_cross + 2, 0xbbaa); /* one store across the boundary */
	check_eq("straddling mov, word store across the boundary", call0(smc_cross), 0x99bbaa00);
	poke32(smc_cross + 1, 0x44332211);

	check((((ulong)smc_cross_loop_insn + 1) & 0xfff) == 0, "loop's imm8 is on the next page");
	check_eq("loop patching a straddling instruction's second page", call0(smc_cross_loop), 5);
	check_eq("loop patching a straddling instruction's second page, again",
		 call0(smc_cross_loop), 5);
}

/* (d) Under 32-bit paging: aliases and remapping. */

#define PTE_P 0x001
#define PTE_W 0x002
#define ALIAS_BASE 0x00800000ul /* PDE 2 */

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_ident[2][1024] __attribute__((aligned(4096)));
static uint32_t pt_alias[1024] __attribute__((aligned(4096)));
static uint8_t frames[4][4096] __attribute__((aligned(4096)));

static void map(ulong v, const void *frame)
{
	pt_alias[(v >> 12) & 1023] = (uint32_t)(ulong)frame | PTE_P | PTE_W;
	invlpg((void *)v);
}

static void paging_on(void)
{
	paging32_identity(pd, pt_ident, 2, PTE_P | PTE_W);
	pd[2] = (uint32_t)(ulong)pt_alias | PTE_P | PTE_W;
	write_cr3((ulong)pd);
	write_cr0(read_cr0() | CR0_PG);
}

static void aliases(void)
{
	static const uint8_t ret5[] = { 0xb8, 0x05, 0x00, 0x00, 0x00, 0xc3 };
	const ulong v0 = ALIAS_BASE, v1 = ALIAS_BASE + PAGE_SIZE;
	unsigned i;
	ulong r = 0;

	paging_on();

	/* Run through one linear address, write through another (the identity mapping). */
	memcpy(frames[0] + 0x100, ret5, sizeof(ret5));
	map(v0, frames[0]);
	for (i = 0; i < 4; i++)
		r += call0((void *)(v0 + 0x100));
	check_eq("code through an alias mapping (4 calls)", r, 20);
	poke8(frames[0] + 0x101, 6);
	check_eq("after a store through the other linear address", call0((void *)(v0 + 0x100)), 6);
	poke8((void *)(v0 + 0x101), 8);
	check_eq("after a store through the alias itself", call0((void *)(v0 + 0x100)), 8);

	/* A straddling "movl $0x44332211, %eax; ret" over two frames that are not adjacent. */
	frames[0][0xffd] = 0xb8;
	frames[0][0xffe] = 0x11;
	frames[0][0xfff] = 0x22;
	frames[2][0] = 0x33;
	frames[2][1] = 0x44;
	frames[2][2] = 0xc3;
	frames[3][0] = 0x66;
	frames[3][1] = 0x77;
	frames[3][2] = 0xc3;
	map(v1, frames[2]);
	check_eq("straddling mov over two non-adjacent frames", call0((void *)(v0 + 0xffd)),
		 0x44332211);
	check_eq("straddling mov over two non-adjacent frames, again",
		 call0((void *)(v0 + 0xffd)), 0x44332211);
	poke8(frames[2] + 1, 0x55);
	check_eq("straddling mov, second frame patched through the identity mapping",
		 call0((void *)(v0 + 0xffd)), 0x55332211);
	map(v1, frames[3]);
	check_eq("straddling mov, second page remapped (INVLPG)", call0((void *)(v0 + 0xffd)),
		 0x77662211);
	pt_alias[1] = (uint32_t)(ulong)frames[2] | PTE_P | PTE_W;
	write_cr3(read_cr3());
	check_eq("straddling mov, second page mapped back (CR3 reload)",
		 call0((void *)(v0 + 0xffd)), 0x55332211);

	write_cr0(read_cr0() & ~CR0_PG);
}

void guest_main(void)
{
	printf("smc: self-modifying code, in-block patches, rewrites, page-straddling code\n");
	same_block();
	rewritten_functions();
	page_crossing();
	aliases();
}
