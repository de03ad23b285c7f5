/* The bash tool in real sandbox sessions: cwd and exported variables
 * carried between calls, exit
 * codes, timeouts, head-and-tail truncation, what is writable, restarts,
 * and the error when the kernel refuses namespaces. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(shell, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

static tools_ctx *repo_ctx(void)
{
	fx_puts("src/a.txt", "alpha\n");
	fx_git_commit_all("base");
	return fx_ctx();
}

/* Run `command` and return the observation text (caller frees). */
static char *bash(tools_ctx *c, const char *command, int *exit_code, bool *truncated)
{
	json_t *args = json_pack("{s:s}", "command", command);
	tools_obs o;
	pl_err err = { 0 };
	char *text;

	tools_obs_init(&o);
	cr_assert_eq(tools_call(&o, c, "bash", args, &err), 0, "%s", err.msg);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	if (exit_code)
		*exit_code = o.exit_code;
	if (truncated)
		*truncated = o.truncated;
	text = pl_xstrdup(o.text.ptr);
	tools_obs_release(&o);
	json_decref(args);
	return text;
}

Test(shell, runs_in_the_repository_and_carries_the_cwd)
{
	tools_ctx *c = repo_ctx();
	char *t;
	int code = -1;
	pl_buf want = PL_BUF_INIT;

	t = bash(c, "pwd; cat src/a.txt", &code, NULL);
	pl_buf_printf(&want, "%s\nalpha\n[exit code 0]\n", tools_ctx_root(c));
	cr_assert_str_eq(t, want.ptr);
	cr_assert_eq(code, 0);
	free(t);
	t = bash(c, "cd src", NULL, NULL);
	cr_assert_str_eq(t, "[exit code 0]\n");
	free(t);
	t = bash(c, "pwd; ls", NULL, NULL);
	pl_buf_reset(&want);
	pl_buf_printf(&want, "%s/src\na.txt\n[exit code 0]\n", tools_ctx_root(c));
	cr_assert_str_eq(t, want.ptr);
	free(t);
	/* `exit N` keeps its status and still reports where it ended */
	t = bash(c, "cd /tmp && echo partial && exit 3", &code, NULL);
	cr_assert_str_eq(t, "partial\n[exit code 3]\n");
	cr_assert_eq(code, 3);
	free(t);
	t = bash(c, "pwd", NULL, NULL);
	cr_assert_str_eq(t, "/tmp\n[exit code 0]\n");
	free(t);
	/* a directory removed behind the shell's back: back to the root */
	t = bash(c, "mkdir -p /tmp/gone && cd /tmp/gone && rmdir /tmp/gone", NULL, NULL);
	free(t);
	t = bash(c, "pwd", NULL, NULL);
	cr_assert(strstr(t, "[the directory /tmp/gone is gone; now in "), "%s", t);
	cr_assert(strstr(t, tools_ctx_root(c)), "%s", t);
	free(t);
	pl_buf_release(&want);
	tools_ctx_free(c);
}

Test(shell, exported_variables_carry_over_until_restart)
{
	tools_ctx *c = repo_ctx();
	tools_obs o;
	char *t;
	int code = -1;

	t = bash(c, "export FOO='a \"b\" $c'; BAR=x; export PATH=/opt/not-there:$PATH; f() { :; }", NULL, NULL);
	cr_assert_str_eq(t, "[exit code 0]\n");
	free(t);
	/* exported ones carry, quoting intact; plain variables and functions
	 * do not */
	t = bash(c, "echo \"$FOO|${BAR-unset}|${PATH%%:*}\"; type f >/dev/null 2>&1 || echo no-f", NULL, NULL);
	cr_assert_str_eq(t, "a \"b\" $c|unset|/opt/not-there\nno-f\n[exit code 0]\n");
	free(t);
	/* unset carries too, and `exit N` still keeps its status */
	t = bash(c, "unset FOO; export Z=1; exit 7", &code, NULL);
	cr_assert_eq(code, 7);
	free(t);
	t = bash(c, "echo \"${FOO-gone} $Z\"", NULL, NULL);
	cr_assert_str_eq(t, "gone 1\n[exit code 0]\n");
	free(t);
	/* a restart starts from the sandbox's own environment */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "bash", "{\"command\":\"echo ${Z-none}\",\"restart\":true}"), 0);
	cr_assert(strstr(o.text.ptr, "none\n[exit code 0]"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(shell, writes_the_repository_only_and_keeps_tmp_until_restart)
{
	tools_ctx *c = repo_ctx();
	tools_obs o;
	char *t, *made;
	int code;

	t = bash(c, "echo made > src/new.txt && echo kept > /tmp/state", &code, NULL);
	cr_assert_eq(code, 0, "%s", t);
	free(t);
	cr_assert_not_null(made = fx_read("src/new.txt", NULL));
	cr_assert_str_eq(made, "made\n");
	free(made);
	t = bash(c, "touch /etc/plait-escape 2>&1; echo rc=$?", NULL, NULL);
	cr_assert(strstr(t, "Read-only file system"), "%s", t);
	cr_assert(strstr(t, "rc=1"), "%s", t);
	free(t);
	t = bash(c, "cat /tmp/state", NULL, NULL);
	cr_assert_str_eq(t, "kept\n[exit code 0]\n");
	free(t);
	/* restart: a fresh session, /tmp empty, back in the root */
	t = bash(c, "cd src", NULL, NULL);
	free(t);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "bash", "{\"command\":\"pwd; cat /tmp/state\",\"restart\":true}"), 0, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[shell restarted"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, tools_ctx_root(c)), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "No such file or directory"), "%s", o.text.ptr);
	cr_assert_eq(o.exit_code, 1);
	cr_assert_str_eq(json_string_value(json_object_get(o.data, "cwd")), tools_ctx_root(c));
	tools_obs_release(&o);
	/* restart alone, with nothing to run */
	t = bash(c, "cd src", NULL, NULL);
	free(t);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "bash", "{\"command\":\"\",\"restart\":true}"), 0, "%s", o.text.ptr);
	cr_assert_str_eq(o.text.ptr, "[shell restarted: background processes killed, /tmp emptied, back in the repository root]\n");
	tools_obs_release(&o);
	t = bash(c, "pwd", NULL, NULL);
	cr_assert(pl_str_starts_with(t, tools_ctx_root(c)) && !strstr(t, "/src"), "%s", t);
	free(t);
	tools_ctx_free(c);
}

Test(shell, timeout_kills_the_command_and_the_session_goes_on)
{
	tools_ctx *c = repo_ctx();
	tools_obs o;
	char *t;

	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "bash", "{\"command\":\"echo started; sleep 30\",\"timeout\":1}"), 0);
	cr_assert(strstr(o.text.ptr, "started\n[timed out after 1s"), "%s", o.text.ptr);
	cr_assert_eq(o.exit_code, 124);
	cr_assert(json_is_true(json_object_get(o.data, "timed_out")));
	cr_assert_lt(json_real_value(json_object_get(o.data, "wall_time")), 20.0);
	tools_obs_release(&o);
	t = bash(c, "echo still here", NULL, NULL);
	cr_assert_str_eq(t, "still here\n[exit code 0]\n");
	free(t);
	tools_ctx_free(c);
}

Test(shell, long_output_keeps_head_and_tail)
{
	tools_ctx *c = repo_ctx();
	char *t, *cut;
	bool trunc = false;

	t = bash(c, "seq 1 100000", NULL, &trunc);
	cr_assert(trunc);
	cr_assert(pl_str_starts_with(t, "1\n2\n3\n"), "%.40s", t);
	cr_assert(strstr(t, "\n99999\n100000\n[exit code 0]\n"), "%s", t + strlen(t) - 60);
	cr_assert_not_null(cut = strstr(t, "lines ("));
	cr_assert_lt(strlen(t), 16000 + 400);
	cr_assert_leq(strlen(t), 16000 + 400);
	free(t);
	/* many short lines: the line cap applies before the byte cap */
	t = bash(c, "seq 1 1000", NULL, &trunc);
	cr_assert(trunc);
	cr_assert(strstr(t, "\n100\n[... 800 lines"), "%s", t);
	cr_assert(strstr(t, "\n901\n902\n"), "%s", t);
	free(t);
	/* stderr is in the same stream, in order; bytes that are not UTF-8 are escaped */
	t = bash(c, "echo out; echo err >&2; printf 'caf\\xe9\\n'", NULL, &trunc);
	cr_assert_not(trunc);
	cr_assert_str_eq(t, "out\nerr\ncaf\\xE9\n[exit code 0]\n");
	free(t);
	tools_ctx_free(c);
}

Test(shell, errors_and_background_processes_end_with_the_context)
{
	tools_ctx *c = repo_ctx();
	tools_obs o;
	char cmd[128], *t;

	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "bash", "{\"command\":\"\"}"), 0);
	cr_assert(strstr(o.text.ptr, "argument 'command' is empty"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "bash", "{\"command\":\"ls\",\"timeout\":0}"), 0);
	cr_assert(strstr(o.text.ptr, "'timeout' must be at least 1"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* a syntax error is the command's own failure, reported as bash does */
	t = bash(c, "if then fi", NULL, NULL);
	cr_assert(strstr(t, "syntax error"), "%s", t);
	cr_assert(strstr(t, "[exit code 2]"), "%s", t);
	free(t);
	/* a sleep this test alone starts (other runs of the suite may be going
	 * on beside it), which may still be exec'ing when the command returns:
	 * wait for it with a deadline, and for its end after the close */
	snprintf(cmd, sizeof(cmd), "sleep 4242.%d >/dev/null 2>&1 & echo started", (int)getpid());
	t = bash(c, cmd, NULL, NULL);
	cr_assert_str_eq(t, "started\n[exit code 0]\n");
	free(t);
	cr_assert_eq(fx_sh(NULL, "for i in $(seq 100); do pgrep -x -f 'sleep 4242[.]%d' && exit 0; sleep 0.1; done; exit 1",
			   (int)getpid()),
		     0, "the background process should run until the context is freed");
	tools_ctx_free(c);
	cr_assert_eq(fx_sh(NULL, "for i in $(seq 100); do pgrep -x -f 'sleep 4242[.]%d' || exit 0; sleep 0.1; done; exit 1",
			   (int)getpid()),
		     0, "closing the context must kill the session");
}

/* plait inside its own sandbox: the seccomp filter refuses new namespaces,
 * as a container without user namespaces would. */
Test(shell, refused_namespaces_give_a_clear_error)
{
	const char *bin = getenv("PLAIT_BIN");
	char *out;

	cr_assert_not_null(bin, "PLAIT_BIN must point at build/plait");
	fx_puts("x.txt", "x\n");
	/* LeakSanitizer stops the world with ptrace, which the sandbox's filter
	 * refuses: under SAN=1 the inner plait runs without leak checks, and
	 * without the default memory limit (RLIMIT_AS where no cgroup v2 is
	 * usable), under which AddressSanitizer cannot reserve its shadow. */
	/* The inner plait and its sandbox profiles are copies in the fixture,
	 * which the sandbox's user can reach wherever the checkout lives (under
	 * a 0700 home directory, say). */
	cr_assert_not_null(getenv("PLAIT_ROOT"), "PLAIT_ROOT must point at the checkout");
	cr_assert_eq(fx_sh(NULL, "cp '%s' plait-copy && cp -r '%s/configs/sandbox' profiles && chmod -R a+rX . && "
				 "'%s' sandbox run --memory 0 --workdir /tmp --env ASAN_OPTIONS=detect_leaks=0 "
				 "--env PLAIT_SANDBOX_PROFILES='%s/profiles' -- "
				 "'%s/plait-copy' tool bash --repo '%s' "
				 "--args '{\"command\":\"ls\"}' > out.txt 2>&1; test $? = 1",
			   bin, getenv("PLAIT_ROOT"), bin, fx_root.ptr, fx_root.ptr, fx_root.ptr),
		     0);
	cr_assert_not_null(out = fx_read("out.txt", NULL));
	cr_assert(strstr(out, "error: bash is not available: the kernel refused to start the sandbox"), "%s", out);
	cr_assert(strstr(out, "cannot create the sandbox's namespaces"), "%s", out);
	free(out);
}

/* What commands change (files created, deleted, edited, in new
 * directories, owned by the repository's owner) is in the final patch, and
 * that patch rebuilds the same tree on a fresh checkout of the base. */
Test(shell, changes_made_by_commands_reach_the_patch)
{
	tools_ctx *c;
	pl_buf repo = PL_BUF_INIT, copy = PL_BUF_INIT, patch = PL_BUF_INIT, pfile = PL_BUF_INIT;
	char tree[41] = "", *t, *got;
	pl_err err = { 0 };
	int code;

	fx_puts("repo/a.txt", "alpha\n");
	fx_puts("repo/b.txt", "beta\n");
	cr_assert_eq(fx_sh(NULL, "cd repo && git init -q && git add -A && git commit -qm base"), 0);
	pl_path_join(&repo, fx_root.ptr, "repo");
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	t = bash(c, "echo new > c.txt && rm b.txt && printf 'x\\r\\n' >> a.txt && mkdir -p d/e && echo deep > d/e/f.py && "
		    "test \"$(stat -c %u c.txt)\" = \"$(stat -c %u .)\" && echo same owner", &code, NULL);
	cr_assert_eq(code, 0, "%s", t);
	cr_assert_str_eq(t, "same owner\n[exit code 0]\n");
	free(t);
	cr_assert_eq(tools_git_patch(&patch, tree, repo.ptr, NULL, &err), 0, "%s", err.msg);
	cr_assert(strstr(patch.ptr, "deleted file mode 100644"), "%s", patch.ptr);
	cr_assert(strstr(patch.ptr, "+++ b/d/e/f.py"), "%s", patch.ptr);
	pl_path_join(&copy, fx_root.ptr, "copy");
	pl_path_join(&pfile, fx_root.ptr, "p.diff");
	cr_assert_eq(tools_git_checkout_copy(repo.ptr, "HEAD", copy.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(pl_file_write_atomic(pfile.ptr, patch.ptr, patch.len, 0644, NULL), 0);
	cr_assert_eq(fx_sh(copy.ptr, "git apply --binary '%s' && git add -A && git write-tree > ../tree.txt", pfile.ptr), 0);
	cr_assert_not_null(got = fx_read("tree.txt", NULL));
	cr_assert(pl_str_starts_with(got, tree), "%s vs %s", got, tree);
	free(got);
	cr_assert_eq(fx_sh(NULL, "cmp repo/a.txt copy/a.txt && test ! -e copy/b.txt"), 0);
	tools_ctx_free(c);
	pl_buf_release(&repo);
	pl_buf_release(&copy);
	pl_buf_release(&patch);
	pl_buf_release(&pfile);
}

Test(shell, a_missing_profile_is_named)
{
	tools_ctx *c = NULL;
	tools_ctx_opts opts = { 0 };
	tools_obs o;
	pl_err err = { 0 };

	opts.sandbox_profile = "no-such-profile";
	cr_assert_eq(tools_ctx_new(&c, fx_root.ptr, &opts, &err), 0, "%s", err.msg);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "bash", "{\"command\":\"ls\"}"), 0);
	cr_assert(strstr(o.text.ptr, "error: bash: loading the sandbox profile: "), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "no-such-profile"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.7: the cut note counts what the command printed, not what was left
 * after the sandbox's own 64 KiB cap (`seq 1 200000` said 11,250 lines
 * were cut where 199,800 were). */
Test(shell, cut_counts_are_those_of_the_whole_output)
{
	tools_ctx *c = repo_ctx();
	bool trunc = false;
	/* seq 1 200000 prints 1,288,895 bytes; the first and last 100 lines,
	 * 292 + 700 bytes, are shown */
	char *t = bash(c, "seq 1 200000", NULL, &trunc);

	cr_assert(trunc);
	cr_assert(strstr(t, "\n100\n[... 199800 lines (1287903 bytes) cut;"), "%s", t);
	cr_assert(strstr(t, "\n199901\n"), "%s", t);
	cr_assert(strstr(t, "\n200000\n[exit code 0]\n"), "%s", t + strlen(t) - 60);
	free(t);
	/* a single line larger than everything: cut in bytes, counted */
	t = bash(c, "head -c 300000 /dev/zero | tr '\\0' x; echo", NULL, &trunc);
	cr_assert(trunc);
	cr_assert(strstr(t, "[... 0 lines (284401 bytes) cut;"), "%s", t);
	free(t);
	/* long lines: the byte budget binds, and the exit line still fits */
	t = bash(c, "for i in $(seq 1 30); do head -c 1000 /dev/zero | tr '\\0' y; echo; done", NULL, &trunc);
	cr_assert(trunc);
	cr_assert_leq(strlen(t), 16000);
	cr_assert(strstr(t, "\n[exit code 0]\n"), "%s", t + strlen(t) - 100);
	free(t);
	tools_ctx_free(c);
}

/* #12.7: when the working directory is removed, the next command says so
 * once, naming the directory it runs in now (the root), and the ones
 * after it run there quietly (the note named the removed directory as the
 * new one and came back at every command). */
Test(shell, a_removed_working_directory_is_noted_once)
{
	tools_ctx *c = repo_ctx();
	pl_buf want = PL_BUF_INIT;
	char *t;

	free(bash(c, "mkdir -p gone && cd gone", NULL, NULL));
	free(bash(c, "rmdir ../gone", NULL, NULL));
	t = bash(c, "pwd", NULL, NULL);
	pl_buf_printf(&want, "[the directory %s/gone is gone; now in %s]\n%s\n[exit code 0]\n", tools_ctx_root(c),
		      tools_ctx_root(c), tools_ctx_root(c));
	cr_assert_str_eq(t, want.ptr);
	free(t);
	t = bash(c, "pwd", NULL, NULL);
	pl_buf_reset(&want);
	pl_buf_printf(&want, "%s\n[exit code 0]\n", tools_ctx_root(c));
	cr_assert_str_eq(t, want.ptr);
	free(t);
	pl_buf_release(&want);
	tools_ctx_free(c);
}
