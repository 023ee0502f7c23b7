/* SPDX-License-Identifier: MIT */
#include "accel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const struct accel_ops *accel_select(const char *name, bool *fell_back, char *why, size_t whylen)
{
	char kvm_why[160] = "";

	*fell_back = false;
	if (!strcmp(name, "soft")) {
		if (accel_soft_ops.probe && accel_soft_ops.probe(why, whylen))
			return NULL;
		return &accel_soft_ops;
	}
	if (!strcmp(name, "kvm")) {
		if (accel_kvm_ops.probe(kvm_why, sizeof(kvm_why))) {
			snprintf(why, whylen, "--accel kvm: %s (use --accel soft to run without KVM)",
				 kvm_why);
			return NULL;
		}
		return &accel_kvm_ops;
	}
	if (!strcmp(name, "auto")) {
		if (!accel_kvm_ops.probe(kvm_why, sizeof(kvm_why)))
			return &accel_kvm_ops;
		if (accel_soft_ops.probe && accel_soft_ops.probe(why, whylen))
			return NULL;
		*fell_back = true;
		snprintf(why, whylen, "%s", kvm_why);
		return &accel_soft_ops;
	}
	snprintf(why, whylen, "--accel %s: not an accelerator (auto, kvm or soft)", name);
	return NULL;
}
