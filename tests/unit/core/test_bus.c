/* SPDX-License-Identifier: MIT */
/* The buses: dispatch by range, unclaimed accesses, checkpoints for patterns. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "../check_main.h"

struct reg_dev {
	pthread_mutex_t lock;
	uint8_t regs[8];
	unsigned writes;
};

static void reg_read(void *dev, uint64_t off, void *data, unsigned size)
{
	memcpy(data, ((struct reg_dev *)dev)->regs + off, size);
}

static void reg_write(void *dev, uint64_t off, const void *data, unsigned size)
{
	struct reg_dev *d = dev;

	memcpy(d->regs + off, data, size);
	d->writes++;
}

static void reg_save(void *dev, void *state)
{
	memcpy(state, ((struct reg_dev *)dev)->regs, 8);
}

static void reg_load(void *dev, const void *state)
{
	memcpy(((struct reg_dev *)dev)->regs, state, 8);
}

static const struct bus_ops reg_ops = {
	.read = reg_read, .write = reg_write, .state_size = 8, .save = reg_save, .load = reg_load
};
static const struct bus_ops plain_ops = { .read = reg_read, .write = reg_write };

START_TEST(test_bus_dispatches_by_range)
{
	struct reg_dev a = { .lock = PTHREAD_MUTEX_INITIALIZER }, b = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct bus *bus;
	uint8_t v = 0x5a;
	uint32_t w;

	ck_assert_int_eq(bus_create(BUS_PIO, 1, &bus), 0);
	ck_assert_int_eq(bus_register(bus, 0x60, 8, &reg_ops, &a, &a.lock), 0);
	ck_assert_int_eq(bus_register(bus, 0x20, 8, &reg_ops, &b, &b.lock), 0);
	ck_assert_int_eq(bus_register(bus, 0x64, 4, &reg_ops, &b, NULL), -EEXIST);
	ck_assert_int_eq(bus_access(bus, 0, 0x63, &v, 1, true), 0);
	ck_assert_uint_eq(a.regs[3], 0x5a);
	ck_assert_uint_eq(b.writes, 0);
	/* an access that runs past the device's range is not its */
	ck_assert_int_eq(bus_access(bus, 0, 0x66, &w, 4, false), -ENOENT);
	ck_assert_uint_eq(w, 0xffffffff);
	ck_assert_int_eq(bus_access(bus, 0, 0x1000, &w, 4, false), -ENOENT);
	ck_assert_uint_eq(bus_unclaimed_accesses(bus), 2);
	bus_destroy(bus);
}
END_TEST

START_TEST(test_bus_rollback_restores_touched_devices)
{
	struct reg_dev a = { .lock = PTHREAD_MUTEX_INITIALIZER }, p = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct bus *bus;
	uint8_t v;

	ck_assert_int_eq(bus_create(BUS_PIO, 2, &bus), 0);
	ck_assert_int_eq(bus_register(bus, 0x70, 2, &reg_ops, &a, &a.lock), 0);
	ck_assert_int_eq(bus_register(bus, 0x3f8, 8, &plain_ops, &p, &p.lock), 0);
	a.regs[0] = 1;
	ck_assert_int_eq(bus_checkpoint(bus, 1), 0);
	v = 9;
	ck_assert_int_eq(bus_access(bus, 1, 0x70, &v, 1, true), 0);
	ck_assert_uint_eq(a.regs[0], 9);
	/* the device lock is held for the whole unit */
	ck_assert_int_eq(pthread_mutex_trylock(&a.lock), EBUSY);
	/* a device that cannot save its state cannot take part */
	ck_assert_int_eq(bus_access(bus, 1, 0x3f8, &v, 1, true), -EAGAIN);
	ck_assert_uint_eq(p.writes, 0);
	/* another vCPU without a checkpoint is unaffected (on a device not held) */
	ck_assert_int_eq(bus_access(bus, 0, 0x3f8, &v, 1, true), 0);
	bus_rollback(bus, 1);
	ck_assert_uint_eq(a.regs[0], 1);
	ck_assert_int_eq(pthread_mutex_trylock(&a.lock), 0);
	pthread_mutex_unlock(&a.lock);

	ck_assert_int_eq(bus_checkpoint(bus, 1), 0);
	v = 7;
	ck_assert_int_eq(bus_access(bus, 1, 0x70, &v, 1, true), 0);
	bus_commit(bus, 1);
	ck_assert_uint_eq(a.regs[0], 7);
	ck_assert_int_eq(pthread_mutex_trylock(&a.lock), 0);
	pthread_mutex_unlock(&a.lock);
	bus_destroy(bus);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("dispatch");

	tcase_add_test(tc, test_bus_dispatches_by_range);
	tcase_add_test(tc, test_bus_rollback_restores_touched_devices);
	suite_add_tcase(s, tc);
	return cove_check_run(s);
}
