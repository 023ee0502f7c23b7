// SPDX-License-Identifier: MIT
/*
 * Soft CPU paging and TLB (src/vcpu/soft/mmu.c): walks in every paging mode,
 * #PF error codes and CR2, accessed/dirty flags, the TLB's flush rules, split
 * accesses, locked read-modify-writes, code and descriptor-table pages.
 *
 * The machine around the MMU (soft.c's slot map, frame.c's code pages) is not
 * part of this test: the soft_vm_* and soft_frame_* functions below stand in
 * for it, backed by a plain buffer of guest RAM. seg.c and excp.c are the real
 * ones.
 */
#include <check.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu/soft/cpu.h"
#include "vcpu/soft/excp.h"
#include "vcpu/soft/frame.h"
#include "vcpu/soft/mem.h"
#include "vcpu/soft/mmu.h"
#include "vcpu/soft/soft_vm.h"
#include "vcpu/soft/sys_priv.h"
#include "../check_main.h"

#define RAM_SIZE (32ull << 20)
#define ROM_GPA	 0x1f00000ull /* a read-only slot: [ROM_GPA, ROM_GPA + 64K) */
#define ROM_SIZE 0x10000ull

/* --- the test double for the machine --- */

struct soft_vm {
	uint8_t *ram;
	uint64_t gen;
	uint64_t code_page; /* a page with frames, or ~0 */
	unsigned written_calls;
	uint64_t written_gpa, written_len;
	unsigned flush_others;
	unsigned mmio_reads, mmio_writes;
	uint64_t mmio_gpa;
	unsigned mmio_size;
	uint64_t mmio_data;
};

uint8_t *soft_vm_ram(struct soft_vm *vm, uint64_t gpa, uint64_t len, bool *writable)
{
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	bool in_rom = gpa >= ROM_GPA && gpa < ROM_GPA + ROM_SIZE;
	if (in_rom != (gpa + len - 1 >= ROM_GPA && gpa + len - 1 < ROM_GPA + ROM_SIZE))
		return NULL; /* straddles two slots */
	*writable = !in_rom;
	return vm->ram + gpa;
}

/* No block RAM here: a miss stays a miss. */
uint8_t *soft_vm_ram_fault(struct soft_cpu *c, uint64_t gpa, uint64_t len, bool *writable)
{
	return soft_vm_ram(c->vm, gpa, len, writable);
}

void soft_vm_mmio(struct soft_cpu *c, uint64_t gpa, void *data, unsigned size, bool write)
{
	struct soft_vm *vm = c->vm;

	vm->mmio_gpa = gpa;
	vm->mmio_size = size;
	if (write) {
		vm->mmio_writes++;
		vm->mmio_data = 0;
		memcpy(&vm->mmio_data, data, size);
	} else {
		vm->mmio_reads++;
		memset(data, 0xab, size);
	}
}

uint64_t soft_vm_mem_generation(struct soft_vm *vm)
{
	return vm->gen;
}

void soft_vm_flush_others(struct soft_cpu *c)
{
	c->vm->flush_others++;
}

/* One vCPU: the split lock guards nothing here. */
void soft_vm_split_lock(struct soft_vm *vm)
{
	(void)vm;
}

void soft_vm_split_unlock(struct soft_vm *vm)
{
	(void)vm;
}

unsigned soft_vm_ncpus(struct soft_vm *vm)
{
	(void)vm;
	return 1;
}

bool soft_frame_page_has_code(struct soft_vm *vm, uint64_t gpa)
{
	return (gpa & ~0xfffull) == vm->code_page;
}

void soft_frame_written(struct soft_vm *vm, struct soft_cpu *c, uint64_t gpa, uint64_t len)
{
	(void)c;
	vm->written_calls++;
	vm->written_gpa = gpa;
	vm->written_len = len;
}

/* --- fixture --- */

static struct soft_vm vm;
static struct soft_cpu *c;
static uint64_t next_table;

#define P  (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A  (1ull << 5)
#define D  (1ull << 6)
#define PS (1ull << 7)
#define G  (1ull << 8)
#define XD (1ull << 63)

/* Runs stmt; evaluates to the vector it raised, or -1. */
#define RAISED(stmt)                                                                               \
	({                                                                                         \
		volatile int v_ = -1;                                                              \
		if (setjmp(c->fault_jmp) == 0) {                                                   \
			stmt;                                                                      \
		} else {                                                                           \
			v_ = c->segs.excp.vector;                                                  \
		}                                                                                  \
		v_;                                                                                \
	})

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.ram = calloc(1, RAM_SIZE);
	vm.code_page = ~0ull;
	ck_assert_ptr_nonnull(vm.ram);
	c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->vm = &vm;
	next_table = 0x100000;
	soft_seg_init(c);
}

static void teardown(void)
{
	soft_seg_destroy(c);
	free(c);
	free(vm.ram);
}

static uint64_t table_new(void)
{
	uint64_t g = next_table;

	next_table += 4096;
	memset(vm.ram + g, 0, 4096);
	return g;
}

static uint64_t *q(uint64_t gpa)
{
	return (uint64_t *)(vm.ram + gpa);
}

static uint32_t *d(uint64_t gpa)
{
	return (uint32_t *)(vm.ram + gpa);
}

/* 64-bit mode at CPL 0 with 4-level paging, CR0.WP and EFER.NXE. */
static void long_mode(void)
{
	c->cr3 = table_new();
	c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP | X86_CR0_ET;
	c->cr4 = X86_CR4_PAE;
	c->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	c->seg[S_CS].l = 1;
	c->seg[S_CS].present = 1;
	c->seg[S_CS].type = 0xb;
	c->seg[S_SS].present = 1;
	c->seg[S_SS].type = 0x3;
	soft_mode_changed(c);
	soft_mmu_flush(c, true);
}

/*
 * 4-level: maps la to gpa with the leaf at level (1 = 4K, 2 = 2M, 3 = 1G).
 * Upper levels get P|RW|US so the leaf's flags decide. Returns the leaf's gpa.
 */
static uint64_t map64(uint64_t la, uint64_t gpa, int level, uint64_t flags)
{
	uint64_t table = c->cr3 & ~0xfffull;

	for (int l = 4; l > level; l--) {
		uint64_t eg = table + ((la >> (12 + 9 * (l - 1))) & 511) * 8;
		if (!(*q(eg) & P))
			*q(eg) = table_new() | P | RW | US;
		table = *q(eg) & 0xffffffffff000ull;
	}
	uint64_t eg = table + ((la >> (12 + 9 * (level - 1))) & 511) * 8;
	*q(eg) = gpa | flags | (level > 1 ? PS : 0);
	return eg;
}

/* The gpa of la's entry at level (1..4) in the current 4-level tables. */
static uint64_t entry64(uint64_t la, int level)
{
	uint64_t table = c->cr3 & ~0xfffull;

	for (int l = 4;; l--) {
		uint64_t eg = table + ((la >> (12 + 9 * (l - 1))) & 511) * 8;
		if (l == level)
			return eg;
		table = *q(eg) & 0xffffffffff000ull;
	}
}

static uint64_t pf_err(void)
{
	return c->segs.excp.errcode;
}

/* --- 4-level paging --- */

START_TEST(test_mmu_4level_4k_read_write_sets_accessed_then_dirty)
{
	long_mode();
	uint64_t la = 0x00007f1234567000ull, pte = map64(la, 0x200000, 1, P | RW);
	*q(0x200000 + 0x10) = 0x1122334455667788ull;

	ck_assert_uint_eq(soft_lin_read(c, la + 0x10, 8, SOFT_ACC_READ), 0x1122334455667788ull);
	for (int l = 1; l <= 4; l++)
		ck_assert(*q(entry64(la, l)) & A);
	ck_assert(!(*q(pte) & D));
	soft_lin_write(c, la + 0x20, 4, 0xdeadbeef, SOFT_ACC_WRITE);
	ck_assert_uint_eq(*d(0x200020), 0xdeadbeef);
	ck_assert(*q(pte) & D);
	/* Upper levels never get D (§4.8: only the entry that maps the page). */
	ck_assert(!(*q(entry64(la, 2)) & D));
}
END_TEST

START_TEST(test_mmu_4level_2m_page_maps_offset_inside_the_page)
{
	long_mode();
	uint64_t la = 0xffff800000200000ull;
	uint64_t pde = map64(la, 0x400000, 2, P | RW);
	*q(0x400000 + 0x12340) = 42;

	ck_assert_uint_eq(soft_lin_read(c, la + 0x12340, 8, SOFT_ACC_READ), 42);
	ck_assert(*q(pde) & A);
	soft_lin_write(c, la + 0x1ff000, 1, 7, SOFT_ACC_WRITE);
	ck_assert_uint_eq(vm.ram[0x400000 + 0x1ff000], 7);
	ck_assert(*q(pde) & D);
}
END_TEST

START_TEST(test_mmu_4level_1g_page_maps_offset_inside_the_page)
{
	long_mode();
	uint64_t la = 0x0000004000000000ull; /* PML4 index 0, PDPT index 256 */
	uint64_t pdpte = map64(la, 0, 3, P | RW);
	*q(0x1234568) = 0x55;

	ck_assert_uint_eq(soft_lin_read(c, la + 0x1234568, 8, SOFT_ACC_READ), 0x55);
	ck_assert(*q(pdpte) & A);
}
END_TEST

START_TEST(test_mmu_pml4e_with_ps_set_is_a_reserved_bit_fault)
{
	long_mode();
	uint64_t la = 0x1000;
	map64(la, 0x200000, 1, P | RW);
	*q(entry64(la, 4)) |= PS;

	ck_assert_int_eq(RAISED(soft_lin_read(c, la, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x9); /* P | RSVD */
	ck_assert_uint_eq(c->cr2, la);
}
END_TEST

/* --- 32-bit and PAE paging --- */

static void prot32(uint64_t cr4)
{
	c->cr3 = table_new();
	c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP | X86_CR0_ET;
	c->cr4 = cr4;
	c->efer = 0;
	c->seg[S_SS].present = 1;
	c->seg[S_SS].type = 0x3;
	c->seg[S_SS].db = 1;
	c->seg[S_SS].limit = 0xffffffff;
	c->seg[S_DS] = c->seg[S_SS];
	soft_mode_changed(c);
	soft_mmu_flush(c, true);
}

START_TEST(test_mmu_32bit_4k_and_4m_pages)
{
	prot32(X86_CR4_PSE);
	uint64_t pd = c->cr3, pt = table_new();
	/* 0x00401000 -> 0x300000 through a page table; 0x80000000 -> 0xc00000 as 4M. */
	*d(pd + 1 * 4) = (uint32_t)(pt | P | RW);
	*d(pt + 1 * 4) = 0x300000 | P | RW;
	*d(pd + 0x200 * 4) = 0xc00000 | P | RW | PS;
	*q(0x300000 + 8) = 0x1234;
	*q(0xc00000 + 0x3ffff8) = 0x5678;

	ck_assert_uint_eq(soft_lin_read(c, 0x00401008, 4, SOFT_ACC_READ), 0x1234);
	ck_assert_uint_eq(soft_lin_read(c, 0x803ffff8, 4, SOFT_ACC_READ), 0x5678);
	ck_assert(*d(pd + 4) & A);
	ck_assert(*d(pt + 4) & A);
	soft_lin_write(c, 0x80000000, 4, 1, SOFT_ACC_WRITE);
	ck_assert(*d(pd + 0x200 * 4) & D);
}
END_TEST

START_TEST(test_mmu_32bit_pse36_maps_above_4g)
{
	prot32(X86_CR4_PSE);
	/* PDE bits 16:13 are PA bits 35:32 (MAXPHYADDR 36, Table 4-4). */
	*d(c->cr3 + 0x100 * 4) = 0x400000 | (1u << 13) | P | RW | PS;

	soft_lin_read(c, 0x40000010, 4, SOFT_ACC_READ);
	ck_assert_uint_eq(vm.mmio_reads, 1);
	ck_assert_uint_eq(vm.mmio_gpa, 0x100400010ull);
	/* Bit 21 is reserved. */
	*d(c->cr3 + 0x101 * 4) = 0x400000 | (1u << 21) | P | RW | PS;
	ck_assert_int_eq(RAISED(soft_lin_read(c, 0x40400000, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x9);
}
END_TEST

START_TEST(test_mmu_32bit_without_pse_ignores_ps)
{
	prot32(0);
	uint64_t pt = table_new();
	*d(c->cr3) = (uint32_t)(pt | P | RW | PS);
	*d(pt + 5 * 4) = 0x300000 | P;
	*q(0x300000) = 99;

	ck_assert_uint_eq(soft_lin_read(c, 0x5000, 4, SOFT_ACC_READ), 99);
}
END_TEST

START_TEST(test_mmu_pae_4k_and_2m_pages)
{
	prot32(X86_CR4_PAE);
	c->efer = X86_EFER_NXE;
	uint64_t pdpt = c->cr3, pd = table_new(), pt = table_new();
	*q(pdpt + 2 * 8) = pd | P; /* 0x80000000..0xbfffffff */
	*q(pd + 1 * 8) = pt | P | RW;
	*q(pt + 3 * 8) = 0x500000 | P | RW;
	*q(pd + 2 * 8) = 0x600000 | P | RW | PS;
	*q(0x500000 + 0x10) = 0xabcd;
	*q(0x600000 + 0x100000) = 0xef01;

	ck_assert_uint_eq(soft_lin_read(c, 0x80203010, 8, SOFT_ACC_READ), 0xabcd);
	ck_assert_uint_eq(soft_lin_read(c, 0x80500000, 8, SOFT_ACC_READ), 0xef01);
	ck_assert(*q(pt + 3 * 8) & A);
	ck_assert(*q(pd + 2 * 8) & A);
	/* The PDPTE has no accessed flag in PAE paging (Table 4-8: bit 5 ignored). */
	ck_assert(!(*q(pdpt + 2 * 8) & A));
}
END_TEST

START_TEST(test_mmu_pae_pdpte_reserved_bit_faults_with_rsvd)
{
	prot32(X86_CR4_PAE);
	uint64_t pd = table_new();
	*q(c->cr3) = pd | P | RW; /* bit 1 is reserved in a PAE PDPTE */

	ck_assert_int_eq(RAISED(soft_lin_read(c, 0x1000, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x9);
	ck_assert_uint_eq(c->cr2, 0x1000);
}
END_TEST

/* --- #PF error codes --- */

START_TEST(test_mmu_not_present_fault_error_code_and_cr2)
{
	long_mode();
	uint64_t la = 0x7000123456ull;

	ck_assert_int_eq(RAISED(soft_lin_read(c, la, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0);
	ck_assert_uint_eq(c->cr2, la);
	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_lin_write(c, la + 8, 4, 0, SOFT_ACC_WRITE)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x6);
	ck_assert_uint_eq(c->cr2, la + 8);
}
END_TEST

START_TEST(test_mmu_write_to_read_only_page_obeys_cr0_wp)
{
	long_mode();
	uint64_t la = 0x10000;
	map64(la, 0x200000, 1, P | US);

	ck_assert_int_eq(RAISED(soft_lin_write(c, la, 4, 1, SOFT_ACC_WRITE)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x3);
	ck_assert_uint_eq(*d(0x200000), 0);
	/* CPL 3 faults whatever WP says. */
	c->cr0 &= ~X86_CR0_WP;
	soft_mmu_flush(c, true);
	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_lin_write(c, la, 4, 1, SOFT_ACC_WRITE)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x7);
	/* CPL 0 with WP = 0 writes read-only pages. */
	c->cpl = 0;
	ck_assert_int_eq(RAISED(soft_lin_write(c, la, 4, 0x77, SOFT_ACC_WRITE)), -1);
	ck_assert_uint_eq(*d(0x200000), 0x77);
	/* The supervisor's cached write translation does not serve CPL 3. */
	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_lin_write(c, la, 4, 1, SOFT_ACC_WRITE)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x7);
}
END_TEST

START_TEST(test_mmu_user_access_to_supervisor_page_faults_but_implicit_does_not)
{
	long_mode();
	uint64_t la = 0x20000;
	map64(la, 0x200000, 1, P | RW);
	*d(0x200000) = 5;

	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_lin_read(c, la, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x5);
	ck_assert_uint_eq(soft_lin_read(c, la, 4, SOFT_ACC_IMPLICIT), 5);
	/* The implicit access filled the TLB; the user access must still fault. */
	ck_assert_int_eq(RAISED(soft_lin_read(c, la, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x5);
}
END_TEST

START_TEST(test_mmu_nx_fetch_faults_with_id_bit)
{
	long_mode();
	uint64_t la = 0x30000, gpa;
	uint8_t buf[16];
	map64(la, 0x200000, 1, P | RW | XD);

	ck_assert_int_eq(RAISED(soft_fetch(c, la + 4, buf, 16, &gpa)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x11); /* P | I/D */
	ck_assert_uint_eq(c->cr2, la + 4);
	/* Data reads of the page are fine. */
	ck_assert_int_eq(RAISED(soft_lin_read(c, la, 4, SOFT_ACC_READ)), -1);
	/* Without EFER.NXE bit 63 is reserved, and I/D is not reported (§4.7). */
	c->efer &= ~X86_EFER_NXE;
	soft_mmu_flush(c, true);
	ck_assert_int_eq(RAISED(soft_fetch(c, la, buf, 16, &gpa)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x9);
}
END_TEST

START_TEST(test_mmu_reserved_physical_address_bit_faults_with_rsvd)
{
	long_mode();
	uint64_t la = 0x40000;
	map64(la, 0x200000 | (1ull << 40), 1, P | RW); /* MAXPHYADDR defaults to 36 */

	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_lin_write(c, la, 4, 0, SOFT_ACC_WRITE)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0xf); /* P | W | U | RSVD */
	/* Nothing was marked accessed by the failed walk. */
	ck_assert(!(*q(entry64(la, 1)) & A));
}
END_TEST

START_TEST(test_mmu_rmw_read_faults_as_a_write)
{
	long_mode();
	c->seg[S_DS].present = 1;
	c->seg[S_DS].type = 0x3;
	uint64_t la = 0x50000;
	map64(la, 0x200000, 1, P);

	ck_assert_int_eq(RAISED(soft_mem_read(c, S_DS, la, 8)), -1);
	ck_assert_int_eq(RAISED(soft_mem_read_rmw(c, S_DS, la, 8)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x3);
}
END_TEST

START_TEST(test_mmu_noncanonical_linear_address_raises_gp)
{
	long_mode();
	ck_assert_int_eq(RAISED(soft_lin_read(c, 0x0000800000000000ull, 8, SOFT_ACC_READ)),
			 X86_EXC_GP);
	ck_assert_uint_eq(c->segs.excp.errcode, 0);
	/* Through SS the segment code reports #SS(0). */
	ck_assert_int_eq(RAISED(soft_mem_read(c, S_SS, 0x0000800000000000ull, 8)), X86_EXC_SS);
}
END_TEST

START_TEST(test_mmu_rights_are_the_and_of_every_level)
{
	long_mode();
	uint64_t la = 0x58000;
	map64(la, 0x200000, 1, P | RW | US);
	*q(entry64(la, 2)) &= ~US; /* the PDE is supervisor-only */
	*q(entry64(la, 3)) &= ~RW; /* the PDPTE is read-only */

	ck_assert_int_eq(RAISED(soft_lin_write(c, la, 4, 1, SOFT_ACC_WRITE)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x3);
	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_lin_read(c, la, 4, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x5);
}
END_TEST

START_TEST(test_mmu_smep_stops_supervisor_fetch_from_user_page)
{
	long_mode();
	uint64_t la = 0x59000, gpa;
	uint8_t buf[4];
	map64(la, 0x200000, 1, P | US);

	ck_assert_int_eq(RAISED(soft_fetch(c, la, buf, 4, &gpa)), -1);
	c->cr4 |= 1ull << 20; /* CR4.SMEP */
	soft_mmu_flush(c, true);
	ck_assert_int_eq(RAISED(soft_fetch(c, la, buf, 4, &gpa)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x11);
	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_fetch(c, la, buf, 4, &gpa)), -1);
}
END_TEST

START_TEST(test_mmu_check_covers_every_page_of_the_range)
{
	long_mode();
	c->seg[S_DS].present = 1;
	c->seg[S_DS].type = 0x3;
	uint64_t la = 0x5a000;
	map64(la, 0x200000, 1, P | RW);
	map64(la + 0x1000, 0x300000, 1, P);

	ck_assert_int_eq(RAISED(soft_mem_check(c, S_DS, la + 0xff0, 32, SOFT_ACC_READ)), -1);
	ck_assert_int_eq(RAISED(soft_mem_check(c, S_DS, la + 0xff0, 32, SOFT_ACC_WRITE)),
			 X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x3);
	ck_assert_uint_eq(c->cr2, la + 0x1000);
	ck_assert_int_eq(RAISED(soft_mem_check(c, S_DS, la, 16, SOFT_ACC_WRITE)), -1);
}
END_TEST

/* --- the TLB --- */

START_TEST(test_mmu_tlb_hit_after_walk_until_invlpg)
{
	long_mode();
	uint64_t la = 0x60000, pte = map64(la, 0x200000, 1, P | RW);
	*q(0x200000) = 1;
	*q(0x201000) = 2;

	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 1);
	uint64_t misses = c->mmu.misses, hits = c->mmu.hits;
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 1);
	ck_assert_uint_eq(c->mmu.misses, misses);
	ck_assert_uint_eq(c->mmu.hits, hits + 1);
	/* A changed PTE is not seen until invlpg (§4.10.4). */
	*q(pte) = 0x201000 | P | RW;
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 1);
	soft_mmu_invlpg(c, la + 0x123);
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 2);
	ck_assert_uint_eq(c->mmu.misses, misses + 1);
}
END_TEST

START_TEST(test_mmu_cr3_flush_keeps_global_pages)
{
	long_mode();
	c->cr4 |= X86_CR4_PGE;
	soft_mmu_flush(c, true);
	uint64_t lg = 0x70000, ln = 0x71000;
	uint64_t pg = map64(lg, 0x200000, 1, P | RW | G), pn = map64(ln, 0x202000, 1, P | RW);
	*q(0x200000) = 1;
	*q(0x201000) = 2;
	*q(0x202000) = 3;
	*q(0x203000) = 4;

	ck_assert_uint_eq(soft_lin_read(c, lg, 8, SOFT_ACC_READ), 1);
	ck_assert_uint_eq(soft_lin_read(c, ln, 8, SOFT_ACC_READ), 3);
	*q(pg) = 0x201000 | P | RW | G;
	*q(pn) = 0x203000 | P | RW;
	soft_mmu_flush(c, false);
	ck_assert_uint_eq(soft_lin_read(c, lg, 8, SOFT_ACC_READ), 1);
	ck_assert_uint_eq(soft_lin_read(c, ln, 8, SOFT_ACC_READ), 4);
	/* invlpg drops a global page too; so does a full flush. */
	soft_mmu_invlpg(c, lg);
	ck_assert_uint_eq(soft_lin_read(c, lg, 8, SOFT_ACC_READ), 2);
	*q(pg) = 0x200000 | P | RW | G;
	soft_mmu_flush(c, true);
	ck_assert_uint_eq(soft_lin_read(c, lg, 8, SOFT_ACC_READ), 1);
	/* Without CR4.PGE the G bit means nothing. */
	c->cr4 &= ~X86_CR4_PGE;
	soft_mmu_flush(c, true);
	ck_assert_uint_eq(soft_lin_read(c, lg, 8, SOFT_ACC_READ), 1);
	*q(pg) = 0x201000 | P | RW | G;
	soft_mmu_flush(c, false);
	ck_assert_uint_eq(soft_lin_read(c, lg, 8, SOFT_ACC_READ), 2);
}
END_TEST

START_TEST(test_mmu_invlpg_drops_every_piece_of_a_large_page)
{
	long_mode();
	uint64_t la = 0x40000000ull, pde = map64(la, 0x400000, 2, P | RW);
	*q(0x400000) = 1;
	*q(0x401000) = 2;
	*q(0x600000) = 3;
	*q(0x601000) = 4;

	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 1);
	ck_assert_uint_eq(soft_lin_read(c, la + 0x1000, 8, SOFT_ACC_READ), 2);
	*q(pde) = 0x600000 | P | RW | PS;
	soft_mmu_invlpg(c, la + 0x1fffff);
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 3);
	ck_assert_uint_eq(soft_lin_read(c, la + 0x1000, 8, SOFT_ACC_READ), 4);
}
END_TEST

START_TEST(test_mmu_flush_event_drops_translations_once_and_is_left_to_run_loop)
{
	long_mode();
	uint64_t la = 0x80000, pte = map64(la, 0x200000, 1, P | RW);
	*q(0x200000) = 1;
	*q(0x201000) = 2;
	*q(0x202000) = 3;

	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 1);
	*q(pte) = 0x201000 | P | RW;
	atomic_fetch_or(&c->events, SOFT_EV_FLUSH | SOFT_EV_IRQ);
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 2);
	/* run.c clears the bit (frame.c's queued invalidations hang on it). */
	ck_assert_uint_eq(atomic_load(&c->events), SOFT_EV_FLUSH | SOFT_EV_IRQ);
	/* One flush per pending request, not one per access. */
	uint64_t flushes = c->mmu.flushes;
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 2);
	ck_assert_uint_eq(c->mmu.flushes, flushes);
	/* What run.c does: clear, flush; a new request flushes again. */
	atomic_fetch_and(&c->events, ~(uint32_t)SOFT_EV_FLUSH);
	soft_mmu_flush(c, true);
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 2);
	*q(pte) = 0x202000 | P | RW;
	atomic_fetch_or(&c->events, SOFT_EV_FLUSH);
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 3);
}
END_TEST

START_TEST(test_mmu_memory_generation_change_flushes_on_next_miss)
{
	long_mode();
	uint64_t la = 0x90000, pte = map64(la, 0x200000, 1, P | RW);
	*q(0x200000) = 1;
	*q(0x201000) = 2;

	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 1);
	*q(pte) = 0x201000 | P | RW;
	vm.gen++;
	uint64_t flushes = c->mmu.flushes;
	/* Any miss notices; this one faults. */
	ck_assert_int_eq(RAISED(soft_lin_read(c, 0x12345000, 1, SOFT_ACC_READ)), X86_EXC_PF);
	ck_assert_uint_eq(c->mmu.flushes, flushes + 1);
	ck_assert_uint_eq(soft_lin_read(c, la, 8, SOFT_ACC_READ), 2);
}
END_TEST

/* --- split accesses, MMIO, no paging --- */

START_TEST(test_mmu_crossing_write_into_read_only_page_changes_neither)
{
	long_mode();
	uint64_t la = 0xa0000;
	map64(la, 0x200000, 1, P | RW);
	map64(la + 0x1000, 0x300000, 1, P);
	*q(0x200ff8) = 0x1111111111111111ull;
	*q(0x300000) = 0x2222222222222222ull;

	ck_assert_int_eq(RAISED(soft_lin_write(c, la + 0xffc, 8, ~0ull, SOFT_ACC_WRITE)),
			 X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x3);
	ck_assert_uint_eq(c->cr2, la + 0x1000);
	ck_assert_uint_eq(*q(0x200ff8), 0x1111111111111111ull);
	ck_assert_uint_eq(*q(0x300000), 0x2222222222222222ull);
}
END_TEST

START_TEST(test_mmu_crossing_access_joins_two_unrelated_pages)
{
	long_mode();
	uint64_t la = 0xb0000;
	map64(la, 0x300000, 1, P | RW);
	map64(la + 0x1000, 0x200000, 1, P | RW);
	*d(0x300ffc) = 0x44332211;
	*d(0x200000) = 0x88776655;

	ck_assert_uint_eq(soft_lin_read(c, la + 0xffe, 4, SOFT_ACC_READ), 0x66554433);
	soft_lin_write(c, la + 0xfff, 2, 0xbbaa, SOFT_ACC_WRITE);
	ck_assert_uint_eq(vm.ram[0x300fff], 0xaa);
	ck_assert_uint_eq(vm.ram[0x200000], 0xbb);
}
END_TEST

START_TEST(test_mmu_mmio_and_rom_accesses_leave_ram)
{
	long_mode();
	uint64_t la = 0xc0000;
	map64(la, 0xfee00000ull, 1, P | RW);	/* not RAM */
	map64(la + 0x1000, ROM_GPA, 1, P | RW); /* a read-only slot */
	vm.ram[ROM_GPA] = 0x5a;

	ck_assert_uint_eq(soft_lin_read(c, la + 0x30, 4, SOFT_ACC_READ), 0xabababab);
	ck_assert_uint_eq(vm.mmio_gpa, 0xfee00030ull);
	soft_lin_write(c, la + 0xb0, 4, 0x1234, SOFT_ACC_WRITE);
	ck_assert_uint_eq(vm.mmio_writes, 1);
	ck_assert_uint_eq(vm.mmio_data, 0x1234);
	/* ROM reads from RAM; writes go to MMIO and leave the bytes alone. */
	ck_assert_uint_eq(soft_lin_read(c, la + 0x1000, 1, SOFT_ACC_READ), 0x5a);
	soft_lin_write(c, la + 0x1000, 1, 0, SOFT_ACC_WRITE);
	ck_assert_uint_eq(vm.ram[ROM_GPA], 0x5a);
	ck_assert_uint_eq(vm.mmio_writes, 2);
	ck_assert_uint_eq(vm.mmio_gpa, ROM_GPA);
}
END_TEST

/*
 * Locked read-modify-writes (mem.h): a fault before anything changes; a swap
 * only from the value memory holds; the split lock's path across two pages,
 * MMIO as a read and a write, code pages told of the store, cmpxchg16b.
 */
START_TEST(test_mmu_locked_updates_fault_first_and_swap_only_from_the_held_value)
{
	struct soft_locked l;
	uint64_t old, cmp[2];
	const uint64_t nv[2] = { 0x3333, 0x4444 };

	long_mode();
	c->seg[S_DS].present = 1;
	c->seg[S_DS].type = 0x3;
	uint64_t la = 0x70000;
	map64(la, 0x200000, 1, P | RW);
	map64(la + 0x1000, 0x300000, 1, P | RW);
	map64(la + 0x2000, 0x400000, 1, P);
	map64(la + 0x3000, 0xfee00000ull, 1, P | RW);

	ck_assert_int_eq(RAISED(soft_mem_lock_begin(c, S_DS, la + 0x2000, 4, &l)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x3);
	/* aligned RAM: host compare-and-swap */
	*q(0x200010) = 7;
	old = soft_mem_lock_begin(c, S_DS, la + 0x10, 8, &l);
	ck_assert_uint_eq(old, 7);
	*q(0x200010) = 9; /* "another vCPU" */
	ck_assert(!soft_mem_lock_commit(c, &l, &old, old + 1));
	ck_assert_uint_eq(old, 9);
	ck_assert(soft_mem_lock_commit(c, &l, &old, old + 1));
	ck_assert_uint_eq(*q(0x200010), 10);
	/* across a page: compared and stored under the split lock */
	*d(0x200ffc) = 0x44332211;
	*d(0x300000) = 0x88776655;
	old = soft_mem_lock_begin(c, S_DS, la + 0xffe, 4, &l);
	ck_assert_uint_eq(old, 0x66554433);
	old = 1;
	ck_assert(!soft_mem_lock_commit(c, &l, &old, 0));
	ck_assert_uint_eq(old, 0x66554433);
	ck_assert(soft_mem_lock_commit(c, &l, &old, 0xddccbbaa));
	ck_assert_uint_eq(*d(0x200ffc), 0xbbaa2211);
	ck_assert_uint_eq(*d(0x300000), 0x8877ddcc);
	/* MMIO: a read, then a write */
	old = soft_mem_lock_begin(c, S_DS, la + 0x3020, 4, &l);
	ck_assert_uint_eq(old, 0xabababab);
	ck_assert_uint_eq(vm.mmio_reads, 1);
	ck_assert(soft_mem_lock_commit(c, &l, &old, 0x1234));
	ck_assert_uint_eq(vm.mmio_writes, 1);
	ck_assert_uint_eq(vm.mmio_gpa, 0xfee00020ull);
	ck_assert_uint_eq(vm.mmio_data, 0x1234);
	/* a page with code frames hears of the store */
	vm.code_page = 0x200000;
	soft_mmu_code_added(c, 0x200000);
	old = soft_mem_lock_begin(c, S_DS, la + 0x40, 2, &l);
	ck_assert(soft_mem_lock_commit(c, &l, &old, 0xbeef));
	ck_assert_uint_eq(vm.written_calls, 1);
	ck_assert_uint_eq(vm.written_gpa, 0x200040);
	ck_assert_uint_eq(vm.written_len, 2);
	ck_assert_uint_eq(*d(0x200040), 0xbeef);
	/* cmpxchg16b */
	*q(0x300100) = 1;
	*q(0x300108) = 2;
	cmp[0] = 1;
	cmp[1] = 5;
	ck_assert(!soft_mem_lock_cmpxchg16(c, S_DS, la + 0x1100, cmp, nv));
	ck_assert_uint_eq(cmp[1], 2);
	ck_assert_uint_eq(*q(0x300108), 2);
	ck_assert(soft_mem_lock_cmpxchg16(c, S_DS, la + 0x1100, cmp, nv));
	ck_assert_uint_eq(*q(0x300100), 0x3333);
	ck_assert_uint_eq(*q(0x300108), 0x4444);
}
END_TEST

START_TEST(test_mmu_without_paging_linear_is_physical)
{
	c->cr0 = X86_CR0_PE | X86_CR0_ET;
	soft_mmu_flush(c, true);
	*q(0x123450) = 0xfeed;

	ck_assert_uint_eq(soft_lin_read(c, 0x123450, 8, SOFT_ACC_READ), 0xfeed);
	soft_lin_write(c, 0x123458, 2, 0xbeef, SOFT_ACC_WRITE);
	ck_assert_uint_eq(*q(0x123458), 0xbeef);
}
END_TEST

START_TEST(test_mmu_fetch_stops_at_page_end_and_returns_gpa)
{
	long_mode();
	uint64_t la = 0xd0000, gpa = 0;
	uint8_t buf[16];
	map64(la, 0x200000, 1, P);
	for (int k = 0; k < 16; k++)
		vm.ram[0x200ff8 + k] = (uint8_t)k;

	ck_assert_uint_eq(soft_fetch(c, la + 0xff8, buf, 16, &gpa), 8);
	ck_assert_uint_eq(gpa, 0x200ff8);
	ck_assert_uint_eq(buf[7], 7);
	/* User fetch of a supervisor page. */
	c->cpl = 3;
	ck_assert_int_eq(RAISED(soft_fetch(c, la, buf, 16, &gpa)), X86_EXC_PF);
	ck_assert_uint_eq(pf_err(), 0x15); /* P | U | I/D */
}
END_TEST

START_TEST(test_mmu_segment_limit_is_checked_before_paging)
{
	prot32(0);
	c->seg[S_DS].limit = 0xfff;
	soft_mode_changed(c);

	/* No page is mapped: the #GP of the segment comes first. */
	ck_assert_int_eq(RAISED(soft_mem_read(c, S_DS, 0xffe, 4)), X86_EXC_GP);
	ck_assert_int_eq(RAISED(soft_mem_read(c, S_DS, 0x10, 4)), X86_EXC_PF);
	ck_assert_uint_eq(c->cr2, 0x10);
}
END_TEST

/* --- code and descriptor-table pages --- */

START_TEST(test_mmu_writes_to_code_pages_reach_frames)
{
	long_mode();
	uint64_t la = 0xe0000;
	map64(la, 0x200000, 1, P | RW);

	soft_lin_write(c, la + 0x10, 4, 1, SOFT_ACC_WRITE); /* fast entry: no code yet */
	ck_assert_uint_eq(vm.written_calls, 0);
	vm.code_page = 0x200000;
	soft_mmu_code_added(c, 0x200123);
	ck_assert_uint_eq(vm.flush_others, 1);
	soft_lin_write(c, la + 0x20, 2, 0xffff, SOFT_ACC_WRITE);
	ck_assert_uint_eq(vm.written_calls, 1);
	ck_assert_uint_eq(vm.written_gpa, 0x200020);
	ck_assert_uint_eq(vm.written_len, 2);
	ck_assert_uint_eq(*d(0x200020), 0xffff);
	/* A fresh write translation to a code page stays slow too. */
	soft_mmu_flush(c, true);
	soft_lin_write(c, la + 0x30, 1, 1, SOFT_ACC_WRITE);
	soft_lin_write(c, la + 0x31, 1, 1, SOFT_ACC_WRITE);
	ck_assert_uint_eq(vm.written_calls, 3);
}
END_TEST

START_TEST(test_mmu_write_to_watched_descriptor_page_invalidates_shadow)
{
	long_mode();
	uint64_t gdt = 0xffff800000010000ull, gpa = 0;
	map64(gdt, 0x210000, 1, P | RW);
	c->gdtr.base = gdt;
	c->gdtr.limit = 0x2f;
	soft_seg_flush(c); /* as lgdt does */
	/* Descriptor 2 (selector 0x10): 64-bit data, present, DPL 0. */
	*q(0x210010) = 0x00cf93000000ffffull;
	struct soft_desc dsc;

	ck_assert_int_eq(soft_desc_read(c, 0x10, &dsc), SOFT_DESC_OK);
	ck_assert_uint_eq(c->segs.fills, 1);
	ck_assert_uint_eq(c->segs.unwatched, 0);
	ck_assert_int_eq(soft_desc_read(c, 0x10, &dsc), SOFT_DESC_OK);
	ck_assert_uint_eq(c->segs.hits, 1);
	/* Writes through another linear alias of the page are seen as well. */
	uint64_t alias = 0x7000000000ull;
	map64(alias, 0x210000, 1, P | RW);
	soft_lin_write(c, alias + 0x15, 1, 0x9b, SOFT_ACC_WRITE);
	ck_assert_uint_eq(c->segs.invalidations, 1);
	ck_assert_int_eq(soft_desc_read(c, 0x10, &dsc), SOFT_DESC_OK);
	ck_assert_uint_eq(c->segs.fills, 2);
	ck_assert_uint_eq(dsc.seg.type, 0xb);
	/* Pages that are not mapped cannot be watched. */
	ck_assert(!soft_watch_page(c, 0x5550000, SOFT_WATCH_DESC, &gpa));
	ck_assert(soft_watch_page(c, gdt + 8, SOFT_WATCH_DESC, &gpa));
	ck_assert_uint_eq(gpa, 0x210008);
}
END_TEST

START_TEST(test_mmu_unwatched_page_writes_go_fast_again_after_refill)
{
	long_mode();
	uint64_t la = 0xf0000, gpa;
	map64(la, 0x220000, 1, P | RW);

	ck_assert(soft_watch_page(c, la, SOFT_WATCH_DESC, &gpa));
	soft_lin_write(c, la, 4, 1, SOFT_ACC_WRITE);
	uint64_t hits = c->mmu.hits;
	soft_lin_write(c, la, 4, 2, SOFT_ACC_WRITE); /* slow path, a TLB hit with no host page */
	ck_assert_uint_eq(c->mmu.hits, hits + 1);
	soft_unwatch_page(c, gpa, SOFT_WATCH_DESC);
	soft_mmu_invlpg(c, la);
	soft_lin_write(c, la, 4, 3, SOFT_ACC_WRITE);
	ck_assert(c->mmu.write[(la >> 12) & (SOFT_TLB_SIZE - 1)].hva != 0);
	ck_assert_uint_eq(*d(0x220000), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("soft_mmu");
	TCase *tc = tcase_create("mmu");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mmu_4level_4k_read_write_sets_accessed_then_dirty);
	tcase_add_test(tc, test_mmu_4level_2m_page_maps_offset_inside_the_page);
	tcase_add_test(tc, test_mmu_4level_1g_page_maps_offset_inside_the_page);
	tcase_add_test(tc, test_mmu_pml4e_with_ps_set_is_a_reserved_bit_fault);
	tcase_add_test(tc, test_mmu_32bit_4k_and_4m_pages);
	tcase_add_test(tc, test_mmu_32bit_pse36_maps_above_4g);
	tcase_add_test(tc, test_mmu_32bit_without_pse_ignores_ps);
	tcase_add_test(tc, test_mmu_pae_4k_and_2m_pages);
	tcase_add_test(tc, test_mmu_pae_pdpte_reserved_bit_faults_with_rsvd);
	tcase_add_test(tc, test_mmu_not_present_fault_error_code_and_cr2);
	tcase_add_test(tc, test_mmu_write_to_read_only_page_obeys_cr0_wp);
	tcase_add_test(tc, test_mmu_user_access_to_supervisor_page_faults_but_implicit_does_not);
	tcase_add_test(tc, test_mmu_nx_fetch_faults_with_id_bit);
	tcase_add_test(tc, test_mmu_reserved_physical_address_bit_faults_with_rsvd);
	tcase_add_test(tc, test_mmu_rmw_read_faults_as_a_write);
	tcase_add_test(tc, test_mmu_noncanonical_linear_address_raises_gp);
	tcase_add_test(tc, test_mmu_rights_are_the_and_of_every_level);
	tcase_add_test(tc, test_mmu_smep_stops_supervisor_fetch_from_user_page);
	tcase_add_test(tc, test_mmu_check_covers_every_page_of_the_range);
	tcase_add_test(tc, test_mmu_tlb_hit_after_walk_until_invlpg);
	tcase_add_test(tc, test_mmu_cr3_flush_keeps_global_pages);
	tcase_add_test(tc, test_mmu_invlpg_drops_every_piece_of_a_large_page);
	tcase_add_test(tc, test_mmu_flush_event_drops_translations_once_and_is_left_to_run_loop);
	tcase_add_test(tc, test_mmu_memory_generation_change_flushes_on_next_miss);
	tcase_add_test(tc, test_mmu_crossing_write_into_read_only_page_changes_neither);
	tcase_add_test(tc, test_mmu_crossing_access_joins_two_unrelated_pages);
	tcase_add_test(tc, test_mmu_mmio_and_rom_accesses_leave_ram);
	tcase_add_test(tc, test_mmu_without_paging_linear_is_physical);
	tcase_add_test(tc, test_mmu_fetch_stops_at_page_end_and_returns_gpa);
	tcase_add_test(tc, test_mmu_segment_limit_is_checked_before_paging);
	tcase_add_test(tc, test_mmu_writes_to_code_pages_reach_frames);
	tcase_add_test(tc, test_mmu_locked_updates_fault_first_and_swap_only_from_the_held_value);
	tcase_add_test(tc, test_mmu_write_to_watched_descriptor_page_invalidates_shadow);
	tcase_add_test(tc, test_mmu_unwatched_page_writes_go_fast_again_after_refill);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
