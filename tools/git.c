/* git.c - repositories through libgit2 for the tools and the harness:
 * clone, isolated copies, status, the final patch (untracked files
 * included), commit, reset.  Each public function initialises libgit2 and
 * shuts it down again, around everything it opened. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tools_git_clone(const char *url, const char *dest, pl_err *err)
{
	git_repository *r = NULL;
	git_clone_options o;
	int rc;

	if ((rc = tools__git2_init(err)) < 0)
		return rc;
	git_clone_options_init(&o, GIT_CLONE_OPTIONS_VERSION);
	if (git_clone(&r, url, dest, &o) < 0)
		rc = tools__git_error(err, PL_EIO, url);
	git_repository_free(r);
	git_libgit2_shutdown();
	return rc;
}

static int resolve_commit(git_commit **out, git_repository *r, const char *spec, pl_err *err)
{
	git_object *obj = NULL;
	int rc = 0;

	if (git_revparse_single(&obj, r, spec ? spec : "HEAD") < 0)
		return pl_err_set(err, PL_ENOTFOUND, "'%s' is not a commit of this repository", spec ? spec : "HEAD");
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0)
		rc = pl_err_set(err, PL_EINVAL, "'%s' does not name a commit", spec ? spec : "HEAD");
	git_object_free(obj);
	return rc;
}

/* The tree of a commit, or a tree itself (a snapshot). */
static int resolve_tree(git_tree **out, git_repository *r, const char *spec, pl_err *err)
{
	git_object *obj = NULL;
	int rc = 0;

	if (git_revparse_single(&obj, r, spec ? spec : "HEAD") < 0)
		return pl_err_set(err, PL_ENOTFOUND, "'%s' is not a commit of this repository", spec ? spec : "HEAD");
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_TREE) < 0)
		rc = pl_err_set(err, PL_EINVAL, "'%s' names neither a commit nor a tree", spec ? spec : "HEAD");
	git_object_free(obj);
	return rc;
}

int tools_git_checkout_copy(const char *src, const char *commit, const char *dest, pl_err *err)
{
	git_repository *r = NULL;
	git_clone_options o;
	git_checkout_options co;
	git_commit *c = NULL;
	int rc;

	if ((rc = tools__git2_init(err)) < 0)
		return rc;
	git_clone_options_init(&o, GIT_CLONE_OPTIONS_VERSION);
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	/* Clone without checkout, then put the requested commit in place. */
	o.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;
	if (git_clone(&r, src, dest, &o) < 0) {
		rc = tools__git_error(err, PL_EIO, src);
		goto done;
	}
	if ((rc = resolve_commit(&c, r, commit, err)) < 0)
		goto done;
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_checkout_tree(r, (git_object *)c, &co) < 0 || git_repository_set_head_detached(r, git_commit_id(c)) < 0)
		rc = tools__git_error(err, PL_EIO, dest);
done:
	git_commit_free(c);
	git_repository_free(r);
	git_libgit2_shutdown();
	return rc;
}

static const char *status_name(unsigned s)
{
	if (s & GIT_STATUS_CONFLICTED)
		return "conflicted";
	if (s & (GIT_STATUS_WT_NEW | GIT_STATUS_INDEX_NEW))
		return "new";
	if (s & (GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED))
		return "deleted";
	if (s & (GIT_STATUS_WT_RENAMED | GIT_STATUS_INDEX_RENAMED))
		return "renamed";
	if (s & (GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_INDEX_TYPECHANGE))
		return "typechange";
	return "modified";
}

int tools__git_status_of(json_t **out, git_repository *r, pl_err *err)
{
	git_status_options so;
	git_status_list *l = NULL;
	json_t *arr;
	size_t i, n;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		   GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&l, r, &so) < 0)
		return tools__git_error(err, PL_EIO, "status");
	arr = json_array();
	n = git_status_list_entrycount(l);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(l, i);
		const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
		json_t *o;
		if (!d || e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
			continue;
		o = json_object();
		pl_json_set(o, "path", json_string(d->new_file.path ? d->new_file.path : d->old_file.path));
		pl_json_set(o, "status", json_string(status_name(e->status)));
		json_array_append_new(arr, o);
	}
	git_status_list_free(l);
	*out = arr;
	return 0;
}

int tools_git_resolve(char oid_out[41], const char *root, const char *rev, pl_err *err)
{
	git_repository *r = NULL;
	git_commit *c = NULL;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	if ((rc = resolve_commit(&c, r, rev, err)) == 0)
		git_oid_tostr(oid_out, 41, git_commit_id(c));
	git_commit_free(c);
	tools__git_close(r);
	return rc;
}

int tools_git_toplevel(pl_buf *out, const char *path, pl_err *err)
{
	git_repository *r = NULL;
	const char *wd;
	size_t n;
	int rc;

	if ((rc = tools__git2_init(err)) < 0)
		return rc;
	if (git_repository_open_ext(&r, path, 0, NULL) < 0) {
		rc = tools__git_error(err, PL_ENOTFOUND, path);
		git_libgit2_shutdown();
		return rc;
	}
	if (!(wd = git_repository_workdir(r))) {
		rc = pl_err_set(err, PL_EINVAL, "'%s' is in a bare repository (no working tree)", path);
	} else {
		n = strlen(wd);
		while (n > 1 && wd[n - 1] == '/')
			n--;
		pl_buf_add(out, wd, n);
	}
	tools__git_close(r);
	return rc;
}

int tools_git_status(json_t **out, const char *root, pl_err *err)
{
	git_repository *r = NULL;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	rc = tools__git_status_of(out, r, err);
	tools__git_close(r);
	return rc;
}

/* Leave submodule entries (gitlinks) as the index has them: the agent
 * never changes a submodule, and an uninitialised one has no directory. */
static int skip_gitlinks(const char *path, const char *spec, void *payload)
{
	const git_index_entry *e = git_index_get_bypath(payload, path, 0);

	(void)spec;
	return e && e->mode == GIT_FILEMODE_COMMIT ? 1 : 0;
}

/* What `git add -A` may take into a snapshot: submodule entries
 * (gitlinks) stay as the repository's index has them (the agent never
 * changes a submodule, and an uninitialised one has no directory), and
 * untracked files over max_untracked bytes are left out. */
typedef struct add_filter {
	git_index *real; /* the repository's index */
	const char *workdir;
	uint64_t max_untracked; /* 0: no limit */
	size_t taken;           /* paths added, updated or removed */
} add_filter;

static int filter_add(const char *path, const char *spec, void *payload)
{
	add_filter *f = payload;
	const git_index_entry *e = git_index_get_bypath(f->real, path, 0);
	struct stat st;
	pl_buf full = PL_BUF_INIT;
	bool big;

	(void)spec;
	if (e && e->mode == GIT_FILEMODE_COMMIT)
		return 1;
	if (!e && f->max_untracked && f->workdir) {
		pl_buf_printf(&full, "%s%s", f->workdir, path);
		big = lstat(full.ptr, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > f->max_untracked;
		pl_buf_release(&full);
		if (big)
			return 1;
	}
	f->taken++;
	return 0;
}

/* The private index the snapshots keep, <gitdir>/plait-cache/worktree-index:
 * the repository's index with the untracked and modified files added as
 * the last call found them, stat data included, so that `git add -A` on
 * it re-reads (and writes as blobs) only what changed since.  Without it
 * every call hashed every untracked file again: a 200 MB one cost each
 * bash call of `plait chat` 30 s and left 192 MB of loose objects.
 * Brought in line with the repository's index first: what it holds is
 * added where the private one lacks it (an entry the private one has is
 * as fresh or fresher: the stat data decides, as for git), gitlinks are
 * taken from it, and an entry it does not hold is dropped when git now
 * ignores the path or it is over the size limit.
 * NULL when the directory cannot be made or opened (a read-only .git). */
static git_index *private_index(git_repository *r, git_index *real, uint64_t max_untracked, bool *dirty)
{
	pl_buf dir = PL_BUF_INIT, path = PL_BUF_INIT;
	git_index *idx = NULL;
	const git_index_entry *e;
	char **drop = NULL;
	size_t i, n, ndrop = 0;
	int dfd;

	pl_buf_printf(&dir, "%splait-cache", git_repository_path(r));
	if ((dfd = tools__cache_dir_open(dir.ptr, true, NULL)) < 0)
		goto done;
	close(dfd);
	pl_buf_printf(&path, "%s/worktree-index", dir.ptr);
	if (git_index_open(&idx, path.ptr) < 0) {
		/* corrupt or foreign: start again */
		unlink(path.ptr);
		if (git_index_open(&idx, path.ptr) < 0) {
			idx = NULL;
			goto done;
		}
	}
	n = git_index_entrycount(real);
	for (i = 0; i < n; i++) {
		const git_index_entry *mine;
		e = git_index_get_byindex(real, i);
		mine = git_index_get_bypath(idx, e->path, git_index_entry_stage(e));
		if (!mine || ((e->mode == GIT_FILEMODE_COMMIT || mine->mode == GIT_FILEMODE_COMMIT) &&
			      (e->mode != mine->mode || git_oid_cmp(&e->id, &mine->id)))) {
			if (git_index_add(idx, e) < 0)
				goto fail;
			*dirty = true;
		}
	}
	n = git_index_entrycount(idx);
	for (i = 0; i < n; i++) {
		int ign = 0;
		e = git_index_get_byindex(idx, i);
		if (git_index_get_bypath(real, e->path, git_index_entry_stage(e)))
			continue;
		if ((max_untracked && e->file_size > max_untracked) ||
		    git_ignore_path_is_ignored(&ign, r, e->path) < 0 || ign) {
			drop = pl_xrealloc(drop, (ndrop + 1) * sizeof(*drop));
			drop[ndrop++] = pl_xstrdup(e->path);
		}
	}
	for (i = 0; i < ndrop; i++)
		if (git_index_remove(idx, drop[i], 0) < 0)
			goto fail;
	if (ndrop)
		*dirty = true;
	goto done;
fail:
	git_index_free(idx);
	idx = NULL;
done:
	for (i = 0; i < ndrop; i++)
		free(drop[i]);
	free(drop);
	pl_buf_release(&dir);
	pl_buf_release(&path);
	return idx;
}

/* `git add -A` into a copy of the index, written as a tree: the private
 * index above, or an in-memory copy of the repository's when there is
 * none.  The repository's index on disk is never touched. */
static int worktree_tree(git_tree **out, git_repository *r, uint64_t max_untracked, pl_err *err)
{
	git_index *real = NULL, *idx;
	add_filter f;
	git_oid oid;
	bool dirty = false;
	int rc = 0;

	if (git_repository_index(&real, r) < 0)
		return tools__git_error(err, PL_EIO, "index");
	f.real = real;
	f.workdir = git_repository_workdir(r);
	f.max_untracked = max_untracked;
	f.taken = 0;
	/* git_index_add_all needs an index the repository owns: the
	 * private one takes the repository's place meanwhile */
	if ((idx = private_index(r, real, max_untracked, &dirty)))
		git_repository_set_index(r, idx);
	else
		idx = real;
	if (git_index_add_all(idx, NULL, GIT_INDEX_ADD_DEFAULT, filter_add, &f) < 0 ||
	    git_index_update_all(idx, NULL, filter_add, &f) < 0 || git_index_write_tree(&oid, idx) < 0 ||
	    git_tree_lookup(out, r, &oid) < 0)
		rc = tools__git_error(err, PL_EIO, "collecting the working tree");
	if (idx != real) {
		/* kept for the next call when anything changed; failing to
		 * keep it costs time only */
		if (rc == 0 && (dirty || f.taken))
			git_index_write(idx);
		git_repository_set_index(r, real);
		git_index_free(idx);
	} else {
		/* throw the in-memory changes away */
		git_index_read(idx, true);
	}
	git_index_free(real);
	return rc;
}

int tools__git_patch_of(pl_buf *out, char tree_out[41], git_repository *r, const char *base, pl_err *err)
{
	git_tree *bt = NULL, *wt = NULL;
	git_diff *d = NULL;
	git_diff_options o;
	git_buf b = { 0 };
	int rc;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if ((rc = resolve_tree(&bt, r, base, err)) < 0)
		goto done;
	if ((rc = worktree_tree(&wt, r, TOOLS_MAX_UNTRACKED, err)) < 0)
		goto done;
	o.flags = GIT_DIFF_SHOW_BINARY | GIT_DIFF_INDENT_HEURISTIC;
	if (git_diff_tree_to_tree(&d, r, bt, wt, &o) < 0 || git_diff_to_buf(&b, d, GIT_DIFF_FORMAT_PATCH) < 0) {
		rc = tools__git_error(err, PL_EIO, "diff");
		goto done;
	}
	pl_buf_add(out, b.ptr, b.size);
	if (tree_out)
		git_oid_tostr(tree_out, 41, git_tree_id(wt));
done:
	git_buf_dispose(&b);
	git_diff_free(d);
	git_tree_free(wt);
	git_tree_free(bt);
	return rc;
}

static const char *delta_name(git_delta_t d)
{
	switch (d) {
	case GIT_DELTA_ADDED:
		return "new";
	case GIT_DELTA_DELETED:
		return "deleted";
	case GIT_DELTA_RENAMED:
		return "renamed";
	case GIT_DELTA_TYPECHANGE:
		return "typechange";
	case GIT_DELTA_CONFLICTED:
		return "conflicted";
	default:
		return "modified";
	}
}

int tools__git_changes_of(json_t **out, git_repository *r, const char *base, pl_err *err)
{
	git_tree *bt = NULL, *wt = NULL;
	git_diff *d = NULL;
	git_diff_options o;
	json_t *arr = NULL;
	size_t i, n;
	int rc;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if ((rc = resolve_tree(&bt, r, base, err)) < 0)
		goto done;
	if ((rc = worktree_tree(&wt, r, TOOLS_MAX_UNTRACKED, err)) < 0)
		goto done;
	if (git_diff_tree_to_tree(&d, r, bt, wt, &o) < 0) {
		rc = tools__git_error(err, PL_EIO, "diff");
		goto done;
	}
	arr = json_array();
	n = git_diff_num_deltas(d);
	for (i = 0; i < n; i++) {
		const git_diff_delta *dd = git_diff_get_delta(d, i);
		json_t *e = json_object();
		pl_json_set(e, "path", json_string(dd->new_file.path ? dd->new_file.path : dd->old_file.path));
		pl_json_set(e, "status", json_string(delta_name(dd->status)));
		json_array_append_new(arr, e);
	}
	*out = arr;
	arr = NULL;
done:
	json_decref(arr);
	git_diff_free(d);
	git_tree_free(wt);
	git_tree_free(bt);
	return rc;
}

int tools__git_ignored_since(json_t **out, git_repository *r, const struct timespec *since, pl_err *err)
{
	git_status_options so;
	git_status_list *l = NULL;
	json_t *arr;
	size_t i, n;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	/* ignored directories as one entry each: node_modules is not walked */
	so.flags = GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	so.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	if (git_status_list_new(&l, r, &so) < 0)
		return tools__git_error(err, PL_EIO, "status");
	arr = json_array();
	n = git_status_list_entrycount(l);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(l, i);
		pl_buf p = PL_BUF_INIT;
		struct stat st;
		if (!(e->status & GIT_STATUS_IGNORED) || !e->index_to_workdir)
			continue;
		pl_path_join(&p, git_repository_workdir(r), e->index_to_workdir->new_file.path);
		if (lstat(p.ptr, &st) == 0 &&
		    (st.st_mtim.tv_sec > since->tv_sec ||
		     (st.st_mtim.tv_sec == since->tv_sec && st.st_mtim.tv_nsec >= since->tv_nsec)))
			json_array_append_new(arr, json_string(e->index_to_workdir->new_file.path));
		pl_buf_release(&p);
	}
	git_status_list_free(l);
	*out = arr;
	return 0;
}

int tools_git_patch(pl_buf *out, char tree_out[41], const char *root, const char *base, pl_err *err)
{
	git_repository *r = NULL;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	rc = tools__git_patch_of(out, tree_out, r, base, err);
	tools__git_close(r);
	return rc;
}

int tools_git_commit(char oid_out[41], const char *root, const char *branch, const char *message, pl_err *err)
{
	git_repository *r = NULL;
	git_index *idx = NULL;
	git_reference *ref = NULL, *newref = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid toid, coid;
	pl_buf refname = PL_BUF_INIT;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	{
		int valid = 0;
		pl_buf_printf(&refname, "refs/heads/%s", branch ? branch : "");
		if (!branch || !*branch || git_reference_name_is_valid(&valid, refname.ptr) < 0 || !valid) {
			rc = pl_err_set(err, PL_EINVAL, "'%s' is not a valid branch name", branch ? branch : "");
			goto done;
		}
	}
	if ((rc = resolve_commit(&head, r, "HEAD", err)) < 0)
		goto done;
	if (git_branch_lookup(&ref, r, branch, GIT_BRANCH_LOCAL) < 0 &&
	    git_branch_create(&ref, r, branch, head, 0) < 0) {
		rc = tools__git_error(err, PL_EIO, branch);
		goto done;
	}
	git_commit_free(head);
	head = NULL;
	if (git_repository_set_head(r, refname.ptr) < 0 || (rc = resolve_commit(&head, r, "HEAD", err)) < 0) {
		rc = rc < 0 ? rc : tools__git_error(err, PL_EIO, branch);
		goto done;
	}
	if (git_repository_index(&idx, r) < 0 || git_index_add_all(idx, NULL, GIT_INDEX_ADD_DEFAULT, skip_gitlinks, idx) < 0 ||
	    git_index_update_all(idx, NULL, skip_gitlinks, idx) < 0 || git_index_write(idx) < 0 ||
	    git_index_write_tree(&toid, idx) < 0 || git_tree_lookup(&tree, r, &toid) < 0) {
		rc = tools__git_error(err, PL_EIO, "index");
		goto done;
	}
	if (git_signature_default(&sig, r) < 0 && git_signature_now(&sig, "plait", "plait@localhost") < 0) {
		rc = tools__git_error(err, PL_EIO, "signature");
		goto done;
	}
	if (git_commit_create(&coid, r, "HEAD", sig, sig, NULL, message, tree, 1, (const git_commit **)&head) < 0) {
		rc = tools__git_error(err, PL_EIO, "commit");
		goto done;
	}
	git_oid_tostr(oid_out, 41, &coid);
done:
	pl_buf_release(&refname);
	git_signature_free(sig);
	git_tree_free(tree);
	git_reference_free(newref);
	git_reference_free(ref);
	git_commit_free(head);
	git_index_free(idx);
	tools__git_close(r);
	return rc;
}

int tools_git_reset(const char *root, const char *base, pl_err *err)
{
	git_repository *r = NULL;
	git_commit *c = NULL;
	git_checkout_options co;
	git_status_options so;
	git_status_list *l = NULL;
	size_t i, n;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	if ((rc = resolve_commit(&c, r, base, err)) < 0)
		goto done;
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_reset(r, (git_object *)c, GIT_RESET_HARD, &co) < 0) {
		rc = tools__git_error(err, PL_EIO, "reset");
		goto done;
	}
	/* git clean -fd: untracked directories come as "dir/" entries. */
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	so.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	if (git_status_list_new(&l, r, &so) < 0) {
		rc = tools__git_error(err, PL_EIO, "status");
		goto done;
	}
	n = git_status_list_entrycount(l);
	for (i = 0; i < n && rc == 0; i++) {
		const git_status_entry *e = git_status_byindex(l, i);
		pl_buf p = PL_BUF_INIT;
		if (!(e->status & GIT_STATUS_WT_NEW) || !e->index_to_workdir)
			continue;
		pl_path_join(&p, git_repository_workdir(r), e->index_to_workdir->new_file.path);
		if (pl_str_ends_with(p.ptr, "/"))
			rc = pl_rm_rf(p.ptr, err);
		else if (unlink(p.ptr) < 0 && errno != ENOENT)
			rc = pl_err_sys(err, PL_EIO, "removing '%s'", p.ptr);
		pl_buf_release(&p);
	}
done:
	git_status_list_free(l);
	git_commit_free(c);
	tools__git_close(r);
	return rc;
}

int tools_git_snapshot(char tree_out[41], const char *root, pl_err *err)
{
	git_repository *r = NULL;
	git_tree *t = NULL;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	if ((rc = worktree_tree(&t, r, TOOLS_MAX_UNTRACKED, err)) == 0)
		git_oid_tostr(tree_out, 41, git_tree_id(t));
	git_tree_free(t);
	tools__git_close(r);
	return rc;
}

/* ---------------------------------------------------------------- undo */

/* What a path holds as git records it: nothing, or an object and a mode
 * (a blob, a link; a directory only ever where a file is expected). */
typedef struct fstate {
	bool exists;
	uint32_t mode;
	git_oid oid;
} fstate;

typedef struct undo_path {
	char *rel;
	fstate initial; /* the working tree's, when first met */
	fstate now;     /* after the steps met so far */
} undo_path;

static bool fstate_eq(const fstate *a, const fstate *b)
{
	if (a->exists != b->exists)
		return false;
	return !a->exists || (a->mode == b->mode && !git_oid_cmp(&a->oid, &b->oid));
}

/* The place of rel in the working tree (path.c): its directory opened
 * beneath the workdir with no symlink on the way, as git sees paths (a
 * file "beyond a symbolic link" is none).  rc 0 and dirfd -1 when the
 * directory is not there. */
static int workdir_place(tools__place *pl, git_repository *r, const char *rel, bool mkdirs, pl_err *err)
{
	int wfd = open(git_repository_workdir(r), O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	pl->dirfd = -1;
	pl_buf_init(&pl->name, 0);
	if (wfd < 0)
		return pl_err_sys(err, PL_EIO, "'%s'", git_repository_workdir(r));
	rc = tools__place_open_at(pl, wfd, rel, mkdirs, err);
	close(wfd);
	return rc;
}

/* The working tree's file at rel, hashed as `git add` would. */
static int workdir_state(fstate *out, git_repository *r, const char *rel, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	tools__place pl;
	struct stat st;
	int rc = 0, fd = -1;

	memset(out, 0, sizeof(*out));
	if (workdir_place(&pl, r, rel, false, NULL) < 0 || pl.dirfd < 0)
		goto done; /* a symlink or a file on the way: no file there, for git */
	if (fstatat(pl.dirfd, pl.name.ptr, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = pl_err_sys(err, PL_EIO, "'%s'", rel);
		goto done;
	}
	out->exists = true;
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(pl.dirfd, pl.name.ptr, target, sizeof(target));

		if (n < 0) {
			rc = pl_err_sys(err, PL_EIO, "'%s'", rel);
			goto done;
		}
		out->mode = GIT_FILEMODE_LINK;
		if (git_odb_hash(&out->oid, target, (size_t)n, GIT_OBJECT_BLOB) < 0)
			rc = tools__git_error(err, PL_EIO, rel);
	} else if (S_ISREG(st.st_mode)) {
		out->mode = st.st_mode & S_IXUSR ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		/* hashed from the descriptor opened here (its /proc name), with
		 * rel for the filters */
		if ((fd = tools__open_at(pl.dirfd, pl.name.ptr, O_RDONLY, TOOLS__NO_SYMLINKS)) < 0) {
			rc = pl_err_set(err, PL_EIO, "'%s': %s", rel, strerror(-fd));
			goto done;
		}
		pl_buf_printf(&p, "/proc/self/fd/%d", fd);
		if (git_repository_hashfile(&out->oid, r, p.ptr, GIT_OBJECT_BLOB, rel) < 0)
			rc = tools__git_error(err, PL_EIO, rel);
	} else {
		out->mode = GIT_FILEMODE_TREE; /* equal to no file's state */
	}
done:
	if (fd >= 0)
		close(fd);
	tools__place_close(&pl);
	pl_buf_release(&p);
	return rc;
}

static void file_state(fstate *out, const git_diff_file *f, bool exists)
{
	memset(out, 0, sizeof(*out));
	out->exists = exists;
	if (exists) {
		out->mode = f->mode;
		out->oid = f->id;
	}
}

/* Removes rel's parent directories that the removal left empty. */
static void prune_dirs(git_repository *r, const char *rel)
{
	pl_buf p = PL_BUF_INIT;
	char *slash;

	pl_buf_puts(&p, rel);
	while ((slash = strrchr(p.ptr, '/'))) {
		tools__place pl;
		bool gone;

		pl_buf_setlen(&p, (size_t)(slash - p.ptr));
		gone = workdir_place(&pl, r, p.ptr, false, NULL) == 0 && pl.dirfd >= 0 &&
		       unlinkat(pl.dirfd, pl.name.ptr, AT_REMOVEDIR) == 0;
		tools__place_close(&pl);
		if (!gone)
			break;
	}
	pl_buf_release(&p);
}

/* Puts what st describes at rel, through the directory opened for it
 * (no symlink on the way: one swapped in since the check leads nowhere). */
static int write_state(git_repository *r, const char *rel, const fstate *st, pl_err *err)
{
	tools__place pl;
	git_blob *b = NULL;
	git_buf out = { 0 };
	int rc = 0;

	if ((rc = workdir_place(&pl, r, rel, st->exists, err)) < 0)
		return rc;
	if (!st->exists) {
		if (pl.dirfd >= 0 && unlinkat(pl.dirfd, pl.name.ptr, 0) < 0 && errno != ENOENT)
			rc = pl_err_sys(err, PL_EIO, "removing '%s'", rel);
		else if (pl.dirfd >= 0) {
			tools__place_close(&pl);
			prune_dirs(r, rel);
		}
		goto done;
	}
	if (git_blob_lookup(&b, r, &st->oid) < 0) {
		rc = tools__git_error(err, PL_ENOTFOUND, rel);
		goto done;
	}
	if (st->mode == GIT_FILEMODE_LINK) {
		pl_buf target = PL_BUF_INIT;

		pl_buf_add(&target, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
		if ((unlinkat(pl.dirfd, pl.name.ptr, 0) < 0 && errno != ENOENT) ||
		    symlinkat(target.ptr, pl.dirfd, pl.name.ptr) < 0)
			rc = pl_err_sys(err, PL_EIO, "restoring the link '%s'", rel);
		pl_buf_release(&target);
		goto done;
	}
	{
		git_blob_filter_options fo;

		/* the working tree's form: line endings and other filters as a
		 * checkout writes them */
		git_blob_filter_options_init(&fo, GIT_BLOB_FILTER_OPTIONS_VERSION);
		if (git_blob_filter(&out, b, rel, &fo) < 0) {
			rc = tools__git_error(err, PL_EIO, rel);
			goto done;
		}
	}
	rc = tools__write_at(pl.dirfd, pl.name.ptr, out.ptr ? out.ptr : "", out.size,
			     st->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644, err);
done:
	tools__place_close(&pl);
	git_buf_dispose(&out);
	git_blob_free(b);
	return rc;
}

static int snapshot_tree(git_tree **out, git_repository *r, const char *hex, pl_err *err)
{
	git_oid oid;

	if (!hex || strlen(hex) != 40 || git_oid_fromstr(&oid, hex) < 0 || git_tree_lookup(out, r, &oid) < 0)
		return pl_err_set(err, PL_ENOTFOUND, "snapshot '%s' is not in the repository (it may have been pruned)",
				  hex ? hex : "(none)");
	return 0;
}

int tools_git_undo(json_t **changed_out, const char *root, const tools_snapshot_step *steps, size_t n, pl_err *err)
{
	git_repository *r = NULL;
	json_t *index = json_object(), *changed = json_array();
	undo_path *v = NULL;
	size_t nv = 0, i, k;
	int rc;

	if ((rc = tools__git_open(&r, root, err)) < 0) {
		json_decref(index);
		json_decref(changed);
		return rc;
	}
	/* first every check, then the writes: a refusal changes nothing */
	for (i = 0; i < n && rc == 0; i++) {
		git_tree *a = NULL, *b = NULL;
		git_diff *d = NULL;
		git_diff_options o;

		git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
		if ((rc = snapshot_tree(&a, r, steps[i].after, err)) < 0 ||
		    (rc = snapshot_tree(&b, r, steps[i].before, err)) < 0) {
			git_tree_free(a);
			break;
		}
		if (git_diff_tree_to_tree(&d, r, a, b, &o) < 0)
			rc = tools__git_error(err, PL_EIO, "diff");
		for (k = 0; rc == 0 && k < git_diff_num_deltas(d); k++) {
			const git_diff_delta *dd = git_diff_get_delta(d, k);
			const char *rel = dd->new_file.path ? dd->new_file.path : dd->old_file.path;
			fstate was, will;
			undo_path *u;
			json_t *at;

			if (dd->old_file.mode == GIT_FILEMODE_COMMIT || dd->new_file.mode == GIT_FILEMODE_COMMIT)
				continue; /* submodules are not the tools' to change */
			file_state(&was, &dd->old_file, dd->status != GIT_DELTA_ADDED);
			file_state(&will, &dd->new_file, dd->status != GIT_DELTA_DELETED);
			if ((at = json_object_get(index, rel))) {
				u = &v[json_integer_value(at)];
			} else {
				v = pl_xrealloc(v, (nv + 1) * sizeof(*v));
				u = &v[nv];
				memset(u, 0, sizeof(*u));
				u->rel = pl_xstrdup(rel);
				pl_json_set(index, rel, json_integer((json_int_t)nv));
				nv++;
				if ((rc = workdir_state(&u->initial, r, rel, err)) < 0)
					break;
				u->now = u->initial;
			}
			if (!fstate_eq(&u->now, &was)) {
				rc = pl_err_set(err, PL_EEXISTS,
						"'%s' is not as that change left it: it changed since (by a person or another "
						"program), and undoing would lose that",
						rel);
				break;
			}
			u->now = will;
		}
		git_diff_free(d);
		git_tree_free(a);
		git_tree_free(b);
	}
	for (i = 0; rc == 0 && i < nv; i++) {
		if (fstate_eq(&v[i].now, &v[i].initial))
			continue;
		if ((rc = write_state(r, v[i].rel, &v[i].now, err)) < 0)
			break;
		json_array_append_new(changed, json_string(v[i].rel));
	}
	for (i = 0; i < nv; i++)
		free(v[i].rel);
	free(v);
	json_decref(index);
	tools__git_close(r);
	if (rc == 0 && changed_out)
		*changed_out = changed;
	else
		json_decref(changed);
	return rc;
}

/* ---------------------------------------------------------------- commit a patch */

int tools_git_commit_patch(char oid_out[41], const char *root, const char *parent, const char *patch, size_t len,
			   const char *branch, const char *message, pl_err *err)
{
	git_repository *r = NULL;
	git_commit *pc = NULL, *nc = NULL;
	git_tree *pt = NULL, *nt = NULL;
	git_diff *d = NULL;
	git_index *idx = NULL;
	git_reference *ref = NULL;
	git_signature *sig = NULL;
	git_oid toid, coid;
	pl_buf refname = PL_BUF_INIT;
	int rc, valid = 0;

	if ((rc = tools__git_open(&r, root, err)) < 0)
		return rc;
	pl_buf_printf(&refname, "refs/heads/%s", branch ? branch : "");
	if (!branch || !*branch || git_reference_name_is_valid(&valid, refname.ptr) < 0 || !valid) {
		rc = pl_err_set(err, PL_EINVAL, "'%s' is not a valid branch name", branch ? branch : "");
		goto done;
	}
	if (git_branch_lookup(&ref, r, branch, GIT_BRANCH_LOCAL) == 0) {
		rc = pl_err_set(err, PL_EEXISTS, "branch '%s' already exists", branch);
		goto done;
	}
	if ((rc = resolve_commit(&pc, r, parent, err)) < 0)
		goto done;
	if (git_commit_tree(&pt, pc) < 0) {
		rc = tools__git_error(err, PL_EIO, "parent tree");
		goto done;
	}
	if (git_diff_from_buffer(&d, patch, len) < 0) {
		rc = tools__git_error(err, PL_EFORMAT, "reading the patch");
		goto done;
	}
	if (git_apply_to_tree(&idx, r, pt, d, NULL) < 0) {
		char hex[41];
		const git_error *e = git_error_last();

		/* libgit2's reason ("hunk at line 2 did not apply"), formatted
		 * from its own buffer: err->msg is the destination */
		git_oid_tostr(hex, sizeof(hex), git_commit_id(pc));
		rc = pl_err_set(err, PL_EINVAL, "the patch does not apply to %.12s: %s", hex,
				e && e->message ? e->message : "libgit2 gave no reason");
		goto done;
	}
	if (git_index_write_tree_to(&toid, idx, r) < 0 || git_tree_lookup(&nt, r, &toid) < 0) {
		rc = tools__git_error(err, PL_EIO, "writing the tree");
		goto done;
	}
	if (git_signature_default(&sig, r) < 0 && git_signature_now(&sig, "plait", "plait@localhost") < 0) {
		rc = tools__git_error(err, PL_EIO, "signature");
		goto done;
	}
	if (git_commit_create(&coid, r, NULL, sig, sig, NULL, message, nt, 1, (const git_commit **)&pc) < 0 ||
	    git_commit_lookup(&nc, r, &coid) < 0) {
		rc = tools__git_error(err, PL_EIO, "commit");
		goto done;
	}
	if (git_branch_create(&ref, r, branch, nc, 0) < 0) {
		rc = tools__git_error(err, PL_EIO, branch);
		goto done;
	}
	git_oid_tostr(oid_out, 41, &coid);
done:
	pl_buf_release(&refname);
	git_signature_free(sig);
	git_reference_free(ref);
	git_index_free(idx);
	git_diff_free(d);
	git_tree_free(nt);
	git_tree_free(pt);
	git_commit_free(nc);
	git_commit_free(pc);
	tools__git_close(r);
	return rc;
}
