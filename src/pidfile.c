/* SPDX-License-Identifier: MIT */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool pidfile_check(const char *path, GError **err)
{
	struct stat st;
	char *dir;
	int e = 0;

	if (!*path) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "empty path");
		return false;
	}
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "is a directory");
		return false;
	}
	dir = g_path_get_dirname(path);
	if (stat(dir, &st))
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	g_free(dir);
	if (e) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s", g_strerror(e));
		return false;
	}
	return true;
}

bool pidfile_write(const char *path, GError **err)
{
	char buf[32];
	int fd, len, e = 0;

	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	errno = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, buf, (size_t)len) != len)
		e = errno ? errno : EIO;
	if (fd >= 0 && close(fd) && !e)
		e = errno;
	if (e) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s", g_strerror(e));
		if (fd >= 0)
			unlink(path);
		return false;
	}
	return true;
}

void pidfile_remove(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* another cove may have taken the path over since */
	if (n > 0 && strtol(buf, NULL, 10) == (long)getpid())
		unlink(path);
}
