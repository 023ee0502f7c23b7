/* SPDX-License-Identifier: MIT */
/*
 * Runtime for cove's freestanding test guests: port I/O, control registers, MSRs, CPUID, the
 * serial console, printf-lite, checks and the exit port. Built twice: once for 32-bit protected
 * mode (-m32) and once for 64-bit long mode (-m64, then the ELF is converted to ELF32 so that
 * QEMU's multiboot loader accepts it).
 *
 * Output rules every guest follows: print only facts that hold on any correct x86 (never
 * addresses, timings or CPU-model specific values), so QEMU TCG and cove print the same bytes.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned long ulong;

/* Values written to the isa-debug-exit port (0xf4); the VMM exits with (v << 1) | 1. */
#define GUEST_EXIT_PASS 0x10 /* process status 33 */
#define GUEST_EXIT_FAIL 0x11 /* process status 35 */

#define COM1_PORT	0x3f8
#define DEBUG_EXIT_PORT 0xf4

/* Selectors of the GDT the runtime installs (lib/desc.c). The layout suits sysenter/sysexit
 * (CS, CS+8, CS+16, CS+24) and syscall/sysret (STAR[47:32] = 0x08, STAR[63:48] = 0x18). */
#define SEL_KCODE   0x08 /* 32-bit flat code, or 64-bit code in the long-mode runtime */
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x1b /* DPL3 32-bit (compatibility mode in long mode) */
#define SEL_UDATA   0x23
#define SEL_UCODE64 0x2b /* DPL3 64-bit code (long-mode runtime only) */
#define SEL_TSS	    0x30 /* 16 bytes in long mode (slots 6 and 7) */
#define GDT_FIRST_FREE 8 /* slots from here on belong to the guest */
#define GDT_ENTRIES    32

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define noreturn      __attribute__((noreturn))
#define PAGE_SIZE     4096

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- control registers ---- */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_PG (1u << 31)

#define CR4_VME	       (1u << 0)
#define CR4_PSE	       (1u << 4)
#define CR4_PAE	       (1u << 5)
#define CR4_PGE	       (1u << 7)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)

#define EFL_CF	 (1u << 0)
#define EFL_FIXED (1u << 1)
#define EFL_ZF	 (1u << 6)
#define EFL_TF	 (1u << 8)
#define EFL_IF	 (1u << 9)
#define EFL_DF	 (1u << 10)
#define EFL_OF	 (1u << 11)
#define EFL_NT	 (1u << 14)
#define EFL_RF	 (1u << 16)
#define EFL_AC	 (1u << 18)

#define DEFINE_CR(n)                                                                               \
	static inline ulong read_cr##n(void)                                                       \
	{                                                                                          \
		ulong v;                                                                           \
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));                                      \
		return v;                                                                          \
	}                                                                                          \
	static inline void write_cr##n(ulong v)                                                    \
	{                                                                                          \
		asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory");                             \
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

/* Debug registers: read_drN/write_drN for N = 0-3, 6, 7, and write_dr(n, v) by number. */
#define DEFINE_DR(n)                                                                               \
	static inline ulong read_dr##n(void)                                                       \
	{                                                                                          \
		ulong v;                                                                           \
		asm volatile("mov %%dr" #n ", %0" : "=r"(v));                                      \
		return v;                                                                          \
	}                                                                                          \
	static inline void write_dr##n(ulong v)                                                    \
	{                                                                                          \
		asm volatile("mov %0, %%dr" #n : : "r"(v));                                        \
	}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
DEFINE_DR(7)
#undef DEFINE_DR

static inline void write_dr(int n, ulong v)
{
	switch (n) {
	case 0:
		write_dr0(v);
		break;
	case 1:
		write_dr1(v);
		break;
	case 2:
		write_dr2(v);
		break;
	case 3:
		write_dr3(v);
		break;
	case 6:
		write_dr6(v);
		break;
	case 7:
		write_dr7(v);
		break;
	}
}

static inline ulong read_flags(void)
{
	ulong v;
	asm volatile("pushf; pop %0" : "=r"(v));
	return v;
}
static inline void write_flags(ulong v)
{
	asm volatile("push %0; popf" : : "r"(v) : "memory", "cc");
}
static inline void cli(void)
{
	asm volatile("cli" ::: "memory");
}
static inline void sti(void)
{
	asm volatile("sti" ::: "memory");
}
static inline void invlpg(const volatile void *p)
{
	asm volatile("invlpg (%0)" : : "r"(p) : "memory");
}
static inline void barrier(void)
{
	asm volatile("" ::: "memory");
}

/* ---- MSRs and CPUID ---- */
#define MSR_APIC_BASE	     0x1b
#define MSR_SYSENTER_CS	     0x174
#define MSR_SYSENTER_ESP     0x175
#define MSR_SYSENTER_EIP     0x176
#define MSR_PAT		     0x277
#define MSR_EFER	     0xc0000080
#define MSR_STAR	     0xc0000081
#define MSR_LSTAR	     0xc0000082
#define MSR_CSTAR	     0xc0000083
#define MSR_SFMASK	     0xc0000084
#define MSR_FS_BASE	     0xc0000100
#define MSR_GS_BASE	     0xc0000101
#define MSR_KERNEL_GS_BASE   0xc0000102
#define EFER_SCE	     (1u << 0)
#define EFER_LME	     (1u << 8)
#define EFER_LMA	     (1u << 10)
#define EFER_NXE	     (1u << 11)

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}
/* Feature tests used by several guests (SDM Vol.2A CPUID). */
bool cpu_has_pse(void);
bool cpu_has_pae(void);
bool cpu_has_apic(void);
bool cpu_has_sep(void);
bool cpu_has_nx(void);
bool cpu_has_syscall(void);
bool cpu_has_lm(void);
bool cpu_has_1g_pages(void);

/*
 * 32-bit paging (SDM Vol.3 §4.3): fills the ntables page tables pt[] with an identity map of
 * the first ntables * 4 MiB in 4K pages and points pd[0..ntables) at them, every entry with
 * flags (P, R/W, U/S bits). The caller adds its own entries, loads CR3 and sets CR0.PG.
 */
void paging32_identity(uint32_t *pd, uint32_t (*pt)[1024], unsigned ntables, uint32_t flags);
bool cpu_has_fxsr_sse(void);

/*
 * QEMU TCG, the reference, deviates from the SDM in a few documented places (README.md, "Known
 * deviations of the reference"): it enforces no data segment limits, raises no #AC and no #XM,
 * and treats int1 (0xf1) as #UD. A check of such a behaviour accepts the TCG outcome only when
 * CPUID leaf 0x40000000 says "TCGTCGTCGTCG", and prints the same line either way, so cove (and
 * KVM) are held to the SDM while the serial output stays comparable. "strict=1" on the command
 * line turns the exception off, to list the reference's deviations; "tcg=1" turns it on where TCG
 * runs the vCPU without saying so (KVM nested on TCG's SVM, tests/nested/guests.sh).
 */
bool on_qemu_tcg(void);
/* observed && on_qemu_tcg(): "this outcome is the reference's known deviation". */
bool tcg_quirk(bool observed);

/* ---- console ---- */
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* ---- checks and exit ---- */
/* Prints "<what>: ok", or "<what>: FAIL" and counts a failure. */
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "<what>: ok", or "<what>: FAIL (got 0x.., want 0x..)". */
bool check_eq(const char *what, uint64_t got, uint64_t want);
/* Counts a failure and prints "<msg>: FAIL". */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note_failure(void); /* counts a failure already printed */
unsigned fail_count(void);
/* Prints PASS or FAIL and leaves through the debug-exit port. */
noreturn void guest_finish(void);
noreturn void guest_exit(uint8_t code);

/* ---- multiboot (lib/mbi.c) ---- */
const char *mb_cmdline(void);
/* mem_upper (§3.3): KiB of RAM from 1 MiB up to the first hole; 0 when not given. */
uint32_t mb_mem_upper_kib(void);
/* Value of "key=N" (decimal or 0x-hex) on the cmdline, or def when absent or malformed. */
uint64_t mb_param(const char *key, uint64_t def);

/* ---- string helpers (the compiler may call memcpy/memset itself) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* Every guest provides this; the runtime calls it after setting up GDT, IDT, PIC and PIT, then
 * calls guest_finish(). */
void guest_main(void);

#endif
