/* git_tools.c - the status, diff and submit tools, on the context's
 * repository and base commit: all three compare the working tree with the
 * base, so that what status lists is what submit hands in, commits made
 * since included. */
#include "tools/internal.h"

#include <stdlib.h>
#include <string.h>

/* submit's state on the context: an empty patch is refused once. */
typedef struct submit_state {
	bool warned_empty;
} submit_state;

static void submit_release(void *p)
{
	free(p);
}

static const tools__state_kind submit_kind = { "submit", submit_release };

static int need_repo(const tools_ctx *ctx, pl_err *err)
{
	if (!ctx->repo)
		return pl_err_set(err, PL_EUNSUPPORTED, "'%s' is not a git repository", ctx->root);
	return 0;
}

/* What the base is, for messages. */
static const char *base_what(const tools_ctx *ctx)
{
	return ctx->base_is_tree ? "base (the working tree as the task began)" : "base commit";
}

/* A line saying that HEAD moved past the base, when it did (a snapshot
 * base has no commit to move past). */
static void note_head(pl_buf *b, const tools_ctx *ctx)
{
	git_object *head = NULL;
	char hex[41] = "";

	if (ctx->base_is_tree)
		return;
	if (git_revparse_single(&head, ctx->repo, "HEAD") == 0) {
		git_object *c = NULL;
		if (git_object_peel(&c, head, GIT_OBJECT_COMMIT) == 0) {
			git_oid_tostr(hex, sizeof(hex), git_object_id(c));
			git_object_free(c);
		}
		git_object_free(head);
	}
	if (*hex && strcmp(hex, ctx->base))
		pl_buf_printf(b, "[HEAD (%.12s) has moved since the base commit (%.12s): status, diff and submit compare with the "
				 "base, commits made since included]\n",
			      hex, ctx->base);
}

static int status_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	json_t *st = NULL, *e;
	size_t i;
	int rc;

	(void)args;
	if ((rc = need_repo(ctx, err)) < 0 || (rc = tools__git_changes_of(&st, ctx->repo, ctx->base, err)) < 0)
		return rc;
	if (!json_array_size(st))
		pl_buf_printf(&obs->text, "No changes against the %s (%.12s).\n", base_what(ctx), ctx->base);
	json_array_foreach(st, i, e)
		pl_buf_printf(&obs->text, "%-10s %s\n", json_string_value(json_object_get(e, "status")),
			      json_string_value(json_object_get(e, "path")));
	note_head(&obs->text, ctx);
	pl_json_set(obs->data, "changes", st);
	pl_json_set(obs->data, "base", json_string(ctx->base));
	return 0;
}

const tools_def tools__def_status = {
	"status",
	"List the files changed since the task's base commit (new, modified, deleted): exactly the files the "
	"patch of `diff` and `submit` holds, commits made since the base included; git-ignored files are left "
	"out.",
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	status_run,
};

/* Ignored files the session wrote, which the patch leaves out. */
static void add_left_out(tools_obs *obs, tools_ctx *ctx)
{
	json_t *left = NULL, *v;
	size_t i;

	if (tools__git_ignored_since(&left, ctx->repo, &ctx->opened, NULL) < 0 || !json_array_size(left)) {
		json_decref(left);
		return;
	}
	pl_buf_puts(&obs->text, "Left out of the patch because git ignores them (changed during this session):\n");
	json_array_foreach(left, i, v) {
		if (i == 20) {
			pl_buf_printf(&obs->text, "  ... and %zu more\n", json_array_size(left) - 20);
			break;
		}
		pl_buf_printf(&obs->text, "  %s\n", json_string_value(v));
	}
	pl_buf_puts(&obs->text, "If any belongs to the fix, move it where git does not ignore it.\n");
	pl_json_set(obs->data, "left_out", left);
}

static int diff_common(tools_obs *obs, tools_ctx *ctx, bool submit, pl_err *err)
{
	pl_buf patch = PL_BUF_INIT;
	int rc;

	if ((rc = need_repo(ctx, err)) < 0 || (rc = tools__git_patch_of(&patch, NULL, ctx->repo, ctx->base, err)) < 0)
		goto done;
	/* The exact bytes for the caller, even when not UTF-8. */
	pl_json_set(obs->data, "patch", json_stringn_nocheck(patch.ptr, patch.len));
	pl_json_set(obs->data, "base", json_string(ctx->base));
	if (submit && !patch.len && !ctx->allow_empty_submit) {
		submit_state *st = tools__state_get(ctx, &submit_kind);
		if (!st) {
			st = pl_xcalloc(1, sizeof(*st));
			tools__state_set(ctx, &submit_kind, st);
		}
		if (!st->warned_empty) {
			st->warned_empty = true;
			pl_buf_printf(&obs->text,
				      "error: the patch is EMPTY: nothing differs from the %s (%.12s), so submitting now "
				      "would hand in no fix. Make the change (check `status`), or call submit again to submit "
				      "the empty patch anyway.\n",
				      base_what(ctx), ctx->base);
			note_head(&obs->text, ctx);
			add_left_out(obs, ctx);
			obs->is_error = true;
			goto done;
		}
	}
	if (submit) {
		obs->finished = true;
		pl_buf_printf(&obs->text, "Submitted: %s.\n", patch.len ? "the patch below is the final answer" :
							 "the patch is EMPTY (no change was made)");
		add_left_out(obs, ctx);
	} else if (!patch.len) {
		pl_buf_printf(&obs->text, "No changes against the %s (%.12s).\n", base_what(ctx), ctx->base);
		note_head(&obs->text, ctx);
	}
	if (patch.len) {
		pl_buf shown = PL_BUF_INIT;
		size_t room = ctx->max_output > obs->text.len + 600 ? ctx->max_output - obs->text.len - 400 : 0;
		/* head and tail, with a line saying what was cut between */
		pl_buf_add_truncated(&shown, patch.ptr, patch.len, room);
		obs->truncated = patch.len > room;
		tools__add_text(&obs->text, shown.ptr, shown.len);
		if (obs->truncated)
			pl_buf_printf(&obs->text,
				      "\n[the patch is %zu bytes: `status` lists every changed file and `view` shows each; "
				      "data.patch holds it all]\n",
				      patch.len);
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
	"included) and lists files it leaves out because git ignores them. An empty patch is refused once "
	"with a warning; calling submit again submits it. Call it once, when the fix is complete and checked.",
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	submit_run,
};
