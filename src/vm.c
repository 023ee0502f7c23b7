/* SPDX-License-Identifier: MIT */
/*
 * vm.c: builds the machine of pc.h around an accelerator and runs it.
 * A guest exit goes one way (DESIGN.md): accelerator -> vCPU loop here ->
 * bus -> device, which may raise an irq line through the accelerator.
 */
#include "vm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/acpi.h"
#include "boot/boot.h"
#include "chardev.h"
#include "clock.h"
#include "devices/acpi_pm.h"
#include "devices/bus.h"
#include "devices/debugexit.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/serial8250.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_console.h"
#include "mmu/block_ram.h"
#include "mmu/guest_mem.h"
#include "pc.h"
#include "vcpu/cpuid.h"
#include "vm_block.h"

#define VM_MAX_CPUID_ENT 256
#define LAPIC_REG_LVT0	 0x350
#define LAPIC_REG_LVT1	 0x360
#define LAPIC_DM_NMI	 0x400
#define LAPIC_DM_EXTINT	 0x700
/* Deterministic runs start their wall clock here: 2025-01-01T00:00:00Z. */
#define VM_DETERMINISTIC_EPOCH 1735689600

struct vm_vcpu {
	struct vm *vm;
	struct accel_vcpu *v;
	unsigned index;
	pthread_t thread;
	bool started;
};

struct vm_irq {
	struct irq_sink sink; /* first: devices hold a pointer to it */
	struct vm *vm;
};

struct vm {
	const struct cove_config *cfg;
	const struct accel_ops *ops;
	struct vm_host host;
	struct accel *accel;
	struct guest_mem *mem;
	struct vm_block *blockram; /* --memory-file, else NULL */
	bool block_copy_in;	   /* its mode (vm_block.h) */
	struct bus *pio, *mmio;
	struct vm_irq irq;
	struct guest_clock clock;
	struct accel_io_handler io;

	struct serial8250 *com1;
	struct i8042 *kbd;
	struct rtc *rtc;
	struct debugexit *dbgexit;
	struct acpi_pm *pm;
	struct virtio_blk *blk[COVE_MAX_DISKS];
	unsigned nblk;
	struct virtio_console *vcon;

	unsigned ncpus;
	struct vm_vcpu *cpus;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopping;
	struct vm_result result;
	/*
	 * pause: written under lock, read without it on every exit (the vCPU
	 * loop's fast path); thread counts under lock: started and not yet
	 * gone, and parked.
	 */
	atomic_bool paused;
	unsigned nthreads, nparked;
};

/* ---- stopping ---- */

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status, const char *why)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->result.reason == VM_RUNNING) {
		vm->result.reason = reason;
		vm->result.status = status;
		snprintf(vm->result.why, sizeof(vm->result.why), "%s", why ? why : "");
		atomic_store(&vm->stopping, true);
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->cpus[i].v)
				vm->ops->vcpu_kick(vm->cpus[i].v);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

/* ---- pause and resume ---- */

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, true);
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->cpus[i].v)
			vm->ops->vcpu_kick(vm->cpus[i].v);
	while (vm->nparked < vm->nthreads && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->paused, false);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

bool vm_is_paused(struct vm *vm)
{
	return atomic_load(&vm->paused);
}

/*
 * A vCPU thread outside vcpu_run waits here while the VM is paused or, when
 * halted for good, until the VM stops; either way it counts as parked.
 */
static void vm_vcpu_park(struct vm *vm, bool halted)
{
	/*
	 * No lock on the common path: a pause that lands after this check
	 * kicks the vCPU out of vcpu_run, and the next exit parks it.
	 */
	if (!halted && !atomic_load(&vm->paused))
		return;
	pthread_mutex_lock(&vm->lock);
	if ((atomic_load(&vm->paused) || halted) && !atomic_load(&vm->stopping)) {
		vm->nparked++;
		pthread_cond_broadcast(&vm->cond);
		while ((atomic_load(&vm->paused) || halted) && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->nparked--;
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_power_button(struct vm *vm)
{
	acpi_pm_power_button(vm->pm);
}

static void on_reset(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_RESET, 0, "guest reset");
}

static void on_poweroff(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_POWEROFF, 0, "guest powered off");
}

static void on_debug_exit(void *opaque, int status)
{
	vm_request_stop(opaque, VM_STOP_DEBUG_EXIT, status, "guest wrote the debug-exit port");
}

static void on_console_event(void *opaque, int event)
{
	if (event == CHARDEV_EVENT_QUIT)
		vm_request_stop(opaque, VM_STOP_QUIT, 0, "Ctrl-A x");
}

/* ---- glue between devices, buses and the accelerator ---- */

static void vm_irq_set(struct irq_sink *s, uint32_t gsi, int level)
{
	struct vm *vm = ((struct vm_irq *)s)->vm;

	vm->ops->irq_line(vm->accel, gsi, level);
}

static uint64_t vm_clock_ns(struct guest_clock *c)
{
	struct vm *vm = (struct vm *)((char *)c - offsetof(struct vm, clock));

	return vm->ops->guest_ns ? vm->ops->guest_ns(vm->accel) : clock_host_ns();
}

static int vm_inline_pio(void *opaque, int cpu, uint16_t port, void *data, unsigned size,
			 bool write)
{
	struct vm *vm = opaque;

	return bus_access(vm->pio, cpu, port, data, size, write);
}

static int vm_inline_mmio(void *opaque, int cpu, uint64_t gpa, void *data, unsigned size,
			  bool write)
{
	struct vm *vm = opaque;

	return bus_access(vm->mmio, cpu, gpa, data, size, write);
}

static int vm_checkpoint(void *opaque, int cpu)
{
	struct vm *vm = opaque;
	int ret = bus_checkpoint(vm->pio, cpu);

	if (!ret && (ret = bus_checkpoint(vm->mmio, cpu)))
		bus_commit(vm->pio, cpu);
	return ret;
}

static void vm_rollback(void *opaque, int cpu)
{
	struct vm *vm = opaque;

	bus_rollback(vm->mmio, cpu);
	bus_rollback(vm->pio, cpu);
}

static void vm_commit(void *opaque, int cpu)
{
	struct vm *vm = opaque;

	bus_commit(vm->mmio, cpu);
	bus_commit(vm->pio, cpu);
}

static void vm_mem_written(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vm *vm = opaque;

	vm->ops->notify_mem_write(vm->accel, gpa, len);
}

/* soft's in-line fault path for block RAM (vm_block.h) */
static int vm_ram_fault(void *opaque, int cpu, uint64_t gpa)
{
	struct vm *vm = opaque;
	int ret;

	(void)cpu;
	if (!vm->blockram)
		return -ENOENT;
	ret = vm_block_fault(vm->blockram, gpa);
	if (ret && ret != -ENOENT)
		vm_request_stop(vm, VM_STOP_ERROR, 0, vm_block_strerror(ret));
	return ret;
}

static void vm_block_failed(void *opaque, const char *why)
{
	vm_request_stop(opaque, VM_STOP_ERROR, 0, why);
}

/*
 * Block RAM's mode (vm_block.h): copy-in on KVM, which needs it (a slot for
 * every block of RAM, so address space for all of it), window on soft,
 * whose MMU reports every touch and so lets RAM exceed RLIMIT_AS.
 */
static int vm_block_choose_mode(struct vm *vm, GError **err)
{
	char why[200];

	vm->block_copy_in = vm->cfg->memory_file && vm->ops == &accel_kvm_ops;
	if (!vm->block_copy_in || !vm_block_can_copy_in(vm->cfg->memory, why, sizeof(why)))
		return 0;
	g_set_error(err, COVE_ERROR, 0,
		    "--memory-file on KVM: %s (KVM needs all of the guest RAM in cove's "
		    "address space; --accel soft can keep RAM beyond it)",
		    why);
	return -ENOMEM;
}

/* ---- building the machine ---- */

static int vm_setup_block_ram(struct vm *vm, GError **err)
{
	const struct cove_config *c = vm->cfg;
	struct vm_block_params p = {
		.mem = vm->mem,
		.ops = vm->ops,
		.accel = vm->accel,
		.path = c->memory_file,
		.size = c->memory,
		.block = c->memory_block ? c->memory_block : COVE_DEFAULT_BLOCK,
		.resident = c->memory_resident ? c->memory_resident : c->memory,
		.first_slot = GUEST_MEM_MAX_REGIONS,
		.copy_in = vm->block_copy_in,
		.failed = vm_block_failed,
		.opaque = vm,
	};

	return vm_block_create(&p, &vm->blockram, err);
}

static int vm_setup_memory(struct vm *vm, GError **err)
{
	uint64_t size = vm->cfg->memory;
	uint64_t low = size < PC_MMIO_HOLE_BASE ? size : PC_MMIO_HOLE_BASE;
	int ret;

	ret = guest_mem_create(&vm->mem);
	if (!ret && vm->cfg->memory_file) {
		ret = vm_setup_block_ram(vm, err);
		if (ret)
			return ret;
	}
	if (!ret)
		ret = guest_mem_add_ram(vm->mem, 0, low);
	if (!ret && size > low)
		ret = guest_mem_add_ram(vm->mem, PC_RAM_ABOVE_4G, size - low);
	if (ret) {
		g_set_error(err, COVE_ERROR, 0, "--memory %" G_GUINT64_FORMAT "M: cannot map guest RAM: %s",
			    size >> 20, strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < guest_mem_nregions(vm->mem); i++) {
		const struct guest_mem_region *r = guest_mem_region(vm->mem, i);

		if (!r->hva)
			continue; /* window-mode block RAM: a slot per mapped block, on first touch */
		ret = vm->ops->set_memory_region(vm->accel, i, r->gpa, r->size, r->hva, 0);
		if (ret) {
			g_set_error(err, COVE_ERROR, 0, "%s: cannot add guest RAM at 0x%" G_GINT64_MODIFIER
				    "x: %s", vm->ops->name, r->gpa, strerror(-ret));
			return ret;
		}
	}
	if (vm->ops->notify_mem_write)
		guest_mem_set_write_hook(vm->mem, vm_mem_written, vm);
	return 0;
}

static int vm_setup_devices(struct vm *vm, struct acpi_config *acpi, GError **err)
{
	struct irq_sink *irq = &vm->irq.sink;
	const char *what;
	int ret;

	what = "COM1";
	ret = serial8250_create(vm->pio, PC_PORT_COM1, irq, PC_IRQ_COM1, vm->host.console, &vm->com1);
	if (!ret) {
		what = "i8042";
		ret = i8042_create(vm->pio, on_reset, vm, &vm->kbd);
	}
	if (!ret) {
		what = "RTC";
		ret = rtc_create(vm->pio, irq, &vm->clock, &vm->rtc);
	}
	if (!ret) {
		what = "debug-exit";
		ret = debugexit_create(vm->pio, PC_PORT_DEBUG_EXIT, on_debug_exit, vm, &vm->dbgexit);
	}
	if (!ret) {
		what = "ACPI PM";
		ret = acpi_pm_create(vm->pio, &vm->clock, on_poweroff, vm, &vm->pm);
	}
	if (ret) {
		g_set_error(err, COVE_ERROR, 0, "%s: cannot create the device: %s", what, strerror(-ret));
		return ret;
	}
	/* the FADT's SCI_INT: the power button of vm_power_button() reaches the guest */
	acpi_pm_set_irq(vm->pm, irq, PC_IRQ_SCI);

	acpi->ncpus = vm->ncpus;
	acpi->nvirtio = 0;
	for (unsigned i = 0; i < vm->cfg->ndisks; i++) {
		const struct cove_disk_cfg *d = &vm->cfg->disks[i];
		struct virtio_blk_params p = { .path = d->path, .readonly = d->readonly };
		uint64_t base = PC_VIRTIO_MMIO_BASE + acpi->nvirtio * PC_VIRTIO_MMIO_SIZE;
		uint32_t gsi = PC_GSI_VIRTIO_BASE + acpi->nvirtio;
		char serial[21];

		snprintf(serial, sizeof(serial), "cove-disk%u", i);
		p.serial = serial;
		ret = virtio_blk_create(&p, vm->mmio, base, vm->mem, irq, gsi, &vm->blk[vm->nblk], err);
		if (ret)
			return ret;
		vm->nblk++;
		acpi->virtio[acpi->nvirtio++] = (struct acpi_virtio_dev){ .base = base, .gsi = gsi };
	}
	if (vm->host.vconsole) {
		uint64_t base = PC_VIRTIO_MMIO_BASE + acpi->nvirtio * PC_VIRTIO_MMIO_SIZE;
		uint32_t gsi = PC_GSI_VIRTIO_BASE + acpi->nvirtio;

		ret = virtio_console_create(vm->host.vconsole, vm->mmio, base, vm->mem, irq, gsi,
					    &vm->vcon);
		if (ret) {
			g_set_error(err, COVE_ERROR, 0, "virtio console: %s", strerror(-ret));
			return ret;
		}
		acpi->virtio[acpi->nvirtio++] = (struct acpi_virtio_dev){ .base = base, .gsi = gsi };
	}
	return 0;
}

static void lapic_set(struct kvm_lapic_state *l, unsigned reg, uint32_t v)
{
	memcpy(&l->regs[reg], &v, sizeof(v));
}

/* CPUID, local APIC wiring (LINT0 ExtINT, LINT1 NMI) and, for the BSP, the boot state. */
static int vm_setup_vcpu(struct vm *vm, struct vm_vcpu *vc, const struct kvm_cpuid2 *cpuid,
			 const struct boot_cpu_state *boot, GError **err)
{
	size_t cpuid_size = sizeof(*cpuid) + cpuid->nent * sizeof(cpuid->entries[0]);
	struct kvm_cpuid2 *c = g_malloc(cpuid_size);
	struct kvm_lapic_state lapic;
	const char *what;
	int ret;

	memcpy(c, cpuid, cpuid_size);
	cpuid_set_topology(c, vc->index, vm->ncpus);
	what = "set CPUID";
	ret = vm->ops->set_cpuid(vc->v, c);
	g_free(c);
	if (!ret) {
		what = "read the local APIC";
		ret = vm->ops->get_lapic(vc->v, &lapic);
	}
	if (!ret) {
		what = "set the local APIC";
		lapic_set(&lapic, LAPIC_REG_LVT0, LAPIC_DM_EXTINT);
		lapic_set(&lapic, LAPIC_REG_LVT1, LAPIC_DM_NMI);
		ret = vm->ops->set_lapic(vc->v, &lapic);
	}
	if (!ret && vc->index == 0) {
		struct kvm_sregs s;

		/* keep what the accelerator owns (APIC base, interrupt bitmap) */
		what = "set the boot CPU state";
		ret = vm->ops->get_sregs(vc->v, &s);
		if (!ret) {
			s.cs = boot->sregs.cs;
			s.ds = boot->sregs.ds;
			s.es = boot->sregs.es;
			s.fs = boot->sregs.fs;
			s.gs = boot->sregs.gs;
			s.ss = boot->sregs.ss;
			s.tr = boot->sregs.tr;
			s.ldt = boot->sregs.ldt;
			s.gdt = boot->sregs.gdt;
			s.idt = boot->sregs.idt;
			s.cr0 = boot->sregs.cr0;
			s.cr3 = boot->sregs.cr3;
			s.cr4 = boot->sregs.cr4;
			s.efer = boot->sregs.efer;
			ret = vm->ops->set_sregs(vc->v, &s);
		}
		if (!ret)
			ret = vm->ops->set_regs(vc->v, &boot->regs);
	}
	if (ret)
		g_set_error(err, COVE_ERROR, 0, "%s: vCPU %u: cannot %s: %s", vm->ops->name, vc->index,
			    what, strerror(-ret));
	return ret;
}

static int vm_setup_vcpus(struct vm *vm, const struct boot_cpu_state *boot, GError **err)
{
	struct kvm_cpuid2 *cpuid;
	int ret;

	cpuid = g_malloc0(sizeof(*cpuid) + VM_MAX_CPUID_ENT * sizeof(cpuid->entries[0]));
	ret = vm->ops->get_cpuid(vm->accel, cpuid, VM_MAX_CPUID_ENT);
	if (ret) {
		g_set_error(err, COVE_ERROR, 0, "%s: cannot read CPUID: %s", vm->ops->name,
			    strerror(-ret));
		goto out;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_vcpu *vc = &vm->cpus[i];

		ret = vm->ops->vcpu_create(vm->accel, i, &vc->v);
		if (ret) {
			g_set_error(err, COVE_ERROR, 0, "%s: cannot create vCPU %u: %s", vm->ops->name, i,
				    strerror(-ret));
			goto out;
		}
		ret = vm_setup_vcpu(vm, vc, cpuid, boot, err);
		if (ret)
			goto out;
	}
out:
	g_free(cpuid);
	return ret;
}

int vm_create(const struct cove_config *cfg, const struct accel_ops *ops,
	      const struct vm_host *host, struct vm **out, GError **err)
{
	struct vm *vm = g_new0(struct vm, 1);
	struct accel_vm_params params;
	struct acpi_config acpi;
	struct boot_request req;
	struct boot_cpu_state boot;
	enum boot_kind kind;
	int ret;

	vm->cfg = cfg;
	vm->ops = ops;
	vm->host = *host;
	vm->ncpus = cfg->cpus;
	vm->cpus = g_new0(struct vm_vcpu, vm->ncpus);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		vm->cpus[i].vm = vm;
		vm->cpus[i].index = i;
	}
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->irq = (struct vm_irq){ .sink.set_level = vm_irq_set, .vm = vm };
	vm->clock.now_ns = vm_clock_ns;
	vm->clock.epoch = cfg->deterministic ? VM_DETERMINISTIC_EPOCH : (int64_t)time(NULL);
	vm->io = (struct accel_io_handler){
		.pio = vm_inline_pio,
		.mmio = vm_inline_mmio,
		.checkpoint = vm_checkpoint,
		.rollback = vm_rollback,
		.commit = vm_commit,
		.ram_fault = vm_ram_fault,
		.opaque = vm,
	};

	ret = vm_block_choose_mode(vm, err);
	if (ret)
		goto out_fail;
	params = (struct accel_vm_params){
		.ncpus = vm->ncpus,
		.io = &vm->io,
		.deterministic = cfg->deterministic,
		.log = host->log,
	};
	ret = ops->vm_create(&params, &vm->accel);
	if (ret) {
		g_set_error(err, COVE_ERROR, 0, "%s: cannot create the VM: %s", ops->name,
			    ret == -E2BIG ? "too many vCPUs for this host" : strerror(-ret));
		goto out_fail;
	}
	ret = vm_setup_memory(vm, err);
	if (ret)
		goto out_fail;
	if ((ret = bus_create(BUS_PIO, vm->ncpus, &vm->pio)) ||
	    (ret = bus_create(BUS_MMIO, vm->ncpus, &vm->mmio))) {
		g_set_error(err, COVE_ERROR, 0, "cannot create the buses: %s", strerror(-ret));
		goto out_fail;
	}
	ret = vm_setup_devices(vm, &acpi, err);
	if (ret)
		goto out_fail;

	req = (struct boot_request){
		.kernel_path = cfg->kernel,
		.initrd_path = cfg->initrd,
		.cmdline = cfg->cmdline,
	};
	ret = acpi_build(vm->mem, &acpi, &req.rsdp_gpa, err);
	if (ret)
		goto out_fail;
	ret = boot_load(vm->mem, &req, &kind, &boot, err);
	if (ret)
		goto out_fail;
	ret = vm_setup_vcpus(vm, &boot, err);
	if (ret)
		goto out_fail;
	*out = vm;
	return 0;
out_fail:
	vm_destroy(vm);
	return ret ? ret : -EINVAL;
}

/* ---- running ---- */

static void vm_dump_cpu(struct vm *vm, struct vm_vcpu *vc)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	FILE *f = vm->host.log;

	if (!f || vm->ops->get_regs(vc->v, &r) || vm->ops->get_sregs(vc->v, &s))
		return;
	fprintf(f, "vCPU %u registers:\n", vc->index);
	fprintf(f, " rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n", r.rax, r.rbx, r.rcx, r.rdx);
	fprintf(f, " rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n", r.rsi, r.rdi, r.rbp, r.rsp);
	fprintf(f, " r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n", r.r8, r.r9, r.r10, r.r11);
	fprintf(f, " r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n", r.r12, r.r13, r.r14, r.r15);
	fprintf(f, " rip=%016llx rflags=%08llx\n", r.rip, r.rflags);
	fprintf(f, " cs=%04x/%016llx ss=%04x ds=%04x es=%04x fs=%04x gs=%04x tr=%04x\n", s.cs.selector,
		s.cs.base, s.ss.selector, s.ds.selector, s.es.selector, s.fs.selector, s.gs.selector,
		s.tr.selector);
	fprintf(f, " cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n", s.cr0, s.cr2,
		s.cr3, s.cr4, s.efer);
	fprintf(f, " gdt=%016llx/%x idt=%016llx/%x\n", s.gdt.base, s.gdt.limit, s.idt.base,
		s.idt.limit);
}

static void vm_handle_pio(struct vm *vm, unsigned cpu, struct accel_exit *e)
{
	for (uint32_t i = 0; i < e->io.count; i++)
		bus_access(vm->pio, (int)cpu, e->io.port, e->io.data + i * e->io.size, e->io.size,
			   e->io.write);
}

static void vm_vcpu_failed(struct vm *vm, struct vm_vcpu *vc, enum vm_stop_reason reason,
			   const char *why)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "vCPU %u: %s", vc->index, why);
	vm_dump_cpu(vm, vc);
	vm_request_stop(vm, reason, 0, msg);
}

static void vm_system_event(struct vm *vm, struct vm_vcpu *vc, uint32_t type)
{
	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		on_poweroff(vm);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		on_reset(vm);
		break;
	default:
		vm_vcpu_failed(vm, vc, VM_STOP_ERROR, "the guest reported a crash");
		break;
	}
}

static void *vm_vcpu_thread(void *arg)
{
	struct vm_vcpu *vc = arg;
	struct vm *vm = vc->vm;

	while (!atomic_load(&vm->stopping)) {
		struct accel_exit *e;
		int ret;

		vm_vcpu_park(vm, false);
		if (atomic_load(&vm->stopping))
			break;
		ret = vm->ops->vcpu_run(vc->v, &e);
		if (ret) {
			char why[120];

			snprintf(why, sizeof(why), "%s run failed: %s", vm->ops->name, strerror(-ret));
			vm_vcpu_failed(vm, vc, VM_STOP_ERROR, why);
			break;
		}
		switch (e->reason) {
		case ACCEL_EXIT_IO:
			vm_handle_pio(vm, vc->index, e);
			break;
		case ACCEL_EXIT_MMIO:
			bus_access(vm->mmio, (int)vc->index, e->mmio.gpa, e->mmio.data, e->mmio.len,
				   e->mmio.write);
			break;
		case ACCEL_EXIT_HLT:
			/* halted with nothing that can wake it: park until the VM stops */
			vm_vcpu_park(vm, true);
			break;
		case ACCEL_EXIT_SHUTDOWN:
			vm_vcpu_failed(vm, vc, VM_STOP_SHUTDOWN, "triple fault (the guest shut down)");
			break;
		case ACCEL_EXIT_SYSTEM_EVENT:
			vm_system_event(vm, vc, e->system_event.type);
			break;
		case ACCEL_EXIT_DEBUG:
			vm_vcpu_failed(vm, vc, VM_STOP_ERROR, "debug exit with no debugger attached");
			break;
		case ACCEL_EXIT_INTERNAL_ERROR:
			vm_vcpu_failed(vm, vc, VM_STOP_ERROR, e->internal.why);
			break;
		case ACCEL_EXIT_INTR:
		case ACCEL_EXIT_NONE:
			break;
		}
	}
	pthread_mutex_lock(&vm->lock);
	vm->nthreads--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

void vm_run(struct vm *vm, struct vm_result *res)
{
	sigset_t block, old;

	if (vm->host.console)
		chardev_set_event(vm->host.console, on_console_event, vm);
	/* vCPU threads leave process signals to the rest of cove */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_vcpu *vc = &vm->cpus[i];
		int ret;

		pthread_mutex_lock(&vm->lock);
		vm->nthreads++;
		pthread_mutex_unlock(&vm->lock);
		ret = pthread_create(&vc->thread, NULL, vm_vcpu_thread, vc);
		if (ret) {
			pthread_mutex_lock(&vm->lock);
			vm->nthreads--;
			pthread_mutex_unlock(&vm->lock);
			vm_request_stop(vm, VM_STOP_ERROR, 0, "cannot start a vCPU thread");
			break;
		}
		vc->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&vm->lock);
	while (!atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->cpus[i].started) {
			pthread_join(vm->cpus[i].thread, NULL);
			vm->cpus[i].started = false;
		}
	}
	if (vm->host.console)
		chardev_set_event(vm->host.console, NULL, NULL);
	if (vm->blockram) {
		char why[200];

		/* the guest's RAM goes back to its file now (copy-in) */
		if (vm_block_sync(vm->blockram, why, sizeof(why))) {
			pthread_mutex_lock(&vm->lock);
			if (vm->result.reason != VM_STOP_ERROR) {
				vm->result.reason = VM_STOP_ERROR;
				snprintf(vm->result.why, sizeof(vm->result.why), "%s", why);
			}
			pthread_mutex_unlock(&vm->lock);
		}
	}
	if (vm->cfg->stats && vm->ops->print_stats)
		vm->ops->print_stats(vm->accel, stderr);
	if (vm->cfg->stats && vm->blockram)
		vm_block_print_stats(vm->blockram, stderr);
	*res = vm->result;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->cpus[i].v)
			vm->ops->vcpu_destroy(vm->cpus[i].v);
	virtio_console_destroy(vm->vcon);
	for (unsigned i = 0; i < vm->nblk; i++)
		virtio_blk_destroy(vm->blk[i]);
	acpi_pm_destroy(vm->pm);
	debugexit_destroy(vm->dbgexit);
	rtc_destroy(vm->rtc);
	i8042_destroy(vm->kbd);
	serial8250_destroy(vm->com1);
	bus_destroy(vm->mmio);
	bus_destroy(vm->pio);
	if (vm->accel)
		vm->ops->vm_destroy(vm->accel);
	vm_block_destroy(vm->blockram);
	guest_mem_destroy(vm->mem);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	g_free(vm->cpus);
	g_free(vm);
}
