/* The LoopCoder-V2 chat template and the tool-call parser.  Expected prompts
 * are written out from the template in ../shared/reference/agents.md 1.4. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

#define SYS_DEFAULT "You are LoopCoder, a helpful assistant developed by IQuest."
#define TOOLS_HEAD                                                                                    \
	"# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"          \
	"You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
#define TOOLS_TAIL_JSON                                                                               \
	"\n</tools>\n\nFor each function call, return a json object with function name and arguments " \
	"within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, "         \
	"\"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

	cr_assert_not_null(v, "bad test JSON: %s: %s", je.text, text);
	return v;
}

static void render_eq(const char *messages, const char *tools, eng_chat_opts *opts, const char *want)
{
	json_t *m = J(messages), *t = tools ? J(tools) : NULL;
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(eng_chat_render(&out, m, t, opts, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out.ptr, want);
	pl_buf_release(&out);
	json_decref(m);
	json_decref(t);
}

static void render_fails(const char *messages, const char *tools, const char *msg_part)
{
	json_t *m = J(messages), *t = tools ? J(tools) : NULL;
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };

	pl_buf_puts(&out, "kept");
	cr_assert_lt(eng_chat_render(&out, m, t, NULL, &err), 0, "rendering %s should fail", messages);
	cr_assert(strstr(err.msg, msg_part), "message '%s' lacks '%s'", err.msg, msg_part);
	cr_assert_str_eq(out.ptr, "kept");
	pl_buf_release(&out);
	json_decref(m);
	json_decref(t);
}

Test(chat, default_system_user_and_generation_prompt)
{
	render_eq("[{\"role\":\"user\",\"content\":\"hi\"}]", NULL, NULL,
		  "<|im_start|>system\n" SYS_DEFAULT "<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
		  "<|im_start|>assistant\n");
}

Test(chat, given_system_and_no_generation_prompt)
{
	eng_chat_opts o = { ENG_TOOLS_JSON, false, NULL };

	render_eq("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"a\"},"
		  "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\","
		  "\"text\":\"c\"},{\"type\":\"text\",\"text\":\"d\"}]}]",
		  NULL, &o,
		  "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\na<|im_end|>\n"
		  "<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\ncd<|im_end|>\n");
}

Test(chat, custom_and_empty_default_system)
{
	eng_chat_opts o = { ENG_TOOLS_JSON, true, "You are plait." };
	eng_chat_opts none = { ENG_TOOLS_JSON, true, "" };

	render_eq("[{\"role\":\"user\",\"content\":\"x\"}]", NULL, &o,
		  "<|im_start|>system\nYou are plait.<|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
	render_eq("[{\"role\":\"user\",\"content\":\"x\"}]", NULL, &none,
		  "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
	render_eq("[]", NULL, &none, "<|im_start|>assistant\n");
}

#define TOOL_BASH                                                                                   \
	"{\"type\":\"function\",\"function\":{\"name\":\"bash\",\"description\":\"Run a command\","    \
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"}},"       \
	"\"required\":[\"command\"]}}}"
#define TOOL_BASH_JSON                                                                              \
	"{\"type\": \"function\", \"function\": {\"name\": \"bash\", \"description\": \"Run a command\", " \
	"\"parameters\": {\"type\": \"object\", \"properties\": {\"command\": {\"type\": \"string\"}}, "  \
	"\"required\": [\"command\"]}}}"

Test(chat, tools_block_with_default_and_given_system)
{
	render_eq("[{\"role\":\"user\",\"content\":\"ls\"}]", "[" TOOL_BASH ",{\"type\":\"function\",\"function\":"
		  "{\"name\":\"f\",\"description\":\"ünï \\\"q\\\"\\n\\u0001\",\"parameters\":{\"x\":1.5,\"y\":2.0}}}]",
		  NULL,
		  "<|im_start|>system\n" SYS_DEFAULT "\n\n" TOOLS_HEAD "\n" TOOL_BASH_JSON
		  "\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"ünï \\\"q\\\"\\n\\u0001\", "
		  "\"parameters\": {\"x\": 1.5, \"y\": 2.0}}}" TOOLS_TAIL_JSON
		  "<|im_start|>user\nls<|im_end|>\n<|im_start|>assistant\n");
	render_eq("[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"ls\"}]", "[" TOOL_BASH "]",
		  NULL,
		  "<|im_start|>system\nS\n\n" TOOLS_HEAD "\n" TOOL_BASH_JSON TOOLS_TAIL_JSON
		  "<|im_start|>user\nls<|im_end|>\n<|im_start|>assistant\n");
	/* an empty tools array is no tools */
	render_eq("[{\"role\":\"user\",\"content\":\"x\"}]", "[]", NULL,
		  "<|im_start|>system\n" SYS_DEFAULT "<|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n");
}

#define CONVO                                                                                          \
	"[{\"role\":\"user\",\"content\":\"list\"},"                                                    \
	"{\"role\":\"assistant\",\"content\":\"Let me look.\",\"tool_calls\":["                         \
	"{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"bash\",\"arguments\":\"{\\\"command\\\": \\\"ls -a\\\"}\"}}," \
	"{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"view\",\"arguments\":{\"path\":\"a.c\",\"range\":[1,5]}}}]}," \
	"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"a.c\\nb.c\"},"                      \
	"{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"int x;\"},"                          \
	"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"function\":{\"name\":\"submit\",\"arguments\":{}}}]}," \
	"{\"role\":\"tool\",\"content\":\"done\"}]"

#define RESULTS                                                                                  \
	"<|im_start|>user\n<tool_response>\na.c\nb.c\n</tool_response>\n<tool_response>\nint x;\n" \
	"</tool_response><|im_end|>\n"

Test(chat, assistant_tool_calls_and_results_json)
{
	render_eq(CONVO, NULL, NULL,
		  "<|im_start|>system\n" SYS_DEFAULT "<|im_end|>\n<|im_start|>user\nlist<|im_end|>\n"
		  "<|im_start|>assistant\nLet me look.\n<tool_call>\n{\"name\": \"bash\", \"arguments\": {\"command\": \"ls -a\"}}\n"
		  "</tool_call>\n<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"a.c\", \"range\": [1, 5]}}\n"
		  "</tool_call><|im_end|>\n" RESULTS
		  "<|im_start|>assistant\n<tool_call>\n{\"name\": \"submit\", \"arguments\": {}}\n</tool_call><|im_end|>\n"
		  "<|im_start|>user\n<tool_response>\ndone\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

Test(chat, assistant_tool_calls_and_results_xml)
{
	eng_chat_opts o = { ENG_TOOLS_XML, true, NULL };

	render_eq(CONVO, NULL, &o,
		  "<|im_start|>system\n" SYS_DEFAULT "<|im_end|>\n<|im_start|>user\nlist<|im_end|>\n"
		  "<|im_start|>assistant\nLet me look.\n\n<tool_call>\n<function=bash>\n<parameter=command>\nls -a\n"
		  "</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=view>\n<parameter=path>\na.c\n"
		  "</parameter>\n<parameter=range>\n[1, 5]\n</parameter>\n</function>\n</tool_call><|im_end|>\n" RESULTS
		  "<|im_start|>assistant\n<tool_call>\n<function=submit>\n</function>\n</tool_call><|im_end|>\n"
		  "<|im_start|>user\n<tool_response>\ndone\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

Test(chat, xml_tools_block_explains_the_xml_form)
{
	eng_chat_opts o = { ENG_TOOLS_XML, false, NULL };

	render_eq("[]", "[" TOOL_BASH "]", &o,
		  "<|im_start|>system\n" SYS_DEFAULT "\n\n" TOOLS_HEAD "\n" TOOL_BASH_JSON
		  "\n</tools>\n\nFor each function call, write the function name and each argument within "
		  "<tool_call></tool_call> XML tags, one <parameter> block per argument:\n<tool_call>\n"
		  "<function=function-name>\n<parameter=argument-name>\nargument value\n</parameter>\n</function>\n"
		  "</tool_call><|im_end|>\n");
}

Test(chat, bad_messages_are_clear_errors)
{
	render_fails("{}", NULL, "messages: expected an array");
	render_fails("[1]", NULL, "messages[0]: expected an object");
	render_fails("[{\"content\":\"x\"}]", NULL, "messages[0]: 'role' is missing");
	render_fails("[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"robot\"}]", NULL, "messages[1]: unknown role 'robot'");
	render_fails("[{\"role\":\"user\",\"content\":5}]", NULL, "messages[0]: 'content' must be");
	render_fails("[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]", NULL, "content part 0");
	render_fails("[{\"role\":\"assistant\",\"tool_calls\":{}}]", NULL, "'tool_calls' must be an array");
	render_fails("[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{}}]}]", NULL, "tool_calls[0] has no function name");
	render_fails("[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":3}}]}]", NULL,
		     "'arguments' must be");
	render_fails("[]", "{}", "tools: expected an array");
	render_fails("[]", "[{\"type\":\"function\"}]", "tools[0]");
}

Test(chat, bad_string_arguments_in_xml_dialect)
{
	json_t *m = J("[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}]");
	eng_chat_opts o = { ENG_TOOLS_XML, false, NULL };
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_lt(eng_chat_render(&out, m, NULL, &o, &err), 0);
	cr_assert(strstr(err.msg, "messages[0].tool_calls[0].arguments"), "%s", err.msg);
	cr_assert_eq(out.len, 0);
	pl_buf_release(&out);
	json_decref(m);
}

Test(chat, dialect_names)
{
	eng_tool_dialect d;
	pl_err err = { 0 };

	cr_assert_eq(eng_tool_dialect_parse(&d, "json", NULL), 0);
	cr_assert_eq(d, ENG_TOOLS_JSON);
	cr_assert_eq(eng_tool_dialect_parse(&d, "xml", NULL), 0);
	cr_assert_eq(d, ENG_TOOLS_XML);
	cr_assert_eq(eng_tool_dialect_parse(&d, "hermes", NULL), 0);
	cr_assert_eq(d, ENG_TOOLS_JSON);
	cr_assert_eq(eng_tool_dialect_parse(&d, "qwen3_coder", NULL), 0);
	cr_assert_eq(d, ENG_TOOLS_XML);
	cr_assert_eq(eng_tool_dialect_parse(&d, "yaml", &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "unknown tool-call dialect 'yaml' (expected 'json' or 'xml')");
	cr_assert_str_eq(eng_tool_dialect_name(ENG_TOOLS_XML), "xml");
}

/* ---- parsing tool calls back */

static json_t *parse_ok(const char *text, eng_tool_dialect d, const char *want_content)
{
	json_t *calls = NULL;
	pl_buf content = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(eng_chat_parse_tool_calls(&calls, &content, text, d, &err), 0, "%s", err.msg);
	cr_assert_str_eq(content.ptr, want_content);
	pl_buf_release(&content);
	return calls;
}

static void parse_fails(const char *text, eng_tool_dialect d, const char *msg_part)
{
	json_t *calls = NULL;
	pl_buf content = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_lt(eng_chat_parse_tool_calls(&calls, &content, text, d, &err), 0, "parsing should fail: %s", text);
	cr_assert_null(calls);
	cr_assert(strstr(err.msg, msg_part), "message '%s' lacks '%s'", err.msg, msg_part);
	pl_buf_release(&content);
}

static void assert_json_eq(json_t *got, const char *want)
{
	json_t *w = J(want);
	pl_buf g = PL_BUF_INIT;

	pl_json_dump(&g, got, false);
	cr_assert(json_equal(got, w), "got %s, want %s", g.ptr, want);
	pl_buf_release(&g);
	json_decref(w);
}

/* Render an assistant turn with calls, cut its text out of the prompt as
 * the model would generate it, and parse it back. */
static void round_trip(eng_tool_dialect d, const char *content, const char *calls_json, const char *want_calls)
{
	pl_buf msgs = PL_BUF_INIT, out = PL_BUF_INIT, got_content = PL_BUF_INIT;
	eng_chat_opts o = { d, false, "" };
	json_t *m, *calls = NULL;
	pl_err err = { 0 };
	const char *start, *end;

	pl_buf_printf(&msgs, "[{\"role\":\"assistant\",\"content\":\"%s\",\"tool_calls\":%s}]", content, calls_json);
	m = J(msgs.ptr);
	cr_assert_eq(eng_chat_render(&out, m, NULL, &o, &err), 0, "%s", err.msg);
	start = out.ptr + strlen("<|im_start|>assistant\n");
	end = strstr(out.ptr, "<|im_end|>");
	*(char *)end = '\0';
	cr_assert_eq(eng_chat_parse_tool_calls(&calls, &got_content, start, d, &err), 0, "%s", err.msg);
	cr_assert_str_eq(got_content.ptr, content);
	assert_json_eq(calls, want_calls);
	json_decref(calls);
	json_decref(m);
	pl_buf_release(&msgs);
	pl_buf_release(&out);
	pl_buf_release(&got_content);
}

Test(chat_parse, round_trip_json)
{
	round_trip(ENG_TOOLS_JSON, "Looking.",
		   "[{\"function\":{\"name\":\"bash\",\"arguments\":{\"command\":\"ls \\\"x\\\"\\n\",\"n\":[1,{\"a\":null}]}}},"
		   "{\"function\":{\"name\":\"submit\",\"arguments\":\"{}\"}}]",
		   "[{\"name\":\"bash\",\"arguments\":{\"command\":\"ls \\\"x\\\"\\n\",\"n\":[1,{\"a\":null}]}},"
		   "{\"name\":\"submit\",\"arguments\":{}}]");
	round_trip(ENG_TOOLS_JSON, "", "[{\"function\":{\"name\":\"f\",\"arguments\":{\"k\":\"日本\"}}}]",
		   "[{\"name\":\"f\",\"arguments\":{\"k\":\"日本\"}}]");
}

Test(chat_parse, round_trip_xml)
{
	/* values come back as strings: a multi-line one keeps its inner newlines */
	round_trip(ENG_TOOLS_XML, "Editing now.",
		   "[{\"function\":{\"name\":\"str_replace_editor\",\"arguments\":{\"command\":\"create\",\"path\":\"/a.py\","
		   "\"file_text\":\"def f():\\n    return 1\\n\"}}},{\"function\":{\"name\":\"submit\",\"arguments\":{}}}]",
		   "[{\"name\":\"str_replace_editor\",\"arguments\":{\"command\":\"create\",\"path\":\"/a.py\","
		   "\"file_text\":\"def f():\\n    return 1\\n\"}},{\"name\":\"submit\",\"arguments\":{}}]");
	round_trip(ENG_TOOLS_XML, "", "[{\"function\":{\"name\":\"view\",\"arguments\":{\"range\":[1,5],\"flag\":true}}}]",
		   "[{\"name\":\"view\",\"arguments\":{\"range\":\"[1, 5]\",\"flag\":\"true\"}}]");
}

Test(chat_parse, text_without_calls)
{
	json_t *c = parse_ok("  Just an answer.\n", ENG_TOOLS_JSON, "Just an answer.");

	assert_json_eq(c, "[]");
	json_decref(c);
	c = parse_ok("", ENG_TOOLS_XML, "");
	assert_json_eq(c, "[]");
	json_decref(c);
}

Test(chat_parse, json_variants)
{
	/* arguments as a JSON string, text on both sides, no arguments */
	json_t *c = parse_ok("before <tool_call>{\"name\": \"a\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call> mid "
			     "<tool_call>\n{\"name\": \"b\"}\n</tool_call>\nafter",
			     ENG_TOOLS_JSON, "before  mid \nafter");

	assert_json_eq(c, "[{\"name\":\"a\",\"arguments\":{\"x\":1}},{\"name\":\"b\",\"arguments\":{}}]");
	json_decref(c);
}

Test(chat_parse, xml_bare_function_blocks)
{
	/* the OpenHands / R2E form: no <tool_call> wrapper, values inline */
	json_t *c = parse_ok("I will run it.\n<function=execute_bash>\n<parameter=command>ls -la</parameter>\n</function>",
			     ENG_TOOLS_XML, "I will run it.");

	assert_json_eq(c, "[{\"name\":\"execute_bash\",\"arguments\":{\"command\":\"ls -la\"}}]");
	json_decref(c);
}

Test(chat_parse, malformed_json_calls)
{
	parse_fails("<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n", ENG_TOOLS_JSON,
		    "tool call 1: '<tool_call>' is not closed by '</tool_call>'");
	parse_fails("<tool_call>{\"name\": \"a\", </tool_call>", ENG_TOOLS_JSON, "tool call 1: invalid JSON");
	parse_fails("<tool_call>[1]</tool_call>", ENG_TOOLS_JSON, "tool call 1: expected a JSON object");
	parse_fails("<tool_call>{\"arguments\": {}}</tool_call>", ENG_TOOLS_JSON, "tool call 1: 'name' is missing");
	parse_fails("<tool_call>{\"name\": \"a\"}</tool_call><tool_call>{\"name\": \"b\", \"arguments\": 3}</tool_call>",
		    ENG_TOOLS_JSON, "tool call 2 ('b'): 'arguments' must be an object");
	parse_fails("<tool_call>{\"name\": \"a\", \"arguments\": \"{bad\"}</tool_call>", ENG_TOOLS_JSON,
		    "tool call 1 ('a'): arguments: invalid JSON");
	parse_fails("<tool_call>{\"name\": \"a\"}<tool_call>{\"name\": \"b\"}</tool_call>", ENG_TOOLS_JSON,
		    "opened again");
	parse_fails("text</tool_call>", ENG_TOOLS_JSON, "'</tool_call>' without a matching '<tool_call>'");
}

Test(chat_parse, malformed_xml_calls)
{
	parse_fails("<tool_call>\n{\"name\": \"a\"}\n</tool_call>", ENG_TOOLS_XML, "expected '<function=NAME>'");
	parse_fails("<tool_call>\n<function=f>\n<parameter=x>\n1\n</parameter>\n</tool_call>", ENG_TOOLS_XML,
		    "not closed by '</function>'");
	parse_fails("<function=f\n<parameter=x>1</parameter></function>", ENG_TOOLS_XML, "malformed function name");
	parse_fails("<function=f><parameter=x>1</function>", ENG_TOOLS_XML, "'<parameter=x>' is not closed");
	parse_fails("<function=f><parameter=>1</parameter></function>", ENG_TOOLS_XML, "malformed '<parameter=' tag");
	parse_fails("<function=f>junk<parameter=x>1</parameter></function>", ENG_TOOLS_XML,
		    "unexpected text between parameters");
	parse_fails("<function=f><parameter=x>1</parameter>junk</function>", ENG_TOOLS_XML,
		    "unexpected text after the parameters");
	parse_fails("<function=f><parameter=x>1</parameter><parameter=x>2</parameter></function>", ENG_TOOLS_XML,
		    "parameter 'x' given twice");
	parse_fails("<tool_call><function=f></function>tail</tool_call>", ENG_TOOLS_XML, "after '</function>'");
	parse_fails("<function=f><parameter=x>1</parameter>", ENG_TOOLS_XML, "not closed by '</function>'");
}
