/* mcp.c - the Model Context Protocol server of `plait mcp`: initialize,
 * ping, tools/list and tools/call over one tools_ctx, which keeps the undo
 * history, the shell session and the base commit for the whole connection
 * as an agent run does.  No I/O: cmd_mcp.c moves the lines. */
#include "cli/cli.h"
#include "cli/mcp.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Newest first: the answer to an initialize that asks for another. */
const char *const cli__mcp_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL };

/* Observation data past this many bytes of JSON stays out of _meta: the
 * reference client drops a connection whose message passes 10 MiB, and
 * the text already shows what a model reads. */
#define META_DATA_MAX (1024 * 1024)

struct cli_mcp {
	tools_ctx *ctx;
	json_t *tools;        /* names exposed, in the registry's order */
	json_t *list;         /* the tools/list result, made once */
	char *instructions;
	bool initialized;     /* an initialize was answered */
};

/* What each tool may do, for a client deciding what to ask the user
 * about (MCP's ToolAnnotations: hints, not guarantees). */
static const struct {
	const char *name;
	bool read_only, destructive, open_world;
} hints[] = {
	{ "view", true, false, false },       { "create", false, false, false },
	{ "str_replace", false, false, false }, { "insert", false, false, false },
	{ "undo_edit", false, false, false }, { "search", true, false, false },
	{ "find", true, false, false },       { "outline", true, false, false },
	{ "definition", true, false, false }, { "references", true, false, false },
	{ "repo_map", true, false, false },   { "bash", false, true, true },
	{ "status", true, false, false },     { "diff", true, false, false },
	{ "submit", true, false, false },
};

/* A tool as tools/list gives it: the schema as plait validates it. */
static json_t *tool_json(const tools_def *def)
{
	json_t *o = json_object(), *a = json_object();
	size_t i;

	pl_json_set(o, "name", json_string(def->name));
	pl_json_set(o, "description", json_string(def->description));
	pl_json_set(o, "inputSchema", tools_def_schema(def));
	for (i = 0; i < PL_ARRAY_LEN(hints); i++) {
		if (strcmp(hints[i].name, def->name) != 0)
			continue;
		pl_json_set(a, "readOnlyHint", json_boolean(hints[i].read_only));
		if (!hints[i].read_only)
			pl_json_set(a, "destructiveHint", json_boolean(hints[i].destructive));
		pl_json_set(a, "openWorldHint", json_boolean(hints[i].open_world));
	}
	pl_json_set(o, "annotations", a);
	return o;
}

/* The server's instructions (clients may put them in the model's
 * prompt): where the tools work and what sets them apart, for the tools
 * exposed. */
static char *instructions(const tools_ctx *ctx, const json_t *names)
{
	static const struct {
		const char *tools, *text;
	} parts[] = {
		{ " view create str_replace insert undo_edit ",
		  " The editor tools keep each file's bytes, line endings and encoding, refuse an edit that would "
		  "break the file's syntax, and undo_edit goes back edit by edit." },
		{ " search find outline definition references repo_map ",
		  " search and find see what git shows (ignored files left out); outline, definition, references "
		  "and repo_map read the code with tree-sitter." },
		{ " bash ",
		  " bash runs each command in a sandbox (the repository writable, the rest of the system "
		  "read-only), keeping the working directory and exported variables from one call to the next." },
		{ " status diff submit ",
		  " status, diff and submit compare with the session's base commit (HEAD when plait started, or "
		  "the one --base named), commits made since included; submit returns the final patch, new files "
		  "included." },
	};
	pl_buf b = PL_BUF_INIT;
	size_t i, k;

	pl_buf_printf(&b, "plait's tools work on the repository at %s; paths are relative to it.", tools_ctx_root(ctx));
	for (i = 0; i < PL_ARRAY_LEN(parts); i++)
		for (k = 0; k < json_array_size(names); k++) {
			pl_buf word = PL_BUF_INIT;
			bool hit;

			pl_buf_printf(&word, " %s ", json_string_value(json_array_get(names, k)));
			hit = strstr(parts[i].tools, word.ptr) != NULL;
			pl_buf_release(&word);
			if (hit) {
				pl_buf_puts(&b, parts[i].text);
				break;
			}
		}
	return pl_buf_detach(&b, NULL);
}

int cli__mcp_new(cli_mcp **out, tools_ctx *ctx, const json_t *only, pl_err *err)
{
	const tools_def *const *all;
	json_t *names = json_array(), *list = json_array();
	size_t n, i, k;
	cli_mcp *s;

	all = tools_all(&n);
	for (k = 0; only && k < json_array_size(only); k++) {
		const char *name = json_string_value(json_array_get(only, k));

		if (!name || !tools_find(name)) {
			json_decref(names);
			json_decref(list);
			return pl_err_set(err, PL_EINVAL, "unknown tool '%s' (plait tool --list)", name ? name : "");
		}
	}
	for (i = 0; i < n; i++) {
		bool wanted = !only;

		for (k = 0; only && k < json_array_size(only); k++)
			wanted |= !strcmp(json_string_value(json_array_get(only, k)), all[i]->name);
		if (!wanted)
			continue;
		json_array_append_new(names, json_string(all[i]->name));
		json_array_append_new(list, tool_json(all[i]));
	}
	s = pl_xcalloc(1, sizeof(*s));
	s->ctx = ctx;
	s->tools = names;
	s->list = json_object();
	pl_json_set(s->list, "tools", list);
	s->instructions = instructions(ctx, names);
	*out = s;
	return 0;
}

void cli__mcp_free(cli_mcp *s)
{
	if (!s)
		return;
	json_decref(s->tools);
	json_decref(s->list);
	free(s->instructions);
	free(s);
}

static json_t *bad_params(const cli_rpc_msg *m, const char *fmt, ...) PL_PRINTF(2, 3);
static json_t *bad_params(const cli_rpc_msg *m, const char *fmt, ...)
{
	pl_buf msg = PL_BUF_INIT;
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	pl_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	e = cli__rpc_error(m->id, CLI_RPC_INVALID_PARAMS, msg.ptr, NULL);
	pl_buf_release(&msg);
	return e;
}

/* initialize: the version the client asked for when the server speaks it,
 * else the newest the server speaks (lifecycle, version negotiation). */
static json_t *initialize(cli_mcp *s, const cli_rpc_msg *m)
{
	const json_t *asked = json_is_object(m->params) ? json_object_get(m->params, "protocolVersion") : NULL;
	const char *version = cli__mcp_versions[0];
	json_t *r, *caps, *tools, *info;
	size_t i;

	if (!json_is_string(asked))
		return bad_params(m, "initialize: params.protocolVersion must be a string (the newest revision "
				  "the client speaks, such as \"%s\")", cli__mcp_versions[0]);
	for (i = 0; cli__mcp_versions[i]; i++)
		if (!strcmp(cli__mcp_versions[i], json_string_value(asked)))
			version = cli__mcp_versions[i];
	r = json_object();
	caps = json_object();
	tools = json_object();
	info = json_object();
	pl_json_set(r, "protocolVersion", json_string(version));
	pl_json_set(tools, "listChanged", json_false()); /* the list is fixed for the session */
	pl_json_set(caps, "tools", tools);
	pl_json_set(r, "capabilities", caps);
	pl_json_set(info, "name", json_string("plait"));
	pl_json_set(info, "version", json_string(PLAIT_VERSION));
	pl_json_set(r, "serverInfo", info);
	pl_json_set(r, "instructions", json_string(s->instructions));
	s->initialized = true;
	return cli__rpc_result(m->id, r);
}

/* _meta's "plait/observation": what `plait tool --stdio` answers besides
 * the text, for a client that reads more than the text. */
static json_t *observation_meta(const tools_obs *obs)
{
	json_t *o = cli_obs_json(obs), *data = json_object_get(o, "data");
	pl_buf b = PL_BUF_INIT;

	json_object_del(o, "text");     /* it is the content */
	json_object_del(o, "is_error"); /* it is isError */
	pl_json_dump(&b, data, false);
	if (b.len > META_DATA_MAX) {
		json_t *note = json_object();

		pl_json_set(note, "omitted",
			    json_sprintf("data is %zu bytes of JSON, more than an MCP message carries here; "
					 "`plait tool --stdio` answers with all of it", b.len));
		pl_json_set(o, "data", note);
	}
	pl_buf_release(&b);
	return o;
}

/* tools/call: an unknown tool and a malformed request are protocol
 * errors; everything the tool says, a refused argument included, is a
 * result, with isError when it failed, for the model to read and act on
 * (server/tools, error handling). */
static json_t *call(cli_mcp *s, const cli_rpc_msg *m)
{
	const json_t *name_v, *args;
	json_t *empty = NULL, *r, *content, *text, *meta;
	const char *name;
	tools_obs obs;
	size_t k;
	bool exposed = false;

	if (!json_is_object(m->params))
		return bad_params(m, "tools/call: params must be an object with \"name\" and \"arguments\"");
	name_v = json_object_get(m->params, "name");
	if (!json_is_string(name_v))
		return bad_params(m, "tools/call: params.name must be a string, got %s", pl_json_type_name(name_v));
	name = json_string_value(name_v);
	for (k = 0; k < json_array_size(s->tools); k++)
		exposed |= !strcmp(json_string_value(json_array_get(s->tools, k)), name);
	if (!exposed) {
		pl_buf msg = PL_BUF_INIT;
		json_t *e;

		pl_buf_printf(&msg, "Unknown tool: %s (tools/list names them:", name);
		for (k = 0; k < json_array_size(s->tools); k++)
			pl_buf_printf(&msg, " %s", json_string_value(json_array_get(s->tools, k)));
		pl_buf_puts(&msg, ")");
		e = cli__rpc_error(m->id, CLI_RPC_INVALID_PARAMS, msg.ptr, NULL);
		pl_buf_release(&msg);
		return e;
	}
	args = json_object_get(m->params, "arguments");
	if (!args || json_is_null(args))
		args = empty = json_object();
	else if (!json_is_object(args))
		return bad_params(m, "tools/call: params.arguments must be an object, got %s", pl_json_type_name(args));
	tools_obs_init(&obs);
	tools_call(&obs, s->ctx, name, args, NULL);
	r = json_object();
	content = json_array();
	text = json_object();
	pl_json_set(text, "type", json_string("text"));
	pl_json_set(text, "text", json_stringn(obs.text.ptr, obs.text.len));
	json_array_append_new(content, text);
	pl_json_set(r, "content", content);
	pl_json_set(r, "isError", json_boolean(obs.is_error));
	meta = json_object();
	pl_json_set(meta, "plait/observation", observation_meta(&obs));
	pl_json_set(r, "_meta", meta);
	tools_obs_release(&obs);
	json_decref(empty);
	return cli__rpc_result(m->id, r);
}

static json_t *handle(void *self, const cli_rpc_msg *m)
{
	cli_mcp *s = self;

	if (m->kind == CLI_RPC_NOTIFICATION) {
		/* notifications/initialized needs nothing; a cancellation always
		 * comes after its request was answered, since requests are
		 * served one at a time in order; the others do not concern a
		 * server with tools only */
		return NULL;
	}
	if (!strcmp(m->method, "initialize")) {
		if (s->initialized)
			return cli__rpc_error(m->id, CLI_RPC_INVALID_REQUEST,
					      "Invalid Request: initialize was already answered in this connection", NULL);
		return initialize(s, m);
	}
	if (!strcmp(m->method, "ping"))
		return cli__rpc_result(m->id, json_object());
	if (!strcmp(m->method, "tools/list")) {
		/* one page: a cursor is one this server never gave */
		if (json_is_object(m->params) && json_object_get(m->params, "cursor") &&
		    !json_is_null(json_object_get(m->params, "cursor")))
			return bad_params(m, "tools/list: invalid cursor (the list is one page, without nextCursor)");
		return cli__rpc_result(m->id, json_deep_copy(s->list));
	}
	if (!strcmp(m->method, "tools/call"))
		return call(s, m);
	{
		pl_buf msg = PL_BUF_INIT;
		json_t *e;

		pl_buf_printf(&msg, "Method not found: %s (this server has tools only: initialize, ping, tools/list, "
				    "tools/call)", m->method);
		e = cli__rpc_error(m->id, CLI_RPC_METHOD_NOT_FOUND, msg.ptr, NULL);
		pl_buf_release(&msg);
		return e;
	}
}

json_t *cli__mcp_serve(cli_mcp *s, const char *line, size_t len)
{
	return cli__rpc_serve(line, len, handle, s);
}
