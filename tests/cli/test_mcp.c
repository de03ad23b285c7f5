/* `plait mcp` as MCP clients run it (PLAIT_BIN): the protocol line by line,
 * then the reference client, the TypeScript SDK under Debian's node. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "tests/shell.h"
#include "tools/tools.h"

static pl_buf tmp = PL_BUF_INIT;

/* A shell command in the test's directory, with git's identity set. */
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

static void setup(void)
{
	static const char calc[] = "def add(a, b):\n    return a + b\n";
	pl_buf p = PL_BUF_INIT;

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-test-mcp", NULL), 0);
	pl_path_join(&p, tmp.ptr, "repo");
	cr_assert_eq(pl_mkdir_p(p.ptr, 0755, NULL), 0);
	pl_buf_reset(&p);
	pl_path_join(&p, tmp.ptr, "repo/calc.py");
	cr_assert_eq(pl_file_write_atomic(p.ptr, calc, strlen(calc), 0644, NULL), 0);
	pl_buf_release(&p);
	sh("cd repo && git init -q && git add -A && git commit -qm base%s", "");
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(mcp_cmd, .init = setup, .fini = teardown, .timeout = 240);

/* `plait mcp ARGS` fed these lines; each line of its output parsed into
 * *answers. */
static test_run mcp(json_t **answers, const char *const *args, const char *const *lines, size_t n)
{
	pl_buf in = PL_BUF_INIT;
	test_exec_opts o = { 0 };
	test_run r;
	char *line, *save = NULL;
	pl_buf copy = PL_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		pl_buf_printf(&in, "%s\n", lines[i]);
	o.stdin_text = in.ptr;
	o.cwd = tmp.ptr;
	r = test_plait_argv(args, &o);
	pl_buf_release(&in);
	*answers = json_array();
	pl_buf_add(&copy, r.out.ptr, r.out.len);
	for (line = strtok_r(copy.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);

		cr_assert_not_null(j, "not one JSON message per line (%s): %s", je.text, line);
		json_array_append_new(*answers, j);
	}
	pl_buf_release(&copy);
	return r;
}

static const json_t *at(const json_t *v, const char *path)
{
	const json_t *cur = v;
	char key[64];
	const char *s = path;

	while (*s && cur) {
		size_t n = strcspn(s, ".");
		cr_assert_lt(n, sizeof(key));
		memcpy(key, s, n);
		key[n] = '\0';
		cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(key)) : json_object_get(cur, key);
		s += n + (s[n] == '.');
	}
	return cur;
}

static const char *str_at(const json_t *v, const char *path)
{
	return json_string_value(at(v, path));
}

static char *dump(const json_t *v)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, v, false);
	return pl_buf_detach(&b, NULL);
}

/* The n-th answer is the error code with this id (NULL: none) and a
 * message holding want. */
static void expect_error(const json_t *all, size_t n, const char *id, int code, const char *want)
{
	const json_t *a = json_array_get(all, n);
	char *text = dump(a);
	const json_t *idv = json_object_get(a, "id");

	cr_assert_not_null(a, "no answer %zu", n);
	cr_assert_str_eq(str_at(a, "jsonrpc"), "2.0", "%s", text);
	if (!id)
		cr_assert_null(idv, "answer %zu has an id: %s", n, text);
	else if (json_is_integer(idv))
		cr_assert_eq(json_integer_value(idv), atoi(id), "%s", text);
	else
		cr_assert_str_eq(json_string_value(idv), id, "%s", text);
	cr_assert_eq(json_integer_value(at(a, "error.code")), code, "answer %zu: %s", n, text);
	cr_assert(strstr(str_at(a, "error.message"), want), "answer %zu lacks [%s]: %s", n, want, text);
	cr_assert_null(json_object_get(a, "result"), "%s", text);
	free(text);
}

/* The protocol line by line, as a client that is not the SDK may write
 * it: every kind of message, malformed ones included; each answer in
 * order, notifications never answered. */
Test(mcp_cmd, protocol_line_by_line)
{
	static const char *const lines[] = {
		/* 0 */ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"capabilities\":{}}}",
		/* 1 */ "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"1999-01-01\","
			"\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
		"",
		/* 2 */ "{\"jsonrpc\":\"2.0\",\"id\":\"list\",\"method\":\"tools/list\",\"params\":{}}",
		/* 3 */ "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"view\","
			"\"arguments\":{\"path\":\"calc.py\"}}}",
		/* 4 */ "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"view\","
			"\"arguments\":{\"path\":5}}}",
		/* 5 */ "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"frobnicate\"}}",
		/* 6 */ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"view\","
			"\"arguments\":[1]}}",
		/* 7 */ "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\"}",
		/* 8 */ "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"resources/list\"}",
		/* 9 */ "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\"}",
		/* 10 */ "{\"jsonrpc\": \"2.0\", \"id\": 11, \"method\": ",
		/* 11 */ "42",
		/* 12 */ "{\"jsonrpc\":\"1.0\",\"id\":13,\"method\":\"ping\"}",
		/* 13 */ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
		/* 14 */ "{\"jsonrpc\":\"2.0\",\"id\":15}",
		/* a notification, even of a tool call, is never answered nor run */
		"{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"create\","
		"\"arguments\":{\"path\":\"made.txt\",\"file_text\":\"x\\n\"}}}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":4}}",
		/* a response: the server sent no request, nothing waits for it */
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}",
		/* 15 */ "[{\"jsonrpc\":\"2.0\",\"id\":16,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"n/x\"},"
			 "{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"nope\"}]",
		"[{\"jsonrpc\":\"2.0\",\"method\":\"n/x\"}]",
		/* 16 */ "[]",
		/* 17 */ "{\"jsonrpc\":\"2.0\",\"id\":18,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
		/* 18 */ "{\"jsonrpc\":\"2.0\",\"id\":19,\"method\":\"tools/list\",\"params\":{\"cursor\":\"2\"}}",
		/* 19 */ "{\"jsonrpc\":\"2.0\",\"id\":20,\"id\":21,\"method\":\"ping\"}",
		/* 20 */ "{\"jsonrpc\":\"2.0\",\"id\":22,\"method\":\"tools/call\",\"params\":{\"name\":\"str_replace\","
			 "\"arguments\":{\"path\":\"calc.py\",\"old_str\":\"a + b\",\"new_str\":\"b + a\"}}}\r",
	};
	pl_buf repo = PL_BUF_INIT, p = PL_BUF_INIT, text = PL_BUF_INIT;
	const char *args[] = { "mcp", "--repo", NULL, NULL };
	const json_t *a, *tools, *t;
	json_t *all;
	test_run r;
	size_t i, n_tools;
	const tools_def *const *defs;
	char *s;

	pl_path_join(&repo, tmp.ptr, "repo");
	args[2] = repo.ptr;
	r = mcp(&all, args, lines, PL_ARRAY_LEN(lines));
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.err.ptr, "", "nothing on stderr");
	s = dump(all);
	cr_assert_eq(json_array_size(all), 21, "%s", s);
	free(s);

	expect_error(all, 0, "1", -32602, "initialize: params.protocolVersion must be a string");
	/* a revision the server does not speak: its newest */
	a = json_array_get(all, 1);
	cr_assert_eq(json_integer_value(json_object_get(a, "id")), 2);
	cr_assert_str_eq(str_at(a, "result.protocolVersion"), "2025-11-25");
	cr_assert(json_is_object(at(a, "result.capabilities.tools")));
	cr_assert(json_is_false(at(a, "result.capabilities.tools.listChanged")));
	cr_assert_str_eq(str_at(a, "result.serverInfo.name"), "plait");
	cr_assert_str_eq(str_at(a, "result.serverInfo.version"), PLAIT_VERSION);
	pl_buf_reset(&p);
	cr_assert_eq(test_sh(&p, "cd '%s' && pwd -P", repo.ptr), 0);
	pl_buf_rtrim(&p);
	pl_buf_printf(&text, "plait's tools work on the repository at %s; paths are relative to it.", p.ptr);
	cr_assert(strstr(str_at(a, "result.instructions"), text.ptr), "%s", str_at(a, "result.instructions"));
	cr_assert(strstr(str_at(a, "result.instructions"), " bash runs each command in a sandbox"));

	/* tools/list: every tool, its schema as plait validates it */
	a = json_array_get(all, 2);
	cr_assert_str_eq(json_string_value(json_object_get(a, "id")), "list");
	tools = at(a, "result.tools");
	defs = tools_all(&n_tools);
	cr_assert_eq(json_array_size(tools), n_tools);
	for (i = 0; i < n_tools; i++) {
		json_t *schema = tools_def_schema(defs[i]);

		t = json_array_get(tools, i);
		cr_assert_str_eq(str_at(t, "name"), defs[i]->name);
		cr_assert_str_eq(str_at(t, "description"), defs[i]->description);
		cr_assert(json_equal(json_object_get(t, "inputSchema"), schema), "%s", defs[i]->name);
		cr_assert(json_is_boolean(at(t, "annotations.readOnlyHint")), "%s", defs[i]->name);
		json_decref(schema);
	}
	cr_assert(json_is_true(at(tools, "0.annotations.readOnlyHint")), "view reads only");
	cr_assert(json_is_false(at(tools, "11.annotations.readOnlyHint")), "bash writes");
	cr_assert(json_is_true(at(tools, "11.annotations.destructiveHint")));
	cr_assert_null(json_object_get(at(a, "result"), "nextCursor"));

	/* a call: the observation as text content */
	a = json_array_get(all, 3);
	cr_assert_eq(json_integer_value(json_object_get(a, "id")), 4);
	cr_assert_str_eq(str_at(a, "result.content.0.type"), "text");
	cr_assert_str_eq(str_at(a, "result.content.0.text"),
			 "Here's the result of running `cat -n` on calc.py:\n     1\tdef add(a, b):\n     2\t    return a + b\n");
	cr_assert_eq(json_array_size(at(a, "result.content")), 1);
	cr_assert(json_is_false(at(a, "result.isError")));
	cr_assert_eq(json_integer_value(at(a, "result._meta.plait/observation.exit_code")), 0);
	cr_assert(json_is_false(at(a, "result._meta.plait/observation.truncated")));
	cr_assert_null(at(a, "result._meta.plait/observation.text"), "the text is the content");

	/* a refused argument is the tool's answer, for the model to fix */
	a = json_array_get(all, 4);
	cr_assert(json_is_true(at(a, "result.isError")));
	cr_assert(strstr(str_at(a, "result.content.0.text"), "error: view: argument 'path' must be a string"), "%s",
		  str_at(a, "result.content.0.text"));

	expect_error(all, 5, "6", -32602, "Unknown tool: frobnicate (tools/list names them: view create");
	expect_error(all, 6, "7", -32602, "tools/call: params.arguments must be an object, got an array");
	expect_error(all, 7, "8", -32602, "tools/call: params must be an object");
	expect_error(all, 8, "9", -32601, "Method not found: resources/list");
	a = json_array_get(all, 9);
	cr_assert_eq(json_integer_value(json_object_get(a, "id")), 10);
	cr_assert(json_is_object(json_object_get(a, "result")) && !json_object_size(json_object_get(a, "result")));
	expect_error(all, 10, NULL, -32700, "Parse error: invalid JSON at column");
	expect_error(all, 11, NULL, -32600, "a message must be a JSON object, got an integer");
	expect_error(all, 12, "13", -32600, "\"jsonrpc\" must be \"2.0\"");
	expect_error(all, 13, NULL, -32600, "\"id\" must be a string or an integer, got null");
	expect_error(all, 14, "15", -32600, "no \"method\"");

	/* a batch: an array of the answers to its requests */
	a = json_array_get(all, 15);
	cr_assert(json_is_array(a) && json_array_size(a) == 2);
	cr_assert_eq(json_integer_value(at(a, "0.id")), 16);
	cr_assert(json_is_object(at(a, "0.result")));
	cr_assert_eq(json_integer_value(at(a, "1.id")), 17);
	cr_assert_eq(json_integer_value(at(a, "1.error.code")), -32601);
	expect_error(all, 16, NULL, -32600, "an empty batch");
	expect_error(all, 17, "18", -32600, "initialize was already answered");
	expect_error(all, 18, "19", -32602, "invalid cursor");
	expect_error(all, 19, NULL, -32700, "duplicate object key");
	a = json_array_get(all, 20);
	cr_assert_eq(json_integer_value(json_object_get(a, "id")), 22, "a line ending in CR LF");
	cr_assert(json_is_false(at(a, "result.isError")), "%s", str_at(a, "result.content.0.text"));
	cr_assert_str_eq(str_at(a, "result._meta.plait/observation.files.0"), "calc.py");

	pl_buf_reset(&p);
	pl_path_join(&p, repo.ptr, "made.txt");
	cr_assert(!pl_file_exists(p.ptr), "a notification ran a tool");
	test_run_release(&r);
	json_decref(all);
	pl_buf_release(&repo);
	pl_buf_release(&p);
	pl_buf_release(&text);
}

/* The revision a client asks for, when the server speaks it; --tools. */
Test(mcp_cmd, version_negotiation_and_a_subset_of_the_tools)
{
	static const char *const lines[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2024-11-05\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"search\","
		"\"arguments\":{\"pattern\":\"def\"}}}",
		"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"outline\","
		"\"arguments\":{\"path\":\"calc.py\"}}}",
	};
	const char *args[] = { "mcp", "--repo", "repo", "--tools", "view, outline,definition", NULL };
	json_t *all;
	test_run r = mcp(&all, args, lines, PL_ARRAY_LEN(lines));
	const json_t *tools;

	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_eq(json_array_size(all), 4, "%s", r.out.ptr);
	cr_assert_str_eq(str_at(json_array_get(all, 0), "result.protocolVersion"), "2024-11-05");
	cr_assert_null(strstr(str_at(json_array_get(all, 0), "result.instructions"), "bash"),
		       "the instructions speak of the tools served only");
	tools = at(json_array_get(all, 1), "result.tools");
	cr_assert_eq(json_array_size(tools), 3);
	cr_assert_str_eq(str_at(tools, "0.name"), "view");
	cr_assert_str_eq(str_at(tools, "1.name"), "outline");
	cr_assert_str_eq(str_at(tools, "2.name"), "definition");
	expect_error(all, 2, "3", -32602, "Unknown tool: search (tools/list names them: view outline definition)");
	cr_assert_str_eq(str_at(json_array_get(all, 3), "result.content.0.text"), "function add  [1-2]\n");
	test_run_release(&r);
	json_decref(all);
}

Test(mcp_cmd, usage_errors)
{
	static const struct {
		const char *args[6];
		int status;
		const char *msg;
	} cases[] = {
		{ { "mcp", "--tools", "view,nope", NULL }, 2, "--tools: unknown tool 'nope'" },
		{ { "mcp", "--tools", "view,", NULL }, 2, "--tools: an empty name in 'view,'" },
		{ { "mcp", "--tools", "", NULL }, 2, "--tools: an empty name" },
		{ { "mcp", "extra", NULL }, 2, "unexpected argument 'extra'" },
		{ { "mcp", "--frob", NULL }, 2, "unknown option '--frob'" },
		{ { "mcp", "--repo", "/nonexistent/x", NULL }, 1, "repository root '/nonexistent/x'" },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		test_exec_opts o = { 0 };
		test_run r;

		o.cwd = tmp.ptr;
		r = test_plait_argv(cases[i].args, &o);
		cr_assert_eq(r.status, cases[i].status, "%s %s: exit %d: %s", cases[i].args[1], cases[i].args[2] ? cases[i].args[2] : "",
			     r.status, r.err.ptr);
		cr_assert(strstr(r.err.ptr, cases[i].msg), "%s: %s", cases[i].args[1], r.err.ptr);
		cr_assert_str_eq(r.out.ptr, "", "nothing but MCP messages on stdout");
		test_run_release(&r);
	}
}

Test(mcp_cmd, help_and_the_command_table)
{
	const char *help[] = { "mcp", "--help", NULL }, *list[] = { "help", NULL };
	test_run r = test_plait_argv(help, NULL);

	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out.ptr, "usage: plait mcp [--repo DIR]"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "claude mcp add plait -- plait mcp --repo"), "%s", r.out.ptr);
	test_run_release(&r);
	r = test_plait_argv(list, NULL);
	cr_assert(strstr(r.out.ptr, "mcp "), "%s", r.out.ptr);
	test_run_release(&r);
}

/* Whether a process whose command line holds needle is running. */
static bool process_with(const char *needle)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	cr_assert_not_null(d);
	while (!found && (e = readdir(d))) {
		pl_buf path = PL_BUF_INIT, cmd = PL_BUF_INIT;
		size_t k;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pl_buf_printf(&path, "/proc/%s/cmdline", e->d_name);
		if (pl_file_read(&cmd, path.ptr, 0, NULL) == 0) {
			for (k = 0; k < cmd.len; k++)
				if (!cmd.ptr[k])
					cmd.ptr[k] = ' ';
			found = strstr(cmd.ptr, needle) != NULL;
		}
		pl_buf_release(&path);
		pl_buf_release(&cmd);
	}
	closedir(d);
	return found;
}

/* The reference MCP client: the TypeScript SDK's Client over its
 * StdioClientTransport, which starts plait as Claude Code would
 * (tests/cli/mcp_client.mjs says what it checks). */
Test(mcp_cmd, the_reference_client)
{
	const char *root = getenv("PLAIT_ROOT");
	pl_buf sdk = PL_BUF_INIT, script = PL_BUF_INIT, e_sdk = PL_BUF_INIT, e_repo = PL_BUF_INIT, e_bin = PL_BUF_INIT,
	       e_marker = PL_BUF_INIT, e_patch = PL_BUF_INIT, patch = PL_BUF_INIT, marker = PL_BUF_INIT, out = PL_BUF_INIT;
	const char *argv[] = { "/usr/bin/node", NULL, NULL };
	const char *env[6];
	test_exec_opts o = { 0 };
	test_run r;
	struct timespec until, now;
	size_t oks = 0;
	const char *l;

	cr_assert_not_null(root, "PLAIT_ROOT is not set (run the tests through make test)");
	if (access("/usr/bin/node", X_OK) != 0)
		cr_skip_test("no /usr/bin/node: Debian's nodejs runs the reference MCP client (make deps installs it)");
	pl_path_join(&sdk, root, ".deps/node/node_modules/@modelcontextprotocol/sdk");
	pl_path_join(&script, sdk.ptr, "package.json");
	if (!pl_file_exists(script.ptr))
		cr_skip_test("the MCP SDK is not in %s (make deps installs it)", sdk.ptr);
	pl_buf_reset(&script);
	pl_path_join(&script, root, "tests/cli/mcp_client.mjs");
	argv[1] = script.ptr;
	pl_buf_printf(&marker, "%d", (int)getpid());
	pl_buf_printf(&e_sdk, "MCP_SDK=%s", sdk.ptr);
	pl_buf_printf(&e_repo, "MCP_REPO=%s/repo", tmp.ptr);
	pl_buf_printf(&e_bin, "PLAIT_BIN=%s", test_plait_bin());
	pl_buf_printf(&e_marker, "MCP_MARKER=%s", marker.ptr);
	pl_buf_printf(&e_patch, "MCP_PATCH=%s/patch", tmp.ptr);
	env[0] = e_sdk.ptr, env[1] = e_repo.ptr, env[2] = e_bin.ptr, env[3] = e_marker.ptr, env[4] = e_patch.ptr;
	env[5] = NULL;
	o.env = env;
	o.cwd = tmp.ptr;
	r = test_exec(argv, &o);
	cr_assert_eq(r.status, 0, "the client failed:\n%s%s", r.out.ptr, r.err.ptr);
	for (l = r.out.ptr; (l = strstr(l, "ok ")); l++)
		oks += l == r.out.ptr || l[-1] == '\n';
	if (strstr(r.out.ptr, "skip - "))
		cr_assert_eq(oks, 12, "%s", r.out.ptr); /* no sandbox here: no bash step */
	else
		cr_assert_eq(oks, 13, "%s", r.out.ptr);
	cr_assert_str_eq(r.err.ptr, "", "%s", r.err.ptr);

	/* what the calls did is on disk, and the patch submit returned
	 * applies to a fresh checkout of the base */
	cr_assert_eq(test_sh(&out, "cat '%s/repo/calc.py'", tmp.ptr), 0);
	cr_assert_str_eq(out.ptr, "def add(a, b):\n    return b + a\n");
	sh("git clone -q repo fresh && cd fresh && git apply ../patch && cmp calc.py ../repo/calc.py%s", "");

	/* the background process a bash call left is gone with the session */
	pl_buf_printf(&patch, "sleep 3000.%s", marker.ptr);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 30;
	while (process_with(patch.ptr)) {
		struct timespec nap = { 0, 20 * 1000 * 1000 };

		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert(now.tv_sec < until.tv_sec, "'%s' outlived plait mcp", patch.ptr);
		nanosleep(&nap, NULL);
	}
	test_run_release(&r);
	pl_buf_release(&sdk);
	pl_buf_release(&script);
	pl_buf_release(&e_sdk);
	pl_buf_release(&e_repo);
	pl_buf_release(&e_bin);
	pl_buf_release(&e_marker);
	pl_buf_release(&e_patch);
	pl_buf_release(&patch);
	pl_buf_release(&marker);
	pl_buf_release(&out);
}
