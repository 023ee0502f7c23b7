/* SPDX-License-Identifier: MIT */
/* Placeholder until the soft accelerator's glue lands (engineer "core" replaces this file). */
#include "vcpu/accel.h"

#include <errno.h>
#include <stdio.h>

static int soft_probe(char *why, size_t whylen)
{
	snprintf(why, whylen, "the soft accelerator is not built yet");
	return -ENOSYS;
}

const struct accel_ops accel_soft_ops = {
	.name = "soft",
	.probe = soft_probe,
};
