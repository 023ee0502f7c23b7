// SPDX-License-Identifier: MIT
/*
 * block_uffd.h over Linux userfaultfd(2). The range is registered for
 * missing faults and, when the kernel has anonymous write protection (5.7+),
 * for write-protect faults. Faults by the kernel on the process's behalf (KVM
 * walking guest page tables) are reported too: that needs CAP_SYS_PTRACE or
 * vm.unprivileged_userfaultfd=1, which probe() tells apart.
 */
#include "block_uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct block_uffd {
	uint8_t *base;
	uint64_t len;
	int fd, stop_fd;
	bool wp;
	block_uffd_fault_fn fault;
	void *opaque;
	pthread_t thread;
};

static int uffd_new(char *why, size_t whylen)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int ret = -errno;

		snprintf(why, whylen, "userfaultfd: %s%s", strerror(-ret),
			 ret == -EPERM ? " (needs root or vm.unprivileged_userfaultfd=1)" : "");
		return ret;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int ret = -errno;

		snprintf(why, whylen, "userfaultfd API: %s", strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

/* Registers [base, base+len); *wp tells whether write protection came with it. */
static int uffd_register(int fd, void *base, uint64_t len, bool *wp, char *why, size_t whylen)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)base, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};
	const uint64_t need = 1ull << _UFFDIO_COPY | 1ull << _UFFDIO_WAKE |
			      1ull << _UFFDIO_ZEROPAGE;

	*wp = true;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		*wp = false;
		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
			int ret = -errno;

			snprintf(why, whylen, "userfaultfd register: %s", strerror(-ret));
			return ret;
		}
	}
	if ((reg.ioctls & need) != need) {
		snprintf(why, whylen, "userfaultfd: no copy/wake/zeropage for anonymous memory");
		return -ENOTSUP;
	}
	if (!(reg.ioctls & 1ull << _UFFDIO_WRITEPROTECT))
		*wp = false;
	return 0;
}

int block_uffd_probe(uint64_t len, char *why, size_t whylen)
{
	void *base;
	bool wp;
	int fd, ret;

	fd = uffd_new(why, whylen);
	if (fd < 0)
		return fd;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		snprintf(why, whylen, "no address space for %llu MiB of guest RAM: %s",
			 (unsigned long long)(len >> 20), strerror(-ret));
		close(fd);
		return ret;
	}
	ret = uffd_register(fd, base, len, &wp, why, whylen);
	munmap(base, len);
	close(fd);
	return ret;
}

static void *fault_thread(void *arg)
{
	struct block_uffd *u = arg;
	struct uffd_msg msg[16];

	for (;;) {
		struct pollfd p[2] = { { .fd = u->fd, .events = POLLIN },
				       { .fd = u->stop_fd, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = read(u->fd, msg, sizeof(msg));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			break;
		}
		for (ssize_t k = 0; k < n / (ssize_t)sizeof(msg[0]); k++) {
			uint64_t a = msg[k].arg.pagefault.address;

			if (msg[k].event != UFFD_EVENT_PAGEFAULT || a < (uintptr_t)u->base ||
			    a - (uintptr_t)u->base >= u->len)
				continue;
			u->fault(u->opaque, (a - (uintptr_t)u->base) & ~0xfffull,
				 msg[k].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
		}
	}
	return NULL;
}

int block_uffd_open(uint64_t len, block_uffd_fault_fn fault, void *opaque,
		    struct block_uffd **out, char *why, size_t whylen)
{
	struct block_uffd *u;
	int ret;

	if (!len || len & 0xfff) {
		snprintf(why, whylen, "range length %llu is not a multiple of 4K",
			 (unsigned long long)len);
		return -EINVAL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->len = len;
	u->fault = fault;
	u->opaque = opaque;
	u->fd = uffd_new(why, whylen);
	if (u->fd < 0) {
		ret = u->fd;
		goto out_free;
	}
	u->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (u->base == MAP_FAILED) {
		ret = -errno;
		snprintf(why, whylen, "no address space for %llu MiB of guest RAM: %s",
			 (unsigned long long)(len >> 20), strerror(-ret));
		goto out_fd;
	}
	/* 4K pages: a block is filled and dropped whole, a huge page would straddle two */
	madvise(u->base, len, MADV_NOHUGEPAGE);
	ret = uffd_register(u->fd, u->base, len, &u->wp, why, whylen);
	if (ret)
		goto out_map;
	u->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (u->stop_fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "eventfd: %s", strerror(-ret));
		goto out_map;
	}
	ret = -pthread_create(&u->thread, NULL, fault_thread, u);
	if (ret) {
		snprintf(why, whylen, "cannot start the fault thread: %s", strerror(-ret));
		goto out_stop;
	}
	*out = u;
	return 0;
out_stop:
	close(u->stop_fd);
out_map:
	munmap(u->base, len);
out_fd:
	close(u->fd);
out_free:
	free(u);
	return ret;
}

void block_uffd_close(struct block_uffd *u)
{
	uint64_t one = 1;

	if (!u)
		return;
	if (write(u->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(u->thread, NULL);
	close(u->stop_fd);
	close(u->fd); /* before munmap: no fault is left waiting for the thread */
	munmap(u->base, u->len);
	free(u);
}

void *block_uffd_base(const struct block_uffd *u)
{
	return u->base;
}

bool block_uffd_can_protect(const struct block_uffd *u)
{
	return u->wp;
}

static bool in_range(const struct block_uffd *u, uint64_t off, uint64_t len)
{
	return off <= u->len && len <= u->len - off && !((off | len) & 0xfff);
}

int block_uffd_copy(struct block_uffd *u, uint64_t off, const void *src, uint64_t len, bool wp)
{
	uint64_t done = 0;

	if (!in_range(u, off, len) || (wp && !u->wp))
		return -EINVAL;
	while (done < len) {
		struct uffdio_copy c = {
			.dst = (uintptr_t)u->base + off + done,
			.src = (uintptr_t)src + done,
			.len = len - done,
			.mode = UFFDIO_COPY_MODE_DONTWAKE | (wp ? UFFDIO_COPY_MODE_WP : 0),
		};

		if (ioctl(u->fd, UFFDIO_COPY, &c) < 0 && errno != EAGAIN)
			return -errno;
		if (c.copy > 0)
			done += (uint64_t)c.copy;
		else if (c.copy != -EAGAIN)
			return c.copy < 0 ? (int)c.copy : -EIO;
	}
	return 0;
}

int block_uffd_zeropage(struct block_uffd *u, uint64_t off, uint64_t len)
{
	struct uffdio_zeropage z = { .range = { .start = (uintptr_t)u->base + off, .len = len } };

	if (!in_range(u, off, len))
		return -EINVAL;
	return ioctl(u->fd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST ? -errno : 0;
}

int block_uffd_protect(struct block_uffd *u, uint64_t off, uint64_t len, bool wp)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)u->base + off, .len = len },
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	if (!in_range(u, off, len) || !u->wp)
		return -EINVAL;
	return ioctl(u->fd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
}

int block_uffd_zap(struct block_uffd *u, uint64_t off, uint64_t len)
{
	if (!in_range(u, off, len))
		return -EINVAL;
	return madvise(u->base + off, len, MADV_DONTNEED) ? -errno : 0;
}

int block_uffd_wake(struct block_uffd *u, uint64_t off, uint64_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)u->base + off, .len = len };

	if (!in_range(u, off, len))
		return -EINVAL;
	return ioctl(u->fd, UFFDIO_WAKE, &r) < 0 ? -errno : 0;
}
