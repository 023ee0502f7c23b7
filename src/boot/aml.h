/* SPDX-License-Identifier: MIT */
/* A small AML encoder for cove's DSDT (ACPI 6.x §20 "ACPI Machine Language"). */
#ifndef COVE_BOOT_AML_H
#define COVE_BOOT_AML_H

#include <glib.h>

#include "boot/acpi.h"

/* Appends the DSDT's definition block body (everything after the table header) to out. */
void aml_build_dsdt_body(GByteArray *out, const struct acpi_config *cfg);

#endif
