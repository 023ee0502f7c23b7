/* SPDX-License-Identifier: MIT */
/*
 * pattern.c: the matcher on decoded instructions, and units run by the real
 * soft accelerator (real-mode code in guest RAM) against a fake in-line I/O
 * handler whose checkpoint/rollback/commit record the calls, the CPU and
 * memory as they were at each call, and save/restore the fake device.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu/accel.h"
#include "vcpu/soft/core.h"
#include "vcpu/soft/decode.h"
#include "vcpu/soft/pattern.h"
#include "../check_main.h"

/* ---- the matcher ---- */

struct seq {
	struct soft_insn insn[SOFT_PATTERN_MAX_INSNS];
	const struct soft_insn *p[SOFT_PATTERN_MAX_INSNS];
	unsigned n;
};

#define RIP0 0x1000

static void decode_seq(struct seq *s, const uint8_t *code, unsigned len, unsigned mode)
{
	unsigned pos = 0;

	s->n = 0;
	while (pos < len) {
		ck_assert_uint_lt(s->n, SOFT_PATTERN_MAX_INSNS);
		ck_assert_int_eq(
			soft_decode(code + pos, len - pos, mode, RIP0 + pos, &s->insn[s->n]), 0);
		s->p[s->n] = &s->insn[s->n];
		pos += s->insn[s->n].len;
		s->n++;
	}
}

static enum soft_pattern_kind match(const uint8_t *code, unsigned len, const uint8_t *prev,
				    unsigned prev_len, unsigned *out)
{
	struct seq s, ps;

	decode_seq(&s, code, len, 4);
	if (prev)
		decode_seq(&ps, prev, prev_len, 4);
	return soft_pattern_match(s.p, s.n, prev ? &ps.insn[0] : NULL, RIP0, out);
}

START_TEST(test_pattern_matches_uart_poll_loop_variants)
{
	/* in al,dx; test al,0x20 | test al,0x60 | and al,0x20; jz back to the in */
	static const uint8_t t20[] = { 0xec, 0xa8, 0x20, 0x74, 0xfb, 0x90 };
	static const uint8_t t60[] = { 0xec, 0xa8, 0x60, 0x74, 0xfb };
	static const uint8_t and20[] = { 0xec, 0x24, 0x20, 0x74, 0xfb };
	unsigned len;

	ck_assert_int_eq(match(t20, sizeof(t20), NULL, 0, &len), SOFT_PAT_UART_TX);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(match(t60, sizeof(t60), NULL, 0, &len), SOFT_PAT_UART_TX);
	ck_assert_int_eq(match(and20, sizeof(and20), NULL, 0, &len), SOFT_PAT_UART_TX);
	ck_assert_uint_eq(len, 3);
}
END_TEST

START_TEST(test_pattern_rejects_other_poll_loops)
{
	static const uint8_t other_bit[] = { 0xec, 0xa8, 0x01, 0x74, 0xfb };	  /* test al,1 */
	static const uint8_t jnz[] = { 0xec, 0xa8, 0x20, 0x75, 0xfb };		  /* jnz */
	static const uint8_t forward[] = { 0xec, 0xa8, 0x20, 0x74, 0x10 };	  /* jz ahead */
	static const uint8_t imm_port[] = { 0xe4, 0x61, 0xa8, 0x20, 0x74, 0xfa }; /* in al,0x61 */
	static const uint8_t and_ax[] = { 0xec, 0x66, 0x25, 0x20, 0x00, 0x74, 0xf9 };
	unsigned len;

	ck_assert_int_eq(match(other_bit, sizeof(other_bit), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(jnz, sizeof(jnz), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(forward, sizeof(forward), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(imm_port, sizeof(imm_port), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(and_ax, sizeof(and_ax), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_pattern_matches_pic_eoi)
{
	static const uint8_t pair[] = { 0xe6, 0xa0, 0xe6, 0x20, 0xcf }; /* out a0; out 20 */
	static const uint8_t pair_mov[] = {
		0xe6, 0xa0, 0xb0, 0x20, 0xe6, 0x20
	}; /* mov al,0x20 between */
	static const uint8_t master[] = { 0xe6, 0x20, 0xcf };
	static const uint8_t mov20[] = { 0xb0, 0x20 };
	unsigned len;

	ck_assert_int_eq(match(pair, sizeof(pair), NULL, 0, &len), SOFT_PAT_PIC_EOI);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(match(pair_mov, sizeof(pair_mov), NULL, 0, &len), SOFT_PAT_PIC_EOI);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(match(master, sizeof(master), mov20, sizeof(mov20), &len),
			 SOFT_PAT_PIC_EOI);
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_pattern_rejects_non_eoi_pic_writes)
{
	static const uint8_t master[] = { 0xe6, 0x20, 0xcf };
	static const uint8_t mov11[] = { 0xb0, 0x11 }; /* ICW1, not an EOI */
	static const uint8_t slave_then_mask[] = { 0xe6, 0xa0, 0xe6, 0x21 };
	static const uint8_t slave_mov_other[] = { 0xe6, 0xa0, 0xb0, 0x60, 0xe6, 0x20 };
	unsigned len;

	ck_assert_int_eq(match(master, sizeof(master), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(master, sizeof(master), mov11, sizeof(mov11), &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(slave_then_mask, sizeof(slave_then_mask), NULL, 0, &len),
			 SOFT_PAT_NONE);
	ck_assert_int_eq(match(slave_mov_other, sizeof(slave_mov_other), NULL, 0, &len),
			 SOFT_PAT_NONE);
}
END_TEST

START_TEST(test_pattern_matches_pit_reload_and_cmos)
{
	/* out 0x43,al; mov al,0x9c; out 0x40,al; mov al,bl; out 0x40,al; hlt */
	static const uint8_t pit[] = { 0xe6, 0x43, 0xb0, 0x9c, 0xe6, 0x40,
				       0x88, 0xd8, 0xe6, 0x40, 0xf4 };
	/* out 0x70,al; in al,0x71; mov [ebx],al; mov al,2; out 0x70,al; in al,0x71; hlt */
	static const uint8_t cmos_rd[] = { 0xe6, 0x70, 0xe4, 0x71, 0x88, 0x03, 0xb0,
					   0x02, 0xe6, 0x70, 0xe4, 0x71, 0xf4 };
	/* out 0x70,al; mov al,5; out 0x71,al */
	static const uint8_t cmos_wr[] = { 0xe6, 0x70, 0xb0, 0x05, 0xe6, 0x71 };
	unsigned len;

	ck_assert_int_eq(match(pit, sizeof(pit), NULL, 0, &len), SOFT_PAT_PIT_LOAD);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(match(cmos_rd, sizeof(cmos_rd), NULL, 0, &len), SOFT_PAT_CMOS);
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(match(cmos_wr, sizeof(cmos_wr), NULL, 0, &len), SOFT_PAT_CMOS);
	ck_assert_uint_eq(len, 3);
}
END_TEST

START_TEST(test_pattern_rejects_partial_pit_and_lone_cmos_index)
{
	static const uint8_t pit_ch2[] = { 0xe6, 0x43, 0xe6, 0x42, 0xe6, 0x42 };
	static const uint8_t pit_one[] = { 0xe6, 0x43, 0xe6, 0x40, 0xf4 };
	/* a memory mov between PIT writes could fault after the irqchip saw one */
	static const uint8_t pit_mem[] = { 0xe6, 0x43, 0x8a, 0x03, 0xe6, 0x40, 0xe6, 0x40 };
	static const uint8_t cmos_index[] = { 0xe6, 0x70, 0xf4 };
	unsigned len;

	ck_assert_int_eq(match(pit_ch2, sizeof(pit_ch2), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(pit_one, sizeof(pit_one), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(pit_mem, sizeof(pit_mem), NULL, 0, &len), SOFT_PAT_NONE);
	ck_assert_int_eq(match(cmos_index, sizeof(cmos_index), NULL, 0, &len), SOFT_PAT_NONE);
}
END_TEST

/* ---- units on the soft accelerator ---- */

#define RAM_SIZE   (1u << 20)
#define CODE	   0x1000
#define GP_HANDLER 0x2000
#define WATCH	   0x500

struct dev_state {
	unsigned lsr_reads; /* LSR reads so far: THRE is set from thre_after on */
	unsigned cmos_accesses;
	uint8_t index;
	uint8_t cmos[128];
};

struct fake {
	struct accel *a;
	struct accel_vcpu *cpu;
	uint8_t *ram;
	struct dev_state dev, saved;
	unsigned thre_after;
	bool armed;
	unsigned checkpoints, rollbacks, commits;
	char out[64];
	unsigned nout;
	/* the CPU at the last checkpoint; CPU and watched byte at the first checkpoint and rollback
	 */
	struct kvm_regs at_ckpt, at_rollback;
	uint8_t mem_ckpt, mem_rollback;
	bool rollback_regs_match; /* every rollback so far saw the checkpoint's registers */
};

static int fake_pio(void *opaque, int cpu, uint16_t port, void *data, unsigned size, bool write)
{
	struct fake *f = opaque;
	uint8_t *b = data;

	(void)cpu;
	if (size != 1)
		return -ENOENT;
	switch (port) {
	case 0x3fd:
		if (write)
			return 0;
		*b = f->dev.lsr_reads++ >= f->thre_after ? 0x60 : 0x00;
		return 0;
	case 0x3f8:
		if (write && f->nout < sizeof(f->out) - 1)
			f->out[f->nout++] = (char)*b;
		return 0;
	case 0x70:
		f->dev.cmos_accesses++;
		if (write)
			f->dev.index = *b & 0x7f;
		return 0;
	case 0x71:
		f->dev.cmos_accesses++;
		if (write)
			f->dev.cmos[f->dev.index] = *b;
		else
			*b = f->dev.cmos[f->dev.index];
		return 0;
	default:
		return -ENOENT;
	}
}

static int fake_mmio(void *opaque, int cpu, uint64_t gpa, void *data, unsigned size, bool write)
{
	(void)opaque;
	(void)cpu;
	(void)gpa;
	if (!write)
		memset(data, 0xff, size);
	return -ENOENT;
}

static int fake_checkpoint(void *opaque, int cpu)
{
	struct fake *f = opaque;

	(void)cpu;
	if (f->armed)
		return -EINVAL;
	f->armed = true;
	f->saved = f->dev;
	accel_soft_ops.get_regs(f->cpu, &f->at_ckpt);
	if (!f->checkpoints++)
		f->mem_ckpt = f->ram[WATCH];
	return 0;
}

static void fake_rollback(void *opaque, int cpu)
{
	struct fake *f = opaque;
	struct kvm_regs r;

	(void)cpu;
	ck_assert(f->armed);
	f->dev = f->saved;
	f->armed = false;
	accel_soft_ops.get_regs(f->cpu, &r);
	if (memcmp(&f->at_ckpt, &r, sizeof(r)))
		f->rollback_regs_match = false;
	if (!f->rollbacks++) {
		f->at_rollback = r;
		f->mem_rollback = f->ram[WATCH];
	}
}

static void fake_commit(void *opaque, int cpu)
{
	struct fake *f = opaque;

	(void)cpu;
	ck_assert(f->armed);
	f->armed = false;
	f->commits++;
}

static struct accel_io_handler fake_io = {
	.pio = fake_pio,
	.mmio = fake_mmio,
	.checkpoint = fake_checkpoint,
	.rollback = fake_rollback,
	.commit = fake_commit,
};

/* A real-mode CPU at 0:CODE running code, with #GP (vector 13) going to a hlt. */
static void fake_start(struct fake *f, const uint8_t *code, unsigned len)
{
	struct accel_vm_params vp = { .ncpus = 1, .io = &fake_io };
	struct kvm_sregs s;
	struct kvm_regs r = { .rip = CODE, .rflags = 2, .rsp = 0x8000 };

	memset(f, 0, sizeof(*f));
	f->rollback_regs_match = true;
	fake_io.opaque = f;
	ck_assert_int_eq(accel_soft_ops.vm_create(&vp, &f->a), 0);
	f->ram = aligned_alloc(4096, RAM_SIZE);
	ck_assert_ptr_nonnull(f->ram);
	memset(f->ram, 0, RAM_SIZE);
	memcpy(f->ram + CODE, code, len);
	f->ram[GP_HANDLER] = 0xf4;
	f->ram[13 * 4] = GP_HANDLER & 0xff;
	f->ram[13 * 4 + 1] = GP_HANDLER >> 8;
	ck_assert_int_eq(accel_soft_ops.set_memory_region(f->a, 0, 0, RAM_SIZE, f->ram, 0), 0);
	ck_assert_int_eq(accel_soft_ops.vcpu_create(f->a, 0, &f->cpu), 0);
	ck_assert_int_eq(accel_soft_ops.get_sregs(f->cpu, &s), 0);
	s.cs.selector = 0;
	s.cs.base = 0;
	ck_assert_int_eq(accel_soft_ops.set_sregs(f->cpu, &s), 0);
	ck_assert_int_eq(accel_soft_ops.set_regs(f->cpu, &r), 0);
}

/* Runs to the hlt (IF is clear: the vCPU exits) and returns where it stopped. */
static uint64_t fake_run(struct fake *f)
{
	struct accel_exit *e;
	struct kvm_regs r;

	ck_assert_int_eq(accel_soft_ops.vcpu_run(f->cpu, &e), 0);
	ck_assert_int_eq(e->reason, ACCEL_EXIT_HLT);
	ck_assert(!f->armed);
	accel_soft_ops.get_regs(f->cpu, &r);
	return r.rip;
}

static const struct soft_run_stats *fake_stats(struct fake *f)
{
	return &((struct soft_vcpu *)f->cpu)->st;
}

static void fake_stop(struct fake *f)
{
	accel_soft_ops.vcpu_destroy(f->cpu);
	accel_soft_ops.vm_destroy(f->a);
	free(f->ram);
}

/* mov dx,0x3fd; 1: in al,dx; test al,0x20; jz 1b; mov dx,0x3f8; mov al,'A'; out dx,al; hlt */
static const uint8_t uart_code[] = { 0xba, 0xfd, 0x03, 0xec, 0xa8, 0x20, 0x74, 0xfb,
				     0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0xf4 };

START_TEST(test_uart_poll_runs_as_one_unit)
{
	struct fake f;

	fake_start(&f, uart_code, sizeof(uart_code));
	ck_assert_uint_eq(fake_run(&f), CODE + sizeof(uart_code));
	ck_assert_str_eq(f.out, "A");
	ck_assert_uint_eq(f.dev.lsr_reads, 1);
	ck_assert_uint_eq(fake_stats(&f)->pattern_hits, 1);
	ck_assert_uint_eq(fake_stats(&f)->pattern_rollbacks, 0);
	ck_assert_uint_eq(f.checkpoints, 1);
	ck_assert_uint_eq(f.commits, 1);
	ck_assert_uint_eq(f.rollbacks, 0);
	fake_stop(&f);
}
END_TEST

START_TEST(test_uart_poll_rolls_back_when_the_jz_is_taken)
{
	struct fake f;

	fake_start(&f, uart_code, sizeof(uart_code));
	f.thre_after = 2; /* two busy reads, then THRE */
	ck_assert_uint_eq(fake_run(&f), CODE + sizeof(uart_code));
	ck_assert_str_eq(f.out, "A");
	/* the guest read LSR three times; rolled-back reads were undone in the device */
	ck_assert_uint_eq(f.dev.lsr_reads, 3);
	ck_assert_uint_eq(fake_stats(&f)->pattern_rollbacks, 2);
	ck_assert_uint_eq(fake_stats(&f)->pattern_hits, 1);
	ck_assert_uint_eq(f.rollbacks, 2);
	ck_assert_uint_eq(f.commits, 1);
	/* at each rollback the CPU was back where the unit began: at the in, AL unread */
	ck_assert(f.rollback_regs_match);
	ck_assert_uint_eq(f.at_rollback.rip, CODE + 3);
	fake_stop(&f);
}
END_TEST

/*
 * mov ebx,0x12345; mov si,0x500; mov al,4; out 0x70,al; in al,0x71; mov [si],al;
 * mov al,2; out 0x70,al; in al,0x71; mov [ebx],al (#GP: beyond DS's limit); hlt
 */
static const uint8_t cmos_code[] = { 0x66, 0xbb, 0x45, 0x23, 0x01, 0x00, 0xbe, 0x00, 0x05,
				     0xb0, 0x04, 0xe6, 0x70, 0xe4, 0x71, 0x88, 0x04, 0xb0,
				     0x02, 0xe6, 0x70, 0xe4, 0x71, 0x67, 0x88, 0x03, 0xf4 };

START_TEST(test_cmos_unit_rollback_restores_memory_registers_and_device)
{
	struct fake f;

	fake_start(&f, cmos_code, sizeof(cmos_code));
	f.ram[WATCH] = 0xaa;
	f.dev.cmos[4] = 0x12;
	f.dev.cmos[2] = 0x34;
	/* the #GP handler's hlt: the store to [ebx] faulted */
	ck_assert_uint_eq(fake_run(&f), GP_HANDLER + 1);
	/*
	 * Both index writes start a unit that reaches the faulting store: the first
	 * from out 0x70 at CODE + 11 (it had stored to [si]), the second at CODE + 19.
	 */
	ck_assert_uint_eq(fake_stats(&f)->pattern_rollbacks, 2);
	ck_assert_uint_eq(fake_stats(&f)->pattern_hits, 0);
	ck_assert_uint_eq(f.rollbacks, 2);
	ck_assert_uint_eq(f.commits, 0);
	/* at the first rollback: the store to [si] undone, the registers as at the checkpoint */
	ck_assert_uint_eq(f.mem_ckpt, 0xaa);
	ck_assert_uint_eq(f.mem_rollback, 0xaa);
	ck_assert(f.rollback_regs_match);
	ck_assert_uint_eq(f.at_rollback.rip, CODE + 11);
	ck_assert_uint_eq(f.at_rollback.rax & 0xff, 0x04);
	/* then the instructions ran the normal way: four accesses, as without patterns */
	ck_assert_uint_eq(f.ram[WATCH], 0x12);
	ck_assert_uint_eq(f.ram[0x12345], 0);
	ck_assert_uint_eq(f.dev.cmos_accesses, 4);
	ck_assert_uint_eq(f.dev.index, 2);
	fake_stop(&f);
}
END_TEST

/* mov al,0x20; out 0xa0,al; out 0x20,al; mov al,0x34; out 0x43,al; mov al,0x9c; out 0x40,al;
 * mov al,bl; out 0x40,al; hlt */
static const uint8_t pic_pit_code[] = { 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0xb0, 0x34, 0xe6, 0x43,
					0xb0, 0x9c, 0xe6, 0x40, 0x88, 0xd8, 0xe6, 0x40, 0xf4 };

START_TEST(test_eoi_and_pit_reload_run_as_units)
{
	struct fake f;

	fake_start(&f, pic_pit_code, sizeof(pic_pit_code));
	ck_assert_uint_eq(fake_run(&f), CODE + sizeof(pic_pit_code));
	ck_assert_uint_eq(fake_stats(&f)->pattern_hits, 2);
	ck_assert_uint_eq(fake_stats(&f)->pattern_rollbacks, 0);
	ck_assert_uint_eq(f.commits, 2);
	fake_stop(&f);
}
END_TEST

static Suite *pattern_suite(void)
{
	Suite *s = suite_create("soft_pattern");
	TCase *m = tcase_create("match");
	TCase *u = tcase_create("units");

	tcase_add_test(m, test_pattern_matches_uart_poll_loop_variants);
	tcase_add_test(m, test_pattern_rejects_other_poll_loops);
	tcase_add_test(m, test_pattern_matches_pic_eoi);
	tcase_add_test(m, test_pattern_rejects_non_eoi_pic_writes);
	tcase_add_test(m, test_pattern_matches_pit_reload_and_cmos);
	tcase_add_test(m, test_pattern_rejects_partial_pit_and_lone_cmos_index);
	tcase_add_test(u, test_uart_poll_runs_as_one_unit);
	tcase_add_test(u, test_uart_poll_rolls_back_when_the_jz_is_taken);
	tcase_add_test(u, test_cmos_unit_rollback_restores_memory_registers_and_device);
	tcase_add_test(u, test_eoi_and_pit_reload_run_as_units);
	suite_add_tcase(s, m);
	suite_add_tcase(s, u);
	return s;
}

int main(void)
{
	return cove_check_run(pattern_suite());
}
