/* SPDX-License-Identifier: MIT */
/* Checks, the exit port and the C entry point every guest shares. */
#include "guest.h"
#include "desc.h"
#include "pc.h"

#define MB_BOOT_MAGIC 0x2badb002

static unsigned failures;

void note_failure(void)
{
	failures++;
}

unsigned fail_count(void)
{
	return failures;
}

bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	serial_puts(ok ? ": ok\n" : ": FAIL\n");
	if (!ok)
		failures++;
	return ok;
}

bool check_eq(const char *what, uint64_t got, uint64_t want)
{
	if (got == want) {
		printf("%s: ok\n", what);
		return true;
	}
	printf("%s: FAIL (got 0x%llx, want 0x%llx)\n", what, (unsigned long long)got,
	       (unsigned long long)want);
	failures++;
	return false;
}

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	serial_puts(": FAIL\n");
	failures++;
}

noreturn void guest_exit(uint8_t code)
{
	outb(DEBUG_EXIT_PORT, code);
	/* Only reached without a debug-exit device. */
	for (;;)
		asm volatile("cli; hlt");
}

noreturn void guest_finish(void)
{
	if (failures) {
		serial_puts("FAIL\n");
		guest_exit(GUEST_EXIT_FAIL);
	}
	serial_puts("PASS\n");
	guest_exit(GUEST_EXIT_PASS);
}

void mbi_init(uint32_t magic, uint32_t info);
void guest_entry(uint32_t magic, uint32_t info);

void guest_entry(uint32_t magic, uint32_t info)
{
	serial_init();
	gdt_init();
	idt_init();
	tss_init();
	pc_init();
	if (magic != MB_BOOT_MAGIC)
		fail("multiboot magic");
	else
		mbi_init(magic, info);
	guest_main();
	guest_finish();
}
