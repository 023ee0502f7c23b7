/* SPDX-License-Identifier: MIT */
/* Intel MultiProcessor Specification 1.4 tables, for guests that do not read ACPI. */
#ifndef COVE_BOOT_MPTABLE_H
#define COVE_BOOT_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the MP floating pointer structure at buf[0] (guest address gpa,
 * which must be 16-byte aligned and inside 0xF0000-0xFFFFF where guests scan)
 * and the configuration table right after it. Returns the bytes used, or 0
 * when cap is too small.
 */
size_t mptable_build(uint8_t *buf, size_t cap, uint64_t gpa, unsigned ncpus);

#endif
