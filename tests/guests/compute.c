/* SPDX-License-Identifier: MIT */
/*
 * compute: the benchmark guest (bench/soft-mips). Integer work with no I/O in the loops: a
 * sieve of Eratosthenes, a bitwise CRC-32 over a pseudo-random buffer, and a small matrix
 * product. Prints checksums that the host-side test compares with QEMU's (and that are fixed
 * by the algorithms, so they also catch wrong arithmetic). The size is set by the multiboot
 * command line: rounds=N (default 1).
 */
#include "guest.h"

#define SIEVE_N	 200000
#define CRC_LEN	 65536
#define MAT_N	 24

static uint8_t composite[SIEVE_N + 1];
static uint8_t buf[CRC_LEN];
static uint32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static unsigned sieve(void)
{
	unsigned count = 0;

	for (unsigned i = 0; i <= SIEVE_N; i++)
		composite[i] = 0;
	for (unsigned i = 2; i <= SIEVE_N; i++) {
		if (composite[i])
			continue;
		count++;
		for (unsigned j = i * 2; j <= SIEVE_N; j += i)
			composite[j] = 1;
	}
	return count;
}

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320), one bit at a time. */
static uint32_t crc32(const uint8_t *p, unsigned n)
{
	uint32_t crc = 0xffffffff;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc;
}

static uint32_t matrix(uint32_t seed)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < MAT_N; i++)
		for (unsigned j = 0; j < MAT_N; j++) {
			seed = seed * 1103515245 + 12345;
			ma[i][j] = seed >> 16;
			seed = seed * 1103515245 + 12345;
			mb[i][j] = seed >> 16;
		}
	for (unsigned i = 0; i < MAT_N; i++)
		for (unsigned j = 0; j < MAT_N; j++) {
			uint32_t acc = 0;

			for (unsigned k = 0; k < MAT_N; k++)
				acc += ma[i][k] * mb[k][j];
			mc[i][j] = acc;
			sum = (sum << 5 | sum >> 27) ^ acc;
		}
	return sum;
}

void guest_main(void)
{
	unsigned rounds = (unsigned)mb_param("rounds", 1);
	uint32_t seed = 0x12345678, crc = 0, mat = 0;
	unsigned primes = 0;

	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < CRC_LEN; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			buf[i] = (uint8_t)seed;
		}
		primes = sieve();
		crc ^= crc32(buf, CRC_LEN);
		mat ^= matrix(seed);
	}
	printf("compute: rounds=%u\n", rounds);
	/* pi(200000) = 17984 */
	check_eq("primes below 200000", primes, 17984);
	printf("crc32 checksum %08x\n", (unsigned)crc);
	printf("matrix checksum %08x\n", (unsigned)mat);
}
