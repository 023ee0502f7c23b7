/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rpc: arbitrary bytes from a client of coved's RPC socket. One server with the real
 * procedure table and a domain set in a temporary state directory; each input arrives on a
 * fresh connection (a socketpair), followed by end of file, and the main loop runs until coved
 * has closed that client. Sanitizers catch what the bounds in xdr.c and rpc.c would miss. The
 * cove binary is a path that does not exist, so a start fails at once instead of running VMs.
 */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/domains.h"
#include "daemon/procs.h"
#include "daemon/rpc.h"

static struct rpc_server *srv;
static char *state_dir;

/* path and everything below it (what domains_new() and the domains wrote). */
static void remove_tree(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		char *sub = g_build_filename(path, name, NULL);

		if (g_file_test(sub, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(sub, G_FILE_TEST_IS_SYMLINK))
			remove_tree(sub);
		else
			g_remove(sub);
		g_free(sub);
	}
	if (dir)
		g_dir_close(dir);
	g_rmdir(path);
}

static void remove_state_dir(void)
{
	remove_tree(state_dir);
}

static void setup(void)
{
	struct domains_cfg dcfg = { .cove = "/nonexistent/cove" };
	struct rpc_server_cfg scfg = { .procs = coved_procs, .nprocs = coved_nprocs };
	struct domains *set;

	state_dir = g_dir_make_tmp("fuzz-coved-XXXXXX", NULL);
	if (!state_dir)
		abort();
	atexit(remove_state_dir);
	dcfg.state_dir = state_dir;
	set = domains_new(&dcfg, NULL);
	if (!set)
		abort();
	scfg.priv = set;
	srv = rpc_server_new(&scfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sink[65536];
	size_t off = 0;
	bool eof_sent = false;
	int sv[2];

	if (!srv)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	rpc_server_add_client(srv, sv[0], false);
	g_unix_set_fd_nonblocking(sv[1], TRUE, NULL);
	for (;;) {
		struct pollfd p = { .fd = sv[1], .events = POLLIN };
		ssize_t n;

		if (off < size) {
			n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				break; /* coved closed it */
		} else if (!eof_sent) {
			shutdown(sv[1], SHUT_WR);
			eof_sent = true;
		}
		while (g_main_context_iteration(NULL, FALSE))
			;
		if (poll(&p, 1, 0) == 1) {
			n = recv(sv[1], sink, sizeof(sink), 0);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break; /* coved is done with this client */
		}
	}
	close(sv[1]);
	while (g_main_context_iteration(NULL, FALSE))
		;
	return 0;
}
