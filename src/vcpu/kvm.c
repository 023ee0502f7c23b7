/* SPDX-License-Identifier: MIT */
/*
 * The KVM accelerator: accel.h on /dev/kvm (Documentation/virt/kvm/api.rst).
 * The in-kernel irqchip (PIC pair, IOAPIC, LAPICs) and PIT are used; port
 * 0x61 is the kernel's dummy speaker so PIT calibration never exits.
 * A kick sets kvm_run.immediate_exit and signals the vCPU's thread, which
 * makes KVM_RUN return EINTR whether it is in the guest or about to enter.
 */
#include "accel.h"
#include "cpuid.h"
#include "pc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_KICK_SIGNAL	  SIGUSR1
#define KVM_TSS_ADDR	  0xfffbd000ul /* three pages below the BIOS, Intel only */
#define KVM_IDMAP_ADDR	  0xfffbc000ull
#define KVM_MAX_CPUID_ENT 256

struct accel {
	int kvm_fd, vm_fd;
	size_t run_size;
	unsigned ncpus;
};

struct accel_vcpu {
	struct accel *a;
	int fd;
	unsigned index;
	struct kvm_run *run;
	pthread_t thread;
	atomic_bool thread_known;
	struct accel_exit exit;
};

/* Capabilities cove cannot do without. */
static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
};

/* Opens /dev/kvm and checks it is usable; returns the fd or -errno. */
static int kvm_open(char *why, size_t whylen)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), ver;

	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(why, whylen, "/dev/kvm does not exist (no hardware virtualisation here)");
		else
			snprintf(why, whylen, "/dev/kvm: %s", strerror(e));
		return -e;
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(why, whylen, "/dev/kvm speaks API version %d, cove needs %d", ver,
			 KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			snprintf(why, whylen, "/dev/kvm lacks %s", kvm_required_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	return fd;
}

static int kvm_probe(char *why, size_t whylen)
{
	int fd = kvm_open(why, whylen);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* The PC's interrupt routing (pc.h): ISA IRQs to both PIC and IOAPIC, IRQ0 on IOAPIC pin 2. */
static int kvm_set_pc_routing(struct accel *a)
{
	struct kvm_irq_routing *r;
	unsigned n = 0;
	int ret;

	r = calloc(1, sizeof(*r) + 48 * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue; /* the cascade */
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				       .pin = gsi % 8 },
		};
	}
	for (unsigned gsi = 0; gsi < PC_IOAPIC_PINS; gsi++) {
		if (gsi == PC_GSI_TIMER)
			continue;
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC,
				       .pin = gsi == 0 ? PC_GSI_TIMER : gsi },
		};
	}
	r->nr = n;
	ret = ioctl(a->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
	free(r);
	return ret;
}

static void kvm_kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static pthread_once_t kvm_signal_once = PTHREAD_ONCE_INIT;

static void kvm_install_signal(void)
{
	struct sigaction sa = { .sa_handler = kvm_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(KVM_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
}

static int kvm_vm_create(const struct accel_vm_params *p, struct accel **out)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct accel *a = calloc(1, sizeof(*a));
	char why[160];
	int ret, n;

	if (!a)
		return -ENOMEM;
	a->ncpus = p->ncpus;
	a->vm_fd = -1;
	a->kvm_fd = kvm_open(why, sizeof(why));
	if (a->kvm_fd < 0) {
		ret = a->kvm_fd;
		goto out_free;
	}
	n = ioctl(a->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n > 0 && p->ncpus > (unsigned)n) {
		ret = -E2BIG;
		goto out_kvm;
	}
	a->vm_fd = ioctl(a->kvm_fd, KVM_CREATE_VM, 0);
	if (a->vm_fd < 0) {
		ret = -errno;
		goto out_kvm;
	}
	n = ioctl(a->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0) {
		ret = -EINVAL;
		goto out_vm;
	}
	a->run_size = (size_t)n;
	if (ioctl(a->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		ret = -errno;
		goto out_vm;
	}
	if (ioctl(a->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t idmap = KVM_IDMAP_ADDR;

		ioctl(a->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	}
	if (ioctl(a->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(a->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		goto out_vm;
	}
	ret = kvm_set_pc_routing(a);
	if (ret)
		goto out_vm;
	pthread_once(&kvm_signal_once, kvm_install_signal);
	*out = a;
	return 0;
out_vm:
	close(a->vm_fd);
out_kvm:
	close(a->kvm_fd);
out_free:
	free(a);
	return ret;
}

static void kvm_vm_destroy(struct accel *a)
{
	if (!a)
		return;
	close(a->vm_fd);
	close(a->kvm_fd);
	free(a);
}

static int kvm_set_memory_region(struct accel *a, uint32_t slot, uint64_t gpa, uint64_t size,
				 void *hva, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(a->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* api.rst: KVM_CAP_NR_MEMSLOTS is the slot count of one address space (509 if unanswered). */
static unsigned kvm_max_memory_slots(struct accel *a)
{
	int n = ioctl(a->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);

	if (n <= 0)
		n = ioctl(a->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	return n > 0 ? (unsigned)n : 509;
}

static int kvm_vcpu_create(struct accel *a, unsigned index, struct accel_vcpu **out)
{
	struct accel_vcpu *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->a = a;
	v->index = index;
	v->fd = ioctl(a->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	v->run = mmap(NULL, a->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = -errno;
		goto out_fd;
	}
	*out = v;
	return 0;
out_fd:
	close(v->fd);
out_free:
	free(v);
	return ret;
}

static void kvm_vcpu_destroy(struct accel_vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->a->run_size);
	close(v->fd);
	free(v);
}

static void set_internal(struct accel_exit *e, uint32_t sub, const char *fmt, unsigned long long x)
{
	e->reason = ACCEL_EXIT_INTERNAL_ERROR;
	e->internal.suberror = sub;
	snprintf(e->internal.why, sizeof(e->internal.why), fmt, x);
}

/* Translates kvm_run into an accel_exit. */
static void kvm_fill_exit(struct accel_vcpu *v)
{
	struct kvm_run *run = v->run;
	struct accel_exit *e = &v->exit;

	memset(e, 0, sizeof(*e));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->reason = ACCEL_EXIT_IO;
		e->io.port = run->io.port;
		e->io.size = run->io.size;
		e->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		e->io.count = run->io.count;
		e->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		e->reason = ACCEL_EXIT_MMIO;
		e->mmio.gpa = run->mmio.phys_addr;
		e->mmio.len = run->mmio.len;
		e->mmio.write = run->mmio.is_write;
		e->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		e->reason = ACCEL_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		e->reason = ACCEL_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		e->reason = ACCEL_EXIT_SYSTEM_EVENT;
		e->system_event.type = run->system_event.type;
		break;
	case KVM_EXIT_DEBUG:
		e->reason = ACCEL_EXIT_DEBUG;
		e->debug.exception = run->debug.arch.exception;
		e->debug.pc = run->debug.arch.pc;
		break;
	case KVM_EXIT_INTR:
		e->reason = ACCEL_EXIT_INTR;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		set_internal(e, run->internal.suberror, "KVM internal error, suberror %llu",
			     run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		set_internal(e, 0, "VM entry failed, hardware reason 0x%llx",
			     run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		set_internal(e, 0, "unexpected KVM exit reason %llu", run->exit_reason);
		break;
	}
}

static int kvm_vcpu_run(struct accel_vcpu *v, struct accel_exit **exit)
{
	if (!atomic_load(&v->thread_known)) {
		v->thread = pthread_self();
		atomic_store(&v->thread_known, true);
	}
	*exit = &v->exit;
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
		v->run->immediate_exit = 0;
		memset(&v->exit, 0, sizeof(v->exit));
		v->exit.reason = ACCEL_EXIT_INTR;
		return 0;
	}
	kvm_fill_exit(v);
	return 0;
}

static void kvm_vcpu_kick(struct accel_vcpu *v)
{
	v->run->immediate_exit = 1;
	if (atomic_load(&v->thread_known))
		pthread_kill(v->thread, KVM_KICK_SIGNAL);
}

#define KVM_GETSET(name, type, getreq, setreq)                                        \
	static int kvm_get_##name(struct accel_vcpu *v, type *x)                      \
	{                                                                             \
		return ioctl(v->fd, getreq, x) < 0 ? -errno : 0;                      \
	}                                                                             \
	static int kvm_set_##name(struct accel_vcpu *v, const type *x)                \
	{                                                                             \
		return ioctl(v->fd, setreq, x) < 0 ? -errno : 0;                      \
	}

KVM_GETSET(regs, struct kvm_regs, KVM_GET_REGS, KVM_SET_REGS)
KVM_GETSET(sregs, struct kvm_sregs, KVM_GET_SREGS, KVM_SET_SREGS)
KVM_GETSET(fpu, struct kvm_fpu, KVM_GET_FPU, KVM_SET_FPU)
KVM_GETSET(lapic, struct kvm_lapic_state, KVM_GET_LAPIC, KVM_SET_LAPIC)

/* KVM_GET/SET_MSRS on a temporary struct kvm_msrs. */
static int kvm_msrs(struct accel_vcpu *v, struct kvm_msr_entry *e, unsigned n, bool set)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(*e));
	int ret;

	if (!m)
		return -ENOMEM;
	m->nmsrs = n;
	memcpy(m->entries, e, n * sizeof(*e));
	ret = ioctl(v->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, m);
	if (ret < 0)
		ret = -errno;
	else if (!set)
		memcpy(e, m->entries, n * sizeof(*e));
	free(m);
	return ret;
}

static int kvm_get_msrs(struct accel_vcpu *v, struct kvm_msr_entry *e, unsigned n)
{
	return kvm_msrs(v, e, n, false);
}

static int kvm_set_msrs(struct accel_vcpu *v, const struct kvm_msr_entry *e, unsigned n)
{
	return kvm_msrs(v, (struct kvm_msr_entry *)e, n, true);
}

static int kvm_get_cpuid(struct accel *a, struct kvm_cpuid2 *c, unsigned max_entries)
{
	struct kvm_cpuid2 *s;
	int ret;

	s = calloc(1, sizeof(*s) + KVM_MAX_CPUID_ENT * sizeof(s->entries[0]));
	if (!s)
		return -ENOMEM;
	s->nent = KVM_MAX_CPUID_ENT;
	if (ioctl(a->kvm_fd, KVM_GET_SUPPORTED_CPUID, s) < 0) {
		ret = -errno;
		goto out;
	}
	cpuid_filter(s);
	if (s->nent > max_entries) {
		ret = -E2BIG;
		goto out;
	}
	c->nent = s->nent;
	memcpy(c->entries, s->entries, s->nent * sizeof(s->entries[0]));
	ret = 0;
out:
	free(s);
	return ret;
}

static int kvm_set_cpuid(struct accel_vcpu *v, const struct kvm_cpuid2 *c)
{
	return ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
}

static int kvm_set_guest_debug(struct accel_vcpu *v, const struct kvm_guest_debug *dbg)
{
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, dbg) < 0 ? -errno : 0;
}

static int kvm_irq_line(struct accel *a, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(a->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_get_irqchip_state(struct accel *a, struct accel_irqchip_state *st)
{
	st->pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	st->pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	st->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(a->vm_fd, KVM_GET_IRQCHIP, &st->pic[0]) < 0 ||
	    ioctl(a->vm_fd, KVM_GET_IRQCHIP, &st->pic[1]) < 0 ||
	    ioctl(a->vm_fd, KVM_GET_IRQCHIP, &st->ioapic) < 0 ||
	    ioctl(a->vm_fd, KVM_GET_PIT2, &st->pit) < 0)
		return -errno;
	return 0;
}

static int kvm_set_irqchip_state(struct accel *a, const struct accel_irqchip_state *st)
{
	if (ioctl(a->vm_fd, KVM_SET_IRQCHIP, &st->pic[0]) < 0 ||
	    ioctl(a->vm_fd, KVM_SET_IRQCHIP, &st->pic[1]) < 0 ||
	    ioctl(a->vm_fd, KVM_SET_IRQCHIP, &st->ioapic) < 0 ||
	    ioctl(a->vm_fd, KVM_SET_PIT2, &st->pit) < 0)
		return -errno;
	return 0;
}

const struct accel_ops accel_kvm_ops = {
	.name = "kvm",
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.set_memory_region = kvm_set_memory_region,
	.max_memory_slots = kvm_max_memory_slots,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.get_fpu = kvm_get_fpu,
	.set_fpu = kvm_set_fpu,
	.get_msrs = kvm_get_msrs,
	.set_msrs = kvm_set_msrs,
	.get_lapic = kvm_get_lapic,
	.set_lapic = kvm_set_lapic,
	.get_cpuid = kvm_get_cpuid,
	.set_cpuid = kvm_set_cpuid,
	.set_guest_debug = kvm_set_guest_debug,
	.irq_line = kvm_irq_line,
	.get_irqchip_state = kvm_get_irqchip_state,
	.set_irqchip_state = kvm_set_irqchip_state,
};
