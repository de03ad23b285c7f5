/* git2.h - libgit2, opened at first use (internal to tools/).
 *
 * plait does not link libgit2: linking it costs every `plait` invocation
 * 6 ms of dynamic-loader work (see pl_dl_open in common.h), while only the
 * git-facing tools need it.  Instead this header declares a table with one
 * pointer per libgit2 function tools/ calls, and redirects each name to its
 * pointer, so the code calls `git_status_list_new(...)` as usual.
 *
 * The rule: every public entry point that reaches libgit2 calls
 * tools__git2_init() first (it loads the library once per process, then
 * git_libgit2_init) and returns its error; a call through the table before
 * a successful load is a bug and stops the program with PL_ASSERT.
 *
 * A libgit2 function the tools start to use must be added to
 * TOOLS_GIT2_FUNCS; a name missing there is an undefined reference at link
 * time, since libgit2 is not linked.
 */
#ifndef PLAIT_TOOLS_GIT2_H
#define PLAIT_TOOLS_GIT2_H

#include "common/common.h"

#include <git2.h>
#include <git2/sys/repository.h> /* git_repository_set_index */

/* clang-format off */
#define TOOLS_GIT2_FUNCS(X) \
	X(git_apply) \
	X(git_apply_options_init) \
	X(git_apply_to_tree) \
	X(git_blob_filter) \
	X(git_blob_filter_options_init) \
	X(git_blob_free) \
	X(git_blob_rawsize) \
	X(git_blob_rawcontent) \
	X(git_blob_lookup) \
	X(git_branch_create) \
	X(git_branch_lookup) \
	X(git_buf_dispose) \
	X(git_checkout_options_init) \
	X(git_checkout_tree) \
	X(git_clone) \
	X(git_clone_options_init) \
	X(git_commit_create) \
	X(git_commit_free) \
	X(git_commit_id) \
	X(git_commit_lookup) \
	X(git_commit_tree) \
	X(git_diff_free) \
	X(git_diff_from_buffer) \
	X(git_diff_get_delta) \
	X(git_diff_get_stats) \
	X(git_diff_num_deltas) \
	X(git_diff_options_init) \
	X(git_diff_stats_free) \
	X(git_diff_to_buf) \
	X(git_diff_tree_to_tree) \
	X(git_error_last) \
	X(git_ignore_add_rule) \
	X(git_ignore_path_is_ignored) \
	X(git_index_add) \
	X(git_index_add_all) \
	X(git_index_entry_stage) \
	X(git_index_entrycount) \
	X(git_index_free) \
	X(git_index_get_byindex) \
	X(git_index_get_bypath) \
	X(git_index_open) \
	X(git_index_read) \
	X(git_index_remove) \
	X(git_index_update_all) \
	X(git_index_write) \
	X(git_index_write_tree) \
	X(git_index_write_tree_to) \
	X(git_libgit2_features) \
	X(git_libgit2_init) \
	X(git_libgit2_opts) \
	X(git_libgit2_shutdown) \
	X(git_libgit2_version) \
	X(git_object_free) \
	X(git_object_id) \
	X(git_object_peel) \
	X(git_odb_hash) \
	X(git_oid_cmp) \
	X(git_oid_fromstr) \
	X(git_oid_tostr) \
	X(git_patch_free) \
	X(git_patch_from_diff) \
	X(git_patch_num_hunks) \
	X(git_reference_free) \
	X(git_reference_name_is_valid) \
	X(git_repository_commondir) \
	X(git_repository_free) \
	X(git_repository_hashfile) \
	X(git_repository_index) \
	X(git_repository_open_ext) \
	X(git_repository_path) \
	X(git_repository_set_index) \
	X(git_repository_set_head) \
	X(git_repository_set_head_detached) \
	X(git_repository_workdir) \
	X(git_reset) \
	X(git_revparse_single) \
	X(git_signature_default) \
	X(git_signature_free) \
	X(git_signature_now) \
	X(git_status_byindex) \
	X(git_status_list_entrycount) \
	X(git_status_list_free) \
	X(git_status_list_new) \
	X(git_status_options_init) \
	X(git_tree_entry_bypath) \
	X(git_tree_entry_filemode) \
	X(git_tree_entry_free) \
	X(git_tree_entry_id) \
	X(git_tree_free) \
	X(git_tree_id) \
	X(git_tree_lookup) \

/* clang-format on */

typedef struct tools__git2 {
#define TOOLS_GIT2_PTR(f) __typeof__(f) *f;
	TOOLS_GIT2_FUNCS(TOOLS_GIT2_PTR)
#undef TOOLS_GIT2_PTR
} tools__git2;

/* Loads libgit2 once per process (thread-safe); the error says which
 * library is missing and which package provides it.  Idempotent. */
int tools__git2_load(pl_err *err);
/* tools__git2_load, then git_libgit2_init with plait's settings (no
 * ownership check: a sandbox or a harness often runs as another uid than
 * the repository's owner).  Pair every success with git_libgit2_shutdown. */
int tools__git2_init(pl_err *err);
/* The loaded table; only after a successful tools__git2_load. */
const tools__git2 *tools__git2_api(void);

#ifndef TOOLS_GIT2_IMPL
/* clang-format off */
#define git_apply (tools__git2_api()->git_apply)
#define git_apply_options_init (tools__git2_api()->git_apply_options_init)
#define git_apply_to_tree (tools__git2_api()->git_apply_to_tree)
#define git_blob_filter (tools__git2_api()->git_blob_filter)
#define git_blob_filter_options_init (tools__git2_api()->git_blob_filter_options_init)
#define git_blob_free (tools__git2_api()->git_blob_free)
#define git_blob_rawsize (tools__git2_api()->git_blob_rawsize)
#define git_blob_rawcontent (tools__git2_api()->git_blob_rawcontent)
#define git_blob_lookup (tools__git2_api()->git_blob_lookup)
#define git_branch_create (tools__git2_api()->git_branch_create)
#define git_branch_lookup (tools__git2_api()->git_branch_lookup)
#define git_buf_dispose (tools__git2_api()->git_buf_dispose)
#define git_checkout_options_init (tools__git2_api()->git_checkout_options_init)
#define git_checkout_tree (tools__git2_api()->git_checkout_tree)
#define git_clone (tools__git2_api()->git_clone)
#define git_clone_options_init (tools__git2_api()->git_clone_options_init)
#define git_commit_create (tools__git2_api()->git_commit_create)
#define git_commit_free (tools__git2_api()->git_commit_free)
#define git_commit_id (tools__git2_api()->git_commit_id)
#define git_commit_lookup (tools__git2_api()->git_commit_lookup)
#define git_commit_tree (tools__git2_api()->git_commit_tree)
#define git_diff_free (tools__git2_api()->git_diff_free)
#define git_diff_from_buffer (tools__git2_api()->git_diff_from_buffer)
#define git_diff_get_delta (tools__git2_api()->git_diff_get_delta)
#define git_diff_get_stats (tools__git2_api()->git_diff_get_stats)
#define git_diff_num_deltas (tools__git2_api()->git_diff_num_deltas)
#define git_diff_options_init (tools__git2_api()->git_diff_options_init)
#define git_diff_stats_free (tools__git2_api()->git_diff_stats_free)
#define git_diff_to_buf (tools__git2_api()->git_diff_to_buf)
#define git_diff_tree_to_tree (tools__git2_api()->git_diff_tree_to_tree)
#define git_error_last (tools__git2_api()->git_error_last)
#define git_ignore_add_rule (tools__git2_api()->git_ignore_add_rule)
#define git_ignore_path_is_ignored (tools__git2_api()->git_ignore_path_is_ignored)
#define git_index_add (tools__git2_api()->git_index_add)
#define git_index_add_all (tools__git2_api()->git_index_add_all)
#define git_index_entry_stage (tools__git2_api()->git_index_entry_stage)
#define git_index_entrycount (tools__git2_api()->git_index_entrycount)
#define git_index_free (tools__git2_api()->git_index_free)
#define git_index_get_byindex (tools__git2_api()->git_index_get_byindex)
#define git_index_get_bypath (tools__git2_api()->git_index_get_bypath)
#define git_index_open (tools__git2_api()->git_index_open)
#define git_index_read (tools__git2_api()->git_index_read)
#define git_index_remove (tools__git2_api()->git_index_remove)
#define git_index_update_all (tools__git2_api()->git_index_update_all)
#define git_index_write (tools__git2_api()->git_index_write)
#define git_index_write_tree (tools__git2_api()->git_index_write_tree)
#define git_index_write_tree_to (tools__git2_api()->git_index_write_tree_to)
#define git_libgit2_features (tools__git2_api()->git_libgit2_features)
#define git_libgit2_init (tools__git2_api()->git_libgit2_init)
#define git_libgit2_opts (tools__git2_api()->git_libgit2_opts)
#define git_libgit2_shutdown (tools__git2_api()->git_libgit2_shutdown)
#define git_libgit2_version (tools__git2_api()->git_libgit2_version)
#define git_object_free (tools__git2_api()->git_object_free)
#define git_object_id (tools__git2_api()->git_object_id)
#define git_object_peel (tools__git2_api()->git_object_peel)
#define git_odb_hash (tools__git2_api()->git_odb_hash)
#define git_oid_cmp (tools__git2_api()->git_oid_cmp)
#define git_oid_fromstr (tools__git2_api()->git_oid_fromstr)
#define git_oid_tostr (tools__git2_api()->git_oid_tostr)
#define git_patch_free (tools__git2_api()->git_patch_free)
#define git_patch_from_diff (tools__git2_api()->git_patch_from_diff)
#define git_patch_num_hunks (tools__git2_api()->git_patch_num_hunks)
#define git_reference_free (tools__git2_api()->git_reference_free)
#define git_reference_name_is_valid (tools__git2_api()->git_reference_name_is_valid)
#define git_repository_commondir (tools__git2_api()->git_repository_commondir)
#define git_repository_free (tools__git2_api()->git_repository_free)
#define git_repository_hashfile (tools__git2_api()->git_repository_hashfile)
#define git_repository_index (tools__git2_api()->git_repository_index)
#define git_repository_open_ext (tools__git2_api()->git_repository_open_ext)
#define git_repository_path (tools__git2_api()->git_repository_path)
#define git_repository_set_index (tools__git2_api()->git_repository_set_index)
#define git_repository_set_head (tools__git2_api()->git_repository_set_head)
#define git_repository_set_head_detached (tools__git2_api()->git_repository_set_head_detached)
#define git_repository_workdir (tools__git2_api()->git_repository_workdir)
#define git_reset (tools__git2_api()->git_reset)
#define git_revparse_single (tools__git2_api()->git_revparse_single)
#define git_signature_default (tools__git2_api()->git_signature_default)
#define git_signature_free (tools__git2_api()->git_signature_free)
#define git_signature_now (tools__git2_api()->git_signature_now)
#define git_status_byindex (tools__git2_api()->git_status_byindex)
#define git_status_list_entrycount (tools__git2_api()->git_status_list_entrycount)
#define git_status_list_free (tools__git2_api()->git_status_list_free)
#define git_status_list_new (tools__git2_api()->git_status_list_new)
#define git_status_options_init (tools__git2_api()->git_status_options_init)
#define git_tree_entry_bypath (tools__git2_api()->git_tree_entry_bypath)
#define git_tree_entry_filemode (tools__git2_api()->git_tree_entry_filemode)
#define git_tree_entry_free (tools__git2_api()->git_tree_entry_free)
#define git_tree_entry_id (tools__git2_api()->git_tree_entry_id)
#define git_tree_free (tools__git2_api()->git_tree_free)
#define git_tree_id (tools__git2_api()->git_tree_id)
#define git_tree_lookup (tools__git2_api()->git_tree_lookup)
/* clang-format on */
#endif

#endif
