/* backends.c - the table of model backends, and what every backend's
 * answer and usage share. */
#include "agent/internal.h"

#include <string.h>

static const agent__backend_ops *const table[] = {
	&agent__backend_openai,
	&agent__backend_anthropic,
	&agent__backend_engine,
};

const agent__backend_ops *agent__backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(table); i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

void agent__reply_init(agent__reply *r)
{
	memset(r, 0, sizeof(*r));
	pl_buf_init(&r->text, 0);
	r->calls = json_array();
}

void agent__reply_release(agent__reply *r)
{
	pl_buf_release(&r->text);
	json_decref(r->calls);
	r->calls = NULL;
}

void agent_usage_add(agent_usage *sum, const agent_usage *u)
{
	bool first = sum->calls == 0;

	sum->input += u->input;
	sum->output += u->output;
	sum->cached += u->cached;
	sum->calls += u->calls;
	sum->cost += u->cost;
	/* unknown once any call's price is unknown */
	sum->cost_known = first ? u->cost_known : sum->cost_known && u->cost_known;
}

json_t *agent_usage_json(const agent_usage *u)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:o}", "input", (json_int_t)u->input, "output", (json_int_t)u->output,
			 "cached", (json_int_t)u->cached, "calls", (json_int_t)u->calls, "cost",
			 u->cost_known ? json_real(u->cost) : json_null());
}

const char *agent_exit_name(agent_exit e)
{
	static const char *const names[] = {
		"none",        "submitted",  "answered",   "step_limit",    "token_limit",
		"time_limit",  "cost_limit", "format_errors", "model_error", "cancelled", "tool_error",
	};

	return (size_t)e < PL_ARRAY_LEN(names) ? names[e] : "none";
}
