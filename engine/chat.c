/* chat.c - the LoopCoder-V2 / IQuest chat template (ChatML turns, default
 * system prompt, tools block, tool calls and results) written in C, and the
 * parser of tool calls in generated text, in two dialects. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

static const char kDefaultSystem[] = "You are LoopCoder, a helpful assistant developed by IQuest.";

int eng_tool_dialect_parse(eng_tool_dialect *out, const char *name, pl_err *err)
{
	if (!strcmp(name, "json") || !strcmp(name, "hermes")) {
		*out = ENG_TOOLS_JSON;
		return 0;
	}
	if (!strcmp(name, "xml") || !strcmp(name, "qwen3_coder")) {
		*out = ENG_TOOLS_XML;
		return 0;
	}
	return pl_err_set(err, PL_EINVAL, "unknown tool-call dialect '%s' (expected 'json' or 'xml')", name);
}

const char *eng_tool_dialect_name(eng_tool_dialect d)
{
	return d == ENG_TOOLS_XML ? "xml" : "json";
}

/* ---------------------------------------------------------------- tojson */

static void json_str(pl_buf *b, const char *s, size_t n)
{
	pl_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': pl_buf_puts(b, "\\\""); break;
		case '\\': pl_buf_puts(b, "\\\\"); break;
		case '\n': pl_buf_puts(b, "\\n"); break;
		case '\r': pl_buf_puts(b, "\\r"); break;
		case '\t': pl_buf_puts(b, "\\t"); break;
		case '\b': pl_buf_puts(b, "\\b"); break;
		case '\f': pl_buf_puts(b, "\\f"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				pl_buf_printf(b, "\\u%04x", c);
			else
				pl_buf_putc(b, (char)c);
		}
	}
	pl_buf_putc(b, '"');
}

/* JSON as the Hugging Face templates' `tojson` filter writes it (Python's
 * json.dumps with ensure_ascii off): ", " and ": " separators, keys in
 * order, non-ASCII text as is, control characters as \u00xx. */
static void tojson(pl_buf *b, const json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		bool first = true;

		pl_buf_putc(b, '{');
		json_object_foreach((json_t *)v, key, x) {
			if (!first)
				pl_buf_puts(b, ", ");
			first = false;
			json_str(b, key, strlen(key));
			pl_buf_puts(b, ": ");
			tojson(b, x);
		}
		pl_buf_putc(b, '}');
		break;
	}
	case JSON_ARRAY:
		pl_buf_putc(b, '[');
		json_array_foreach(v, i, x) {
			if (i)
				pl_buf_puts(b, ", ");
			tojson(b, x);
		}
		pl_buf_putc(b, ']');
		break;
	case JSON_STRING: json_str(b, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER: pl_buf_printf(b, "%lld", (long long)json_integer_value(v)); break;
	case JSON_REAL: {
		/* shortest form that reads back, with ".0" on whole numbers (Python's repr) */
		double d = json_real_value(v);
		char tmp[40];

		for (int p = 1; p <= 17; p++) {
			snprintf(tmp, sizeof(tmp), "%.*g", p, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
		pl_buf_puts(b, tmp);
		if (!strpbrk(tmp, ".eEn"))
			pl_buf_puts(b, ".0");
		break;
	}
	case JSON_TRUE: pl_buf_puts(b, "true"); break;
	case JSON_FALSE: pl_buf_puts(b, "false"); break;
	case JSON_NULL: pl_buf_puts(b, "null"); break;
	}
}

/* ---------------------------------------------------------------- render */

/* A message's content: a string, null/absent (empty), or an array of
 * {"type": "text", "text": ...} parts, joined. */
static int get_content(pl_buf *out, const json_t *msg, size_t idx, pl_err *err)
{
	const json_t *c = json_object_get(msg, "content");
	size_t i;
	json_t *part;

	if (!c || json_is_null(c))
		return 0;
	if (json_is_string(c)) {
		pl_buf_add(out, json_string_value(c), json_string_length(c));
		return 0;
	}
	if (!json_is_array(c))
		return pl_err_set(err, PL_EINVAL, "messages[%zu]: 'content' must be a string, an array of text parts or null",
				  idx);
	json_array_foreach(c, i, part) {
		const json_t *t = json_object_get(part, "text");
		const char *type = json_string_value(json_object_get(part, "type"));

		if (!json_is_object(part) || !type || strcmp(type, "text") || !json_is_string(t))
			return pl_err_set(err, PL_EINVAL,
					  "messages[%zu]: content part %zu is not {\"type\": \"text\", \"text\": ...}", idx, i);
		pl_buf_add(out, json_string_value(t), json_string_length(t));
	}
	return 0;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/* The function of one tool call: {name, arguments} directly or under
 * "function" (OpenAI's form). */
static int call_parts(const char **name, const json_t **args, const json_t *call, size_t idx, size_t k, pl_err *err)
{
	const json_t *f = json_object_get(call, "function");

	if (!json_is_object(call))
		return pl_err_set(err, PL_EINVAL, "messages[%zu]: tool_calls[%zu] is not an object", idx, k);
	if (json_is_object(f))
		call = f;
	*name = json_string_value(json_object_get(call, "name"));
	if (!*name || !**name)
		return pl_err_set(err, PL_EINVAL, "messages[%zu]: tool_calls[%zu] has no function name", idx, k);
	*args = json_object_get(call, "arguments");
	if (*args && !json_is_string(*args) && !json_is_object(*args) && !json_is_null(*args))
		return pl_err_set(err, PL_EINVAL,
				  "messages[%zu]: tool_calls[%zu] ('%s'): 'arguments' must be an object or a JSON string",
				  idx, k, *name);
	return 0;
}

static int render_call_json(pl_buf *out, const char *name, const json_t *args)
{
	pl_buf_puts(out, "<tool_call>\n{\"name\": ");
	json_str(out, name, strlen(name));
	pl_buf_puts(out, ", \"arguments\": ");
	if (json_is_string(args))
		pl_buf_add(out, json_string_value(args), json_string_length(args));
	else if (args && !json_is_null(args))
		tojson(out, args);
	else
		pl_buf_puts(out, "{}");
	pl_buf_puts(out, "}\n</tool_call>");
	return 0;
}

static int render_call_xml(pl_buf *out, const char *name, const json_t *args, size_t idx, size_t k, pl_err *err)
{
	json_t *parsed = NULL, *v;
	const char *key;
	int rc = 0;

	if (json_is_string(args)) {
		char what[96];

		snprintf(what, sizeof(what), "messages[%zu].tool_calls[%zu].arguments", idx, k);
		if ((rc = pl_json_parse(&parsed, json_string_value(args), json_string_length(args), what, err)) < 0)
			return rc;
		if (!json_is_object(parsed)) {
			json_decref(parsed);
			return pl_err_set(err, PL_EINVAL, "%s: not a JSON object", what);
		}
		args = parsed;
	}
	pl_buf_printf(out, "<tool_call>\n<function=%s>\n", name);
	if (json_is_object(args))
		json_object_foreach((json_t *)args, key, v) {
			pl_buf_printf(out, "<parameter=%s>\n", key);
			if (json_is_string(v))
				pl_buf_add(out, json_string_value(v), json_string_length(v));
			else
				tojson(out, v);
			pl_buf_puts(out, "\n</parameter>\n");
		}
	pl_buf_puts(out, "</function>\n</tool_call>");
	json_decref(parsed);
	return 0;
}

static void render_tools(pl_buf *out, const json_t *tools, eng_tool_dialect dialect)
{
	size_t i;
	json_t *t;

	pl_buf_puts(out, "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
			 "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
	json_array_foreach(tools, i, t) {
		pl_buf_putc(out, '\n');
		tojson(out, t);
	}
	if (dialect == ENG_TOOLS_JSON)
		pl_buf_puts(out, "\n</tools>\n\nFor each function call, return a json object with function name and "
				 "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
				 "<function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
	else
		pl_buf_puts(out, "\n</tools>\n\nFor each function call, write the function name and each argument "
				 "within <tool_call></tool_call> XML tags, one <parameter> block per argument:\n"
				 "<tool_call>\n<function=function-name>\n<parameter=argument-name>\nargument value\n"
				 "</parameter>\n</function>\n</tool_call>");
}

static int check_tools(const json_t *tools, pl_err *err)
{
	size_t i;
	json_t *t;

	if (!json_is_array(tools))
		return pl_err_set(err, PL_EINVAL, "tools: expected an array");
	json_array_foreach(tools, i, t) {
		const json_t *f = json_object_get(t, "function");

		if (!json_is_object(t))
			return pl_err_set(err, PL_EINVAL, "tools[%zu]: expected an object", i);
		if (!json_is_object(f) || !json_is_string(json_object_get(f, "name")))
			return pl_err_set(err, PL_EINVAL, "tools[%zu]: expected {\"type\": \"function\", \"function\": "
							  "{\"name\": ...}}", i);
	}
	return 0;
}

int eng_chat_render(pl_buf *out, const json_t *messages, const json_t *tools, const eng_chat_opts *opts, pl_err *err)
{
	eng_chat_opts def = { ENG_TOOLS_JSON, true, NULL };
	pl_buf text = PL_BUF_INIT;
	size_t n, i = 0, start = out->len;
	const char *sys_default;
	bool has_tools;
	int rc = 0;

	if (!opts)
		opts = &def;
	sys_default = opts->default_system ? opts->default_system : kDefaultSystem;
	if (!json_is_array(messages))
		return pl_err_set(err, PL_EINVAL, "messages: expected an array");
	if (tools && !json_is_null(tools) && (rc = check_tools(tools, err)) < 0)
		return rc;
	has_tools = tools && json_is_array(tools) && json_array_size(tools) > 0;
	n = json_array_size(messages);
	for (size_t k = 0; k < n; k++) {
		const json_t *m = json_array_get(messages, k);
		const char *role = json_string_value(json_object_get(m, "role"));

		if (!json_is_object(m)) {
			rc = pl_err_set(err, PL_EINVAL, "messages[%zu]: expected an object", k);
			goto done;
		}
		if (!role) {
			rc = pl_err_set(err, PL_EINVAL, "messages[%zu]: 'role' is missing or not a string", k);
			goto done;
		}
		if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "tool")) {
			rc = pl_err_set(err, PL_EINVAL,
					"messages[%zu]: unknown role '%s' (expected system, user, assistant or tool)", k,
					role);
			goto done;
		}
	}

	/* the system turn: the first message's when it is a system message,
	 * else the default; with tools, followed by the tools block */
	if (n && !strcmp(json_string_value(json_object_get(json_array_get(messages, 0), "role")), "system")) {
		if ((rc = get_content(&text, json_array_get(messages, 0), 0, err)) < 0)
			goto done;
		i = 1;
	} else {
		pl_buf_puts(&text, sys_default);
	}
	if (has_tools) {
		pl_buf_puts(out, "<|im_start|>system\n");
		if (text.len)
			pl_buf_printf(out, "%s\n\n", text.ptr);
		render_tools(out, tools, opts->dialect);
		pl_buf_puts(out, "<|im_end|>\n");
	} else if (i == 1 || text.len) {
		pl_buf_printf(out, "<|im_start|>system\n%s<|im_end|>\n", text.ptr);
	}

	for (; i < n; i++) {
		const json_t *m = json_array_get(messages, i);
		const char *role = json_string_value(json_object_get(m, "role"));
		const json_t *calls = json_object_get(m, "tool_calls");

		pl_buf_reset(&text);
		if ((rc = get_content(&text, m, i, err)) < 0)
			goto done;
		if (!strcmp(role, "user") || !strcmp(role, "system")) {
			pl_buf_printf(out, "<|im_start|>%s\n", role);
			pl_buf_add(out, text.ptr, text.len);
			pl_buf_puts(out, "<|im_end|>\n");
		} else if (!strcmp(role, "assistant")) {
			size_t k;
			json_t *call;

			if (calls && !json_is_null(calls) && !json_is_array(calls)) {
				rc = pl_err_set(err, PL_EINVAL, "messages[%zu]: 'tool_calls' must be an array", i);
				goto done;
			}
			pl_buf_puts(out, "<|im_start|>assistant\n");
			pl_buf_add(out, text.ptr, text.len);
			json_array_foreach(calls, k, call) {
				const char *name = NULL;
				const json_t *args = NULL;

				if ((rc = call_parts(&name, &args, call, i, k, err)) < 0)
					goto done;
				if (opts->dialect == ENG_TOOLS_JSON) {
					/* Qwen3's template: a newline before each call but a
					 * first one that opens an empty turn */
					if (k > 0 || text.len)
						pl_buf_putc(out, '\n');
					render_call_json(out, name, args);
				} else {
					/* Qwen3-Coder's: a blank line after text, a newline between calls */
					if (k > 0)
						pl_buf_putc(out, '\n');
					else if (!is_blank(text.ptr, text.len))
						pl_buf_puts(out, "\n\n");
					if ((rc = render_call_xml(out, name, args, i, k, err)) < 0)
						goto done;
				}
			}
			pl_buf_puts(out, "<|im_end|>\n");
		} else {
			/* consecutive tool results share one user turn */
			const json_t *prev = i > 0 ? json_array_get(messages, i - 1) : NULL;
			const json_t *next = i + 1 < n ? json_array_get(messages, i + 1) : NULL;
			const char *pr = prev ? json_string_value(json_object_get(prev, "role")) : NULL;
			const char *nr = next ? json_string_value(json_object_get(next, "role")) : NULL;

			if (!pr || strcmp(pr, "tool"))
				pl_buf_puts(out, "<|im_start|>user");
			pl_buf_puts(out, "\n<tool_response>\n");
			pl_buf_add(out, text.ptr, text.len);
			pl_buf_puts(out, "\n</tool_response>");
			if (!nr || strcmp(nr, "tool"))
				pl_buf_puts(out, "<|im_end|>\n");
		}
	}
	if (opts->add_generation_prompt)
		pl_buf_puts(out, "<|im_start|>assistant\n");
done:
	if (rc < 0)
		pl_buf_setlen(out, start);
	pl_buf_release(&text);
	return rc;
}

/* ---------------------------------------------------------------- parse */

static const char *find_mem(const char *s, const char *end, const char *pat)
{
	size_t n = strlen(pat);

	for (; s + n <= end; s++)
		if (*s == *pat && !memcmp(s, pat, n))
			return s;
	return NULL;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && strchr(" \t\r\n", **s))
		(*s)++;
	while (*e > *s && strchr(" \t\r\n", (*e)[-1]))
		(*e)--;
}

static int parse_json_call(json_t *calls, const char *s, const char *e, size_t k, pl_err *err)
{
	json_t *obj = NULL, *args, *call;
	const char *name;
	char what[48];
	int rc;

	trim(&s, &e);
	snprintf(what, sizeof(what), "tool call %zu", k + 1);
	if ((rc = pl_json_parse(&obj, s, (size_t)(e - s), what, err)) < 0)
		return rc;
	if (!json_is_object(obj)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: expected a JSON object with 'name' and 'arguments'", what);
		goto done;
	}
	name = json_string_value(json_object_get(obj, "name"));
	if (!name || !*name) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'name' is missing or not a string", what);
		goto done;
	}
	args = json_object_get(obj, "arguments");
	if (!args || json_is_null(args)) {
		args = json_object();
	} else if (json_is_string(args)) {
		/* some models write the arguments as a JSON string */
		json_t *inner = NULL;
		char w2[80];

		snprintf(w2, sizeof(w2), "%s ('%s'): arguments", what, name);
		if ((rc = pl_json_parse(&inner, json_string_value(args), json_string_length(args), w2, err)) < 0)
			goto done;
		args = inner;
	} else {
		json_incref(args);
	}
	if (!json_is_object(args)) {
		json_decref(args);
		rc = pl_err_set(err, PL_EFORMAT, "%s ('%s'): 'arguments' must be an object", what, name);
		goto done;
	}
	call = json_object();
	pl_json_set(call, "name", json_string(name));
	pl_json_set(call, "arguments", args);
	json_array_append_new(calls, call);
done:
	json_decref(obj);
	return rc;
}

/* <function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>...</function>;
 * s..e is the text after "<function=". Values stay strings (the model
 * writes them as text; the tool's schema decides their type). */
static int parse_xml_function(json_t *calls, const char *s, const char *e, size_t k, pl_err *err)
{
	const char *gt = memchr(s, '>', (size_t)(e - s)), *p, *ns, *ne;
	json_t *args, *call;

	if (!gt)
		return pl_err_set(err, PL_EFORMAT, "tool call %zu: '<function=' is not closed by '>'", k + 1);
	ns = s;
	ne = gt;
	trim(&ns, &ne);
	if (ns == ne || memchr(ns, '\n', (size_t)(ne - ns)))
		return pl_err_set(err, PL_EFORMAT, "tool call %zu: empty or malformed function name", k + 1);
	args = json_object();
	p = gt + 1;
	for (;;) {
		const char *ps = find_mem(p, e, "<parameter="), *pgt, *vs, *ve, *close;
		char *key;

		if (!ps)
			break;
		if (!is_blank(p, (size_t)(ps - p))) {
			json_decref(args);
			return pl_err_set(err, PL_EFORMAT, "tool call %zu: unexpected text between parameters", k + 1);
		}
		ps += strlen("<parameter=");
		if (!(pgt = memchr(ps, '>', (size_t)(e - ps))) || pgt == ps || memchr(ps, '\n', (size_t)(pgt - ps))) {
			json_decref(args);
			return pl_err_set(err, PL_EFORMAT, "tool call %zu: malformed '<parameter=' tag", k + 1);
		}
		vs = pgt + 1;
		if (!(close = find_mem(vs, e, "</parameter>"))) {
			json_decref(args);
			return pl_err_set(err, PL_EFORMAT, "tool call %zu: '<parameter=%.*s>' is not closed", k + 1,
					  (int)(pgt - ps), ps);
		}
		ve = close;
		/* the newlines the format puts around a value are not part of it */
		if (vs < ve && *vs == '\n')
			vs++;
		if (ve > vs && ve[-1] == '\n')
			ve--;
		key = pl_xstrndup(ps, (size_t)(pgt - ps));
		if (json_object_get(args, key)) {
			free(key);
			json_decref(args);
			return pl_err_set(err, PL_EFORMAT, "tool call %zu: parameter '%.*s' given twice", k + 1,
					  (int)(pgt - ps), ps);
		}
		pl_json_set(args, key, json_stringn(vs, (size_t)(ve - vs)));
		free(key);
		p = close + strlen("</parameter>");
	}
	if (!is_blank(p, (size_t)(e - p))) {
		json_decref(args);
		return pl_err_set(err, PL_EFORMAT, "tool call %zu: unexpected text after the parameters", k + 1);
	}
	call = json_object();
	pl_json_set(call, "name", json_stringn(ns, (size_t)(ne - ns)));
	pl_json_set(call, "arguments", args);
	json_array_append_new(calls, call);
	return 0;
}

static int parse_xml_block(json_t *calls, const char *s, const char *e, size_t k, pl_err *err)
{
	const char *f, *fe;

	trim(&s, &e);
	if (!(f = find_mem(s, e, "<function=")) || f != s)
		return pl_err_set(err, PL_EFORMAT, "tool call %zu: expected '<function=NAME>' inside <tool_call>", k + 1);
	if (!(fe = find_mem(f, e, "</function>")))
		return pl_err_set(err, PL_EFORMAT, "tool call %zu: '<function=' is not closed by '</function>'", k + 1);
	if (!is_blank(fe + strlen("</function>"), (size_t)(e - fe - strlen("</function>"))))
		return pl_err_set(err, PL_EFORMAT, "tool call %zu: unexpected text after '</function>'", k + 1);
	return parse_xml_function(calls, f + strlen("<function="), fe, k, err);
}

int eng_chat_parse_tool_calls(json_t **calls_out, pl_buf *content_out, const char *text, eng_tool_dialect dialect,
			      pl_err *err)
{
	const char *p = text, *end = text + strlen(text);
	json_t *calls = json_array();
	pl_buf content = PL_BUF_INIT;
	size_t k = 0;
	int rc = 0;

	for (;;) {
		const char *tc = find_mem(p, end, "<tool_call>");
		const char *fn = dialect == ENG_TOOLS_XML ? find_mem(p, end, "<function=") : NULL;
		const char *open, *close, *cs;

		/* the XML dialect also takes a bare <function=...> block
		 * (the OpenHands / R2E text form) */
		if (fn && (!tc || fn < tc)) {
			if (!(close = find_mem(fn, end, "</function>"))) {
				rc = pl_err_set(err, PL_EFORMAT, "tool call %zu: '<function=' is not closed by '</function>'",
						k + 1);
				goto done;
			}
			pl_buf_add(&content, p, (size_t)(fn - p));
			if ((rc = parse_xml_function(calls, fn + strlen("<function="), close, k, err)) < 0)
				goto done;
			k++;
			p = close + strlen("</function>");
			continue;
		}
		if (!tc) {
			pl_buf_add(&content, p, (size_t)(end - p));
			break;
		}
		pl_buf_add(&content, p, (size_t)(tc - p));
		open = tc + strlen("<tool_call>");
		if (!(close = find_mem(open, end, "</tool_call>"))) {
			rc = pl_err_set(err, PL_EFORMAT, "tool call %zu: '<tool_call>' is not closed by '</tool_call>'", k + 1);
			goto done;
		}
		if ((cs = find_mem(open, close, "<tool_call>"))) {
			rc = pl_err_set(err, PL_EFORMAT, "tool call %zu: '<tool_call>' opened again before '</tool_call>'",
					k + 1);
			goto done;
		}
		if (dialect == ENG_TOOLS_JSON)
			rc = parse_json_call(calls, open, close, k, err);
		else
			rc = parse_xml_block(calls, open, close, k, err);
		if (rc < 0)
			goto done;
		k++;
		p = close + strlen("</tool_call>");
	}
	if (find_mem(content.ptr, content.ptr + content.len, "</tool_call>")) {
		rc = pl_err_set(err, PL_EFORMAT, "'</tool_call>' without a matching '<tool_call>'");
		goto done;
	}
	{
		const char *s = content.ptr, *e = content.ptr + content.len;

		trim(&s, &e);
		pl_buf_add(content_out, s, (size_t)(e - s));
	}
	*calls_out = calls;
	calls = NULL;
done:
	json_decref(calls);
	pl_buf_release(&content);
	return rc;
}
