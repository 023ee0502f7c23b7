/* SPDX-License-Identifier: MIT */
/*
 * The cove command line: `cove run`, `cove help`, `cove version`. Only this
 * file and main() print to the user and choose exit statuses (see cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chardev.h"
#include "config.h"
#include "iothread.h"
#include "monitor.h"
#include "pidfile.h"
#include "unixsock.h"
#include "vcpu/accel.h"
#include "vm.h"

struct run_flags {
	char *config, *kernel, *initrd, *cmdline, *memory, *cpus, *console, *vconsole, *accel;
	char *name, *on_reboot, *monitor, *pidfile;
	char *memory_file, *memory_block, *memory_resident;
	char **disks;
	gboolean debug, stats, deterministic;
};

static void usage_error(const char *msg)
{
	fprintf(stderr, "cove: %s\n", msg);
}

static void print_overview(FILE *f)
{
	fprintf(f, "Usage: cove COMMAND [OPTIONS]\n"
		   "\n"
		   "cove is a virtual machine monitor: it boots x86-64 guests on KVM, or on its own\n"
		   "software CPU where /dev/kvm is missing.\n"
		   "\n"
		   "Commands:\n"
		   "  run        boot a guest (see 'cove run --help')\n"
		   "  help       show this text, or 'cove help run'\n"
		   "  version    print cove's version\n"
		   "\n"
		   "See cove(1) for the details.\n");
}

static GOptionContext *run_context(struct run_flags *f)
{
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &f->config,
		  "Read settings from FILE ([vm] group; flags override it)", "FILE" },
		{ "kernel", 'k', 0, G_OPTION_ARG_FILENAME, &f->kernel,
		  "Kernel to boot: a bzImage or a multiboot ELF", "FILE" },
		{ "initrd", 'i', 0, G_OPTION_ARG_FILENAME, &f->initrd, "Initial ramdisk (multiboot: module 0)",
		  "FILE" },
		{ "cmdline", 'a', 0, G_OPTION_ARG_STRING, &f->cmdline,
		  "Kernel command line (default for a bzImage: console=ttyS0)", "STR" },
		{ "memory", 'm', 0, G_OPTION_ARG_STRING, &f->memory,
		  "Guest RAM, 2M-1T in 4K steps, suffix K/M/G/T (default 256M)", "SIZE" },
		{ "memory-file", 0, 0, G_OPTION_ARG_FILENAME, &f->memory_file,
		  "Keep guest RAM in FILE (created if missing), mapped in blocks", "FILE" },
		{ "memory-block", 0, 0, G_OPTION_ARG_STRING, &f->memory_block,
		  "Block size of --memory-file: a power of two, 64K-1G (default 2M)", "SIZE" },
		{ "memory-resident", 0, 0, G_OPTION_ARG_STRING, &f->memory_resident,
		  "Most guest RAM mapped into cove at once (default: all)", "SIZE" },
		{ "cpus", 'p', 0, G_OPTION_ARG_STRING, &f->cpus, "Number of vCPUs, 1-64 (default 1)",
		  "N" },
		{ "disk", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &f->disks,
		  "A raw disk image as virtio-blk; repeatable", "FILE[,readonly]" },
		{ "console", 0, 0, G_OPTION_ARG_STRING, &f->console,
		  "Where COM1 goes: stdio (default), none, a Unix socket cove listens on, or a file",
		  "stdio|none|unix:PATH|FILE" },
		{ "virtio-console", 0, 0, G_OPTION_ARG_STRING, &f->vconsole,
		  "A virtio console (hvc0) on stdio, a socket or a file; none (default)",
		  "stdio|none|unix:PATH|FILE" },
		{ "monitor", 0, 0, G_OPTION_ARG_FILENAME, &f->monitor,
		  "Control socket: lines status, pause, resume, powerdown, quit (see cove(1))",
		  "PATH" },
		{ "pidfile", 0, 0, G_OPTION_ARG_FILENAME, &f->pidfile,
		  "Write cove's pid to PATH once the VM exists; removed on exit", "PATH" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &f->accel,
		  "Accelerator: auto (default: kvm if usable, else soft), kvm or soft",
		  "auto|kvm|soft" },
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &f->name, "A name for the VM", "NAME" },
		{ "on-reboot", 0, 0, G_OPTION_ARG_STRING, &f->on_reboot,
		  "When the guest reboots: exit with status 0 (default) or restart it",
		  "exit|restart" },
		{ "debug", 0, 0, G_OPTION_ARG_NONE, &f->debug,
		  "Print a register dump when the guest crashes, and accelerator diagnostics", NULL },
		{ "stats", 0, 0, G_OPTION_ARG_NONE, &f->stats,
		  "Print the accelerator's counters on exit", NULL },
		{ "deterministic", 0, 0, G_OPTION_ARG_NONE, &f->deterministic,
		  "soft: derive guest time from retired instructions (repeatable runs)", NULL },
		{ 0 },
	};
	GOptionContext *ctx = g_option_context_new("- boot a guest");

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_summary(ctx, "Boots a guest kernel and runs it until it powers off.\n"
					  "Ctrl-A x quits; Ctrl-A Ctrl-A sends Ctrl-A.");
	g_option_context_set_description(
		ctx, "Exit status: 0 when the guest powers off (or reboots, unless --on-reboot restart),\n"
		     "(v << 1) | 1 when it writes v to the debug-exit port 0xf4, 2 for bad input\n"
		     "(including a kernel the loader rejects or a VM that cannot be created),\n"
		     "4 when the running guest crashes (triple fault, internal error),\n"
		     "128 + N when signal N stops it.\n"
		     "See cove(1) for the config file keys.");
	return ctx;
}

static void run_flags_clear(struct run_flags *f)
{
	g_free(f->config);
	g_free(f->kernel);
	g_free(f->initrd);
	g_free(f->cmdline);
	g_free(f->memory);
	g_free(f->cpus);
	g_free(f->console);
	g_free(f->vconsole);
	g_free(f->accel);
	g_free(f->name);
	g_free(f->on_reboot);
	g_free(f->monitor);
	g_free(f->pidfile);
	g_free(f->memory_file);
	g_free(f->memory_block);
	g_free(f->memory_resident);
	g_strfreev(f->disks);
}

static void take(char **slot, char *flag)
{
	if (flag) {
		g_free(*slot);
		*slot = g_strdup(flag);
	}
}

/* A flag's value did not parse: name the flag and the value, then the reason. */
static bool flag_failed(GError **err, const char *flag, const char *value, GError *e)
{
	g_set_error(err, COVE_ERROR, 0, "%s %s: %s", flag, value, e->message);
	g_error_free(e);
	return false;
}

/* Config file first, then every flag given on top of it. */
static bool build_config(struct run_flags *f, struct cove_config *c, GError **err)
{
	GError *e = NULL;

	if (f->config && !config_load_file(c, f->config, err))
		return false;
	take(&c->kernel, f->kernel);
	take(&c->initrd, f->initrd);
	take(&c->cmdline, f->cmdline);
	take(&c->console, f->console);
	take(&c->virtio_console, f->vconsole);
	take(&c->accel, f->accel);
	take(&c->name, f->name);
	take(&c->monitor, f->monitor);
	take(&c->pidfile, f->pidfile);
	if (f->memory && !config_parse_size(f->memory, &c->memory, &e))
		return flag_failed(err, "--memory", f->memory, e);
	take(&c->memory_file, f->memory_file);
	if (f->memory_block && !config_parse_block(f->memory_block, &c->memory_block, &e))
		return flag_failed(err, "--memory-block", f->memory_block, e);
	if (f->memory_resident &&
	    !config_parse_size(f->memory_resident, &c->memory_resident, &e))
		return flag_failed(err, "--memory-resident", f->memory_resident, e);
	if (f->cpus && !config_parse_cpus(f->cpus, &c->cpus, &e))
		return flag_failed(err, "--cpus", f->cpus, e);
	if (f->on_reboot && !config_parse_on_reboot(f->on_reboot, &c->on_reboot, &e))
		return flag_failed(err, "--on-reboot", f->on_reboot, e);
	if (f->disks) {
		/* disks on the command line replace the config file's */
		for (unsigned i = 0; i < c->ndisks; i++)
			g_free(c->disks[i].path);
		c->ndisks = 0;
		for (char **d = f->disks; *d; d++)
			if (!config_add_disk(c, *d, &e))
				return flag_failed(err, "--disk", *d, e);
	}
	c->debug |= f->debug;
	c->stats |= f->stats;
	c->deterministic |= f->deterministic;
	return config_validate(c, err);
}

/* Files must be readable before anything is created. */
static bool check_readable(const char *flag, const char *path, GError **err)
{
	if (!path)
		return true;
	if (access(path, R_OK)) {
		g_set_error(err, COVE_ERROR, 0, "%s %s: %s", flag, path, g_strerror(errno));
		return false;
	}
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_set_error(err, COVE_ERROR, 0, "%s %s: is a directory", flag, path);
		return false;
	}
	return true;
}

/* Sockets and the pidfile are created later: their folders must exist now. */
enum created_kind { CREATED_CONSOLE, CREATED_SOCKET, CREATED_PIDFILE };

static bool check_created(const char *flag, const char *spec, enum created_kind kind,
			  GError **err)
{
	GError *e = NULL;
	bool ok;

	if (!spec)
		return true;
	if (kind == CREATED_CONSOLE) {
		if (!g_str_has_prefix(spec, "unix:"))
			return true;
		ok = unixsock_check_path(spec + strlen("unix:"), &e);
	} else if (kind == CREATED_SOCKET) {
		ok = unixsock_check_path(spec, &e);
	} else {
		ok = pidfile_check(spec, &e);
	}
	if (ok)
		return true;
	g_set_error(err, COVE_ERROR, 0, "%s %s: %s", flag, spec, e->message);
	g_error_free(e);
	return false;
}

static bool check_files(const struct cove_config *c, GError **err)
{
	if (!check_readable("--kernel", c->kernel, err) ||
	    !check_readable("--initrd", c->initrd, err))
		return false;
	if (!check_created("--console", c->console, CREATED_CONSOLE, err) ||
	    !check_created("--virtio-console", c->virtio_console, CREATED_CONSOLE, err) ||
	    !check_created("--monitor", c->monitor, CREATED_SOCKET, err) ||
	    !check_created("--pidfile", c->pidfile, CREATED_PIDFILE, err))
		return false;
	for (unsigned i = 0; i < c->ndisks; i++) {
		if (!check_readable("--disk", c->disks[i].path, err))
			return false;
		if (!c->disks[i].readonly && access(c->disks[i].path, W_OK)) {
			g_set_error(err, COVE_ERROR, 0, "--disk %s: %s (add ,readonly to use it read-only)",
				    c->disks[i].path, g_strerror(errno));
			return false;
		}
	}
	return true;
}

/* The VM a signal or a monitor command acts on; both arrive on the I/O thread. */
struct run_state {
	GMutex lock;
	struct vm *vm;
	int signal;
	bool paused, quit; /* the monitor's; they carry over to a VM rebuilt on reboot */
};

static gboolean on_signal(gpointer data, int sig)
{
	struct run_state *rs = data;
	char why[64];

	snprintf(why, sizeof(why), "terminated by %s", strsignal(sig));
	g_mutex_lock(&rs->lock);
	rs->signal = sig;
	if (rs->vm)
		vm_request_stop(rs->vm, VM_STOP_QUIT, sig, why);
	g_mutex_unlock(&rs->lock);
	return G_SOURCE_CONTINUE;
}

static gboolean sig_int(gpointer d)
{
	return on_signal(d, SIGINT);
}

static gboolean sig_term(gpointer d)
{
	return on_signal(d, SIGTERM);
}

static gboolean sig_hup(gpointer d)
{
	return on_signal(d, SIGHUP);
}

static void watch_signals(struct iothread *io, struct run_state *rs)
{
	GSourceFunc fns[] = { sig_int, sig_term, sig_hup };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	for (unsigned i = 0; i < 3; i++) {
		GSource *s = g_unix_signal_source_new(sigs[i]);

		g_source_set_callback(s, fns[i], rs, NULL);
		g_source_attach(s, iothread_context(io));
		g_source_unref(s);
	}
}

static bool mon_is_paused(void *opaque)
{
	struct run_state *rs = opaque;
	bool p;

	g_mutex_lock(&rs->lock);
	p = rs->paused;
	g_mutex_unlock(&rs->lock);
	return p;
}

static int mon_pause(void *opaque)
{
	struct run_state *rs = opaque;

	g_mutex_lock(&rs->lock);
	rs->paused = true;
	if (rs->vm)
		vm_pause(rs->vm);
	g_mutex_unlock(&rs->lock);
	return 0;
}

static int mon_resume(void *opaque)
{
	struct run_state *rs = opaque;

	g_mutex_lock(&rs->lock);
	rs->paused = false;
	if (rs->vm)
		vm_resume(rs->vm);
	g_mutex_unlock(&rs->lock);
	return 0;
}

static int mon_powerdown(void *opaque)
{
	struct run_state *rs = opaque;
	int ret = -EAGAIN; /* between a reboot and the new VM */

	g_mutex_lock(&rs->lock);
	if (rs->vm) {
		vm_power_button(rs->vm);
		ret = 0;
	}
	g_mutex_unlock(&rs->lock);
	return ret;
}

static int mon_quit(void *opaque)
{
	struct run_state *rs = opaque;

	g_mutex_lock(&rs->lock);
	rs->quit = true;
	if (rs->vm)
		vm_request_stop(rs->vm, VM_STOP_QUIT, 0, "quit from the monitor");
	g_mutex_unlock(&rs->lock);
	return 0;
}

static const struct monitor_ops run_monitor_ops = {
	.is_paused = mon_is_paused,
	.pause = mon_pause,
	.resume = mon_resume,
	.powerdown = mon_powerdown,
	.quit = mon_quit,
};

static int status_for(const struct vm_result *r)
{
	switch (r->reason) {
	case VM_STOP_POWEROFF:
	case VM_STOP_RESET:
		return 0;
	case VM_STOP_DEBUG_EXIT:
		return r->status;
	case VM_STOP_QUIT:
		return r->status ? 128 + r->status : 0;
	case VM_STOP_SHUTDOWN:
	case VM_STOP_ERROR:
	default:
		return CLI_EXIT_GUEST_FAILED;
	}
}

static int run_vm(struct cove_config *c, const struct accel_ops *ops)
{
	struct run_state rs = { 0 };
	struct vm_host host = { 0 };
	struct vm_result res = { 0 };
	struct monitor *mon = NULL;
	bool wrote_pid = false;
	GError *err = NULL;
	int status = CLI_EXIT_BAD_INPUT;

	g_mutex_init(&rs.lock);
	host.io = iothread_start("cove-io");
	host.log = c->debug ? stderr : NULL;
	host.console = chardev_open(c->console, host.io, &err);
	if (!host.console) {
		g_prefix_error(&err, "--console ");
		goto out;
	}
	if (strcmp(c->virtio_console, "none")) {
		host.vconsole = chardev_open(c->virtio_console, host.io, &err);
		if (!host.vconsole) {
			g_prefix_error(&err, "--virtio-console ");
			goto out;
		}
	}
	if (c->monitor) {
		mon = monitor_open(c->monitor, host.io, &run_monitor_ops, &rs, &err);
		if (!mon) {
			g_prefix_error(&err, "--monitor %s: ", c->monitor);
			goto out;
		}
	}
	watch_signals(host.io, &rs);
	for (;;) {
		struct vm *vm;

		if (vm_create(c, ops, &host, &vm, &err))
			goto out;
		if (c->pidfile && !wrote_pid) {
			if (!pidfile_write(c->pidfile, &err)) {
				g_prefix_error(&err, "--pidfile %s: ", c->pidfile);
				vm_destroy(vm);
				goto out;
			}
			wrote_pid = true;
		}
		g_mutex_lock(&rs.lock);
		rs.vm = vm;
		if (rs.paused)
			vm_pause(vm); /* before vm_run: its vCPUs start parked */
		if (rs.quit)
			vm_request_stop(vm, VM_STOP_QUIT, 0, "quit from the monitor");
		g_mutex_unlock(&rs.lock);
		if (rs.signal)
			vm_request_stop(vm, VM_STOP_QUIT, rs.signal, "terminated by a signal");
		vm_run(vm, &res);
		g_mutex_lock(&rs.lock);
		rs.vm = NULL;
		g_mutex_unlock(&rs.lock);
		vm_destroy(vm);
		if (res.reason != VM_STOP_RESET || c->on_reboot != COVE_REBOOT_RESTART)
			break;
		if (c->debug)
			fprintf(stderr, "cove: guest rebooted; restarting it\n");
	}
	status = status_for(&res);
out:
	monitor_close(mon);
	chardev_close(host.vconsole);
	chardev_close(host.console);
	iothread_stop(host.io);
	if (wrote_pid)
		pidfile_remove(c->pidfile);
	if (err) {
		usage_error(err->message);
		g_error_free(err);
	} else if (status == CLI_EXIT_GUEST_FAILED) {
		fprintf(stderr, "cove: %s\n", res.why);
	} else if (res.reason == VM_STOP_QUIT && res.status) {
		fprintf(stderr, "cove: %s; the guest was stopped\n", res.why);
	} else if (c->debug) {
		fprintf(stderr, "cove: %s (exit status %d)\n", res.why, status);
	}
	g_mutex_clear(&rs.lock);
	return status;
}

static int cmd_run(int argc, char **argv)
{
	struct run_flags f = { 0 };
	struct cove_config c;
	GOptionContext *ctx = run_context(&f);
	const struct accel_ops *ops;
	GError *err = NULL;
	char why[200];
	bool fell_back;
	int status = CLI_EXIT_BAD_INPUT;

	config_init(&c);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "cove run: %s (see 'cove run --help')\n", err->message);
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "cove run: unexpected argument '%s' (see 'cove run --help')\n",
			argv[1]);
		goto out;
	}
	if (!build_config(&f, &c, &err) || !check_files(&c, &err)) {
		usage_error(err->message);
		goto out;
	}
	ops = accel_select(c.accel, &fell_back, why, sizeof(why));
	if (!ops) {
		usage_error(why);
		goto out;
	}
	if (fell_back)
		fprintf(stderr, "cove: %s; using the soft accelerator\n", why);
	status = run_vm(&c, ops);
out:
	g_clear_error(&err);
	config_clear(&c);
	run_flags_clear(&f);
	g_option_context_free(ctx);
	return status;
}

static void help_run(void)
{
	struct run_flags f = { 0 };
	GOptionContext *ctx = run_context(&f);
	char *text;

	g_set_prgname("cove run");
	text = g_option_context_get_help(ctx, TRUE, NULL);
	fputs(text, stdout);
	g_free(text);
	g_option_context_free(ctx);
}

/* Puts the terminal back before cove dies of a signal it did not expect. */
static void fatal_signal(int sig)
{
	chardev_restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

int cli_main(int argc, char **argv)
{
	const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	atexit(chardev_restore_tty);
	g_set_prgname("cove");

	if (argc < 2) {
		print_overview(stderr);
		return CLI_EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "run")) {
		g_set_prgname("cove run");
		return cmd_run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2 && !strcmp(argv[2], "run")) {
			help_run();
			return 0;
		}
		if (argc > 2) {
			fprintf(stderr, "cove help: no command '%s' (commands: run, help, version)\n",
				argv[2]);
			return CLI_EXIT_BAD_INPUT;
		}
		print_overview(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version") ||
	    !strcmp(argv[1], "-V")) {
		printf("cove %s\n", COVE_VERSION);
		return 0;
	}
	fprintf(stderr, "cove: unknown command '%s' (see 'cove help')\n", argv[1]);
	return CLI_EXIT_BAD_INPUT;
}
