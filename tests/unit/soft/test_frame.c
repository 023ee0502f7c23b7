/* SPDX-License-Identifier: MIT */
/*
 * frame.c, the code frames of the soft CPU, on the whole accelerator: where
 * blocks end, the stub targets of direct branches, which stubs run.c chains,
 * and which writes (the CPU's own, the VMM's DMA) kill a frame. Guest code is
 * hand-assembled into guest RAM; the comments give the assembly.
 */
#include <Zydis/Mnemonic.h>

#include "vcpu/soft/frame.h"
#include "soft_fixture.h"
#include "../check_main.h"

#define CODE 0x1000ull

static const struct soft_insn *last_insn(const struct soft_block *b)
{
	return &b->insn[b->n - 1];
}

/*
 * "nop; <insn>; nop" at a fresh address (every call its own, so no block is
 * stale): the block is the nop and insn, nothing after. Returns the block.
 */
static struct soft_block *ends_after(const uint8_t *insn, unsigned len, unsigned mnemonic)
{
	static uint64_t next = CODE;
	uint64_t at = next;

	next += 0x20;
	ck_assert_uint_lt(next, CODE + 0x1000);
	fx.ram[at] = 0x90;
	fx_put(at + 1, insn, len);
	fx.ram[at + 1 + len] = 0x90;
	struct soft_block *b = fx_block(at);

	ck_assert_uint_eq(b->rip, at);
	ck_assert_uint_eq(b->n, 2);
	ck_assert_uint_eq(b->bytes, 1 + len);
	ck_assert_uint_eq(last_insn(b)->mnemonic, mnemonic);
	ck_assert_uint_eq(last_insn(b)->len, len);
	return b;
}

/*
 * A direct branch to the end of the block plus rel: stub 0 goes there; stub 1
 * falls through only if the branch is conditional.
 */
static void direct(const struct soft_block *b, int64_t rel, bool cond)
{
	ck_assert(b->stub[0].has_rip);
	ck_assert_uint_eq(b->stub[0].rip, b->rip + b->bytes + (uint64_t)rel);
	ck_assert_int_eq(b->stub[1].has_rip, cond);
	if (cond)
		ck_assert_uint_eq(b->stub[1].rip, b->rip + b->bytes);
}

/* No target known when the block is built: always back through the lookup. */
static void no_stubs(const struct soft_block *b)
{
	ck_assert(!b->stub[0].has_rip);
	ck_assert(!b->stub[1].has_rip);
}

#define ENDS(mn, ...)                                                                              \
	({                                                                                         \
		static const uint8_t i_[] = { __VA_ARGS__ };                                       \
		ends_after(i_, sizeof(i_), ZYDIS_MNEMONIC_##mn);                                   \
	})

/* --- block boundaries and stub targets --- */

START_TEST(test_frame_straight_code_does_not_end_a_block)
{
	fx_prot32(0);
	static const uint8_t code[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
		0x01, 0xd8,		      /* add eax, ebx */
		0x8b, 0x0e,		      /* mov ecx, [esi] */
		0x0f, 0xaf, 0xc1,	      /* imul eax, ecx */
		0xeb, 0x00,		      /* jmp $+2 */
		0x90,			      /* nop */
	};
	fx_put(CODE, code, sizeof(code));
	struct soft_block *b = fx_block(CODE);

	ck_assert_uint_eq(b->n, 5);
	ck_assert_uint_eq(b->bytes, sizeof(code) - 1);
	ck_assert_uint_eq(b->rip, CODE);
	direct(b, 0, false);
}
END_TEST

START_TEST(test_frame_long_straight_run_is_cut_and_falls_through)
{
	fx_prot32(0);
	memset(fx.ram + CODE, 0x90, 200); /* 200 nops */
	struct soft_block *b = fx_block(CODE);

	/* a length cap, not a branch: the block goes on at the next byte */
	ck_assert_uint_gt(b->n, 1);
	ck_assert_uint_lt(b->n, 200);
	ck_assert_uint_eq(b->bytes, b->n);
	ck_assert(!b->stub[0].has_rip);
	ck_assert(b->stub[1].has_rip);
	ck_assert_uint_eq(b->stub[1].rip, CODE + b->n);
	ck_assert_uint_eq(fx_block(CODE + b->n)->rip, CODE + b->n);
}
END_TEST

START_TEST(test_frame_block_ends_at_page_end_and_falls_into_next_page)
{
	fx_prot32(0);
	fx.ram[0x1ffe] = 0x90; /* nop */
	fx.ram[0x1fff] = 0x90; /* nop, the last byte of the page */
	fx.ram[0x2000] = 0x90;
	struct soft_block *b = fx_block(0x1ffe);

	ck_assert_uint_eq(b->n, 2);
	ck_assert(!b->straddle);
	ck_assert(b->stub[1].has_rip);
	ck_assert_uint_eq(b->stub[1].rip, 0x2000);
	ck_assert(!soft_frame_page_has_code(fx.v->vm, 0x2000));
}
END_TEST

START_TEST(test_frame_near_jumps_and_calls_end_blocks_with_their_targets)
{
	fx_prot32(0);
	direct(ENDS(JMP, 0xeb, 0x10), 0x10, false);			    /* jmp rel8 */
	direct(ENDS(JMP, 0xe9, 0x00, 0x01, 0x00, 0x00), 0x100, false);	    /* jmp rel32 */
	direct(ENDS(JZ, 0x74, 0xf0), -0x10, true);			    /* jz rel8 back */
	direct(ENDS(JNZ, 0x0f, 0x85, 0x00, 0x02, 0x00, 0x00), 0x200, true); /* jnz rel32 */
	direct(ENDS(JL, 0x7c, 0x7f), 0x7f, true);			    /* jl rel8 */
	/* call rel32: the return address is no exit of this block */
	direct(ENDS(CALL, 0xe8, 0x00, 0x03, 0x00, 0x00), 0x300, false);
	direct(ENDS(LOOP, 0xe2, 0xfe), -2, true);     /* loop $ */
	direct(ENDS(JECXZ, 0xe3, 0x05), 5, true);     /* jecxz +5 */
	direct(ENDS(LOOPNE, 0xe0, 0x20), 0x20, true); /* loopne +0x20 */
	/* indirect: the target is known only when it runs */
	no_stubs(ENDS(JMP, 0xff, 0xe0));		    /* jmp eax */
	no_stubs(ENDS(CALL, 0xff, 0x13));		    /* call [ebx] */
	no_stubs(ENDS(RET, 0xc3));			    /* ret */
	struct soft_block *b = ENDS(RET, 0xc2, 0x08, 0x00); /* ret 8 */
	no_stubs(b);
	ck_assert_uint_eq(last_insn(b)->imm, 8);
}
END_TEST

START_TEST(test_frame_16bit_targets_wrap_at_64k)
{
	/* CS = 0x100 (base 0x1000): ip 0xfff0 is linear 0x10ff0 */
	fx_real(0x100);
	fx.ram[0x10ff0] = 0xeb; /* jmp short +0x20: (0xfff2 + 0x20) & 0xffff */
	fx.ram[0x10ff1] = 0x20;
	struct soft_block *j = fx_block(0xfff0);
	ck_assert(j->stub[0].has_rip);
	ck_assert_uint_eq(j->stub[0].rip, 0x12);
	fx.ram[0x10ffe] = 0x74; /* jz +0x10 at ip 0xfffe: falls through to ip 0 */
	fx.ram[0x10fff] = 0x10;
	struct soft_block *b = fx_block(0xfffe);
	ck_assert_uint_eq(b->stub[0].rip, 0x10);
	ck_assert(b->stub[1].has_rip);
	ck_assert_uint_eq(b->stub[1].rip, 0);
}
END_TEST

START_TEST(test_frame_16bit_fall_through_wraps_to_offset_0)
{
	/*
	 * IP wraps at 64K also between instructions: the one after a 1-byte
	 * instruction at ffff is at cs:0000 (8086 behaviour, kept by later
	 * CPUs; os2museum "Does (E)IP wrap around in 16-bit segments?"). With
	 * CS = 0x1010, cs:0000 is linear 0x10100, not the byte after 0x200ff.
	 */
	fx_real(0x1010);
	fx.ram[0x200fe] = 0x90;				     /* fffe: nop */
	fx.ram[0x200ff] = 0x40;				     /* ffff: inc ax */
	fx_put(0x20100, (uint8_t[]){ 0xb0, 0x66, 0xf4 }, 3); /* not code: mov al, 0x66; hlt */
	fx_put(0x10100, (uint8_t[]){ 0xb0, 0x11, 0xf4 }, 3); /* 0000: mov al, 0x11; hlt */
	struct soft_block *b = fx_block(0xfffe);
	ck_assert_uint_eq(b->n, 2);
	ck_assert_uint_eq(b->stub[1].rip, 0);
	ck_assert_ptr_null(soft_block_next(fx.c, b)); /* pattern.c's look-ahead: not 0x20100 */
	ck_assert_uint_eq(fx_run(0xfffe), 3);
	ck_assert_uint_eq(fx.c->gpr[R_AX] & 0xff, 0x11);
}
END_TEST

START_TEST(test_frame_interrupts_and_far_transfers_end_blocks_without_stubs)
{
	fx_prot32(0);
	no_stubs(ENDS(INT, 0xcd, 0x80)); /* int 0x80 */
	no_stubs(ENDS(INT3, 0xcc));	 /* int3 */
	no_stubs(ENDS(INTO, 0xce));	 /* into */
	no_stubs(ENDS(INT1, 0xf1));	 /* int1 */
	no_stubs(ENDS(IRETD, 0xcf));	 /* iretd */
	no_stubs(ENDS(SYSENTER, 0x0f, 0x34));
	no_stubs(ENDS(SYSEXIT, 0x0f, 0x35));
	/* jmp far 0x08:0x2000, call far 0x08:0x2000 */
	no_stubs(ENDS(JMP, 0xea, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00));
	no_stubs(ENDS(CALL, 0x9a, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00));
	no_stubs(ENDS(JMP, 0xff, 0x2b));       /* jmp far [ebx] */
	no_stubs(ENDS(CALL, 0xff, 0x1b));      /* call far [ebx] */
	no_stubs(ENDS(RET, 0xcb));	       /* retf */
	no_stubs(ENDS(RET, 0xca, 0x04, 0x00)); /* retf 4 */
}
END_TEST

START_TEST(test_frame_64bit_system_transfers_end_blocks_without_stubs)
{
	fx_long64();
	no_stubs(ENDS(SYSCALL, 0x0f, 0x05));
	no_stubs(ENDS(SYSRET, 0x48, 0x0f, 0x07)); /* sysretq */
	no_stubs(ENDS(SYSRET, 0x0f, 0x07));	  /* sysretd */
	no_stubs(ENDS(IRETQ, 0x48, 0xcf));
	/* jmp rel32 in 64-bit mode: a 64-bit target */
	direct(ENDS(JMP, 0xe9, 0x00, 0x00, 0x00, 0x80), -0x80000000ll, false);
}
END_TEST

START_TEST(test_frame_unsafe_instructions_end_blocks_without_stubs)
{
	fx_prot32(0);
	no_stubs(ENDS(IN, 0xec));	   /* in al, dx */
	no_stubs(ENDS(IN, 0xe4, 0x60));	   /* in al, 0x60 */
	no_stubs(ENDS(OUT, 0xee));	   /* out dx, al */
	no_stubs(ENDS(OUTSB, 0xf3, 0x6e)); /* rep outsb */
	no_stubs(ENDS(CLI, 0xfa));
	no_stubs(ENDS(STI, 0xfb));
	no_stubs(ENDS(HLT, 0xf4));
	no_stubs(ENDS(PUSHFD, 0x9c));
	no_stubs(ENDS(POPFD, 0x9d));
	no_stubs(ENDS(MOV, 0x0f, 0x22, 0xc0)); /* mov cr0, eax */
	no_stubs(ENDS(MOV, 0x0f, 0x22, 0xd8)); /* mov cr3, eax */
	no_stubs(ENDS(MOV, 0x0f, 0x23, 0xf8)); /* mov dr7, eax */
	no_stubs(ENDS(MOV, 0x8e, 0xd8));       /* mov ds, ax */
	no_stubs(ENDS(WRMSR, 0x0f, 0x30));
	no_stubs(ENDS(RDMSR, 0x0f, 0x32));
	no_stubs(ENDS(CPUID, 0x0f, 0xa2));
	no_stubs(ENDS(RDTSC, 0x0f, 0x31));
	no_stubs(ENDS(LGDT, 0x0f, 0x01, 0x10)); /* lgdt [eax] */
	no_stubs(ENDS(LLDT, 0x0f, 0x00, 0xd0)); /* lldt ax */
	no_stubs(ENDS(INVLPG, 0x0f, 0x01, 0x38));
	no_stubs(ENDS(WBINVD, 0x0f, 0x09));
	struct soft_block *b = ENDS(CPUID, 0x0f, 0xa2);
	ck_assert(last_insn(b)->flags & SOFT_I_UNSAFE);
	/* run.c keeps its stub links across those that leave mode, CS and translations alone */
	ck_assert(last_insn(b)->flags & SOFT_I_KEEPS_CHAINS);
	ck_assert(last_insn(ENDS(OUT, 0xee))->flags & SOFT_I_KEEPS_CHAINS);
	ck_assert(last_insn(ENDS(POPFD, 0x9d))->flags & SOFT_I_KEEPS_CHAINS);
	ck_assert(!(last_insn(ENDS(MOV, 0x0f, 0x22, 0xd8))->flags & SOFT_I_KEEPS_CHAINS));
	ck_assert(!(last_insn(ENDS(WRMSR, 0x0f, 0x30))->flags & SOFT_I_KEEPS_CHAINS));
	ck_assert(!(last_insn(ENDS(LGDT, 0x0f, 0x01, 0x10))->flags & SOFT_I_KEEPS_CHAINS));
}
END_TEST

START_TEST(test_frame_undecodable_bytes_end_the_block_before_them)
{
	fx_prot32(0);
	static const uint8_t code[] = {
		0x90,	    /* 1000: nop */
		0x0f, 0x04, /* 1001: no instruction */
	};
	fx_put(CODE, code, sizeof(code));
	struct soft_block *b = fx_block(CODE);

	ck_assert_uint_eq(b->n, 1);
	ck_assert(b->stub[1].has_rip);
	ck_assert_uint_eq(b->stub[1].rip, CODE + 1);
	/* reached, it is #UD with rip at it */
	fx.c->rip = CODE + 1;
	ck_assert_int_eq(FX_RAISED(soft_block_lookup(fx.c, CODE + 1)), X86_EXC_UD);
	ck_assert_uint_eq(fx.c->rip, CODE + 1);
	/* 16 bytes (15 prefixes and a nop) is #GP(0) (SDM Vol.2 §2.3.11) */
	memset(fx.ram + 0x1100, 0x66, 15);
	fx.ram[0x1100 + 15] = 0x90;
	fx.c->rip = 0x1100;
	ck_assert_int_eq(FX_RAISED(soft_block_lookup(fx.c, 0x1100)), X86_EXC_GP);
	ck_assert_uint_eq(fx_errcode(), 0);
	/* 15 bytes is an instruction */
	ck_assert_uint_eq(fx_block(0x1101)->insn[0].len, 15);
}
END_TEST

START_TEST(test_frame_same_bytes_decode_per_mode)
{
	static const uint8_t code[] = { 0x48, 0x05, 0x01, 0x00, 0x00, 0x00, 0xeb, 0xfe };
	fx_put(0x3000, code, sizeof(code));

	/* 16-bit: dec ax; add ax, 1; add [bx+si], al; jmp $ */
	fx_real(0);
	struct soft_block *b16 = fx_block(0x3000);
	ck_assert_uint_eq(b16->n, 4);
	ck_assert_uint_eq(b16->insn[0].mnemonic, ZYDIS_MNEMONIC_DEC);
	ck_assert_uint_eq(b16->insn[1].len, 3);
	ck_assert_uint_eq(b16->insn[1].osz, 2);
	/* 32-bit: dec eax; add eax, 1; jmp $ */
	fx_prot32(0);
	struct soft_block *b32 = fx_block(0x3000);
	ck_assert_uint_eq(b32->n, 3);
	ck_assert_uint_eq(b32->insn[0].mnemonic, ZYDIS_MNEMONIC_DEC);
	ck_assert_uint_eq(b32->insn[1].len, 5);
	ck_assert_uint_eq(b32->insn[1].osz, 4);
	/* 64-bit: add rax, 1 (REX.W); jmp $ */
	fx_long64();
	struct soft_block *b64 = fx_block(0x3000);
	ck_assert_uint_eq(b64->n, 2);
	ck_assert_uint_eq(b64->insn[0].mnemonic, ZYDIS_MNEMONIC_ADD);
	ck_assert_uint_eq(b64->insn[0].osz, 8);
	/* all end at the same jmp $, each in a frame of its own */
	ck_assert_uint_eq(b16->stub[0].rip, 0x3006);
	ck_assert_uint_eq(b32->stub[0].rip, 0x3006);
	ck_assert_uint_eq(b64->stub[0].rip, 0x3006);
	ck_assert_ptr_ne(b16->frame, b32->frame);
	ck_assert_ptr_ne(b32->frame, b64->frame);
	ck_assert_ptr_ne(b16->frame, b64->frame);
	ck_assert_uint_eq(fx.v->st.frames_built, 3);
	/* back in 32-bit mode the 32-bit block is found again, not rebuilt */
	fx_prot32(0);
	ck_assert_ptr_eq(fx_block(0x3000), b32);
	ck_assert_uint_eq(fx.v->st.blocks_built, 3);
}
END_TEST

START_TEST(test_frame_aliased_rips_get_their_own_blocks_in_one_frame)
{
	fx.ram[0x1000] = 0xeb; /* jmp short +4 */
	fx.ram[0x1001] = 0x04;
	/* linear 0x1000 as 0000:1000 and as 0100:0000 */
	fx_real(0);
	struct soft_block *a = fx_block(0x1000);
	fx_real(0x100);
	struct soft_block *b = fx_block(0);

	ck_assert_ptr_eq(a->frame, b->frame);
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq(a->stub[0].rip, 0x1006);
	ck_assert_uint_eq(b->stub[0].rip, 0x0006);
}
END_TEST

/* --- stubs and chaining (run.c follows them) --- */

/* mov cx, n; L: dec cx; jnz L; hlt  (16-bit, at CODE) */
static void put_loop(uint16_t n)
{
	const uint8_t code[] = { 0xb9, (uint8_t)n, (uint8_t)(n >> 8), 0x49, 0x75, 0xfd, 0xf4 };
	fx_put(CODE, code, sizeof(code));
}

START_TEST(test_frame_stub_chains_to_analysed_block_of_same_mode)
{
	fx_real(0);
	put_loop(10);
	ck_assert_uint_eq(fx_run(CODE), CODE + 7);
	ck_assert_uint_eq(fx.c->gpr[R_CX] & 0xffff, 0);

	/*
	 * The loop body ran 9 times. The first two entries (from the first
	 * block, then from itself) looked it up and linked the stub; the other
	 * seven went through the linked stub.
	 */
	ck_assert_uint_eq(fx.v->st.chain_hits, 7);
	ck_assert_uint_eq(fx.v->st.blocks_built, 3);
	ck_assert_uint_eq(fx.v->st.frames_built, 1);
	struct soft_block *body = fx_block(CODE + 3);
	ck_assert_ptr_eq(body->stub[0].to, body);
	ck_assert_uint_eq(body->stub[0].epoch, fx.v->chain_epoch);
	ck_assert_ptr_eq(body->stub[1].to, fx_block(CODE + 6));

	/*
	 * set_regs may change anything: old links are not followed, blocks are
	 * kept. From the body with cx = 5: two lookups (entry, stale stub), then
	 * three chained entries.
	 */
	fx.c->gpr[R_CX] = 5;
	ck_assert_uint_eq(fx_run(CODE + 3), CODE + 7);
	ck_assert_uint_eq(fx.v->st.chain_hits, 7 + 3);
	ck_assert_uint_eq(fx.v->st.blocks_built, 3);
}
END_TEST

START_TEST(test_frame_stub_into_unanalysed_page_goes_through_lookup)
{
	fx_real(0);
	static const uint8_t code[] = { 0xe9, 0xfd, 0x0f }; /* 1000: jmp 0x2000 */
	fx_put(CODE, code, sizeof(code));
	fx.ram[0x2000] = 0xf4; /* 2000: hlt */

	ck_assert(!soft_frame_page_has_code(fx.v->vm, 0x2000));
	ck_assert_uint_eq(fx_run(CODE), 0x2001);
	ck_assert_uint_eq(fx.v->st.chain_hits, 0);
	ck_assert_uint_eq(fx.v->st.frames_built, 2);
	ck_assert(soft_frame_page_has_code(fx.v->vm, 0x2000));
	/* once analysed, the stub leads there directly */
	struct soft_block *b = fx_block(CODE);
	ck_assert_ptr_eq(b->stub[0].to, fx_block(0x2000));
}
END_TEST

START_TEST(test_frame_stub_never_links_to_a_block_of_another_cpl)
{
	/* 1000: jmp 0x2000 (32-bit); 2000: hlt */
	static const uint8_t code[] = { 0xe9, 0xfb, 0x0f, 0x00, 0x00 };
	fx_put(CODE, code, sizeof(code));
	fx.ram[0x2000] = 0xf4;
	/* the page at 0x2000 analysed at CPL 3 first */
	fx_prot32(3);
	struct soft_block *user = fx_block(0x2000);

	fx_prot32(0);
	ck_assert_uint_eq(fx_run(CODE), 0x2001);
	struct soft_block *b = fx_block(CODE), *kernel = fx_block(0x2000);
	ck_assert_ptr_nonnull(b->stub[0].to);
	ck_assert_ptr_eq(b->stub[0].to, kernel);
	ck_assert_ptr_ne(kernel, user);
	ck_assert_ptr_ne(kernel->frame, user->frame);
	ck_assert_uint_eq(fx.v->st.frames_built, 3);
	ck_assert_uint_eq(fx.v->st.chain_hits, 0);
}
END_TEST

/* --- pages and invalidation --- */

START_TEST(test_frame_straddling_instruction_is_a_block_on_both_pages)
{
	fx_prot32(0);
	static const uint8_t code[] = {
		0x90, 0x90,		      /* 1ffc: nop; nop */
		0xb8, 0x78, 0x56, 0x34, 0x12, /* 1ffe: mov eax, 0x12345678 (to 0x2002) */
		0xf4,			      /* 2003: hlt */
	};
	fx_put(0x1ffc, code, sizeof(code));

	struct soft_block *a = fx_block(0x1ffc);
	ck_assert_uint_eq(a->n, 2); /* the straddler starts a block of its own */
	ck_assert(!a->straddle);
	ck_assert_uint_eq(a->stub[1].rip, 0x1ffe);
	ck_assert(!soft_frame_page_has_code(fx.v->vm, 0x2000));
	struct soft_block *s = fx_block(0x1ffe);
	ck_assert(s->straddle);
	ck_assert_uint_eq(s->n, 1);
	ck_assert_uint_eq(s->bytes, 5);
	ck_assert_uint_eq(s->gpa2, 0x2000);
	ck_assert_uint_eq(s->insn[0].imm, 0x12345678);
	ck_assert_ptr_eq(s->frame, a->frame);
	ck_assert(soft_frame_page_has_code(fx.v->vm, 0x2000));

	ck_assert_uint_eq(fx_run(0x1ffc), 0x2004);
	ck_assert_uint_eq(fx.c->gpr[R_AX], 0x12345678);
	ck_assert_uint_eq(soft_frames_live(fx.v), 2); /* and the hlt's page at 0x2000 */
	/* any byte of the straddled page kills the frame; the hlt's frame there is spared */
	soft_frame_written(fx.v->vm, fx.c, 0x2800, 1);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 1);
	soft_frames_maintain(fx.v);
	ck_assert_uint_eq(soft_frames_live(fx.v), 1);
	ck_assert(soft_frame_page_has_code(fx.v->vm, 0x2000));
	/* rebuilt by the next run; a patch of the straddler's second half kills it again */
	ck_assert_uint_eq(fx_run(0x1ffc), 0x2004);
	fx.ram[0x2000] = 0x9a;
	soft_frame_written(fx.v->vm, fx.c, 0x2000, 1);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 2);
	ck_assert_uint_eq(fx_run(0x1ffc), 0x2004);
	ck_assert_uint_eq(fx.c->gpr[R_AX], 0x12349a78);
}
END_TEST

START_TEST(test_frame_straddle_into_an_alias_of_its_own_page_covers_both_ends)
{
	/* 32-bit paging: linear 0x400000 and 0x401000 both map the page at 0x10000 */
	struct kvm_sregs s;
	fx_prot32(0);
	fx_put64(0x20000 + 1 * 4, 0x21000 | 3); /* PDE 1 (0x400000): page table at 0x21000 */
	uint32_t pte = 0x10000 | 3;
	fx_put(0x21000, &pte, 4);
	fx_put(0x21004, &pte, 4);
	ck_assert_int_eq(accel_soft_ops.get_sregs(fx.cpu, &s), 0);
	s.cr3 = 0x20000;
	s.cr0 |= X86_CR0_PG;
	ck_assert_int_eq(accel_soft_ops.set_sregs(fx.cpu, &s), 0);
	/* 400ffe: mov eax, 0x12345678, its last three bytes at 0x10000 again; 401003: hlt */
	static const uint8_t head[] = { 0xb8, 0x78 }, tail[] = { 0x56, 0x34, 0x12, 0xf4 };
	fx_put(0x10ffe, head, sizeof(head));
	fx_put(0x10000, tail, sizeof(tail));

	ck_assert_uint_eq(fx_run(0x400ffe), 0x401004);
	ck_assert_uint_eq(fx.c->gpr[R_AX], 0x12345678);
	struct soft_block *b = fx_block(0x400ffe);
	ck_assert(b->straddle);
	ck_assert_uint_eq(b->gpa2, 0x10000);
	/* the tail is at the start of the same page: a write there kills the frame */
	fx.ram[0x10001] = 0x9a;
	soft_frame_written(fx.v->vm, fx.c, 0x10001, 1);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 1);
	ck_assert_uint_eq(fx_run(0x400ffe), 0x401004);
	ck_assert_uint_eq(fx.c->gpr[R_AX], 0x129a5678);
}
END_TEST

START_TEST(test_frame_write_kills_only_frames_whose_bytes_it_hits)
{
	fx_prot32(0);
	static const uint8_t code[] = {
		0xb0, 0x11, /* 1000: mov al, 0x11 */
		0xf4,	    /* 1002: hlt */
	};
	fx_put(CODE, code, sizeof(code));
	ck_assert_uint_eq(fx_run(CODE), CODE + 3);
	ck_assert_uint_eq(soft_frames_live(fx.v), 1);

	/* beside the code on its page, and just before the page: spared */
	soft_frame_written(fx.v->vm, fx.c, CODE + 3, 1);
	soft_frame_written(fx.v->vm, fx.c, CODE + 0x800, 0x100);
	soft_frame_written(fx.v->vm, fx.c, CODE - 4, 4);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 0);
	ck_assert_uint_eq(soft_frames_live(fx.v), 1);
	/* a second frame on the page, at CPL 3: a write to the code kills both */
	fx_prot32(3);
	fx_block(CODE);
	fx_prot32(0);
	ck_assert_uint_eq(soft_frames_live(fx.v), 2);
	/* an unaligned range whose last byte is the first code byte: killed */
	uint64_t epoch = fx.v->chain_epoch;
	soft_frame_written(fx.v->vm, fx.c, CODE - 4, 5);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 2);
	ck_assert_uint_gt(fx.v->chain_epoch, epoch);
	soft_frames_maintain(fx.v);
	ck_assert_uint_eq(soft_frames_live(fx.v), 0);
	ck_assert(!soft_frame_page_has_code(fx.v->vm, CODE));
}
END_TEST

START_TEST(test_frame_guest_store_into_own_block_runs_new_bytes)
{
	fx_real(0);
	static const uint8_t code[] = {
		0xc6, 0x06, 0x06, 0x10, 0x42, /* 1000: mov byte [0x1006], 0x42 */
		0xb0, 0x11,		      /* 1005: mov al, 0x11 (its imm at 0x1006) */
		0xf4,			      /* 1007: hlt */
	};
	fx_put(CODE, code, sizeof(code));

	ck_assert_uint_eq(fx_block(CODE)->n, 3); /* one block: the store patches it */
	ck_assert_uint_eq(fx_run(CODE), CODE + 8);
	/* SDM Vol.3 §11.6: the modified instruction executes as written */
	ck_assert_uint_eq(fx.c->gpr[R_AX] & 0xff, 0x42);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 1);
}
END_TEST

START_TEST(test_frame_guest_store_to_data_on_code_page_spares_frame)
{
	fx_real(0);
	static const uint8_t code[] = {
		0xc6, 0x06, 0x00, 0x18, 0x55, /* 1000: mov byte [0x1800], 0x55 */
		0xc6, 0x06, 0x0b, 0x10, 0x66, /* 1005: mov byte [0x100b], 0x66 (after the hlt) */
		0xf4,			      /* 100a: hlt */
	};
	fx_put(CODE, code, sizeof(code));

	ck_assert_uint_eq(fx_run(CODE), CODE + 11);
	ck_assert_uint_eq(fx.ram[0x1800], 0x55);
	ck_assert_uint_eq(fx.ram[0x100b], 0x66);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 0);
	ck_assert_uint_eq(soft_frames_live(fx.v), 1);
	ck_assert_uint_eq(fx.v->st.frames_built, 1);
}
END_TEST

START_TEST(test_frame_dma_write_to_code_invalidates_on_next_run)
{
	fx_real(0);
	static const uint8_t code[] = {
		0xb0, 0x11, /* 1000: mov al, 0x11 */
		0xf4,	    /* 1002: hlt */
	};
	fx_put(CODE, code, sizeof(code));
	ck_assert_uint_eq(fx_run(CODE), CODE + 3);
	ck_assert_uint_eq(fx.c->gpr[R_AX] & 0xff, 0x11);

	/* the VMM's DMA beside the code spares the frame */
	fx.ram[0x1c00] = 1;
	accel_soft_ops.notify_mem_write(fx.a, 0x1c00, 0x200);
	ck_assert_uint_eq(fx_run(CODE), CODE + 3);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 0);
	ck_assert_uint_eq(fx.v->st.frames_built, 1);

	/* DMA over the imm8: queued for the vCPU, applied before it runs again */
	fx.ram[0x1001] = 0x22;
	accel_soft_ops.notify_mem_write(fx.a, 0x1001, 1);
	ck_assert(soft_frames_dirty(fx.v));
	ck_assert_uint_eq(fx_run(CODE), CODE + 3);
	ck_assert_uint_eq(fx.c->gpr[R_AX] & 0xff, 0x22);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 1);
	ck_assert_uint_eq(fx.v->st.frames_built, 2);
}
END_TEST

/* --- several vCPUs --- */

START_TEST(test_frame_store_by_another_vcpu_kills_the_frame)
{
	/* vCPU 0 analyses 1000: mov al, 0x11; hlt */
	static const uint8_t code[] = { 0xb0, 0x11, 0xf4 };
	fx_put(CODE, code, sizeof(code));
	fx_prot32(0);
	struct soft_block *b = fx_block(CODE);
	ck_assert_uint_eq(b->insn[0].imm, 0x11);

	/* vCPU 1 stores over the imm8: mov byte [0x1001], 0x22 (c6 05 01 10 00 00 22) */
	fx_use(1);
	fx_prot32(0);
	fx.c->rip = 0x3000;
	ck_assert_int_eq(FX_EXEC(0xc6, 0x05, 0x01, 0x10, 0x00, 0x00, 0x22), -1);
	ck_assert_uint_eq(fx.ram[CODE + 1], 0x22);

	/* queued for vCPU 0, which applies it between two blocks */
	fx_use(0);
	ck_assert(soft_frames_dirty(fx.v));
	ck_assert(atomic_load(&fx.c->events) & SOFT_EV_FLUSH);
	soft_frames_maintain(fx.v);
	ck_assert_uint_eq(fx.v->st.frames_invalidated, 1);
	ck_assert_uint_eq(fx_block(CODE)->insn[0].imm, 0x22);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("soft_frame");
	TCase *b = tcase_create("blocks");
	TCase *st = tcase_create("stubs");
	TCase *w = tcase_create("writes");

	tcase_add_checked_fixture(b, fx_setup, fx_teardown);
	tcase_add_checked_fixture(st, fx_setup, fx_teardown);
	tcase_add_checked_fixture(w, fx_setup, fx_teardown);
	tcase_add_test(b, test_frame_straight_code_does_not_end_a_block);
	tcase_add_test(b, test_frame_long_straight_run_is_cut_and_falls_through);
	tcase_add_test(b, test_frame_block_ends_at_page_end_and_falls_into_next_page);
	tcase_add_test(b, test_frame_near_jumps_and_calls_end_blocks_with_their_targets);
	tcase_add_test(b, test_frame_16bit_targets_wrap_at_64k);
	tcase_add_test(b, test_frame_16bit_fall_through_wraps_to_offset_0);
	tcase_add_test(b, test_frame_interrupts_and_far_transfers_end_blocks_without_stubs);
	tcase_add_test(b, test_frame_64bit_system_transfers_end_blocks_without_stubs);
	tcase_add_test(b, test_frame_unsafe_instructions_end_blocks_without_stubs);
	tcase_add_test(b, test_frame_undecodable_bytes_end_the_block_before_them);
	tcase_add_test(b, test_frame_same_bytes_decode_per_mode);
	tcase_add_test(b, test_frame_aliased_rips_get_their_own_blocks_in_one_frame);
	tcase_add_test(st, test_frame_stub_chains_to_analysed_block_of_same_mode);
	tcase_add_test(st, test_frame_stub_into_unanalysed_page_goes_through_lookup);
	tcase_add_test(st, test_frame_stub_never_links_to_a_block_of_another_cpl);
	tcase_add_test(w, test_frame_straddling_instruction_is_a_block_on_both_pages);
	tcase_add_test(w, test_frame_straddle_into_an_alias_of_its_own_page_covers_both_ends);
	tcase_add_test(w, test_frame_write_kills_only_frames_whose_bytes_it_hits);
	tcase_add_test(w, test_frame_guest_store_into_own_block_runs_new_bytes);
	tcase_add_test(w, test_frame_guest_store_to_data_on_code_page_spares_frame);
	tcase_add_test(w, test_frame_dma_write_to_code_invalidates_on_next_run);
	TCase *smp = tcase_create("smp");
	tcase_add_checked_fixture(smp, fx_setup2, fx_teardown);
	tcase_add_test(smp, test_frame_store_by_another_vcpu_kills_the_frame);
	suite_add_tcase(s, b);
	suite_add_tcase(s, smp);
	suite_add_tcase(s, st);
	suite_add_tcase(s, w);
	return cove_check_run(s);
}
