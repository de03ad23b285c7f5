/* ignore.c - git's ignore rules (.gitignore files, .git/info/exclude, the
 * global excludes) through libgit2. */
#include "tools/internal.h"

#include <string.h>

bool tools__is_ignored(const tools_ctx *ctx, const char *rel)
{
	int ign = 0;

	if (!ctx->repo)
		return false;
	if (!strcmp(rel, ".git") || pl_str_starts_with(rel, ".git/"))
		return true;
	if (git_ignore_path_is_ignored(&ign, ctx->repo, rel) < 0)
		return false;
	return ign != 0;
}

bool tools__is_tracked(const tools_ctx *ctx, const char *rel)
{
	git_index *idx = NULL;
	bool tracked;

	if (!ctx->repo || git_repository_index(&idx, ctx->repo) < 0)
		return false;
	/* a command may have changed the index since (git add, git rm) */
	git_index_read(idx, false);
	tracked = git_index_get_bypath(idx, rel, 0) != NULL;
	git_index_free(idx);
	return tracked;
}
