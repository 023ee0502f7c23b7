/* SPDX-License-Identifier: MIT */
/*
 * The multiboot information structure (Multiboot Specification 0.6.96 §3.3): only the command
 * line is used. QEMU passes "<kernel path> <-append string>", other loaders may pass only the
 * string, so parameters are "key=value" tokens found anywhere on the line.
 */
#include "guest.h"

#define MBI_FLAG_MEM	 (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)

static char cmdline[256];
static uint32_t mem_upper_kib;

void mbi_init(uint32_t magic, uint32_t info);
void mbi_init(uint32_t magic, uint32_t info)
{
	const volatile uint32_t *mbi = (const volatile uint32_t *)(ulong)info;
	const volatile char *s;
	size_t i;

	(void)magic;
	if (info && (mbi[0] & MBI_FLAG_MEM))
		mem_upper_kib = mbi[2];
	if (!info || !(mbi[0] & MBI_FLAG_CMDLINE) || !mbi[4])
		return;
	s = (const volatile char *)(ulong)mbi[4];
	for (i = 0; i + 1 < sizeof(cmdline) && s[i]; i++)
		cmdline[i] = s[i];
	cmdline[i] = '\0';
}

uint32_t mb_mem_upper_kib(void)
{
	return mem_upper_kib;
}

const char *mb_cmdline(void)
{
	return cmdline;
}

static bool parse_number(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool any = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s && *s != ' '; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
		any = true;
	}
	*out = v;
	return any;
}

uint64_t mb_param(const char *key, uint64_t def)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		uint64_t v;

		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=')
			return parse_number(p + klen + 1, &v) ? v : def;
		while (*p && *p != ' ')
			p++;
	}
	return def;
}
