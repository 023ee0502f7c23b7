/* SPDX-License-Identifier: MIT */
/*
 * The accelerator contract: one interface, shaped on the KVM ABI, behind which
 * a VM's CPUs run. kvm.c implements it on /dev/kvm; soft/ implements it with
 * cove's own x86 CPU. Everything above this header (vm.c, devices) is written
 * once and never calls ioctl() on a vCPU itself.
 *
 * Register state travels in the structs of linux/kvm.h in both accelerators,
 * so state saved under one restores under the other.
 *
 * Threading: each vCPU is run by one thread. irq_line(), vcpu_kick() and
 * notify_mem_write() may be called from any thread.
 */
#ifndef COVE_VCPU_ACCEL_H
#define COVE_VCPU_ACCEL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct accel;
struct accel_vcpu;

enum accel_exit_reason {
	ACCEL_EXIT_NONE = 0,
	ACCEL_EXIT_IO,		  /* port I/O; for reads fill io.data, then run again */
	ACCEL_EXIT_MMIO,	  /* MMIO; for reads fill mmio.data, then run again */
	ACCEL_EXIT_HLT,		  /* halted with no irqchip able to wake it */
	ACCEL_EXIT_SHUTDOWN,	  /* triple fault */
	ACCEL_EXIT_SYSTEM_EVENT,  /* the accelerator's platform asked for reset/off */
	ACCEL_EXIT_DEBUG,	  /* breakpoint or single step (set_guest_debug) */
	ACCEL_EXIT_INTR,	  /* vcpu_kick() or a signal forced the vCPU out */
	ACCEL_EXIT_INTERNAL_ERROR /* the accelerator cannot go on; see internal */
};

struct accel_exit {
	enum accel_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;	/* 1, 2 or 4 */
			bool write;
			uint32_t count; /* > 1 for rep ins/outs */
			uint8_t *data;	/* count * size bytes, owned by the vCPU */
		} io;
		struct {
			uint64_t gpa;
			uint32_t len; /* 1..8 */
			bool write;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t type; /* KVM_SYSTEM_EVENT_* */
		} system_event;
		struct {
			uint32_t exception;
			uint64_t pc;
		} debug;
		struct {
			uint32_t suberror; /* KVM_INTERNAL_ERROR_* or 0 */
			char why[120];	   /* one line, for the user */
		} internal;
	};
};

/*
 * In-line I/O. An accelerator that runs the guest's instructions in the VMM
 * process (soft, which requires it) completes port and MMIO accesses by
 * calling these directly instead of exiting; KVM ignores them and exits.
 * Return 0, or -ENOENT for an address no device claims (reads then see all
 * ones).
 */
struct accel_io_handler {
	int (*pio)(void *opaque, int cpu, uint16_t port, void *data, unsigned size, bool write);
	int (*mmio)(void *opaque, int cpu, uint64_t gpa, void *data, unsigned size, bool write);
	/*
	 * Device-state checkpoints for the soft CPU's patterns: checkpoint
	 * before a unit, rollback undoes every device effect since, commit
	 * drops the checkpoint. May be NULL: patterns then exclude devices.
	 */
	int (*checkpoint)(void *opaque, int cpu);
	void (*rollback)(void *opaque, int cpu);
	void (*commit)(void *opaque, int cpu);
	/*
	 * May be NULL. gpa has no memory slot: if it is RAM the VMM maps on
	 * demand (block RAM), it adds the slot (set_memory_region, from this
	 * thread, possibly deleting others first) and returns 0; else -ENOENT
	 * (gpa is MMIO) or another -errno (the VMM stops the VM).
	 */
	int (*ram_fault)(void *opaque, int cpu, uint64_t gpa);
	void *opaque;
};

struct accel_vm_params {
	unsigned ncpus;
	const struct accel_io_handler *io; /* may be NULL: always exit */
	bool deterministic;		   /* soft: time from retired instructions */
	/* where per-accelerator diagnostics go (--debug); NULL for none */
	FILE *log;
};

/* The irqchip and PIT state pair, for snapshots. */
struct accel_irqchip_state {
	struct kvm_irqchip pic[2];
	struct kvm_irqchip ioapic;
	struct kvm_pit_state2 pit;
};

struct accel_ops {
	const char *name;

	/* 0 if this accelerator can run here, else -errno and a reason */
	int (*probe)(char *why, size_t whylen);

	int (*vm_create)(const struct accel_vm_params *p, struct accel **out);
	void (*vm_destroy)(struct accel *a);

	/*
	 * Same meaning as KVM_SET_USER_MEMORY_REGION; size 0 deletes the slot.
	 * Any thread, also while vCPUs run: when it returns from deleting a
	 * slot, no vCPU uses the old hva any more (the VMM may munmap it).
	 */
	int (*set_memory_region)(struct accel *a, uint32_t slot, uint64_t gpa, uint64_t size,
				 void *hva, uint32_t flags);
	/* Optional: how many slots set_memory_region takes (ids 0..n-1). */
	unsigned (*max_memory_slots)(struct accel *a);

	int (*vcpu_create)(struct accel *a, unsigned index, struct accel_vcpu **out);
	void (*vcpu_destroy)(struct accel_vcpu *v);

	/* Runs until an exit; *exit stays valid until the next call. */
	int (*vcpu_run)(struct accel_vcpu *v, struct accel_exit **exit);
	/* Forces vcpu_run to return (ACCEL_EXIT_INTR) soon; any thread. */
	void (*vcpu_kick)(struct accel_vcpu *v);

	int (*get_regs)(struct accel_vcpu *v, struct kvm_regs *r);
	int (*set_regs)(struct accel_vcpu *v, const struct kvm_regs *r);
	int (*get_sregs)(struct accel_vcpu *v, struct kvm_sregs *s);
	int (*set_sregs)(struct accel_vcpu *v, const struct kvm_sregs *s);
	int (*get_fpu)(struct accel_vcpu *v, struct kvm_fpu *f);
	int (*set_fpu)(struct accel_vcpu *v, const struct kvm_fpu *f);
	/* nmsrs entries, index filled in; returns how many were done */
	int (*get_msrs)(struct accel_vcpu *v, struct kvm_msr_entry *e, unsigned nmsrs);
	int (*set_msrs)(struct accel_vcpu *v, const struct kvm_msr_entry *e, unsigned nmsrs);
	int (*get_lapic)(struct accel_vcpu *v, struct kvm_lapic_state *l);
	int (*set_lapic)(struct accel_vcpu *v, const struct kvm_lapic_state *l);
	/*
	 * The CPUID the accelerator can offer, already filtered to cove's
	 * baseline (see cpuid.h); the VMM adjusts per-vCPU fields and sets it.
	 */
	int (*get_cpuid)(struct accel *a, struct kvm_cpuid2 *c, unsigned max_entries);
	int (*set_cpuid)(struct accel_vcpu *v, const struct kvm_cpuid2 *c);
	int (*set_guest_debug)(struct accel_vcpu *v, const struct kvm_guest_debug *dbg);

	/* Raise or lower a GSI on the accelerator's irqchip; any thread. */
	int (*irq_line)(struct accel *a, uint32_t gsi, int level);

	int (*get_irqchip_state)(struct accel *a, struct accel_irqchip_state *st);
	int (*set_irqchip_state)(struct accel *a, const struct accel_irqchip_state *st);

	/* Optional: the VMM wrote guest RAM behind the CPU's back (DMA). */
	void (*notify_mem_write)(struct accel *a, uint64_t gpa, uint64_t len);
	/*
	 * Optional: guest time in ns, when the accelerator defines it (soft's
	 * deterministic mode); without it devices use host monotonic time.
	 */
	uint64_t (*guest_ns)(struct accel *a);
	/* Optional: counters for --stats. */
	void (*print_stats)(struct accel *a, FILE *out);
};

extern const struct accel_ops accel_kvm_ops;
extern const struct accel_ops accel_soft_ops;

/*
 * Picks an accelerator by name ("kvm", "soft" or "auto"). For "auto" it takes
 * kvm when it probes well and soft otherwise, and sets *fell_back. On failure
 * returns NULL with a one-line reason in why.
 */
const struct accel_ops *accel_select(const char *name, bool *fell_back, char *why, size_t whylen);

#endif
