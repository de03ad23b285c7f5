/* registry.c - the tool table and tools_call: find the tool, validate the
 * arguments against its schema (parsed once per context), run it. */
#include "tools/internal.h"

#include <string.h>

/* Adding a tool is one file defining its tools_def and one line here. */
static const tools_def *const table[] = {
	&tools__def_view,
	&tools__def_create,
	&tools__def_str_replace,
	&tools__def_insert,
	&tools__def_undo_edit,
	&tools__def_search,
	&tools__def_find,
	&tools__def_outline,
	&tools__def_definition,
	&tools__def_references,
	&tools__def_repo_map,
	&tools__def_bash,
	&tools__def_status,
	&tools__def_diff,
	&tools__def_submit,
};

const tools_def *const *tools_all(size_t *count)
{
	*count = PL_ARRAY_LEN(table);
	return table;
}

const tools_def *tools_find(const char *name)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(table); i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

json_t *tools_def_schema(const tools_def *def)
{
	json_error_t e;
	json_t *s = json_loads(def->schema, 0, &e);

	if (!s)
		PL_BUG("tool '%s': schema is not JSON: %s (line %d)", def->name, e.text, e.line);
	return s;
}

json_t *tools_list_json(void)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(table); i++) {
		json_t *o = json_object();
		pl_json_set(o, "name", json_string(table[i]->name));
		pl_json_set(o, "description", json_string(table[i]->description));
		pl_json_set(o, "parameters", tools_def_schema(table[i]));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* ------------------------------------------------------------ calls */

/* The parsed schemas, name -> schema, kept on the context. */
static void schemas_release(void *p)
{
	json_decref(p);
}

static const tools__state_kind schemas_kind = { "schemas", schemas_release };

/* Every observation obeys the cap and says when it was cut, whatever the
 * tool did: the tools cut their own output more cleverly (head and tail,
 * whole lines, a hint), this is the guarantee behind them. */
static void cap_text(tools_obs *obs, size_t max)
{
	size_t total = obs->text.len, keep = max > 400 ? max - 200 : max / 2, k;
	char *t = obs->text.ptr;

	if (total <= max)
		return;
	for (k = keep; k > keep / 2 && t[k - 1] != '\n'; k--)
		;
	if (k > keep / 2)
		keep = k; /* whole lines when one ends in the second half */
	else
		while (keep && ((unsigned char)t[keep] & 0xC0) == 0x80)
			keep--;
	pl_buf_setlen(&obs->text, keep);
	pl_buf_printf(&obs->text, "%s[... observation cut: %zu of its %zu bytes shown ...]\n",
		      keep && obs->text.ptr[keep - 1] != '\n' ? "\n" : "", keep, total);
	obs->truncated = true;
}

int tools_call(tools_obs *obs, tools_ctx *ctx, const char *name, const json_t *args, pl_err *err)
{
	const tools_def *def = tools_find(name);
	json_t *schemas, *schema;
	pl_err local = { 0 };
	int rc;

	if (!err)
		err = &local;
	if (!def) {
		size_t i;
		pl_buf names = PL_BUF_INIT;
		for (i = 0; i < PL_ARRAY_LEN(table); i++)
			pl_buf_printf(&names, "%s%s", i ? ", " : "", table[i]->name);
		pl_err_set(err, PL_ENOTFOUND, "unknown tool '%s'; the tools are: %s", name, names.ptr);
		pl_buf_release(&names);
		rc = PL_ENOTFOUND;
		goto fail;
	}
	if (!(schemas = tools__state_get(ctx, &schemas_kind))) {
		schemas = json_object();
		tools__state_set(ctx, &schemas_kind, schemas);
	}
	if (!(schema = json_object_get(schemas, name))) {
		schema = tools_def_schema(def);
		json_object_set_new(schemas, name, schema);
	}
	if ((rc = tools_validate(schema, args, err)) < 0) {
		pl_err_prefix(err, "%s", name);
		goto fail;
	}
	if ((rc = def->run(obs, ctx, args, err)) < 0)
		goto fail;
	cap_text(obs, ctx->max_output);
	return 0;
fail:
	pl_buf_reset(&obs->text);
	pl_buf_printf(&obs->text, "error: %s", err->msg);
	obs->is_error = true;
	cap_text(obs, ctx->max_output);
	return rc;
}
