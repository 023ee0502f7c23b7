/* SPDX-License-Identifier: MIT */
#include "virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtqueue.h"

/* Data moves through this much bounce buffer at a time. */
#define BLK_CHUNK (128 * 1024)

/* virtio 1.2 §5.2.4, up to num_queues; the rest of the space reads as 0. */
struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_blk_config) == 36, "virtio_blk_config layout");

/* virtio 1.2 §5.2.6: the header the driver puts first. */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk {
	struct virtio_mmio t; /* first: its mutex guards everything below too */
	int fd;
	bool readonly;
	uint64_t capacity; /* 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;

	pthread_t worker;
	pthread_cond_t wake;
	bool kicked;
	bool stop;
	uint8_t *buf;	      /* BLK_CHUNK bytes, worker only */
	struct virtq_req req; /* the chain in progress, worker only */
};

static void blk_notify(void *dev, unsigned q)
{
	struct virtio_blk *b = dev;

	(void)q;
	b->kicked = true;
	pthread_cond_signal(&b->wake);
}

static const struct virtio_dev_ops blk_ops = {
	.notify = blk_notify,
};

static int pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO; /* the image shrank under us */
		buf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		buf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* §5.2.6.1: data is whole sectors, all of it below capacity. */
static bool range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	return len % VIRTIO_BLK_SECTOR == 0 && sector <= b->capacity &&
	       len / VIRTIO_BLK_SECTOR <= b->capacity - sector;
}

/* True while no reset happened since the chain was taken at generation gen. */
static bool same_gen(const struct virtio_blk *b, uint64_t gen)
{
	return b->t.regs.reset_count == gen;
}

/*
 * Reads len bytes from sector into the writable part. The mutex is dropped
 * around the file I/O only; guest memory is written with it held and only if
 * no reset happened meanwhile. *written counts the bytes delivered.
 */
static uint8_t blk_in(struct virtio_blk *b, uint64_t sector, uint64_t len, uint64_t gen,
		      uint64_t *written)
{
	uint64_t off = sector * VIRTIO_BLK_SECTOR;

	if (!range_ok(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < BLK_CHUNK ? (size_t)(len - done) : BLK_CHUNK;
		int ret;

		pthread_mutex_unlock(&b->t.lock);
		ret = pread_full(b->fd, b->buf, n, off + done);
		pthread_mutex_lock(&b->t.lock);
		if (ret || !same_gen(b, gen))
			return VIRTIO_BLK_S_IOERR;
		if (virtq_req_write(b->t.p.mem, &b->req, done, b->buf, n) != (int64_t)n)
			return VIRTIO_BLK_S_IOERR;
		done += n;
		*written = done;
	}
	return VIRTIO_BLK_S_OK;
}

/* Writes the readable bytes after the header to sector. */
static uint8_t blk_out(struct virtio_blk *b, uint64_t sector, uint64_t len, uint64_t gen)
{
	uint64_t off = sector * VIRTIO_BLK_SECTOR;

	/* §5.2.6.2: a read-only device fails writes and writes nothing. */
	if (b->readonly || !range_ok(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < BLK_CHUNK ? (size_t)(len - done) : BLK_CHUNK;
		int ret;

		if (virtq_req_read(b->t.p.mem, &b->req, sizeof(struct virtio_blk_req_hdr) + done,
				   b->buf, n) != (int64_t)n)
			return VIRTIO_BLK_S_IOERR;
		pthread_mutex_unlock(&b->t.lock);
		ret = pwrite_full(b->fd, b->buf, n, off + done);
		pthread_mutex_lock(&b->t.lock);
		if (ret || !same_gen(b, gen))
			return VIRTIO_BLK_S_IOERR;
		done += n;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t blk_flush(struct virtio_blk *b)
{
	int ret;

	pthread_mutex_unlock(&b->t.lock);
	ret = fdatasync(b->fd);
	pthread_mutex_lock(&b->t.lock);
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Runs the chain in b->req; mutex held on entry and exit. */
static void blk_handle(struct virtio_blk *b)
{
	struct virtq_req *req = &b->req;
	struct guest_mem *mem = b->t.p.mem;
	uint64_t gen = b->t.regs.reset_count;
	struct virtio_blk_req_hdr hdr;
	uint64_t data_len, written = 0;
	uint8_t status;

	/* No room for the status byte: nothing can be reported. */
	if (req->write_len == 0) {
		virtio_mmio_push(&b->t, 0, req->head, 0);
		return;
	}
	/* The status is the last writable byte; data, if any, precedes it. */
	data_len = req->write_len - 1;
	if (virtq_req_read(mem, req, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		status = VIRTIO_BLK_S_IOERR;
		goto out_status;
	}
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		status = blk_in(b, le64toh(hdr.sector), data_len, gen, &written);
		break;
	case VIRTIO_BLK_T_OUT:
		status = blk_out(b, le64toh(hdr.sector), req->read_len - sizeof(hdr), gen);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = blk_flush(b);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = data_len < VIRTIO_BLK_ID_BYTES ? data_len : VIRTIO_BLK_ID_BYTES;

		if (virtq_req_write(mem, req, 0, b->serial, n) == (int64_t)n) {
			written = n;
			status = VIRTIO_BLK_S_OK;
		} else {
			status = VIRTIO_BLK_S_IOERR;
		}
		break;
	}
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
out_status:
	/* Reset while the file I/O ran: the chain belongs to nobody now. */
	if (!same_gen(b, gen))
		return;
	if (virtq_req_write(mem, req, data_len, &status, 1) != 1)
		written = 0;
	else if (written == data_len)
		written++; /* the status byte joins a fully written prefix */
	/* §2.7.8.1: len never claims bytes that were not written. */
	virtio_mmio_push(&b->t, 0, req->head, (uint32_t)written);
}

static void *blk_worker(void *opaque)
{
	struct virtio_blk *b = opaque;

	pthread_mutex_lock(&b->t.lock);
	while (!b->stop) {
		if (!b->kicked) {
			pthread_cond_wait(&b->wake, &b->t.lock);
			continue;
		}
		b->kicked = false;
		while (!b->stop && virtio_mmio_pop(&b->t, 0, &b->req) > 0)
			blk_handle(b);
	}
	pthread_mutex_unlock(&b->t.lock);
	return NULL;
}

static int fail(GError **err, int e, const char *path, const char *why)
{
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
		    why ? why : g_strerror(e));
	return -e;
}

/* Opens, locks and sizes the image; fills b->fd, capacity and readonly. */
static int open_image(struct virtio_blk *b, const struct virtio_blk_params *p, GError **err)
{
	uint64_t size;
	struct stat st;

	b->readonly = p->readonly;
	b->fd = open(p->path, (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return fail(err, errno, p->path, NULL);
	/* Two writers on one image corrupt it; readers may share. */
	if (flock(b->fd, (p->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return fail(err, EBUSY, p->path, "image is in use by another process");
		return fail(err, errno, p->path, NULL);
	}
	if (fstat(b->fd, &st))
		return fail(err, errno, p->path, NULL);
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size))
			return fail(err, errno, p->path, NULL);
	} else {
		return fail(err, EINVAL, p->path, "not a regular file or block device");
	}
	/* A trailing partial sector is not exposed. */
	b->capacity = size / VIRTIO_BLK_SECTOR;
	return 0;
}

static int start_worker(struct virtio_blk *b)
{
	sigset_t all, old;
	int ret;

	/* Signals are for the vCPU threads and main(), never for a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&b->worker, NULL, blk_worker, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return -ret;
	pthread_setname_np(b->worker, "virtio-blk");
	return 0;
}

int virtio_blk_create(const struct virtio_blk_params *p, struct bus *mmio, uint64_t base,
		      struct guest_mem *mem, struct irq_sink *irq, uint32_t gsi,
		      struct virtio_blk **out, GError **err)
{
	struct virtio_mmio_params mp;
	struct virtio_blk *b;
	uint64_t features;
	int ret;

	if (p->serial && strlen(p->serial) > VIRTIO_BLK_ID_BYTES)
		return fail(err, EINVAL, p->path, "serial is longer than 20 bytes");
	b = calloc(1, sizeof(*b));
	if (!b)
		return fail(err, ENOMEM, p->path, NULL);
	b->fd = -1;
	b->buf = malloc(BLK_CHUNK);
	if (!b->buf) {
		ret = fail(err, ENOMEM, p->path, NULL);
		goto out_free;
	}
	if (p->serial)
		memcpy(b->serial, p->serial, strlen(p->serial));
	ret = open_image(b, p, err);
	if (ret)
		goto out_close;

	b->config.capacity = htole64(b->capacity);
	/* Linux adds two segments (header, status) to seg_max. */
	b->config.seg_max = htole32(VIRTQ_MAX_SIZE - 2);
	features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_FLUSH);
	if (b->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	mp = (struct virtio_mmio_params){
		.ops = &blk_ops,
		.dev = b,
		.device_id = VIRTIO_ID_BLOCK,
		.features = features,
		.nqueues = 1,
		.config = &b->config,
		.config_size = sizeof(b->config),
		.mem = mem,
		.irq = irq,
		.gsi = gsi,
	};
	ret = virtio_mmio_init(&b->t, &mp);
	if (ret) {
		fail(err, -ret, p->path, NULL);
		goto out_close;
	}
	ret = -pthread_cond_init(&b->wake, NULL);
	if (ret) {
		fail(err, -ret, p->path, NULL);
		goto out_fini;
	}
	ret = start_worker(b);
	if (ret) {
		fail(err, -ret, p->path, "cannot start the worker thread");
		goto out_cond;
	}
	ret = virtio_mmio_register(&b->t, mmio, base);
	if (ret) {
		fail(err, -ret, p->path, "cannot claim the virtio-mmio window");
		goto out_worker;
	}
	*out = b;
	return 0;

out_worker:
	pthread_mutex_lock(&b->t.lock);
	b->stop = true;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->t.lock);
	pthread_join(b->worker, NULL);
out_cond:
	pthread_cond_destroy(&b->wake);
out_fini:
	virtio_mmio_fini(&b->t);
out_close:
	if (b->fd >= 0)
		close(b->fd);
out_free:
	free(b->buf);
	free(b);
	return ret;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->t.lock);
	b->stop = true;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->t.lock);
	pthread_join(b->worker, NULL);
	pthread_cond_destroy(&b->wake);
	virtio_mmio_fini(&b->t);
	close(b->fd);
	free(b->buf);
	free(b);
}
