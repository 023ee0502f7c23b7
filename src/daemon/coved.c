/* SPDX-License-Identifier: MIT */
/*
 * coved: serves cove domains to stock virsh over libvirt's RPC protocol.
 *   coved [--foreground] [--socket PATH] [--state-dir DIR] [--cove PATH] [--start-timeout SEC]
 * Listens on PATH (read-write) and PATH-ro (read-only procedures only), or on
 * the sockets systemd passes (LISTEN_FDS); tells systemd it is ready with
 * READY=1 on $NOTIFY_SOCKET. Running VMs outlive coved; the next one adopts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/domains.h"
#include "daemon/procs.h"
#include "daemon/rpc.h"

#define COVED_DEFAULT_SOCKET "/var/run/libvirt/virtcoved-sock"
#define COVED_DEFAULT_STATE  "/var/lib/cove"
#define SD_LISTEN_FDS_START  3

struct coved_opts {
	gboolean foreground;
	char *socket, *state_dir, *cove;
	gint start_timeout;
};

static gboolean on_quit_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET ('@' means abstract). */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char msg[] = "READY=1";
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		fprintf(stderr, "coved: %s: %s\n", path, g_strerror(errno));
	close(fd);
}

/* systemd socket activation (sd_listen_fds(3)): fds 3.. when LISTEN_PID is us. */
static int take_listen_fds(struct rpc_server *srv)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int n;

	if (!pid || !fds || strtol(pid, NULL, 10) != getpid())
		return 0;
	n = (int)strtol(fds, NULL, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		struct sockaddr_un sa = { 0 };
		socklen_t len = sizeof(sa);
		bool ro;

		if (getsockname(fd, (struct sockaddr *)&sa, &len) || sa.sun_family != AF_UNIX) {
			fprintf(stderr, "coved: passed fd %d is not a Unix socket; ignored\n", fd);
			continue;
		}
		sa.sun_path[sizeof(sa.sun_path) - 1] = 0;
		ro = g_str_has_suffix(sa.sun_path, "-ro");
		/* one .socket unit has one SocketMode (0600); the read-only socket is for everyone
		 */
		if (ro && sa.sun_path[0] && chmod(sa.sun_path, 0666))
			fprintf(stderr, "coved: %s: %s\n", sa.sun_path, g_strerror(errno));
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		g_unix_set_fd_nonblocking(fd, TRUE, NULL);
		rpc_server_add_listener(srv, fd, ro);
	}
	return n;
}

static char *default_cove(void)
{
	const char *env = getenv("COVED_COVE");
	char *self, *dir, *path;

	if (env && *env)
		return g_strdup(env);
	self = g_file_read_link("/proc/self/exe", NULL);
	if (!self)
		return g_strdup("cove");
	dir = g_path_get_dirname(self);
	path = g_build_filename(dir, "cove", NULL);
	g_free(dir);
	g_free(self);
	return path;
}

static bool parse_args(int argc, char **argv, struct coved_opts *o)
{
	GOptionEntry entries[] = {
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &o->foreground,
		  "Stay in the foreground and log to stderr (also unknown procedures)", NULL },
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &o->socket,
		  "Read-write socket (default " COVED_DEFAULT_SOCKET "; PATH-ro is read-only)",
		  "PATH" },
		{ "state-dir", 'd', 0, G_OPTION_ARG_FILENAME, &o->state_dir,
		  "Definitions and runtime files (default " COVED_DEFAULT_STATE ")", "DIR" },
		{ "cove", 0, 0, G_OPTION_ARG_FILENAME, &o->cove,
		  "The cove binary (default: next to coved, or $COVED_COVE)", "PATH" },
		{ "start-timeout", 0, 0, G_OPTION_ARG_INT, &o->start_timeout,
		  "Seconds a start waits for cove's monitor (default 60)", "SEC" },
		{ 0 },
	};
	GOptionContext *ctx = g_option_context_new("- serve cove domains to virsh");
	GError *err = NULL;
	bool ok;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, "Connect with: virsh -c cove:///system (or "
					      "cove+unix:///system?socket=PATH).\n"
					      "See coved(8).");
	ok = g_option_context_parse(ctx, &argc, &argv, &err);
	if (!ok) {
		fprintf(stderr, "coved: %s (see 'coved --help')\n", err->message);
		g_error_free(err);
	} else if (o->start_timeout < 0 || o->start_timeout > 3600) {
		fprintf(stderr, "coved: --start-timeout %d: 1-3600 seconds\n", o->start_timeout);
		ok = false;
	} else if (argc > 1) {
		fprintf(stderr, "coved: unexpected argument '%s' (see 'coved --help')\n", argv[1]);
		ok = false;
	}
	g_option_context_free(ctx);
	return ok;
}

/* Forks; the parent exits once the child says it is ready (or failed). */
static int daemonize(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c = 1;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 1;
		_exit(c ? 1 : 0);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	struct coved_opts o = { 0 };
	struct domains_cfg dcfg = { 0 };
	struct rpc_server_cfg scfg = { 0 };
	struct rpc_server *srv = NULL;
	struct domains *set = NULL;
	GMainLoop *loop = NULL;
	GError *err = NULL;
	int status = 1, ready_fd = -1;
	char *ro_path = NULL;

	signal(SIGPIPE, SIG_IGN);
	if (!parse_args(argc, argv, &o))
		return 2;
	if (!o.socket)
		o.socket = g_strdup(COVED_DEFAULT_SOCKET);
	if (!o.state_dir)
		o.state_dir = g_strdup(COVED_DEFAULT_STATE);
	if (!o.cove)
		o.cove = default_cove();
	if (!o.foreground && daemonize(&ready_fd)) {
		fprintf(stderr, "coved: cannot fork: %s\n", g_strerror(errno));
		return 1;
	}
	dcfg.state_dir = o.state_dir;
	dcfg.cove = o.cove;
	dcfg.verbose = o.foreground;
	dcfg.start_timeout_ms = (unsigned)o.start_timeout * 1000;
	set = domains_new(&dcfg, &err);
	if (!set) {
		fprintf(stderr, "coved: %s\n", err->message);
		goto out;
	}
	scfg.procs = coved_procs;
	scfg.nprocs = coved_nprocs;
	scfg.priv = set;
	scfg.verbose = o.foreground;
	srv = rpc_server_new(&scfg);
	if (!take_listen_fds(srv)) {
		int rw = rpc_listen_unix(o.socket, 0600, &err), ro;

		if (rw < 0) {
			fprintf(stderr, "coved: %s\n", err->message);
			goto out;
		}
		rpc_server_add_listener(srv, rw, false);
		ro_path = g_strdup_printf("%s-ro", o.socket);
		ro = rpc_listen_unix(ro_path, 0666, &err);
		if (ro < 0) {
			fprintf(stderr, "coved: %s\n", err->message);
			goto out;
		}
		rpc_server_add_listener(srv, ro, true);
	}
	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_quit_signal, loop);
	g_unix_signal_add(SIGINT, on_quit_signal, loop);
	if (o.foreground)
		fprintf(stderr, "coved: serving %s (state %s, cove %s)\n", o.socket, o.state_dir,
			o.cove);
	notify_ready();
	if (ready_fd >= 0) {
		int nul = open("/dev/null", O_RDWR);

		if (write(ready_fd, "", 1) != 1)
			goto out;
		close(ready_fd);
		ready_fd = -1;
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			close(nul);
		}
	}
	g_main_loop_run(loop);
	status = 0;
	if (ro_path) {
		/* sockets coved made itself (not systemd's) go with it */
		unlink(o.socket);
		unlink(ro_path);
	}
out:
	if (ready_fd >= 0)
		close(ready_fd); /* the waiting parent sees EOF and exits 1 */
	g_clear_error(&err);
	if (srv)
		rpc_server_free(srv);
	if (set)
		domains_free(set);
	if (loop)
		g_main_loop_unref(loop);
	g_free(ro_path);
	g_free(o.socket);
	g_free(o.state_dir);
	g_free(o.cove);
	return status;
}
