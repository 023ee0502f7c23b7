/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the split-virtqueue walker (virtio 1.2 §2.7): the
 * input becomes the guest's descriptor table, available ring and buffers,
 * and the device side pops, copies and pushes as a device would. Guest RAM
 * is two regions with a hole between them; every segment the walker hands
 * out must lie in RAM, or the target traps. ASan watches the host side.
 *
 * Input: [0] queue size (1 << (v % 9)), [1] features (bit 0 INDIRECT_DESC,
 * bit 1 EVENT_IDX), [2..3] starting ring index, then guest RAM contents:
 * region A (descriptor table at 0, avail ring at 0x1000, used ring at
 * 0x2000) and, past 64 KiB of input, region B.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "mmu/guest_mem.h"

#define RAM_A	 0x0ULL
#define RAM_B	 0x20000ULL
#define RAM_SIZE 0x10000ULL

static struct guest_mem *mem;
static uint8_t zero[RAM_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void load_ram(const uint8_t *data, size_t size)
{
	size_t a = size < RAM_SIZE ? size : RAM_SIZE;
	size_t b = size - a < RAM_SIZE ? size - a : RAM_SIZE;

	check(guest_mem_write(mem, RAM_A, zero, RAM_SIZE) == 0);
	check(guest_mem_write(mem, RAM_B, zero, RAM_SIZE) == 0);
	check(guest_mem_write(mem, RAM_A, data, a) == 0);
	check(guest_mem_write(mem, RAM_B, data + a, b) == 0);
}

/* Everything the walker hands out must be guest RAM and well ordered. */
static void check_req(const struct virtq_req *req, uint16_t qsize)
{
	uint64_t rd = 0, wr = 0;

	check(req->head < qsize);
	check(req->nseg <= qsize && req->nread <= req->nseg);
	for (unsigned i = 0; i < req->nseg; i++) {
		const struct virtq_seg *s = &req->seg[i];

		check(s->len > 0 && guest_mem_is_ram(mem, s->gpa, s->len));
		check(s->write == (i >= req->nread));
		if (s->write)
			wr += s->len;
		else
			rd += s->len;
	}
	check(rd == req->read_len && wr == req->write_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_req req;
	struct virtq vq;
	uint8_t buf[64];
	uint16_t qsize;
	uint64_t features;

	if (!mem) {
		if (guest_mem_create(&mem) || guest_mem_add_ram(mem, RAM_A, RAM_SIZE) ||
		    guest_mem_add_ram(mem, RAM_B, RAM_SIZE))
			abort();
	}
	if (size < 4)
		return 0;
	qsize = (uint16_t)(1u << (data[0] % 9));
	features = ((data[1] & 1) ? 1ULL << VIRTIO_F_INDIRECT_DESC : 0) |
		   ((data[1] & 2) ? 1ULL << VIRTIO_F_EVENT_IDX : 0);
	load_ram(data + 4, size - 4);

	virtq_init(&vq, mem);
	vq.size = qsize;
	vq.desc_gpa = RAM_A;
	vq.avail_gpa = RAM_A + 0x1000;
	vq.used_gpa = RAM_A + 0x2000;
	if (virtq_enable(&vq, features))
		abort(); /* these rings are always valid */
	vq.last_avail = (uint16_t)(data[2] | data[3] << 8);
	vq.used_idx = vq.last_avail;

	/* A well-behaved ring holds at most qsize chains: bound the loop anyway. */
	for (unsigned n = 0; n <= 2u * qsize + 2; n++) {
		int64_t got;
		int ret = virtq_pop(&vq, &req);

		if (ret < 0) {
			check(vq.broken && req.nseg == 0);
			check(virtq_pop(&vq, &req) < 0);
			break;
		}
		if (ret == 0)
			break;
		check_req(&req, qsize);
		got = virtq_req_read(mem, &req, req.read_len / 2, buf, sizeof(buf));
		check(got >= 0 && (uint64_t)got <= sizeof(buf));
		got = virtq_req_write(mem, &req, req.write_len / 3, buf, sizeof(buf));
		check(got >= 0 && (uint64_t)got <= sizeof(buf));
		check(virtq_push(&vq, req.head, (uint32_t)got) == 0);
		(void)virtq_should_notify(&vq);
	}
	return 0;
}
