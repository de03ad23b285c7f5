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

/* Runs a shell command in the test's directory (git with an identity). */
static void sh(const char *fmt, const char *arg)
{
	pl_buf cmd = PL_BUF_INIT;

	pl_buf_printf(&cmd, "cd '%s' && export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t "
			    "GIT_COMMITTER_EMAIL=t@t GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent && ",
		      tmp.ptr);
	pl_buf_printf(&cmd, fmt, arg);
	cr_assert_eq(test_sh(NULL, "{ %s; } >/dev/null 2>&1", cmd.ptr), 0, "%s", cmd.ptr);
	pl_buf_release(&cmd);
}

/* #12.9: --base names the commit diff, status and submit compare with,
 * so that submit after the agent committed is not empty; and JSON output
 * survives a patch of a Latin-1 file (it aborted: JSON text is UTF-8). */
Test(tool_cmd, base_option_and_a_latin1_patch_in_json)
{
	pl_buf args = PL_BUF_INIT, out = PL_BUF_INIT;
	test_run r;

	sh("cd repo && git init -q && git add -A && git commit -qm base && git rev-parse HEAD > ../base%s", "");
	cr_assert_eq(test_sh(&out, "cat '%s/base'", tmp.ptr), 0);
	pl_buf_rtrim(&out);
	sh("cd repo && printf 'caf\\351\\n' > a.txt && git commit -qam 'agent commit'%s", "");
	pl_buf_printf(&args, "submit --repo '%s/repo' --allow-empty-submit", tmp.ptr);
	r = tool(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "the patch is EMPTY"), "without --base, HEAD is the base: %s", r.out.ptr);
	test_run_release(&r);
	pl_buf_reset(&args);
	pl_buf_printf(&args, "submit --repo '%s/repo' --base %s --json", tmp.ptr, out.ptr);
	r = tool(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "\"finished\": true"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "\"patch_base64\": \"ZGlmZi"), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_reset(&args);
	pl_buf_printf(&args, "status --repo '%s/repo' --base %s", tmp.ptr, out.ptr);
	r = tool(args.ptr);
	cr_assert(strstr(r.out.ptr, "modified   a.txt\n"), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&args);
	pl_buf_release(&out);
}

/* One answer of a --stdio session, by id. */
static const json_t *answer(json_t *all, int id)
{
	size_t i;
	json_t *a;

	json_array_foreach(all, i, a)
		if (json_integer_value(json_object_get(a, "id")) == id)
			return a;
	cr_assert_fail("no answer with id %d", id);
	return NULL;
}

static const char *text_of(json_t *all, int id)
{
	return json_string_value(json_object_get(answer(all, id), "text"));
}

static void expect_in(json_t *all, int id, const char *want)
{
	const char *t = text_of(all, id);

	cr_assert(t && strstr(t, want), "answer %d lacks [%s]: %s", id, want, t);
}

/* An agent-like session of 32 calls through `plait tool --stdio`: the
 * editor with a rolled-back edit and undo, search and navigation, bash
 * with cd and export carried between calls, a change made behind the
 * editor's back, status, diff and submit; each answer checked. */
Test(tool_cmd, stdio_session_like_an_agent)
{
	static const char *const requests[] = {
		"{\"id\":1,\"tool\":\"view\",\"args\":{\"path\":\".\"}}",
		"{\"id\":2,\"tool\":\"view\",\"args\":{\"path\":\"calc.py\"}}",
		"{\"id\":3,\"tool\":\"view\",\"args\":{\"path\":\"calc.py\",\"view_range\":[4,6]}}",
		"{\"id\":4,\"tool\":\"find\",\"args\":{\"pattern\":\"*.py\"}}",
		"{\"id\":5,\"tool\":\"search\",\"args\":{\"pattern\":\"def \\\\w+\"}}",
		"{\"id\":6,\"tool\":\"outline\",\"args\":{\"path\":\"calc.py\"}}",
		"{\"id\":7,\"tool\":\"definition\",\"args\":{\"symbol\":\"mul\"}}",
		"{\"id\":8,\"tool\":\"references\",\"args\":{\"symbol\":\"add\"}}",
		"{\"id\":9,\"tool\":\"str_replace\",\"args\":{\"path\":\"calc.py\",\"old_str\":\"return a * b\",\"new_str\":\"return a * b + 0\"}}",
		"{\"id\":10,\"tool\":\"str_replace\",\"args\":{\"path\":\"calc.py\",\"old_str\":\"return a + b\",\"new_str\":\"return (a + b\"}}",
		"{\"id\":11,\"tool\":\"view\",\"args\":{\"path\":\"calc.py\",\"view_range\":[2,2]}}",
		"{\"id\":12,\"tool\":\"undo_edit\",\"args\":{\"path\":\"calc.py\"}}",
		"{\"id\":13,\"tool\":\"view\",\"args\":{\"path\":\"calc.py\",\"view_range\":[6,6]}}",
		"{\"id\":14,\"tool\":\"str_replace\",\"args\":{\"path\":\"calc.py\",\"old_str\":\"a * b\",\"new_str\":\"a * b\"}}",
		"{\"id\":15,\"tool\":\"create\",\"args\":{\"path\":\"sub/util.py\",\"file_text\":\"def twice(x):\\n    return 2 * x\\n\"}}",
		"{\"id\":16,\"tool\":\"create\",\"args\":{\"path\":\"sub/util.py\",\"file_text\":\"\"}}",
		"{\"id\":17,\"tool\":\"insert\",\"args\":{\"path\":\"sub/util.py\",\"insert_line\":0,\"new_str\":\"# helpers\\n\"}}",
		"{\"id\":18,\"tool\":\"bash\",\"args\":{\"command\":\"pwd\"}}",
		"{\"id\":19,\"tool\":\"bash\",\"args\":{\"command\":\"cd sub && pwd\"}}",
		"{\"id\":20,\"tool\":\"bash\",\"args\":{\"command\":\"pwd; ls\"}}",
		"{\"id\":21,\"tool\":\"bash\",\"args\":{\"command\":\"export GREETING=hello\"}}",
		"{\"id\":22,\"tool\":\"bash\",\"args\":{\"command\":\"echo \\\"$GREETING world\\\"\"}}",
		"{\"id\":23,\"tool\":\"bash\",\"args\":{\"command\":\"exit 3\"}}",
		"{\"id\":24,\"tool\":\"bash\",\"args\":{\"command\":\"cd .. && sed -i 's/a + b/b + a/' calc.py && echo '# tweak' >> sub/util.py\"}}",
		"{\"id\":25,\"tool\":\"undo_edit\",\"args\":{\"path\":\"sub/util.py\"}}",
		"{\"id\":26,\"tool\":\"search\",\"args\":{\"pattern\":\"b + a\",\"fixed_strings\":true}}",
		"{\"id\":27,\"tool\":\"status\"}",
		"{\"id\":28,\"tool\":\"diff\",\"args\":{}}",
		"not json at all",
		"{\"id\":30,\"tool\":\"frobnicate\",\"args\":{}}",
		"{\"id\":31,\"tool\":\"view\",\"args\":{\"path\":\"calc.py\",\"view_range\":[0,2]}}",
		"{\"id\":32,\"tool\":\"submit\",\"args\":{}}",
	};
	pl_buf in = PL_BUF_INIT, p = PL_BUF_INIT, args = PL_BUF_INIT, root = PL_BUF_INIT;
	json_t *all = json_array();
	const json_t *a;
	test_run r;
	size_t i;
	char *line, *save = NULL;
	const char *patch;

	pl_path_join(&p, tmp.ptr, "repo/calc.py");
	{
		static const char calc[] = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n";
		cr_assert_eq(pl_file_write_atomic(p.ptr, calc, strlen(calc), 0644, NULL), 0);
	}
	pl_buf_reset(&p);
	pl_path_join(&p, tmp.ptr, "repo/test_calc.py");
	{
		static const char test[] = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n";
		cr_assert_eq(pl_file_write_atomic(p.ptr, test, strlen(test), 0644, NULL), 0);
	}
	sh("cd repo && git init -q && git add -A && git commit -qm base%s", "");
	for (i = 0; i < PL_ARRAY_LEN(requests); i++)
		pl_buf_printf(&in, "%s\n", requests[i]);
	pl_buf_reset(&p);
	pl_path_join(&p, tmp.ptr, "requests.jsonl");
	cr_assert_eq(pl_file_write_atomic(p.ptr, in.ptr, in.len, 0644, NULL), 0);
	pl_buf_printf(&args, "--stdio --repo '%s/repo' < '%s'", tmp.ptr, p.ptr);
	r = test_plait(tmp.ptr, NULL, (pl_buf_puts(&root, "tool "), pl_buf_puts(&root, args.ptr), root.ptr));
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	for (line = strtok_r(r.out.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		cr_assert_not_null(j, "not one JSON object per line: %s", line);
		json_array_append_new(all, j);
	}
	cr_assert_eq(json_array_size(all), PL_ARRAY_LEN(requests), "%s", r.out.ptr);
	if (strstr(text_of(all, 18), "bash is not available"))
		cr_skip_test("the kernel refuses the sandbox's namespaces here: %s", text_of(all, 18));
	pl_buf_reset(&root);
	cr_assert_eq(test_sh(&root, "cd '%s/repo' && pwd -P", tmp.ptr), 0);
	pl_buf_rtrim(&root);

	expect_in(all, 1, "calc.py\n");
	expect_in(all, 1, "test_calc.py\n");
	expect_in(all, 2, "Here's the result of running `cat -n` on calc.py:\n     1\tdef add(a, b):\n");
	cr_assert_str_eq(text_of(all, 3), "Here's the result of running `cat -n` on calc.py:\n     4\t\n     5\tdef mul(a, b):\n"
					  "     6\t    return a * b\n");
	cr_assert_str_eq(text_of(all, 4), "calc.py\ntest_calc.py\n");
	cr_assert_str_eq(text_of(all, 5), "calc.py\n1:def add(a, b):\n5:def mul(a, b):\ntest_calc.py\n4:def test_add():\n");
	cr_assert_str_eq(text_of(all, 6), "function add  [1-2]\nfunction mul  [5-6]\n");
	cr_assert_str_eq(text_of(all, 7), "calc.py:5-6 function mul: def mul(a, b):\n");
	cr_assert_str_eq(text_of(all, 8), "calc.py:1: (definition) def add(a, b):\ntest_calc.py:1: from calc import add\n"
					  "test_calc.py:5: assert add(2, 3) == 5\n");
	expect_in(all, 9, "The file calc.py has been edited.");
	expect_in(all, 9, "     6\t    return a * b + 0\n");
	a = answer(all, 10);
	cr_assert(json_is_true(json_object_get(a, "is_error")));
	expect_in(all, 10, "the edit was NOT applied");
	expect_in(all, 10, "Your edit opens 1 more '(' than it closes.");
	cr_assert_str_eq(text_of(all, 11), "Here's the result of running `cat -n` on calc.py:\n     2\t    return a + b\n");
	expect_in(all, 12, "Last edit to calc.py undone successfully.");
	cr_assert_str_eq(text_of(all, 13), "Here's the result of running `cat -n` on calc.py:\n     6\t    return a * b\n");
	expect_in(all, 14, "is the same as new_str");
	expect_in(all, 15, "File created successfully at: sub/util.py");
	expect_in(all, 16, "File already exists at: sub/util.py");
	expect_in(all, 17, "     1\t# helpers\n     2\tdef twice(x):\n");
	{
		pl_buf want = PL_BUF_INIT;
		pl_buf_printf(&want, "%s\n[exit code 0]\n", root.ptr);
		cr_assert_str_eq(text_of(all, 18), want.ptr);
		pl_buf_reset(&want);
		pl_buf_printf(&want, "%s/sub\n[exit code 0]\n", root.ptr);
		cr_assert_str_eq(text_of(all, 19), want.ptr);
		pl_buf_reset(&want);
		pl_buf_printf(&want, "%s/sub\nutil.py\n[exit code 0]\n", root.ptr);
		cr_assert_str_eq(text_of(all, 20), want.ptr);
		pl_buf_release(&want);
	}
	cr_assert_str_eq(text_of(all, 22), "hello world\n[exit code 0]\n");
	cr_assert_eq(json_integer_value(json_object_get(answer(all, 23), "exit_code")), 3);
	expect_in(all, 24, "[exit code 0]");
	expect_in(all, 25, "'sub/util.py' has changed since your last edit of it");
	cr_assert_str_eq(text_of(all, 26), "calc.py\n2:    return b + a\n");
	expect_in(all, 27, "modified   calc.py\n");
	expect_in(all, 27, "new        sub/util.py\n");
	expect_in(all, 28, "+++ b/sub/util.py");
	expect_in(all, 28, "+    return b + a");
	/* the line that is not JSON: answered in its turn, without an id */
	a = json_array_get(all, 28);
	cr_assert(json_is_null(json_object_get(a, "id")), "%s", json_string_value(json_object_get(a, "text")));
	cr_assert(strstr(json_string_value(json_object_get(a, "error")), "request: invalid JSON"), "%s",
		  json_string_value(json_object_get(a, "error")));
	expect_in(all, 30, "unknown tool 'frobnicate'");
	expect_in(all, 31, "lines are numbered from 1");
	a = answer(all, 32);
	cr_assert(json_is_true(json_object_get(a, "finished")), "%s", text_of(all, 32));
	patch = json_string_value(json_object_get(json_object_get(a, "data"), "patch"));
	cr_assert(patch && strstr(patch, "+# helpers\n") && strstr(patch, "+# tweak\n") && strstr(patch, "+    return b + a\n"),
		  "%s", patch);
	json_decref(all);
	test_run_release(&r);
	pl_buf_release(&in);
	pl_buf_release(&p);
	pl_buf_release(&args);
	pl_buf_release(&root);
}
