/* SPDX-License-Identifier: MIT */
/*
 * One VM's lifecycle: create (memory, devices, firmware tables, kernel,
 * vCPUs), run until something stops it, destroy. Two VMs in one process
 * work: nothing here is global.
 */
#ifndef COVE_VM_H
#define COVE_VM_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "vcpu/accel.h"

struct vm;
struct iothread;
struct chardev;

enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,   /* ACPI S5 or a system event */
	VM_STOP_RESET,	    /* i8042 reset, triple fault is not this */
	VM_STOP_DEBUG_EXIT, /* the isa-debug-exit port: status is (v << 1) | 1 */
	VM_STOP_QUIT,	    /* Ctrl-A x or a signal */
	VM_STOP_SHUTDOWN,   /* triple fault */
	VM_STOP_ERROR,	    /* the accelerator or the host failed */
};

struct vm_result {
	enum vm_stop_reason reason;
	int status; /* debug-exit status, or the signal number for QUIT */
	char why[200];
};

/* What outlives one VM (a reboot with --on-reboot restart builds a new one). */
struct vm_host {
	struct iothread *io;
	struct chardev *console;  /* COM1 */
	struct chardev *vconsole; /* virtio console, NULL for none */
	FILE *log;		  /* --debug output, NULL for none */
};

int vm_create(const struct cove_config *cfg, const struct accel_ops *ops,
	      const struct vm_host *host, struct vm **out, GError **err);
/* Runs the vCPUs until the VM stops; joins every thread it started. */
void vm_run(struct vm *vm, struct vm_result *res);
/* First caller wins; any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status, const char *why);
void vm_destroy(struct vm *vm);

/*
 * Pause: returns once every vCPU thread is parked outside vcpu_run (or the
 * VM is stopping); a VM paused before vm_run() starts with its vCPUs parked.
 * Idempotent, any thread but a vCPU's. Guest time is not stopped: without
 * soft's deterministic mode the guest sees its clocks jump on resume.
 */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);
/* Presses the ACPI power button (PM1_STS.PWRBTN_STS); the guest decides. Any thread. */
void vm_power_button(struct vm *vm);

#endif
