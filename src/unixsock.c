/* SPDX-License-Identifier: MIT */
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static bool fill_addr(struct sockaddr_un *a, const char *path, GError **err)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!*path) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "empty socket path");
		return false;
	}
	if (strlen(path) >= sizeof(a->sun_path)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
			    "socket path too long (at most %zu bytes)", sizeof(a->sun_path) - 1);
		return false;
	}
	memcpy(a->sun_path, path, strlen(path));
	return true;
}

static bool set_errno_error(GError **err, const char *what, int e)
{
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s%s", what, g_strerror(e));
	return false;
}

bool unixsock_check_path(const char *path, GError **err)
{
	struct sockaddr_un a;
	struct stat st;
	char *dir;
	bool ok;

	if (!fill_addr(&a, path, err))
		return false;
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
				    "exists and is not a socket");
			return false;
		}
		return true;
	}
	if (errno != ENOENT)
		return set_errno_error(err, "", errno);
	dir = g_path_get_dirname(path);
	if (stat(dir, &st))
		ok = set_errno_error(err, "", errno);
	else if (!S_ISDIR(st.st_mode))
		ok = set_errno_error(err, "", ENOTDIR);
	else
		ok = true;
	g_free(dir);
	return ok;
}

/* A socket file nobody listens on is stale; one that answers belongs to someone. */
static bool in_use(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	used = !connect(fd, (const struct sockaddr *)a, sizeof(*a));
	close(fd);
	return used;
}

bool unixsock_listen(struct unixsock *s, const char *path, GError **err)
{
	struct sockaddr_un a;
	struct stat st;
	int fd;

	s->fd = -1;
	s->path = NULL;
	if (!unixsock_check_path(path, err) || !fill_addr(&a, path, err))
		return false;
	if (!lstat(path, &st)) {
		if (in_use(&a)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
				    "another process listens on this socket");
			return false;
		}
		if (unlink(path) && errno != ENOENT)
			return set_errno_error(err, "cannot remove the stale socket: ", errno);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return set_errno_error(err, "", errno);
	/* Linux takes the new file's mode from the socket inode: 0600 from the start */
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		goto out_close;
	if (chmod(path, 0600) || listen(fd, 16) || stat(path, &st)) {
		int e = errno;

		unlink(path);
		errno = e;
		goto out_close;
	}
	s->fd = fd;
	s->path = g_strdup(path);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return true;

out_close:
	set_errno_error(err, "", errno);
	close(fd);
	return false;
}

void unixsock_close(struct unixsock *s)
{
	struct stat st;

	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->path && !lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	g_free(s->path);
	s->path = NULL;
}

int unixsock_accept(struct unixsock *s)
{
	int fd;

	do {
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	return fd;
}
