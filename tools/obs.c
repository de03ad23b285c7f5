/* obs.c - observations: what a tool hands back. */
#include "tools/internal.h"

#include <string.h>

void tools_obs_init(tools_obs *obs)
{
	memset(obs, 0, sizeof(*obs));
	pl_buf_init(&obs->text, 0);
	obs->files = json_array();
	obs->data = json_object();
}

void tools_obs_release(tools_obs *obs)
{
	if (!obs)
		return;
	pl_buf_release(&obs->text);
	json_decref(obs->files);
	json_decref(obs->data);
	obs->files = obs->data = NULL;
}

json_t *tools_obs_json(const tools_obs *obs)
{
	json_t *o = json_object();

	pl_json_set(o, "text", json_stringn(obs->text.ptr, obs->text.len));
	pl_json_set(o, "files", json_incref(obs->files));
	pl_json_set(o, "exit_code", json_integer(obs->exit_code));
	pl_json_set(o, "truncated", json_boolean(obs->truncated));
	pl_json_set(o, "is_error", json_boolean(obs->is_error));
	pl_json_set(o, "finished", json_boolean(obs->finished));
	pl_json_set(o, "data", json_incref(obs->data));
	return o;
}
