/* shell.h - the one way every test binary runs another program: a shell
 * command (test_sh), the built plait as a user runs it (test_plait,
 * test_plait_argv), or any argv with its standard streams chosen
 * (test_exec: captured, handed a descriptor, or on a pseudo-terminal).
 * Output is read as it comes (no deadlock on a full pipe) and kept whole. */
#ifndef PLAIT_TESTS_SHELL_H
#define PLAIT_TESTS_SHELL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

/* What a run printed, stdout and stderr apart (both in out on a
 * terminal), and how it ended. */
typedef struct test_run {
	int status; /* exit status, or 128 + N when signal N ended it */
	pl_buf out, err;
} test_run;

static inline void test_run_release(test_run *r)
{
	pl_buf_release(&r->out);
	pl_buf_release(&r->err);
}

/* How test_exec runs a program.  Zero it, then set what differs. */
typedef struct test_exec_opts {
	const char *cwd;          /* NULL: the test's own */
	const char *stdin_text;   /* NULL: /dev/null */
	const char *const *env;   /* NAME=VALUE to set, NULL-terminated, or NULL */
	int out_fd, err_fd;       /* > 0: this descriptor becomes stdout / stderr
				   * instead of a capture */
	bool pty;                 /* stdout and stderr on a new pseudo-terminal,
				   * read into out */
} test_exec_opts;

/* Reads every fd of fds[0..n) (-1 = none) until all reach end of file; a
 * pseudo-terminal's master ends with EIO once the last writer is gone.
 * stdin_fd (-1 = none) is fed text meanwhile. */
static inline void test__drain(int fds[2], pl_buf *bufs[2], int stdin_fd, const char *text)
{
	size_t fed = 0, len = text ? strlen(text) : 0;
	char buf[65536];

	for (;;) {
		struct pollfd p[3];
		int n = 0, i, k;

		for (i = 0; i < 2; i++)
			if (fds[i] >= 0)
				p[n++] = (struct pollfd){ fds[i], POLLIN, 0 };
		if (stdin_fd >= 0)
			p[n++] = (struct pollfd){ stdin_fd, POLLOUT, 0 };
		if (!n)
			return;
		if (poll(p, (nfds_t)n, -1) < 0) {
			cr_assert_eq(errno, EINTR, "poll: %s", strerror(errno));
			continue;
		}
		for (k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (p[k].fd == stdin_fd) {
				ssize_t w = fed < len ? write(stdin_fd, text + fed, len - fed) : 0;

				if (w > 0)
					fed += (size_t)w;
				if (w < 0 && errno == EINTR)
					continue;
				if (fed >= len || w < 0) { /* all fed, or the reader left */
					close(stdin_fd);
					stdin_fd = -1;
				}
				continue;
			}
			for (i = 0; i < 2; i++) {
				ssize_t r;

				if (fds[i] != p[k].fd)
					continue;
				r = read(fds[i], buf, sizeof(buf));
				if (r > 0) {
					pl_buf_add(bufs[i], buf, (size_t)r);
				} else if (r == 0 || errno != EINTR) {
					close(fds[i]);
					fds[i] = -1;
				}
			}
		}
	}
}

/* A pipe whose ends the started program does not inherit. */
static inline void test__pipe(int p[2])
{
	cr_assert_eq(pipe(p), 0, "pipe: %s", strerror(errno));
	cr_assert_eq(fcntl(p[0], F_SETFD, FD_CLOEXEC), 0);
	cr_assert_eq(fcntl(p[1], F_SETFD, FD_CLOEXEC), 0);
}

/* Runs argv[0] (a path, no shell, no PATH search) with argv and waits for
 * it; fails the test if it cannot be started.  Release with
 * test_run_release. */
static inline test_run test_exec(const char *const *argv, const test_exec_opts *o)
{
	static const test_exec_opts none = { NULL, NULL, NULL, 0, 0, false };
	test_run r = { -1, PL_BUF_INIT, PL_BUF_INIT };
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 }, master = -1, slave = -1, st;
	int fds[2] = { -1, -1 };
	pl_buf *bufs[2] = { &r.out, &r.err };
	pid_t pid;

	if (!o)
		o = &none;
	if (o->pty) {
		/* the Linux ioctls behind posix_openpt, unlockpt and ptsname,
		 * which strict POSIX headers do not declare */
		char name[64];
		int n = 0, unlock = 0;

		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		cr_assert_geq(master, 0, "/dev/ptmx: %s", strerror(errno));
		cr_assert_eq(ioctl(master, TIOCSPTLCK, &unlock), 0, "unlocking the terminal: %s", strerror(errno));
		cr_assert_eq(ioctl(master, TIOCGPTN, &n), 0, "the terminal's number: %s", strerror(errno));
		snprintf(name, sizeof(name), "/dev/pts/%d", n);
		slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		cr_assert_geq(slave, 0, "%s: %s", name, strerror(errno));
	} else {
		if (o->out_fd <= 0)
			test__pipe(out);
		if (o->err_fd <= 0)
			test__pipe(err);
	}
	if (o->stdin_text)
		test__pipe(in);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int i0 = in[0] >= 0 ? in[0] : open("/dev/null", O_RDONLY);
		int o1 = slave >= 0 ? slave : o->out_fd > 0 ? o->out_fd : out[1];
		int e2 = slave >= 0 ? slave : o->err_fd > 0 ? o->err_fd : err[1];
		const char *const *e;

		/* dup2 clears FD_CLOEXEC on the copies; a descriptor already in
		 * place keeps its flags, so clear them by hand */
		if (i0 < 0 || dup2(i0, 0) < 0 || dup2(o1, 1) < 0 || dup2(e2, 2) < 0 ||
		    fcntl(1, F_SETFD, 0) < 0 || fcntl(2, F_SETFD, 0) < 0)
			_exit(126);
		for (e = o->env; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			char nm[256];

			if (!eq || (size_t)(eq - *e) >= sizeof(nm))
				_exit(126);
			memcpy(nm, *e, (size_t)(eq - *e));
			nm[eq - *e] = '\0';
			if (setenv(nm, eq + 1, 1) < 0)
				_exit(126);
		}
		if (o->cwd && chdir(o->cwd) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (slave >= 0)
		close(slave);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	if (in[0] >= 0)
		close(in[0]);
	fds[0] = master >= 0 ? master : out[0];
	fds[1] = err[0];
	test__drain(fds, bufs, in[1], o->stdin_text);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

/* Runs `sh -c CMD` (CMD formatted like printf), stdin /dev/null, appends its
 * standard output to out (when non-NULL; its stderr goes to the test's
 * stderr unless CMD redirects it) and returns its exit status, or 128 + N
 * when signal N ended it. */
static inline int test_sh(pl_buf *out, const char *fmt, ...) PL_PRINTF(2, 3);
static inline int test_sh(pl_buf *out, const char *fmt, ...)
{
	pl_buf cmd = PL_BUF_INIT;
	test_exec_opts o = { 0 };
	test_run r;
	va_list ap;
	int st;

	va_start(ap, fmt);
	pl_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	{
		const char *argv[] = { "/bin/sh", "-c", cmd.ptr, NULL };

		o.err_fd = 2;
		r = test_exec(argv, &o);
	}
	if (out)
		pl_buf_add(out, r.out.ptr, r.out.len);
	st = r.status;
	test_run_release(&r);
	pl_buf_release(&cmd);
	return st;
}

/* The built plait (PLAIT_BIN, which `make test` sets). */
static inline const char *test_plait_bin(void)
{
	const char *bin = getenv("PLAIT_BIN");

	cr_assert_not_null(bin, "PLAIT_BIN is not set (run the tests through make test)");
	return bin;
}

/* Runs `ENV plait ARGS` through the shell (env: shell assignments, or
 * NULL; ARGS as a shell would split them), in dir when non-NULL;
 * stdout and stderr kept apart.  Release with test_run_release. */
static inline test_run test_plait(const char *dir, const char *env, const char *args)
{
	pl_buf cmd = PL_BUF_INIT;
	test_exec_opts o = { 0 };
	test_run r;

	pl_buf_printf(&cmd, "%s '%s' %s", env ? env : "", test_plait_bin(), args);
	{
		const char *argv[] = { "/bin/sh", "-c", cmd.ptr, NULL };

		o.cwd = dir;
		r = test_exec(argv, &o);
	}
	pl_buf_release(&cmd);
	return r;
}

/* Runs plait with args (NULL-terminated, no shell: any bytes pass as they
 * are) under o (may be NULL). */
static inline test_run test_plait_argv(const char *const *args, const test_exec_opts *o)
{
	const char *argv[128];
	size_t n = 0;

	argv[n++] = test_plait_bin();
	for (; *args; args++) {
		cr_assert_lt(n, PL_ARRAY_LEN(argv) - 1, "too many arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	return test_exec(argv, o);
}

#endif
