/* `plait tool` as a user runs it (PLAIT_BIN). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/common.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	pl_buf p = PL_BUF_INIT;

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-test-tool", NULL), 0);
	pl_path_join(&p, tmp.ptr, "repo");
	cr_assert_eq(pl_mkdir_p(p.ptr, 0755, NULL), 0);
	pl_buf_reset(&p);
	pl_path_join(&p, tmp.ptr, "repo/a.txt");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "hello\n", 6, 0644, NULL), 0);
	pl_buf_release(&p);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(tool_cmd, .init = setup, .fini = teardown, .timeout = 60);

/* `plait tool ARGS` run in the repository directory; stdout and stderr
 * together in r.out. */
static test_run tool(const char *args)
{
	pl_buf a = PL_BUF_INIT;
	test_run r;

	pl_buf_printf(&a, "tool %s", args);
	r = test_plait(tmp.ptr, NULL, a.ptr);
	pl_buf_add(&r.out, r.err.ptr, r.err.len);
	pl_buf_release(&a);
	return r;
}

Test(tool_cmd, lists_runs_and_reports_errors)
{
	pl_buf repo = PL_BUF_INIT, args = PL_BUF_INIT;
	test_run r;

	pl_path_join(&repo, tmp.ptr, "repo");
	r = tool("--list --json");
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out.ptr, "\"name\": \"str_replace\""), "%s", r.out.ptr);
	test_run_release(&r);

	pl_buf_printf(&args, "view --repo '%s' --args '{\"path\":\"a.txt\"}'", repo.ptr);
	r = tool(args.ptr);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out.ptr, "Here's the result of running `cat -n` on a.txt:\n     1\thello\n");
	test_run_release(&r);

	pl_buf_reset(&args);
	pl_buf_printf(&args, "view --repo='%s' --args '{\"path\":\"a.txt\"}' --json", repo.ptr);
	r = tool(args.ptr);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out.ptr, "\"is_error\": false"), "%s", r.out.ptr);
	test_run_release(&r);

	pl_buf_reset(&args);
	pl_buf_printf(&args, "view --repo '%s' --args '{\"path\":\"zz\"}'", repo.ptr);
	r = tool(args.ptr);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.out.ptr, "error: 'zz' does not exist"), "%s", r.out.ptr);
	test_run_release(&r);

	pl_buf_release(&repo);
	pl_buf_release(&args);
}

Test(tool_cmd, usage_errors_exit_2)
{
	static const struct {
		const char *args, *msg;
	} cases[] = {
		{ "view --args '{bad'", "--args" },
		{ "frobnicate", "unknown tool 'frobnicate'" },
		{ "view --args", "--args needs a value" },
		{ "--list view", "--list takes no tool name" },
		{ "", "give a tool name or --list" },
		{ "view extra", "unexpected argument 'extra'" },
		{ "view --frob", "unknown option '--frob'" },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		test_run r = tool(cases[i].args);

		cr_assert_eq(r.status, 2, "tool %s: exit %d: %s", cases[i].args, r.status, r.out.ptr);
		cr_assert(strstr(r.out.ptr, cases[i].msg), "tool %s: %s", cases[i].args, r.out.ptr);
		cr_assert(strstr(r.out.ptr, "try 'plait tool --help'"), "tool %s: %s", cases[i].args, r.out.ptr);
		test_run_release(&r);
	}
}

Test(tool_cmd, missing_repository_is_a_failure)
{
	test_run r = tool("view --repo /nonexistent/x --args '{\"path\":\"a\"}'");

	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.out.ptr, "repository root '/nonexistent/x'"), "%s", r.out.ptr);
	test_run_release(&r);
}

Test(tool_cmd, help_lists_the_tools)
{
	test_run r = tool("--help");

	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out.ptr, "usage: plait tool"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "  str_replace\n"), "%s", r.out.ptr);
	test_run_release(&r);
}
