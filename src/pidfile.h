/* SPDX-License-Identifier: MIT */
/*
 * --pidfile PATH: cove's pid and a newline, written once the VM exists and
 * removed on exit (only if it still holds this pid).
 */
#ifndef COVE_PIDFILE_H
#define COVE_PIDFILE_H

#include <glib.h>
#include <stdbool.h>

/* Errors read "reason" (the caller names the flag and path). */
bool pidfile_check(const char *path, GError **err);
bool pidfile_write(const char *path, GError **err);
void pidfile_remove(const char *path);

#endif
