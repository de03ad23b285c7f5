/* Git through libgit2: the final patch, strict and fuzzy apply, commit,
 * reset, isolated copies, status, and the status/diff/submit tools. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

TestSuite(git, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

/* Output of a shell command run in dir, trailing whitespace removed. */
static char *sh_out(const char *dir, const char *cmd)
{
	pl_buf out = PL_BUF_INIT;
	char *s;

	pl_path_join(&out, fx_root.ptr, "..out");
	cr_assert_eq(fx_sh(dir, "{ %s; } > '%s'", cmd, out.ptr), 0, "%s failed", cmd);
	cr_assert_not_null(s = fx_read("..out", NULL));
	pl_buf_release(&out);
	{
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
			s[--n] = 0;
	}
	return s;
}

static void make_base_repo(void)
{
	static const char bin[] = { 0x7f, 'E', 'L', 'F', 0, 1, 2, 3, 0, (char)0xff };
	const char crlf[] = "first\r\nsecond\r\nthird\r\n";
	const char lat1[] = "nom = 'caf\xE9'\nx = 1\n";

	fx_puts("repo/a.txt", "alpha\nbeta\ngamma\n");
	fx_puts("repo/src/b.py", "def f(x):\n    return x\n");
	fx_puts("repo/del.txt", "to be deleted\n");
	fx_write("repo/bin.dat", bin, sizeof(bin));
	fx_write("repo/crlf.txt", crlf, strlen(crlf));
	fx_write("repo/lat1.py", lat1, strlen(lat1));
	fx_puts("repo/.gitignore", "*.log\n");
	fx_puts("repo/run.sh", "#!/bin/sh\necho hi\n");
	cr_assert_eq(fx_sh(NULL, "cd repo && ln -s a.txt link && git init -q && git add -A && "
				 "git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub && "
				 "git commit -qm base"),
		     0);
}

Test(git, patch_after_edits_applies_to_fresh_checkout_and_reproduces_tree)
{
	tools_ctx *c = NULL;
	tools_obs o;
	pl_buf repo = PL_BUF_INIT, copy = PL_BUF_INIT, patch = PL_BUF_INIT, pfile = PL_BUF_INIT;
	char tree[41] = "", base[41];
	pl_err err = { 0 };
	static const char bin2[] = { 0, 1, 2, 3, 4, (char)0x80, (char)0xfe };
	char *s;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	s = sh_out(repo.ptr, "git rev-parse HEAD");
	strcpy(base, s);
	free(s);
	/* edits through the tools and behind their back */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"src/b.py\",\"old_str\":\"return x\",\"new_str\":\"return x + 1\"}"), 0);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "create", "{\"path\":\"new/dir/n.py\",\"file_text\":\"print('new')\\n\"}"), 0);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"crlf.txt\",\"old_str\":\"second\",\"new_str\":\"2nd\\nand more\"}"), 0);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"lat1.py\",\"old_str\":\"x = 1\",\"new_str\":\"x = 2\"}"), 0);
	tools_obs_release(&o);
	fx_write("repo/bin.dat", bin2, sizeof(bin2));
	fx_write("repo/new.bin", bin2, sizeof(bin2));
	fx_puts("repo/debug.log", "ignored\n");
	cr_assert_eq(fx_sh(repo.ptr, "rm del.txt && chmod +x a.txt && ln -s src/b.py link2"), 0);

	cr_assert_eq(tools_git_patch(&patch, tree, repo.ptr, NULL, &err), 0, "%s", err.msg);
	cr_assert(strstr(patch.ptr, "new file mode 100644\n"), "%s", patch.ptr);
	cr_assert(strstr(patch.ptr, "deleted file mode 100644\n"), "%s", patch.ptr);
	cr_assert(strstr(patch.ptr, "GIT binary patch"), "%s", patch.ptr);
	cr_assert(strstr(patch.ptr, "old mode 100644\nnew mode 100755\n"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, "debug.log"));
	cr_assert_null(strstr(patch.ptr, " b/sub"), "%s", patch.ptr);
	/* the repository's index was not touched */
	cr_assert_eq(fx_sh(repo.ptr, "git diff --cached --quiet"), 0);

	/* a fresh checkout of the base, git apply, same tree */
	pl_path_join(&copy, fx_root.ptr, "copy");
	cr_assert_eq(tools_git_checkout_copy(repo.ptr, base, copy.ptr, &err), 0, "%s", err.msg);
	pl_path_join(&pfile, fx_root.ptr, "p.diff");
	cr_assert_eq(pl_file_write_atomic(pfile.ptr, patch.ptr, patch.len, 0644, NULL), 0);
	cr_assert_eq(fx_sh(copy.ptr, "git apply --binary '%s'", pfile.ptr), 0, "git apply refused the patch:\n%s", patch.ptr);
	cr_assert_eq(fx_sh(copy.ptr, "git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub"), 0);
	s = sh_out(copy.ptr, "git add -A && git write-tree");
	cr_assert_str_eq(s, tree);
	free(s);
	/* and the bytes are the same (CRLF, Latin-1, binary) */
	cr_assert_eq(fx_sh(NULL, "cmp repo/crlf.txt copy/crlf.txt && cmp repo/lat1.py copy/lat1.py && cmp repo/bin.dat copy/bin.dat"), 0);

	/* the submit tool hands back the same patch and ends the run */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "submit", "{}"), 0);
	cr_assert(o.finished);
	cr_assert_eq(json_string_length(json_object_get(o.data, "patch")), patch.len);
	cr_assert_eq(memcmp(json_string_value(json_object_get(o.data, "patch")), patch.ptr, patch.len), 0);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "status", "{}"), 0);
	cr_assert(strstr(o.text.ptr, "deleted    del.txt\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "new        new/dir/n.py\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "modified   src/b.py\n"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "debug.log"));
	tools_obs_release(&o);
	tools_ctx_free(c);

	/* strict apply of the same patch with libgit2 in another copy */
	{
		pl_buf copy2 = PL_BUF_INIT;
		tools_apply_result r;
		pl_path_join(&copy2, fx_root.ptr, "copy2");
		cr_assert_eq(tools_git_checkout_copy(repo.ptr, base, copy2.ptr, &err), 0, "%s", err.msg);
		cr_assert_eq(tools_git_apply(&r, copy2.ptr, patch.ptr, patch.len, 2, &err), 0, "%s", err.msg);
		cr_assert(r.strict);
		cr_assert_eq(fx_sh(NULL, "cmp repo/bin.dat copy2/bin.dat && cmp repo/new.bin copy2/new.bin && test ! -e copy2/del.txt"), 0);
		tools_apply_result_release(&r);
		pl_buf_release(&copy2);
	}
	pl_buf_release(&repo);
	pl_buf_release(&copy);
	pl_buf_release(&patch);
	pl_buf_release(&pfile);
}

static char *numbered(int from, int to, const char *prefix)
{
	pl_buf b = PL_BUF_INIT;
	int i;

	pl_buf_puts(&b, prefix);
	for (i = from; i <= to; i++)
		pl_buf_printf(&b, "line %d\n", i);
	return pl_buf_detach(&b, NULL);
}

Test(git, fuzzy_apply_finds_moved_hunks_and_tolerates_fuzz)
{
	char *orig = numbered(1, 40, ""), *moved = numbered(1, 40, "added 1\nadded 2\nadded 3\n");
	const char *patch = "--- a/f.txt\n+++ b/f.txt\n"
			    "@@ -9,7 +9,7 @@\n line 9\n line 10\n line 11\n-line 12\n+LINE TWELVE\n line 13\n line 14\n CHANGED 15\n"
			    "@@ -30,3 +30,4 @@\n line 30\n+inserted\n line 31\n line 32\n";
	tools_apply_result r;
	pl_err err = { 0 };
	char *got;

	fx_puts("f.txt", moved);
	cr_assert_eq(tools_git_apply(&r, fx_root.ptr, patch, strlen(patch), 0, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "'f.txt': hunk 1 (patch line 3, @@ -9,7) matches nowhere in the file, even with fuzz 0"),
		  "%s", err.msg);
	tools_apply_result_release(&r);
	got = fx_read("f.txt", NULL);
	cr_assert_str_eq(got, moved);
	free(got);
	cr_assert_eq(tools_git_apply(&r, fx_root.ptr, patch, strlen(patch), 1, &err), 0, "%s", err.msg);
	cr_assert_not(r.strict);
	cr_assert_eq(r.hunks, 2);
	cr_assert_eq(r.fuzzed_hunks, 2, "%s", r.log.ptr);
	cr_assert(strstr(r.log.ptr, "hunk 1 (patch line 3) applied at line 12 (offset 3, fuzz 1)"), "%s", r.log.ptr);
	tools_apply_result_release(&r);
	got = fx_read("f.txt", NULL);
	cr_assert(strstr(got, "added 3\nline 1\n"));
	cr_assert(strstr(got, "line 11\nLINE TWELVE\nline 13\n"), "%s", got);
	cr_assert(strstr(got, "line 30\ninserted\nline 31\n"), "%s", got);
	free(got);
	free(orig);
	free(moved);
}

Test(git, fuzzy_apply_is_all_or_nothing_and_keeps_crlf)
{
	const char crlf[] = "a\r\nb\r\nc\r\n";
	const char *patch = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
			    "diff --git a/y.txt b/y.txt\n--- a/y.txt\n+++ b/y.txt\n@@ -1,2 +1,2 @@\n-nothing\n+like\n this\n";
	const char *good = "--- x.txt\n+++ x.txt\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n"
			   "--- /dev/null\n+++ b/made/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n\\ No newline at end of file\n";
	const char *bad_count = "--- a/x.txt\n+++ b/x.txt\n@@ -1,3 +1,3 @@\n a\n-b\n";
	tools_apply_result r;
	pl_err err = { 0 };
	char *got;
	size_t n;

	fx_write("x.txt", crlf, strlen(crlf));
	fx_puts("y.txt", "other\ncontent\n");
	cr_assert_lt(tools_git_apply(&r, fx_root.ptr, patch, strlen(patch), 2, &err), 0);
	cr_assert(strstr(err.msg, "'y.txt': hunk 1"), "%s", err.msg);
	tools_apply_result_release(&r);
	got = fx_read("x.txt", &n);
	cr_assert_eq(memcmp(got, crlf, n), 0, "x.txt changed although y.txt failed");
	free(got);
	cr_assert_eq(tools_git_apply(&r, fx_root.ptr, good, strlen(good), 0, &err), 0, "%s", err.msg);
	tools_apply_result_release(&r);
	got = fx_read("x.txt", &n);
	cr_assert_str_eq(got, "a\r\nB\r\nB2\r\nc\r\n");
	free(got);
	got = fx_read("made/new.txt", &n);
	cr_assert_str_eq(got, "one\ntwo");
	free(got);
	cr_assert_eq(tools_git_apply(&r, fx_root.ptr, bad_count, strlen(bad_count), 0, &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "hunk says 3 old and 3 new lines but has 2 and 1"), "%s", err.msg);
	tools_apply_result_release(&r);
	cr_assert_eq(tools_git_apply(&r, fx_root.ptr, "hello\n", 6, 0, &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "no file header"), "%s", err.msg);
	tools_apply_result_release(&r);
	cr_assert_eq(tools_git_apply(&r, fx_root.ptr, good, strlen(good), 7, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "fuzz must be between 0 and 3"), "%s", err.msg);
	tools_apply_result_release(&r);
}

Test(git, commit_on_branch_reset_and_errors)
{
	pl_buf repo = PL_BUF_INIT;
	char oid[41];
	pl_err err = { 0 };
	char *s;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	fx_puts("repo/a.txt", "changed\n");
	fx_puts("repo/fresh.txt", "fresh\n");
	cr_assert_eq(tools_git_commit(oid, repo.ptr, "plait/fix", "fix it", &err), 0, "%s", err.msg);
	s = sh_out(repo.ptr, "git rev-parse plait/fix");
	cr_assert_str_eq(s, oid);
	free(s);
	s = sh_out(repo.ptr, "git symbolic-ref HEAD; git status --porcelain --ignore-submodules");
	cr_assert_str_eq(s, "refs/heads/plait/fix");
	free(s);
	cr_assert_eq(tools_git_commit(oid, repo.ptr, "bad..name", "x", &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "'bad..name' is not a valid branch name");

	/* reset to the first commit: tracked changes and untracked files go, ignored stay */
	fx_puts("repo/a.txt", "dirty\n");
	fx_puts("repo/untracked/deep.txt", "x\n");
	fx_puts("repo/keep.log", "x\n");
	cr_assert_eq(tools_git_reset(repo.ptr, "HEAD~1", &err), 0, "%s", err.msg);
	s = fx_read("repo/a.txt", NULL);
	cr_assert_str_eq(s, "alpha\nbeta\ngamma\n");
	free(s);
	cr_assert_null(fx_read("repo/fresh.txt", NULL));
	cr_assert_null(fx_read("repo/untracked/deep.txt", NULL));
	s = fx_read("repo/keep.log", NULL);
	cr_assert_not_null(s);
	free(s);
	cr_assert_eq(tools_git_reset(repo.ptr, "nope", &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "'nope' is not a commit of this repository");
	cr_assert_lt(tools_git_reset(fx_root.ptr, NULL, &err), 0);
	cr_assert_lt(tools_git_checkout_copy(repo.ptr, "nope", "/nonexistent/dir/x", &err), 0);
	pl_buf_release(&repo);
}

Test(git, tools_without_a_repository_say_so)
{
	tools_ctx *c = fx_ctx();
	tools_obs o;

	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "diff", "{}"), PL_EUNSUPPORTED);
	cr_assert(strstr(o.text.ptr, "is not a git repository"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(git, clone_and_status)
{
	pl_buf repo = PL_BUF_INIT, dest = PL_BUF_INIT;
	json_t *st = NULL;
	pl_err err = { 0 };

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	pl_path_join(&dest, fx_root.ptr, "cl");
	cr_assert_eq(tools_git_clone(repo.ptr, dest.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(fx_sh(NULL, "cmp repo/a.txt cl/a.txt"), 0);
	fx_puts("cl/a.txt", "x\n");
	cr_assert_eq(tools_git_status(&st, dest.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(st), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(st, 0), "status")), "modified");
	json_decref(st);
	cr_assert_lt(tools_git_clone("/nonexistent/repo", dest.ptr, &err), 0);
	pl_buf_release(&repo);
	pl_buf_release(&dest);
}

/* Each git helper initialises libgit2 and shuts it down around what it
 * opened, so they work in any order, with or without a context holding
 * libgit2 open, and their errors carry libgit2's message (read before the
 * shutdown). */
Test(git, helpers_pair_libgit2_init_and_shutdown)
{
	pl_buf repo = PL_BUF_INIT, patch = PL_BUF_INIT;
	json_t *st = NULL;
	tools_ctx *c = NULL;
	tools_obs o;
	pl_err err = { 0 };
	int round;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	fx_puts("repo/a.txt", "changed\n");
	for (round = 0; round < 2; round++) {
		/* round 0 with a context holding libgit2 open, round 1 without */
		if (round == 0)
			cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
		cr_assert_eq(tools_git_status(&st, repo.ptr, &err), 0, "%s", err.msg);
		cr_assert_eq(json_array_size(st), 1);
		json_decref(st);
		st = NULL;
		pl_buf_reset(&patch);
		cr_assert_eq(tools_git_patch(&patch, NULL, repo.ptr, NULL, &err), 0, "%s", err.msg);
		cr_assert(strstr(patch.ptr, "+changed"), "%s", patch.ptr);
		cr_assert_lt(tools_git_status(&st, fx_root.ptr, &err), 0);
		cr_assert(strstr(err.msg, "could not find repository"), "%s", err.msg);
		cr_assert_lt(tools_git_patch(&patch, NULL, fx_root.ptr, NULL, &err), 0);
		cr_assert(strstr(err.msg, "could not find repository"), "%s", err.msg);
		if (c) {
			/* the context's repository still works after the helpers */
			tools_obs_init(&o);
			cr_assert_eq(fx_call(&o, c, "diff", "{}"), 0, "%s", o.text.ptr);
			cr_assert(strstr(o.text.ptr, "+changed"), "%s", o.text.ptr);
			tools_obs_release(&o);
			tools_ctx_free(c);
			c = NULL;
		}
	}
	pl_buf_release(&repo);
	pl_buf_release(&patch);
}

/* #12.9: after the agent commits, status compares with the base as diff
 * and submit do (it compared with HEAD and said "No changes" while the
 * patch held the commit). */
Test(git, status_diff_and_submit_agree_after_a_commit)
{
	pl_buf repo = PL_BUF_INIT;
	tools_ctx *c = NULL;
	tools_obs o;
	pl_err err = { 0 };

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	fx_puts("repo/a.txt", "alpha\nBETA\ngamma\n");
	cr_assert_eq(fx_sh(NULL, "cd repo && git add -A && git commit -qm 'agent commit'"), 0);
	o = fx_obs(c, "status", "{}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "modified   a.txt\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "has moved since the base commit"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "submit", "{}");
	cr_assert(o.finished);
	cr_assert(strstr(json_string_value(json_object_get(o.data, "patch")), "+BETA"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&repo);
}

/* #12.9: an empty patch is refused once with a warning; a second submit
 * hands it in; allow_empty_submit hands it in at once. */
Test(git, submit_refuses_an_empty_patch_once)
{
	pl_buf repo = PL_BUF_INIT;
	tools_ctx *c = NULL;
	tools_ctx_opts opts = { 0 };
	tools_obs o;
	pl_err err = { 0 };

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	o = fx_obs(c, "submit", "{}");
	cr_assert_not(o.finished);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "the patch is EMPTY"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "call submit again"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "submit", "{}");
	cr_assert(o.finished, "%s", o.text.ptr);
	cr_assert_not(o.is_error);
	tools_obs_release(&o);
	tools_ctx_free(c);
	opts.allow_empty_submit = true;
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, &opts, &err), 0, "%s", err.msg);
	o = fx_obs(c, "submit", "{}");
	cr_assert(o.finished, "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&repo);
}

/* #12.5: submit lists the files of this session that the patch leaves out
 * because git ignores them (an editor file, a command's file), and not
 * the ignored files that were there before. */
Test(git, submit_lists_what_it_left_out)
{
	pl_buf repo = PL_BUF_INIT;
	tools_ctx *c = NULL;
	tools_obs o;
	pl_err err = { 0 };
	const json_t *left;

	make_base_repo();
	fx_puts("repo/old.log", "from before\n");
	pl_path_join(&repo, fx_root.ptr, "repo");
	cr_assert_eq(fx_sh(NULL, "cd repo && echo build/ >> .gitignore && git add -A && git commit -qm ignore"), 0);
	/* file times have a coarse clock on some file systems: the files made
	 * before the context must be older than it */
	cr_assert_eq(fx_sh(NULL, "touch -d '2 minutes ago' repo/old.log"), 0);
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	o = fx_obs(c, "create", "{\"path\":\"build/fix.py\",\"file_text\":\"x = 1\\n\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	tools_obs_release(&o);
	fx_puts("repo/run.log", "from a command\n");
	fx_puts("repo/a.txt", "changed\n");
	o = fx_obs(c, "submit", "{}");
	cr_assert(o.finished, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "Left out of the patch because git ignores them"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "  build/\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "  run.log\n"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "old.log"), "%s", o.text.ptr);
	left = json_object_get(o.data, "left_out");
	cr_assert_eq(json_array_size(left), 2, "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&repo);
}

/* Python's byte-code caches, and what test runs, coverage, tox, an
 * editable install or npm leave behind, never belong in a patch, whatever
 * the repository's .gitignore says: a command in the sandbox writes
 * them.  A new source file beside them does belong. */
Test(git, bytecode_caches_stay_out_of_the_patch)
{
	pl_buf repo = PL_BUF_INIT, patch = PL_BUF_INIT;
	tools_ctx *c = NULL;
	tools_obs o;
	pl_err err = { 0 };
	json_t *st = NULL;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	fx_puts("repo/src/__pycache__/b.cpython-311.pyc", "\x01junk");
	fx_puts("repo/old.pyc", "junk");
	fx_puts("repo/.pytest_cache/v/cache/lastfailed", "{}");
	fx_puts("repo/.coverage", "\x01sqlite");
	fx_puts("repo/.coverage.host.1234.5678", "\x01sqlite");
	fx_puts("repo/htmlcov/index.html", "<html>");
	fx_puts("repo/.tox/py311/bin/python", "#!");
	fx_puts("repo/.hypothesis/examples/x", "x");
	fx_puts("repo/src/pkg.egg-info/PKG-INFO", "Name: pkg");
	fx_puts("repo/.eggs/README.txt", "eggs");
	fx_puts("repo/web/node_modules/left-pad/index.js", "module.exports = 1;");
	fx_puts("repo/src/coverage_report.py", "print('a real new file')\n");
	fx_puts("repo/a.txt", "alpha\nBETA\ngamma\n");
	cr_assert_eq(tools_git_patch(&patch, NULL, repo.ptr, NULL, &err), 0, "%s", err.msg);
	cr_assert(strstr(patch.ptr, "+BETA"), "%s", patch.ptr);
	cr_assert(strstr(patch.ptr, "src/coverage_report.py"), "a real new file is left out: %s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, "pyc"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, "pytest_cache"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, ".coverage"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, "htmlcov"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, ".tox"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, ".hypothesis"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, "egg"), "%s", patch.ptr);
	cr_assert_null(strstr(patch.ptr, "node_modules"), "%s", patch.ptr);
	cr_assert_eq(tools_git_status(&st, repo.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(st), 2, "status lists the caches");
	json_decref(st);
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	o = fx_obs(c, "status", "{}");
	cr_assert_null(strstr(o.text.ptr, "pyc"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&patch);
	pl_buf_release(&repo);
}

/* A snapshot of the working tree is a base like a commit: status, diff
 * and submit then show what changed since it, never what was there. */
Test(git, a_snapshot_is_a_base)
{
	pl_buf repo = PL_BUF_INIT;
	tools_ctx *c = NULL;
	tools_ctx_opts opts = { 0 };
	tools_obs o;
	pl_err err = { 0 };
	char snap[41] = "";
	const char *p;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	fx_puts("repo/a.txt", "alpha\nwork in progress\ngamma\n");
	fx_puts("repo/.env.local", "SECRET=1\n");
	cr_assert_eq(tools_git_snapshot(snap, repo.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(strlen(snap), 40);
	opts.base = snap;
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, &opts, &err), 0, "%s", err.msg);
	cr_assert_str_eq(tools_ctx_base(c), snap);
	o = fx_obs(c, "diff", "{}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "No changes against the base"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "has moved"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "str_replace", "{\"path\":\"src/b.py\",\"old_str\":\"return x\",\"new_str\":\"return x + 1\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "submit", "{}");
	cr_assert(o.finished, "%s", o.text.ptr);
	p = json_string_value(json_object_get(o.data, "patch"));
	cr_assert(strstr(p, "+    return x + 1"), "%s", p);
	cr_assert_null(strstr(p, "SECRET"), "%s", p);
	cr_assert_null(strstr(p, "work in progress"), "%s", p);
	tools_obs_release(&o);
	tools_ctx_free(c);
	/* a commit's base is its hex */
	cr_assert_eq(tools_ctx_new(&c, repo.ptr, NULL, &err), 0, "%s", err.msg);
	{
		char *head = sh_out(repo.ptr, "git rev-parse HEAD");

		cr_assert_str_eq(tools_ctx_base(c), head);
		free(head);
	}
	tools_ctx_free(c);
	cr_assert_lt(tools_git_snapshot(snap, fx_root.ptr, &err), 0);
	pl_buf_release(&repo);
}

/* Undoing through snapshots puts back only what changed between them, and
 * only while those files are as they were left: a person's edits and new
 * files elsewhere, HEAD and commits made since are never touched. */
Test(git, undo_between_snapshots_touches_only_what_changed)
{
	pl_buf repo = PL_BUF_INIT;
	pl_err err = { 0 };
	char s0[41], s1[41], s2[41], head[41];
	tools_snapshot_step steps[2];
	json_t *changed = NULL;
	char *t;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	cr_assert_eq(tools_git_snapshot(s0, repo.ptr, &err), 0, "%s", err.msg);
	/* "the agent": a.txt changed, new.txt made, del.txt deleted */
	fx_puts("repo/a.txt", "alpha\nBETA\ngamma\n");
	fx_puts("repo/dir/new.txt", "new\n");
	cr_assert_eq(fx_sh(NULL, "rm repo/del.txt && chmod +x repo/a.txt"), 0);
	cr_assert_eq(tools_git_snapshot(s1, repo.ptr, &err), 0, "%s", err.msg);
	/* "the person": another file, a new file, a commit */
	fx_puts("repo/src/b.py", "def f(x):\n    return 2 * x\n");
	fx_puts("repo/NOTES.md", "mine\n");
	cr_assert_eq(fx_sh(NULL, "cd repo && git add NOTES.md && git -c user.name=t -c user.email=t@t commit -qm notes"), 0);
	t = sh_out(repo.ptr, "git rev-parse HEAD");
	snprintf(head, sizeof(head), "%s", t);
	free(t);
	steps[0] = (tools_snapshot_step){ s1, s0 };
	cr_assert_eq(tools_git_undo(&changed, repo.ptr, steps, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(changed), 3, "changed %zu", json_array_size(changed));
	t = fx_read("repo/a.txt", NULL);
	cr_assert_str_eq(t, "alpha\nbeta\ngamma\n");
	free(t);
	cr_assert_eq(fx_sh(NULL, "test ! -x repo/a.txt && test ! -e repo/dir && test -f repo/del.txt"), 0);
	t = fx_read("repo/src/b.py", NULL);
	cr_assert_str_eq(t, "def f(x):\n    return 2 * x\n", "a person's edit was undone");
	free(t);
	t = fx_read("repo/NOTES.md", NULL);
	cr_assert_str_eq(t, "mine\n");
	free(t);
	t = sh_out(repo.ptr, "git rev-parse HEAD");
	cr_assert_str_eq(t, head, "HEAD moved");
	free(t);
	json_decref(changed);

	/* a file the agent changed that changed again since: nothing is done */
	fx_puts("repo/a.txt", "alpha\nBETA\ngamma\n");
	cr_assert_eq(tools_git_snapshot(s1, repo.ptr, &err), 0, "%s", err.msg);
	fx_puts("repo/c.txt", "agent\n");
	cr_assert_eq(tools_git_snapshot(s2, repo.ptr, &err), 0, "%s", err.msg);
	fx_puts("repo/a.txt", "alpha\nBETA\ngamma\nmore by hand\n");
	steps[0] = (tools_snapshot_step){ s2, s1 };
	steps[1] = (tools_snapshot_step){ s1, s0 };
	cr_assert_eq(tools_git_undo(NULL, repo.ptr, steps, 2, &err), PL_EEXISTS);
	cr_assert(strstr(err.msg, "'a.txt'"), "%s", err.msg);
	t = fx_read("repo/c.txt", NULL);
	cr_assert_str_eq(t, "agent\n", "a refused undo changed files");
	free(t);
	/* the first step alone is fine */
	cr_assert_eq(tools_git_undo(NULL, repo.ptr, steps, 1, &err), 0, "%s", err.msg);
	cr_assert_null(fx_read("repo/c.txt", NULL));
	cr_assert_lt(tools_git_undo(NULL, repo.ptr, (tools_snapshot_step[]){ { "nope", s0 } }, 1, &err), 0);
	pl_buf_release(&repo);
}

/* A patch committed as it is: a new branch, parent the given commit,
 * whose diff is the patch; HEAD, the index and the files are left alone. */
Test(git, commit_patch_commits_exactly_the_patch)
{
	pl_buf repo = PL_BUF_INIT, patch = PL_BUF_INIT;
	pl_err err = { 0 };
	char oid[41], snap[41];
	char *t, *head;

	make_base_repo();
	pl_path_join(&repo, fx_root.ptr, "repo");
	head = sh_out(repo.ptr, "git rev-parse HEAD");
	fx_puts("repo/.env.local", "SECRET=1\n");
	fx_puts("repo/a.txt", "alpha\nwip\ngamma\n");
	cr_assert_eq(tools_git_snapshot(snap, repo.ptr, &err), 0, "%s", err.msg);
	fx_puts("repo/src/b.py", "def f(x):\n    return x + 1\n");
	cr_assert_eq(tools_git_patch(&patch, NULL, repo.ptr, snap, &err), 0, "%s", err.msg);
	cr_assert(strstr(patch.ptr, "return x + 1") && !strstr(patch.ptr, "wip"), "%s", patch.ptr);
	cr_assert_eq(tools_git_commit_patch(oid, repo.ptr, NULL, patch.ptr, patch.len, "plait/fix-1", "fix it", &err), 0,
		     "%s", err.msg);
	t = sh_out(repo.ptr, "git rev-parse plait/fix-1");
	cr_assert_str_eq(t, oid);
	free(t);
	t = sh_out(repo.ptr, "git rev-parse plait/fix-1~1");
	cr_assert_str_eq(t, head);
	free(t);
	t = sh_out(repo.ptr, "git diff --name-only HEAD plait/fix-1");
	cr_assert_str_eq(t, "src/b.py");
	free(t);
	t = sh_out(repo.ptr, "git rev-parse HEAD; git status --porcelain --ignore-submodules | sort | tr '\\n' ' '");
	cr_assert(!strncmp(t, head, 40) && strstr(t, " M a.txt") && strstr(t, " M src/b.py") && strstr(t, "?? .env.local"),
		  "%s", t);
	free(t);
	cr_assert_eq(tools_git_commit_patch(oid, repo.ptr, NULL, patch.ptr, patch.len, "plait/fix-1", "again", &err),
		     PL_EEXISTS);
	cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);
	/* a patch that does not apply to the parent: no branch */
	pl_buf_reset(&patch);
	cr_assert_eq(tools_git_patch(&patch, NULL, repo.ptr, snap, &err), 0);
	fx_puts("repo/a.txt", "alpha\nwip\ngamma\nmore\n");
	pl_buf_reset(&patch);
	cr_assert_eq(tools_git_patch(&patch, NULL, repo.ptr, snap, &err), 0);
	cr_assert_lt(tools_git_commit_patch(oid, repo.ptr, NULL, patch.ptr, patch.len, "plait/fix-2", "x", &err), 0);
	cr_assert(strstr(err.msg, "does not apply"), "%s", err.msg);
	cr_assert_neq(fx_sh(NULL, "cd repo && git rev-parse -q --verify plait/fix-2 >/dev/null"), 0);
	free(head);
	pl_buf_release(&patch);
	pl_buf_release(&repo);
}
