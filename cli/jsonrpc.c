/* jsonrpc.c - JSON-RPC 2.0 messages, one per line or a batch of them, for
 * `plait mcp`: what kind each message is, answers and errors.  No I/O. */
#include "cli/mcp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void invalid(cli_rpc_msg *m, int code, const char *fmt, ...) PL_PRINTF(3, 4);
static void invalid(cli_rpc_msg *m, int code, const char *fmt, ...)
{
	va_list ap;

	m->kind = CLI_RPC_INVALID;
	m->code = code;
	va_start(ap, fmt);
	vsnprintf(m->message, sizeof(m->message), fmt, ap);
	va_end(ap);
}

/* MCP's RequestId: a string or an integer (JSON-RPC 2.0 also allows null
 * and discourages fractions; MCP allows neither). */
static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

void cli__rpc_classify(cli_rpc_msg *m, const json_t *v)
{
	const json_t *id, *method, *params, *version;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(v)) {
		invalid(m, CLI_RPC_INVALID_REQUEST, "Invalid Request: a message must be a JSON object, got %s",
			pl_json_type_name(v));
		return;
	}
	id = json_object_get(v, "id");
	method = json_object_get(v, "method");
	params = json_object_get(v, "params");
	version = json_object_get(v, "jsonrpc");
	if (id && valid_id(id))
		m->id = id; /* echoed in the error, when there is one */
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
		invalid(m, CLI_RPC_INVALID_REQUEST, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
		return;
	}
	if (id && !valid_id(id)) {
		invalid(m, CLI_RPC_INVALID_REQUEST, "Invalid Request: \"id\" must be a string or an integer, got %s",
			pl_json_type_name(id));
		return;
	}
	if (!method) {
		/* a client's answer; without an id, to a message it could not
		 * read: answering it would only start a ping-pong of errors */
		if (json_object_get(v, "result") || json_object_get(v, "error")) {
			m->kind = CLI_RPC_RESPONSE;
			return;
		}
		invalid(m, CLI_RPC_INVALID_REQUEST, "Invalid Request: no \"method\"");
		return;
	}
	if (!json_is_string(method)) {
		invalid(m, CLI_RPC_INVALID_REQUEST, "Invalid Request: \"method\" must be a string, got %s",
			pl_json_type_name(method));
		return;
	}
	if (params && !json_is_object(params) && !json_is_array(params)) {
		invalid(m, CLI_RPC_INVALID_REQUEST, "Invalid Request: \"params\" must be an object, got %s",
			pl_json_type_name(params));
		return;
	}
	m->kind = id ? CLI_RPC_REQUEST : CLI_RPC_NOTIFICATION;
	m->method = json_string_value(method);
	m->params = params;
}

static json_t *envelope(const json_t *id)
{
	json_t *o = json_object();

	pl_json_set(o, "jsonrpc", json_string("2.0"));
	if (id)
		pl_json_set(o, "id", json_deep_copy(id));
	return o;
}

json_t *cli__rpc_result(const json_t *id, json_t *result)
{
	json_t *o = envelope(id);

	pl_json_set(o, "result", result);
	return o;
}

json_t *cli__rpc_error(const json_t *id, int code, const char *message, json_t *data)
{
	json_t *o = envelope(id), *e = json_object(), *text = json_string(message);

	pl_json_set(e, "code", json_integer(code));
	/* jansson's parse errors quote the input, which may not be UTF-8 */
	pl_json_set(e, "message", text ? text : json_string(code == CLI_RPC_PARSE_ERROR ? "Parse error" : "error"));
	if (data)
		pl_json_set(e, "data", data);
	pl_json_set(o, "error", e);
	return o;
}

/* The answer to one message of a line, or NULL. */
static json_t *serve_one(const json_t *v, cli_rpc_handler handler, void *self)
{
	cli_rpc_msg m;
	json_t *answer;

	cli__rpc_classify(&m, v);
	switch (m.kind) {
	case CLI_RPC_INVALID:
		return cli__rpc_error(m.id, m.code, m.message, NULL);
	case CLI_RPC_RESPONSE:
		return NULL; /* the server sends no requests: nothing waits for it */
	case CLI_RPC_NOTIFICATION:
		json_decref(handler(self, &m)); /* never answered, whatever it says */
		return NULL;
	case CLI_RPC_REQUEST:
		answer = handler(self, &m);
		PL_ASSERT(answer);
		return answer;
	}
	PL_BUG("message kind %d", (int)m.kind);
}

json_t *cli__rpc_serve(const char *line, size_t len, cli_rpc_handler handler, void *self)
{
	json_error_t je;
	json_t *v, *answers = NULL;
	size_t i;

	/* any value (a bare 42 is JSON, though no message); duplicate keys
	 * would leave it unclear which one counts */
	v = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		pl_buf msg = PL_BUF_INIT;
		json_t *e;

		pl_buf_printf(&msg, "Parse error: invalid JSON at column %d: %s", je.column, je.text);
		e = cli__rpc_error(NULL, CLI_RPC_PARSE_ERROR, msg.ptr, NULL);
		pl_buf_release(&msg);
		return e;
	}
	if (!json_is_array(v)) {
		answers = serve_one(v, handler, self);
		json_decref(v);
		return answers;
	}
	/* a batch (JSON-RPC 2.0; MCP 2025-03-26 allowed them, later revisions
	 * dropped them): an answer per request, in one array */
	if (!json_array_size(v)) {
		json_decref(v);
		return cli__rpc_error(NULL, CLI_RPC_INVALID_REQUEST, "Invalid Request: an empty batch", NULL);
	}
	for (i = 0; i < json_array_size(v); i++) {
		json_t *a = serve_one(json_array_get(v, i), handler, self);

		if (!a)
			continue;
		if (!answers)
			answers = json_array();
		json_array_append_new(answers, a);
	}
	json_decref(v);
	return answers;
}
