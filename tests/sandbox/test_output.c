/* What a command's output goes through: pipes of the sandbox's own unless
 * the caller explicitly hands it descriptors (sbx_exec_opts.direct_output);
 * `plait sandbox run` never hands it its own stdout or stderr. */
#include "sbx_test.h"
#include "tests/shell.h"

#include <sys/resource.h>

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-output", &err), 0, "%s", err.msg);
	chmod(tmp.ptr, 0755);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(output, .init = setup, .fini = teardown, .timeout = 60);

Test(output, the_cli_command_cannot_truncate_or_read_back_plaits_output_file)
{
	pl_buf log = PL_BUF_INIT, text = PL_BUF_INIT;
	int st;

	/* plait's stdout is a log file that already holds a marker; the
	 * command tries to truncate it, seek it and read it back */
	pl_path_join(&log, tmp.ptr, "log");
	write_text(log.ptr, "precious-marker\n");
	st = test_sh(NULL, "'%s' sandbox run --ro-bind '%s' -- '%s' stdout_attacks precious-marker >>'%s' 2>&1 </dev/null",
		     test_plait_bin(), probe_dir(), probe_path(), log.ptr);
	read_text(&text, log.ptr);
	cr_assert(pl_str_starts_with(text.ptr, "precious-marker\n"), "plait's output file lost its content: '%s'",
		  text.ptr);
	cr_assert_eq(st, 0, "%s", text.ptr);
	cr_assert(strstr(text.ptr, "the output is a pipe of the sandbox's own"), "%s", text.ptr);
	pl_buf_release(&log);
	pl_buf_release(&text);
}

Test(output, the_cli_command_cannot_make_plaits_output_pipe_non_blocking)
{
	const char *args[] = { "sandbox", "run", "--ro-bind", probe_dir(), "--", probe_path(), "stdout_nonblock", NULL };
	test_exec_opts o = { 0 };
	test_run r;
	int p[2];
	char buf[256];

	/* plait writes into a pipe whose write end this test keeps too: a
	 * command holding that same description could set O_NONBLOCK on it */
	cr_assert_eq(pipe(p), 0);
	o.out_fd = o.err_fd = p[1];
	r = test_plait_argv(args, &o);
	cr_assert_eq(r.status, 0, "plait failed: status %d", r.status);
	test_run_release(&r);
	cr_assert_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0, "the command made the caller's pipe non-blocking");
	close(p[1]);
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	close(p[0]);
}

/* A file made for the command's output, handed over on purpose. */
static int fresh_file(const char *name)
{
	pl_buf p = PL_BUF_INIT;
	int fd;

	pl_path_join(&p, tmp.ptr, name);
	fd = open(p.ptr, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", p.ptr, strerror(errno));
	pl_buf_release(&p);
	return fd;
}

static void file_text(pl_buf *b, int fd)
{
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	pl_buf_reset(b);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		pl_buf_add(b, buf, (size_t)n);
		off += n;
	}
}

Test(output, direct_output_writes_into_the_callers_descriptors)
{
	const char *argv[] = { "/bin/sh", "-c", "echo to-out; echo to-err >&2; [ -f /proc/self/fd/1 ] && echo file", NULL };
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	sbx_exec_opts o = { 0 };
	pl_err err = { 0 };
	pl_buf b = PL_BUF_INIT;
	int out = fresh_file("out"), errf = fresh_file("err");

	sbx_config_init(&cfg);
	o.direct_output = true;
	o.out_fd = out;
	o.err_fd = errf;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_eq(r.out.len + r.err.len + r.out_bytes + r.err_bytes, 0, "direct output was captured too");
	file_text(&b, out);
	cr_assert_str_eq(b.ptr, "to-out\nfile\n");
	file_text(&b, errf);
	cr_assert_str_eq(b.ptr, "to-err\n");
	sbx_result_release(&r);
	/* the same in a session, where the descriptors travel to its init */
	cr_assert_eq(ftruncate(out, 0), 0);
	cr_assert_eq(lseek(out, 0, SEEK_SET), 0);
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
	sbx_result_init(&r);
	cr_assert_eq(sbx_session_exec(&r, s, argv, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(r.exit_code, 0);
	file_text(&b, out);
	cr_assert_str_eq(b.ptr, "to-out\nfile\n");
	sbx_result_release(&r);
	sbx_session_close(s);
	sbx_config_release(&cfg);
	pl_buf_release(&b);
	close(out);
	close(errf);
}

Test(output, direct_output_needs_open_descriptors)
{
	const char *argv[] = { "/bin/true", NULL };
	sbx_config cfg;
	sbx_result r;
	sbx_exec_opts o = { 0 };
	pl_err err = { 0 };
	int out = fresh_file("out");

	sbx_config_init(&cfg);
	sbx_result_init(&r);
	o.direct_output = true;
	o.out_fd = out;
	o.err_fd = -1;
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "direct output: descriptor -1 is not open");
	/* merged output needs only out_fd */
	cfg.merge_output = true;
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), 0, "%s", err.msg);
	o.out_fd = 999;
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "direct output: descriptor 999 is not open");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	close(out);
}

/* ---------------------------------------------------------------- --json */

Test(output, json_survives_output_that_is_not_utf8)
{
	pl_buf out = PL_BUF_INIT;
	json_t *j = NULL;
	const char *o;

	/* bytes that are no UTF-8 and a sequence cut short, on stderr */
	cr_assert_eq(test_sh(&out, "'%s' sandbox run --json -- /bin/sh -c "
				   "\"printf '\\\\377\\\\376 ok \\\\342\\\\202' >&2; exit 3\" 2>/dev/null",
			     test_plait_bin()),
		     3, "%s", out.ptr);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", NULL), 0, "not JSON: %s", out.ptr);
	cr_assert_eq(json_integer_value(json_object_get(j, "exit_code")), 3);
	cr_assert_str_eq(json_string_value(json_object_get(j, "stderr")), "\xef\xbf\xbd\xef\xbf\xbd ok \xef\xbf\xbd\xef\xbf\xbd");
	cr_assert_eq(json_integer_value(json_object_get(j, "stderr_bytes")), 8);
	json_decref(j);
	/* two-byte characters the cap cuts in two: the head ends with half
	 * of one, the tail starts with half of another */
	pl_buf_reset(&out);
	cr_assert_eq(test_sh(&out, "'%s' sandbox run --json --output-cap 6 -- /bin/sh -c "
				   "\"printf '\\\\303\\\\251\\\\303\\\\251\\\\303\\\\251\\\\303\\\\251\\\\303\\\\251'\" 2>/dev/null",
			     test_plait_bin()),
		     0, "%s", out.ptr);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", NULL), 0, "not JSON: %s", out.ptr);
	o = json_string_value(json_object_get(j, "stdout"));
	cr_assert_not_null(o);
	cr_assert(json_is_true(json_object_get(j, "stdout_truncated")));
	cr_assert(pl_str_starts_with(o, "\xc3\xa9\xef\xbf\xbd"), "%s", o);
	cr_assert(pl_str_ends_with(o, "\xef\xbf\xbd\xc3\xa9"), "%s", o);
	json_decref(j);
	pl_buf_release(&out);
}

/* ---------------------------------------------------------------- stdin */

Test(output, the_cli_streams_stdin_instead_of_reading_it_all_first)
{
	int p[2], st;
	pid_t feeder, pid;
	struct rusage ru;

	/* 200 MB offered, one byte taken: plait must not hold the rest */
	cr_assert_eq(pipe(p), 0);
	feeder = fork();
	cr_assert_geq(feeder, 0);
	if (feeder == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/usr/bin/head", "head", "-c", "200000000", "/dev/zero", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[0], 0);
		dup2(null, 1);
		close(p[0]);
		execl(test_plait_bin(), "plait", "sandbox", "run", "--stdin", "--", "head", "-c", "1", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "plait: status %d", st);
	/* ru_maxrss is in KiB */
	cr_assert_lt(ru.ru_maxrss, 64 * 1024, "plait grew to %ld KiB", ru.ru_maxrss);
	kill(feeder, SIGKILL);
	waitpid(feeder, NULL, 0);
}

Test(output, stdin_streams_from_a_descriptor_in_runs_and_sessions)
{
	const char *argv[] = { "/bin/sh", "-c", "wc -c", NULL };
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	sbx_exec_opts o = { 0 };
	pl_err err = { 0 };
	int i, p[2];

	sbx_config_init(&cfg);
	for (i = 0; i < 2; i++) {
		pid_t w;

		cr_assert_eq(pipe(p), 0);
		/* a writer more than a pipe's and the buffer's worth */
		w = fork();
		cr_assert_geq(w, 0);
		if (w == 0) {
			static char chunk[100000];

			close(p[0]);
			memset(chunk, 'x', sizeof(chunk));
			for (int k = 0; k < 10; k++)
				if (write(p[1], chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
					_exit(1);
			_exit(0);
		}
		close(p[1]);
		o.stdin_stream = true;
		o.stdin_fd = p[0];
		sbx_result_init(&r);
		if (i == 0) {
			cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), 0, "%s", err.msg);
		} else {
			cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
			cr_assert_eq(sbx_session_exec(&r, s, argv, &o, &err), 0, "%s", err.msg);
			sbx_session_close(s);
		}
		cr_assert_str_eq(r.out.ptr, "1000000\n");
		sbx_result_release(&r);
		close(p[0]);
		waitpid(w, NULL, 0);
	}
	/* both kinds at once, or a closed descriptor: clear errors */
	o.stdin_data = "x";
	o.stdin_len = 1;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "stdin: both data and a descriptor to stream were given");
	o.stdin_data = NULL;
	o.stdin_fd = 987;
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "stdin: descriptor 987 is not open");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}
