/* `plait sandbox run` as a user runs it (PLAIT_BIN). */
#include "tests/sandbox/sbx_test.h"
#include "tests/shell.h"

/* Run the built plait with args; stdout+stderr (merged) and exit status. */
static int plait(pl_buf *out, const char *args)
{
	pl_buf_reset(out);
	return test_sh(out, "%s %s 2>&1 </dev/null", test_plait_bin(), args);
}

TestSuite(sandbox_cmd, .timeout = 60);

Test(sandbox_cmd, help_documents_every_option)
{
	static const char *const opts[] = { "--profile", "--rootfs", "--bind",     "--ro-bind", "--workdir",
					    "--cwd",     "--net",    "--env",      "--keep-env", "--hostname",
					    "--timeout", "--cpu",    "--memory",   "--address-space", "--nofile",
					    "--nproc",   "--fsize",  "--output-cap", "--merge-output", "--uid",
					    "--gid",     "--stdin",  "--json",     "--writable-git", "--help" };
	pl_buf out = PL_BUF_INIT, src = PL_BUF_INIT, p = PL_BUF_INIT;
	const char *root = getenv("PLAIT_ROOT");
	const char *s;
	size_t i, n_opts = 0;

	cr_assert_eq(plait(&out, "sandbox run --help"), 0);
	for (i = 0; i < PL_ARRAY_LEN(opts); i++)
		cr_assert(strstr(out.ptr, opts[i]), "--help does not document %s", opts[i]);
	/* and every option the parser accepts (its table in cli/cmd_sandbox.c)
	 * appears in the help */
	cr_assert(root);
	pl_path_join(&p, root, "cli/cmd_sandbox.c");
	read_text(&src, p.ptr);
	s = strstr(src.ptr, "static const cli_opt run_opts[] = {");
	cr_assert_not_null(s, "the option table of sandbox run was not found");
	for (; (s = strstr(s, "{ \"")) && s < strstr(src.ptr, "{ NULL, 0, false, 0 }"); s++) {
		char opt[64] = "--";
		const char *q = s + strlen("{ \"");
		size_t n = strcspn(q, "\"");

		cr_assert_lt(n + 2, sizeof(opt));
		memcpy(opt + 2, q, n);
		opt[n + 2] = '\0';
		cr_assert(strstr(out.ptr, opt), "option %s is parsed but not in --help", opt);
		n_opts++;
	}
	cr_assert_geq(n_opts, 25, "only %zu options found in the table", n_opts);
	cr_assert_eq(plait(&out, "sandbox --help"), 0);
	cr_assert(strstr(out.ptr, "usage: plait sandbox run"));
	pl_buf_release(&out);
	pl_buf_release(&src);
	pl_buf_release(&p);
}

Test(sandbox_cmd, runs_and_passes_exit_status_and_output)
{
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(plait(&out, "sandbox run -- /bin/sh -c 'echo hi; exit 5'"), 5);
	cr_assert_str_eq(out.ptr, "hi\n");
	cr_assert_eq(plait(&out, "sandbox run --timeout 0.3 -- sleep 30"), 124);
	cr_assert(strstr(out.ptr, "plait sandbox: timed out after 0.3s, process tree killed"), "%s", out.ptr);
	cr_assert_eq(plait(&out, "sandbox run -- /bin/sh -c 'kill -TERM $$'"), 128 + SIGTERM);
	cr_assert(strstr(out.ptr, "killed by TERM"), "%s", out.ptr);
	cr_assert_eq(plait(&out, "sandbox run --env A=1 --hostname box -- /bin/sh -c 'echo $A $(hostname)'"), 0);
	cr_assert_str_eq(out.ptr, "1 box\n");
	pl_buf_release(&out);
}

Test(sandbox_cmd, json_result)
{
	pl_buf out = PL_BUF_INIT;
	json_t *j = NULL;

	cr_assert_eq(plait(&out, "sandbox run --json --merge-output --output-cap 16 -- "
				 "/bin/sh -c 'echo aaaaaaaaaaaaaaaaaaaa; echo bbbbbbbbbbbbbbbbbbbbbbbb >&2; exit 2'"),
		     2);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", NULL), 0, "%s", out.ptr);
	cr_assert_eq(json_integer_value(json_object_get(j, "exit_code")), 2);
	cr_assert_eq(json_integer_value(json_object_get(j, "stdout_bytes")), 46);
	cr_assert(json_is_true(json_object_get(j, "stdout_truncated")));
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "limits_hit"), 0)), "output");
	cr_assert(strstr(json_string_value(json_object_get(j, "output")), "bytes cut"));
	json_decref(j);
	pl_buf_release(&out);
}

Test(sandbox_cmd, stdin_is_passed_on_request)
{
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(plait(&out, "sandbox run -- /bin/sh -c 'cat; echo end'"), 0);
	cr_assert_str_eq(out.ptr, "end\n");
	pl_buf_release(&out);
	cr_assert_eq(test_sh(&out, "printf data | %s sandbox run --stdin -- cat", test_plait_bin()), 0);
	cr_assert_str_eq(out.ptr, "data");
	pl_buf_release(&out);
}

Test(sandbox_cmd, bad_usage_is_a_clear_error)
{
	static const struct {
		const char *args, *msg;
		int code;
	} cases[] = {
		{ "sandbox", "usage: plait sandbox run", 2 },
		{ "sandbox frobnicate", "unknown subcommand 'frobnicate'", 2 },
		{ "sandbox run", "no command given", 2 },
		{ "sandbox run --bogus x -- true", "unknown option '--bogus'", 2 },
		{ "sandbox run --timeout", "--timeout needs a value", 2 },
		{ "sandbox run --timeout -3 -- true", "--timeout '-3': not a positive number", 2 },
		{ "sandbox run --memory lots -- true", "--memory 'lots':", 2 },
		{ "sandbox run --nproc 0 -- true", "--nproc '0':", 2 },
		{ "sandbox run --env NOEQ -- true", "is not NAME=VALUE", 2 },
		{ "sandbox run --uid x -- true", "--uid 'x':", 2 },
		{ "sandbox run --profile nope -- true", "sandbox profile 'nope' not found", 125 },
		{ "sandbox run --bind /no/such/plait -- true", "bind source '/no/such/plait'", 125 },
		{ "sandbox run --rootfs /no/such/root -- true", "rootfs '/no/such/root'", 125 },
		{ "sandbox run --uid 0 -- true", "the sandbox never runs as uid 0 (root)", 125 },
		{ "sandbox run -- no-such-command-plait", "cannot run 'no-such-command-plait' in the sandbox", 127 },
		{ "sandbox run -- /etc/passwd", "cannot run '/etc/passwd' in the sandbox: Permission denied", 126 },
	};
	pl_buf out = PL_BUF_INIT;
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		cr_assert_eq(plait(&out, cases[i].args), cases[i].code, "%s: %s", cases[i].args, out.ptr);
		cr_assert(strstr(out.ptr, cases[i].msg), "%s: %s", cases[i].args, out.ptr);
	}
	pl_buf_release(&out);
}

Test(sandbox_cmd, profile_then_overrides)
{
	pl_buf out = PL_BUF_INIT;

	/* the test profile keeps streams apart; --merge-output after it wins */
	cr_assert_eq(plait(&out, "sandbox run --profile test --nofile 77 -- /bin/sh -c 'ulimit -n'"), 0);
	cr_assert(strstr(out.ptr, "77\n"), "%s", out.ptr);
	pl_buf_release(&out);
}

/* Runs plait with args on a pseudo-terminal (stdout and stderr); returns
 * its exit status with everything it wrote in out. */
static int plait_on_a_terminal(pl_buf *out, const char *const *args)
{
	test_exec_opts o = { 0 };
	test_run r;
	int st;

	o.pty = true;
	r = test_exec(args, &o);
	pl_buf_reset(out);
	pl_buf_add(out, r.out.ptr, r.out.len);
	st = r.status;
	test_run_release(&r);
	return st;
}

Test(sandbox_cmd, a_terminal_is_never_handed_to_the_sandbox)
{
	const char *args[] = { test_plait_bin(), "sandbox", "run", "--", "/bin/sh", "-c",
			       "for fd in 0 1 2; do if [ -t $fd ]; then echo \"$fd tty\"; fi; done; "
			       "echo out; echo err >&2; exit 3",
			       NULL };
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(plait_on_a_terminal(&out, args), 3, "%s", out.ptr);
	cr_assert(!strstr(out.ptr, "tty"), "the sandbox got a terminal: %s", out.ptr);
	cr_assert(strstr(out.ptr, "out\r\n") && strstr(out.ptr, "err\r\n"), "output did not pass through: %s",
		  out.ptr);
	pl_buf_release(&out);
}

Test(sandbox_cmd, output_to_a_file_still_goes_through_a_pipe)
{
	pl_buf out = PL_BUF_INIT;

	/* stdout a file: the command writes into a pipe plait copies from,
	 * never into plait's own file (tests/sandbox/test_output.c shows what
	 * a command could do to it) */
	cr_assert_eq(test_sh(&out,
			     "f=$(mktemp); %s sandbox run -- /bin/sh -c "
			     "'[ -p /proc/self/fd/1 ] && [ -p /proc/self/fd/2 ] && echo pipes' "
			     ">\"$f\" 2>&1 </dev/null; s=$?; cat \"$f\"; rm -f \"$f\"; exit $s",
			     test_plait_bin()),
		     0, "%s", out.ptr);
	cr_assert_str_eq(out.ptr, "pipes\n", "%s", out.ptr);
	pl_buf_release(&out);
}
