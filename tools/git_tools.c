/* git_tools.c - the status, diff and submit tools, on the context's
 * repository and base commit. */
#include "tools/internal.h"

static int need_repo(const tools_ctx *ctx, pl_err *err)
{
	if (!ctx->repo)
		return pl_err_set(err, PL_EUNSUPPORTED, "'%s' is not a git repository", ctx->root);
	return 0;
}

static int status_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	json_t *st = NULL, *e;
	size_t i;
	int rc;

	(void)args;
	if ((rc = need_repo(ctx, err)) < 0 || (rc = tools__git_status_of(&st, ctx->repo, err)) < 0)
		return rc;
	if (!json_array_size(st))
		pl_buf_puts(&obs->text, "No changes: the working tree matches HEAD.\n");
	json_array_foreach(st, i, e)
		pl_buf_printf(&obs->text, "%-10s %s\n", json_string_value(json_object_get(e, "status")),
			      json_string_value(json_object_get(e, "path")));
	pl_json_set(obs->data, "changes", st);
	return 0;
}

const tools_def tools__def_status = {
	"status",
	"List the files changed in the working tree (new, modified, deleted), like `git status`; git-ignored "
	"files are left out.",
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	status_run,
};

static int diff_common(tools_obs *obs, tools_ctx *ctx, bool submit, pl_err *err)
{
	pl_buf patch = PL_BUF_INIT;
	int rc;

	if ((rc = need_repo(ctx, err)) < 0 || (rc = tools__git_patch_of(&patch, NULL, ctx->repo, ctx->base, err)) < 0)
		goto done;
	/* The exact bytes for the caller, even when not UTF-8. */
	pl_json_set(obs->data, "patch", json_stringn_nocheck(patch.ptr, patch.len));
	pl_json_set(obs->data, "base", json_string(ctx->base));
	if (submit) {
		obs->finished = true;
		pl_buf_printf(&obs->text, "Submitted: %s.\n", patch.len ? "the patch below is the final answer" :
							 "the patch is EMPTY (no change was made)");
	} else if (!patch.len)
		pl_buf_puts(&obs->text, "No changes against the base commit.\n");
	if (patch.len) {
		pl_buf shown = PL_BUF_INIT;
		pl_buf_add_truncated(&shown, patch.ptr, patch.len, ctx->max_output);
		obs->truncated = shown.len < patch.len;
		tools__add_text(&obs->text, shown.ptr, shown.len);
		pl_buf_release(&shown);
	}
done:
	pl_buf_release(&patch);
	return rc;
}

static int diff_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	(void)args;
	return diff_common(obs, ctx, false, err);
}

static int submit_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	(void)args;
	return diff_common(obs, ctx, true, err);
}

const tools_def tools__def_diff = {
	"diff",
	"Show the patch of everything changed since the task's base commit, new untracked files included "
	"(what `git add -A && git diff --cached BASE` prints). Use it to review your work.",
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	diff_run,
};

const tools_def tools__def_submit = {
	"submit",
	"Finish the task: returns the final patch (every change against the base commit, new files "
	"included). Call it once, when the fix is complete and checked.",
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	submit_run,
};
