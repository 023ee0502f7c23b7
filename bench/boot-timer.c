// SPDX-License-Identifier: MIT
/*
 * boot-timer: run a VMM, timestamp every line it prints, and report how long the guest took to
 * print a marker, how long until the VMM exited, and the VMM's peak RSS. Used by bench/boot inside
 * the nested-KVM harness; built there with gcc -static, so it needs nothing from the outer VM.
 *
 *   boot-timer [-m MARKER] [-l LOG] [-t SECS] [-n TAG] -- COMMAND [ARG...]
 *
 * Prints one line on stdout when COMMAND is done:
 *
 *   BENCH-RESULT TAG status=S first_us=F marker_us=M exit_us=E maxrss_kb=K user_ms=U sys_ms=Y lines=N
 *
 * All times are CLOCK_MONOTONIC microseconds since just before fork(). first_us is the first byte
 * on COMMAND's stdout (the guest console), marker_us the moment the stdout line holding MARKER was
 * read (-1: never seen), exit_us the moment wait4() reaped COMMAND. maxrss_kb is wait4()'s
 * ru_maxrss: the process's VmHWM at exit. status is the exit code, sig-N, or timeout (COMMAND was
 * killed after SECS). LOG gets each line as '<seconds> o|e <text>' (o: stdout, e: stderr).
 * stdin is /dev/null. The exit status is 0 when COMMAND exited 0 and printed MARKER (if one was
 * asked for), else 1; 2 on bad usage or setup errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

struct stream {
	int fd;
	char tag;
	char line[LINE_MAX_BYTES + 1];
	size_t len;
};

static struct timespec t0;
static const char *marker;
static int64_t first_us = -1, marker_us = -1;
static unsigned long nlines;
static FILE *log_file;

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000;
}

static void die(const char *what)
{
	fprintf(stderr, "boot-timer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: boot-timer [-m MARKER] [-l LOG] [-t SECS] [-n TAG] -- COMMAND [ARG...]\n");
	exit(2);
}

/* A complete (or overlong) line: strip the serial console's \r, log it. */
static void flush_line(struct stream *s, int64_t t)
{
	s->line[s->len] = '\0';
	while (s->len > 0 && s->line[s->len - 1] == '\r')
		s->line[--s->len] = '\0';
	if (log_file)
		fprintf(log_file, "%11.6f %c %s\n", t / 1e6, s->tag, s->line);
	nlines++;
	s->len = 0;
}

/* Returns false at end of file. */
static bool drain(struct stream *s)
{
	char buf[4096];
	ssize_t n = read(s->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	int64_t t = now_us();
	if (n <= 0) {
		if (s->len > 0)
			flush_line(s, t);
		return false;
	}
	if (s->tag == 'o' && first_us < 0)
		first_us = t;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			flush_line(s, t);
			continue;
		}
		s->line[s->len++] = buf[i];
		/* Look for the marker as bytes arrive, not only at the end of the line. */
		if (s->tag == 'o' && marker && marker_us < 0 && s->len >= strlen(marker)) {
			s->line[s->len] = '\0';
			if (strstr(s->line, marker))
				marker_us = t;
		}
		if (s->len == LINE_MAX_BYTES)
			flush_line(s, t);
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL, *tag = "-";
	long timeout_s = 600;
	int opt;
	while ((opt = getopt(argc, argv, "+m:l:t:n:")) != -1) {
		switch (opt) {
		case 'm': marker = optarg; break;
		case 'l': log_path = optarg; break;
		case 't': timeout_s = strtol(optarg, NULL, 10); break;
		case 'n': tag = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || timeout_s <= 0)
		usage();
	if (log_path && !(log_file = fopen(log_path, "w")))
		die(log_path);

	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		die("pipe2");
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		die("/dev/null");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "boot-timer: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	close(devnull);

	struct stream streams[2] = { { .fd = out[0], .tag = 'o' }, { .fd = err[0], .tag = 'e' } };
	bool open_[2] = { true, true };
	int64_t deadline = (int64_t)timeout_s * 1000000;
	bool timed_out = false;
	while (open_[0] || open_[1]) {
		struct pollfd p[2];
		nfds_t np = 0;
		int which[2];
		for (int i = 0; i < 2; i++) {
			if (open_[i]) {
				p[np] = (struct pollfd){ .fd = streams[i].fd, .events = POLLIN };
				which[np++] = i;
			}
		}
		int64_t left = deadline - now_us();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int r = poll(p, np, (int)(left / 1000 + 1));
		if (r < 0 && errno != EINTR)
			die("poll");
		for (nfds_t k = 0; r > 0 && k < np; k++) {
			if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
				open_[which[k]] = drain(&streams[which[k]]);
		}
	}
	if (timed_out)
		kill(pid, SIGKILL);

	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR)
			die("wait4");
	}
	int64_t exit_us = now_us();
	/* What is left in the pipes after a timeout. */
	for (int i = 0; i < 2; i++) {
		if (streams[i].len > 0)
			flush_line(&streams[i], exit_us);
	}
	if (log_file)
		fclose(log_file);

	char status[32];
	if (timed_out)
		snprintf(status, sizeof(status), "timeout");
	else if (WIFEXITED(st))
		snprintf(status, sizeof(status), "%d", WEXITSTATUS(st));
	else
		snprintf(status, sizeof(status), "sig-%d", WTERMSIG(st));
	printf("BENCH-RESULT %s status=%s first_us=%lld marker_us=%lld exit_us=%lld maxrss_kb=%ld "
	       "user_ms=%lld sys_ms=%lld lines=%lu\n",
	       tag, status, (long long)first_us, (long long)marker_us, (long long)exit_us, ru.ru_maxrss,
	       (long long)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000,
	       (long long)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000, nlines);
	fflush(stdout);
	bool ok = !timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0 && (!marker || marker_us >= 0);
	return ok ? 0 : 1;
}
