// SPDX-License-Identifier: MIT
/*
 * kvm-probe: proves that /dev/kvm inside the nested harness works before cove is involved.
 * Opens /dev/kvm, checks KVM_GET_API_VERSION, creates a VM and a vCPU, and runs a tiny
 * real-mode guest that writes one byte to an I/O port and halts. Exits 0 when every step
 * behaved as the KVM API documentation (Documentation/virt/kvm/api.rst) says it should.
 *
 * Built with gcc -static by tests/nested/run.sh; it runs inside the outer QEMU guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM_SIZE 0x10000
#define GUEST_ENTRY    0x1000
#define PROBE_PORT     0x3f8
#define PROBE_BYTE     'K'

/* mov al, 'K'; mov dx, 0x3f8; out dx, al; hlt */
static const uint8_t guest_code[] = {
	0xb0, PROBE_BYTE, 0xba, PROBE_PORT & 0xff, PROBE_PORT >> 8, 0xee, 0xf4,
};

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

static int run_guest(int kvm, int vm)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint8_t *mem;
	int vcpu, mmap_size, ret = 1;
	int saw_io = 0;

	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + GUEST_ENTRY, guest_code, sizeof(guest_code));

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");

	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(*run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	/* Real mode, CS base 0, so CS:IP = 0:GUEST_ENTRY. */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ENTRY;
	regs.rflags = 0x2; /* bit 1 is reserved and must be set */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			const uint8_t *data = (const uint8_t *)run + run->io.data_offset;

			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != PROBE_PORT ||
			    run->io.size != 1 || run->io.count != 1 || data[0] != PROBE_BYTE) {
				fprintf(stderr,
					"kvm-probe: unexpected I/O exit: port 0x%x size %u\n",
					run->io.port, run->io.size);
				goto out;
			}
			saw_io = 1;
			printf("kvm-probe: guest wrote '%c' to port 0x%x\n", data[0], run->io.port);
			break;
		}
		case KVM_EXIT_HLT:
			if (!saw_io) {
				fprintf(stderr, "kvm-probe: guest halted before its I/O exit\n");
				goto out;
			}
			printf("kvm-probe: guest halted\n");
			ret = 0;
			goto out;
		default:
			fprintf(stderr, "kvm-probe: unexpected exit reason %u\n", run->exit_reason);
			goto out;
		}
	}
	fprintf(stderr, "kvm-probe: guest did not halt\n");
out:
	close(vcpu);
	return ret;
}

int main(void)
{
	int kvm, vm, version, ret;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version < 0)
		return fail("KVM_GET_API_VERSION");
	printf("kvm-probe: KVM_GET_API_VERSION = %d\n", version);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "kvm-probe: expected API version %d\n", KVM_API_VERSION);
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	printf("kvm-probe: KVM_CREATE_VM ok\n");
	ret = run_guest(kvm, vm);
	close(vm);
	close(kvm);
	if (ret == 0)
		printf("kvm-probe: ok\n");
	return ret;
}
