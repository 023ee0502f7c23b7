/* SPDX-License-Identifier: MIT */
/*
 * The x87/SSE state of the soft accelerator through accel.h: its reset values, a set_fpu /
 * get_fpu round trip, and what real-mode guest code (x87 pushes and arithmetic, an SSE addps on
 * registers the VMM set) leaves in struct kvm_fpu, and how MMX instructions and emms change
 * the x87 registers they alias. This is what snapshots and a later move to KVM read.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu/accel.h"
#include "../check_main.h"

#define RAM_SIZE (1u << 20)
#define CODE	 0x1000

struct vm {
	struct accel *a;
	struct accel_vcpu *cpu;
	uint8_t *ram;
};

static int no_pio(void *opaque, int cpu, uint16_t port, void *data, unsigned size, bool write)
{
	(void)opaque;
	(void)cpu;
	(void)port;
	(void)write;
	memset(data, 0xff, size);
	return 0;
}

static int no_mmio(void *opaque, int cpu, uint64_t addr, void *data, unsigned size, bool write)
{
	(void)opaque;
	(void)cpu;
	(void)addr;
	(void)write;
	memset(data, 0xff, size);
	return 0;
}

static const struct accel_io_handler io = { .pio = no_pio, .mmio = no_mmio };

/* A real-mode vCPU at 0:CODE with code there. */
static void start(struct vm *v, const uint8_t *code, unsigned len)
{
	struct accel_vm_params vp = { .ncpus = 1, .io = &io };
	struct kvm_regs r = { .rip = CODE, .rflags = 2, .rsp = 0x8000 };
	struct kvm_sregs s;

	ck_assert_int_eq(accel_soft_ops.vm_create(&vp, &v->a), 0);
	v->ram = aligned_alloc(4096, RAM_SIZE);
	ck_assert_ptr_nonnull(v->ram);
	memset(v->ram, 0, RAM_SIZE);
	memcpy(v->ram + CODE, code, len);
	ck_assert_int_eq(accel_soft_ops.set_memory_region(v->a, 0, 0, RAM_SIZE, v->ram, 0), 0);
	ck_assert_int_eq(accel_soft_ops.vcpu_create(v->a, 0, &v->cpu), 0);
	ck_assert_int_eq(accel_soft_ops.get_sregs(v->cpu, &s), 0);
	s.cs.selector = 0;
	s.cs.base = 0;
	ck_assert_int_eq(accel_soft_ops.set_sregs(v->cpu, &s), 0);
	ck_assert_int_eq(accel_soft_ops.set_regs(v->cpu, &r), 0);
}

static void stop(struct vm *v)
{
	accel_soft_ops.vcpu_destroy(v->cpu);
	accel_soft_ops.vm_destroy(v->a);
	free(v->ram);
}

static const uint8_t hlt[] = { 0xf4 };

static void set_f32(uint8_t *x, float a, float b, float c, float d)
{
	float v[4] = { a, b, c, d };

	memcpy(x, v, 16);
}

START_TEST(test_fpu_reset_state_is_the_sdm_one)
{
	struct vm v;
	struct kvm_fpu f;

	start(&v, hlt, sizeof(hlt));
	ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, &f), 0);
	ck_assert_uint_eq(f.fcw, 0x37f);
	ck_assert_uint_eq(f.fsw, 0);
	ck_assert_uint_eq(f.ftwx, 0);
	ck_assert_uint_eq(f.mxcsr, 0x1f80);
	stop(&v);
}
END_TEST

START_TEST(test_fpu_set_then_get_returns_the_state)
{
	struct vm v;
	struct kvm_fpu in, out;

	start(&v, hlt, sizeof(hlt));
	memset(&in, 0, sizeof(in));
	for (unsigned k = 0; k < 8; k++)
		for (unsigned b = 0; b < 10; b++)
			in.fpr[k][b] = (uint8_t)(k * 16 + b + 1);
	for (unsigned k = 0; k < 16; k++)
		for (unsigned b = 0; b < 16; b++)
			in.xmm[k][b] = (uint8_t)(k ^ (b << 4));
	in.fcw = 0x027f;
	in.fsw = 5u << 11 | 0x0100; /* TOP 5, C0 */
	in.ftwx = 0xe0;
	in.last_opcode = 0x1eb;
	in.last_ip = 0x1234;
	in.last_dp = 0x5678;
	in.mxcsr = 0x9fc0 | (1u << 20); /* FZ, DAZ, masks; bit 20 is reserved */
	ck_assert_int_eq(accel_soft_ops.set_fpu(v.cpu, &in), 0);
	ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, &out), 0);
	ck_assert_mem_eq(out.fpr, in.fpr, sizeof(in.fpr));
	ck_assert_mem_eq(out.xmm, in.xmm, sizeof(in.xmm));
	ck_assert_uint_eq(out.fcw, in.fcw);
	ck_assert_uint_eq(out.fsw, in.fsw);
	ck_assert_uint_eq(out.ftwx, in.ftwx);
	ck_assert_uint_eq(out.last_opcode, in.last_opcode);
	ck_assert_uint_eq(out.last_ip, in.last_ip);
	ck_assert_uint_eq(out.last_dp, in.last_dp);
	ck_assert_uint_eq(out.mxcsr, 0x9fc0);
	stop(&v);
}
END_TEST

START_TEST(test_guest_x87_and_sse_results_show_in_get_fpu)
{
	static const uint8_t code[] = {
		0x0f, 0x20, 0xe0,		    /* mov eax, cr4 */
		0x66, 0x0d, 0x00, 0x02, 0x00, 0x00, /* or eax, CR4.OSFXSR */
		0x0f, 0x22, 0xe0,		    /* mov cr4, eax */
		0xdb, 0xe3,			    /* fninit */
		0xd9, 0xe8,			    /* fld1 */
		0xd9, 0xe8,			    /* fld1 */
		0xde, 0xc1,			    /* faddp st1, st0: 2.0 */
		0xd9, 0xeb,			    /* fldpi (at CODE + 20) */
		0x0f, 0x58, 0xc1,		    /* addps xmm0, xmm1 */
		0xf4,				    /* hlt */
	};
	static const uint8_t pi80[10] = {
		0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40
	};
	static const uint8_t two80[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x40 };
	struct vm v;
	struct kvm_fpu f;
	struct accel_exit *e;
	uint8_t want[16];

	start(&v, code, sizeof(code));
	ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, &f), 0);
	set_f32(f.xmm[0], 1, 2, 3, 4);
	set_f32(f.xmm[1], 10, 20, 30, 40);
	ck_assert_int_eq(accel_soft_ops.set_fpu(v.cpu, &f), 0);
	ck_assert_int_eq(accel_soft_ops.vcpu_run(v.cpu, &e), 0);
	ck_assert_int_eq(e->reason, ACCEL_EXIT_HLT);
	ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, &f), 0);
	ck_assert_uint_eq((f.fsw >> 11) & 7, 6); /* two pushes left: TOP 6 */
	ck_assert_uint_eq(f.ftwx, 0xc0);	 /* R6 and R7 */
	ck_assert_mem_eq(f.fpr[0], pi80, 10);
	ck_assert_mem_eq(f.fpr[1], two80, 10);
	ck_assert_uint_eq(f.last_opcode, 0x1eb); /* fldpi: D9 EB */
	ck_assert_uint_eq(f.last_ip, CODE + 20); /* real mode: the linear address */
	set_f32(want, 11, 22, 33, 44);
	ck_assert_mem_eq(f.xmm[0], want, 16);
	ck_assert_uint_eq(f.mxcsr, 0x1f80); /* exact sums: no flag */
	stop(&v);
}
END_TEST

/* Runs code to its hlt with EAX set; the state as get_fpu reads it. */
static void run_with_eax(const uint8_t *code, unsigned len, uint32_t eax, struct kvm_fpu *f)
{
	struct vm v;
	struct kvm_regs r;
	struct accel_exit *e;

	start(&v, code, len);
	ck_assert_int_eq(accel_soft_ops.get_regs(v.cpu, &r), 0);
	r.rax = eax;
	ck_assert_int_eq(accel_soft_ops.set_regs(v.cpu, &r), 0);
	ck_assert_int_eq(accel_soft_ops.vcpu_run(v.cpu, &e), 0);
	ck_assert_int_eq(e->reason, ACCEL_EXIT_HLT);
	ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, f), 0);
	stop(&v);
}

static const uint8_t one80[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };

/* SDM Vol.1 Table 9-2: an MMX write sets TOP 0, every tag valid, MMn = Rn, bits 79:64 all 1s. */
START_TEST(test_mmx_write_resets_top_tags_all_valid_exponent_all_ones)
{
	static const uint8_t code[] = {
		0xdb, 0xe3,	  /* fninit */
		0xd9, 0xe8,	  /* fld1: R7 */
		0xd9, 0xe8,	  /* fld1: R6 */
		0xd9, 0xe8,	  /* fld1: R5, TOP 5 */
		0x0f, 0x6e, 0xd0, /* movd mm2, eax */
		0xf4,		  /* hlt */
	};
	static const uint8_t mm2[10] = { 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0xff, 0xff };
	struct kvm_fpu f;

	run_with_eax(code, sizeof(code), 0x12345678, &f);
	ck_assert_uint_eq((f.fsw >> 11) & 7, 0);
	ck_assert_uint_eq(f.fsw & ~0x3800u, 0); /* nothing else in FSW changes */
	ck_assert_uint_eq(f.ftwx, 0xff);
	/* with TOP 0, ST(n) is Rn: MM2 in fpr[2], the three pushes unchanged in R5-R7 */
	ck_assert_mem_eq(f.fpr[2], mm2, 10);
	for (unsigned k = 5; k < 8; k++)
		ck_assert_mem_eq(f.fpr[k], one80, 10);
}
END_TEST

/* emms empties every tag and keeps the contents: a push after it does not overflow. */
START_TEST(test_emms_empties_tags_so_a_push_does_not_overflow)
{
	static const uint8_t code[] = {
		0x0f, 0x6e, 0xc8, /* movd mm1, eax: every tag valid */
		0x0f, 0x77,	  /* emms */
		0xd9, 0xe8,	  /* fld1: R7, TOP 7 */
		0xf4,		  /* hlt */
	};
	static const uint8_t mm1[10] = { 0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0, 0xff, 0xff };
	struct kvm_fpu f;

	run_with_eax(code, sizeof(code), 0xdeadbeef, &f);
	ck_assert_uint_eq((f.fsw >> 11) & 7, 7);
	ck_assert_uint_eq(f.fsw & 0x41u /* IE, SF */, 0); /* no stack overflow */
	ck_assert_uint_eq(f.ftwx, 0x80);
	ck_assert_mem_eq(f.fpr[0], one80, 10); /* ST(0) = R7 */
	ck_assert_mem_eq(f.fpr[2], mm1, 10);   /* ST(2) = R1 = MM1, kept by emms */
}
END_TEST

/* The real-mode IVT entry for vector n -> 0:at, where a hlt waits. */
static void handler_at(uint8_t *ram, unsigned n, uint16_t at)
{
	ram[4 * n] = (uint8_t)at;
	ram[4 * n + 1] = (uint8_t)(at >> 8);
	ram[4 * n + 2] = ram[4 * n + 3] = 0;
	ram[at] = 0xf4;
}

/*
 * SDM Vol.2 MOVD/MOVQ "Exceptions": #UD with CR0.EM, #NM with CR0.TS, #MF
 * for a pending unmasked x87 exception (CR0.NE = 1); a faulting instruction
 * leaves the tags alone.
 */
START_TEST(test_mmx_raises_ud_with_em_nm_with_ts_mf_when_x87_exception_pending)
{
	static const uint8_t code[] = {
		0x0f, 0x6e, 0xc0, /* movd mm0, eax */
		0xf4,		  /* hlt */
	};
	static const struct {
		uint64_t cr0;
		bool pending; /* IE set and unmasked */
		uint64_t rip; /* after the hlt of the handler that ran */
	} c[] = { { 1u << 2, false, 0x2001 },
		  { 1u << 3, false, 0x3001 },
		  { 1u << 5, true, 0x4001 },
		  { 1u << 5, false, CODE + 4 } };

	for (unsigned k = 0; k < 4; k++) {
		struct vm v;
		struct kvm_sregs s;
		struct kvm_regs r;
		struct kvm_fpu f;
		struct accel_exit *e;

		start(&v, code, sizeof(code));
		handler_at(v.ram, 6, 0x2000);
		handler_at(v.ram, 7, 0x3000);
		handler_at(v.ram, 16, 0x4000);
		ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, &f), 0);
		if (c[k].pending) {
			f.fcw = 0x37e;
			f.fsw = 0x0001;
		}
		ck_assert_int_eq(accel_soft_ops.set_fpu(v.cpu, &f), 0);
		ck_assert_int_eq(accel_soft_ops.get_sregs(v.cpu, &s), 0);
		s.cr0 |= c[k].cr0;
		ck_assert_int_eq(accel_soft_ops.set_sregs(v.cpu, &s), 0);
		ck_assert_int_eq(accel_soft_ops.vcpu_run(v.cpu, &e), 0);
		ck_assert_int_eq(e->reason, ACCEL_EXIT_HLT);
		ck_assert_int_eq(accel_soft_ops.get_regs(v.cpu, &r), 0);
		ck_assert_uint_eq(r.rip, c[k].rip);
		ck_assert_int_eq(accel_soft_ops.get_fpu(v.cpu, &f), 0);
		ck_assert_uint_eq(f.ftwx, c[k].rip == CODE + 4 ? 0xff : 0);
		stop(&v);
	}
}
END_TEST

static Suite *fpu_suite(void)
{
	Suite *s = suite_create("soft_fpu");
	TCase *t = tcase_create("state");

	tcase_add_test(t, test_fpu_reset_state_is_the_sdm_one);
	tcase_add_test(t, test_fpu_set_then_get_returns_the_state);
	tcase_add_test(t, test_guest_x87_and_sse_results_show_in_get_fpu);
	tcase_add_test(t, test_mmx_write_resets_top_tags_all_valid_exponent_all_ones);
	tcase_add_test(t, test_emms_empties_tags_so_a_push_does_not_overflow);
	tcase_add_test(t, test_mmx_raises_ud_with_em_nm_with_ts_mf_when_x87_exception_pending);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return cove_check_run(fpu_suite());
}
