/* What the tools read and write stays beneath the repository root: no
 * symlink in any component leads out, a FIFO or a device never blocks a
 * tool, a planted .git never makes plait read a foreign repository. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fixture.h"
#include "tools/internal.h"

/* What a test makes beside the fixture (outside the repository), removed
 * even when the test fails. */
static void beneath_fini(void)
{
	static const char *const beside[] = { ".outside", ".foreign", ".wt" };

	for (size_t i = 0; i < PL_ARRAY_LEN(beside); i++) {
		pl_buf p = PL_BUF_INIT;

		pl_buf_printf(&p, "%s%s", fx_root.ptr, beside[i]);
		pl_rm_rf(p.ptr, NULL);
		pl_buf_release(&p);
	}
	fx_teardown();
}

/* The deadlines: a tool that blocks (a FIFO's open) fails its test at the
 * suite's timeout instead of hanging the run. */
TestSuite(beneath, .init = fx_setup, .fini = beneath_fini, .timeout = 30);

/* A directory outside the repository, holding what must never be read
 * (the patterns asked for never spell it as the file does, so that an
 * echo of the call is not taken for a leak). */
static pl_buf outside = PL_BUF_INIT;

static void make_outside(void)
{
	pl_buf p = PL_BUF_INIT;

	pl_buf_release(&outside);
	pl_buf_printf(&outside, "%s.outside", fx_root.ptr);
	cr_assert_eq(pl_mkdir_p(outside.ptr, 0755, NULL), 0);
	pl_path_join(&p, outside.ptr, "secret.py");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "def stolen_secret():\n    return 'SECRETNEEDLE'\n", 46, 0644, NULL), 0);
	pl_buf_release(&p);
}

static void drop_outside(void)
{
	pl_rm_rf(outside.ptr, NULL);
	pl_buf_release(&outside);
}

static void refute_secret(const tools_obs *o, const char *what)
{
	cr_assert_null(strstr(o->text.ptr, "SECRETNEEDLE"), "%s read outside the repository: %s", what, o->text.ptr);
	cr_assert_null(strstr(o->text.ptr, "def stolen_secret"), "%s read outside the repository: %s", what, o->text.ptr);
}

/* A tracked directory swapped for a symlink to a directory outside: the
 * index still names d/secret.py, and every reader opens it by that name. */
Test(beneath, readers_never_follow_a_symlinked_directory)
{
	static const char *const calls[][2] = {
		{ "search", "{\"pattern\":\"SECRET.?NEEDLE\"}" },
		{ "search", "{\"pattern\":\"SECRET.?NEEDLE\",\"path\":\"d/secret.py\"}" },
		{ "definition", "{\"symbol\":\"stolen_secret\"}" },
		{ "references", "{\"symbol\":\"stolen_secret\"}" },
		{ "outline", "{\"path\":\".\"}" },
		{ "outline", "{\"path\":\"d/secret.py\"}" },
		{ "repo_map", "{}" },
		{ "view", "{\"path\":\"d/secret.py\"}" },
		{ "view", "{\"path\":\"d\"}" },
	};
	tools_ctx *c;

	make_outside();
	fx_puts("a.py", "def inside():\n    return stolen_secret()\n");
	fx_puts("d/secret.py", "def decoy():\n    pass\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "rm -rf d && ln -s '%s' d", outside.ptr), 0);
	c = fx_ctx();
	for (size_t i = 0; i < PL_ARRAY_LEN(calls); i++) {
		tools_obs o = fx_obs(c, calls[i][0], calls[i][1]);
		refute_secret(&o, calls[i][0]);
		tools_obs_release(&o);
	}
	/* the repository's own files are still found */
	{
		tools_obs o = fx_obs(c, "definition", "{\"symbol\":\"inside\"}");
		cr_assert(strstr(o.text.ptr, "a.py"), "%s", o.text.ptr);
		tools_obs_release(&o);
	}
	tools_ctx_free(c);
	drop_outside();
}

/* A FIFO where a file was (tracked, so the index names it), one that git
 * does not know, and one a call names: no tool blocks opening them (the
 * suite's timeout is the deadline), the named one is refused with a
 * message, and the rest of the repository is still read. */
Test(beneath, fifos_never_block_a_tool)
{
	static const char *const calls[][2] = {
		{ "search", "{\"pattern\":\"zzz\"}" },
		{ "find", "{\"pattern\":\"*.py\"}" },
		{ "outline", "{\"path\":\".\"}" },
		{ "definition", "{\"symbol\":\"kept\"}" },
		{ "references", "{\"symbol\":\"kept\"}" },
		{ "repo_map", "{}" },
		{ "view", "{\"path\":\".\"}" },
	};
	static const char *const named[][2] = {
		{ "view", "{\"path\":\"pipe.py\"}" },
		{ "outline", "{\"path\":\"pipe.py\"}" },
		{ "search", "{\"pattern\":\"zzz\",\"path\":\"pipe.py\"}" },
		{ "str_replace", "{\"path\":\"pipe.py\",\"old_str\":\"a\",\"new_str\":\"b\"}" },
		{ "insert", "{\"path\":\"pipe.py\",\"insert_line\":0,\"new_str\":\"b\"}" },
		{ "create", "{\"path\":\"pipe.py\",\"file_text\":\"b\\n\",\"overwrite\":true}" },
	};
	tools_ctx *c;

	fx_puts("a.py", "def kept():\n    return 1  # zzz\n");
	fx_puts("pipe.py", "def gone():\n    pass\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "rm pipe.py && mkfifo pipe.py && mkfifo other.py && mkfifo untracked.txt"), 0);
	c = fx_ctx();
	for (size_t i = 0; i < PL_ARRAY_LEN(calls); i++) {
		tools_obs o = fx_obs(c, calls[i][0], calls[i][1]);
		cr_assert_not(o.is_error, "%s: %s", calls[i][0], o.text.ptr);
		if (strcmp(calls[i][0], "find") && strcmp(calls[i][0], "view"))
			cr_assert(strstr(o.text.ptr, "a.py"), "%s: %s", calls[i][0], o.text.ptr);
		tools_obs_release(&o);
	}
	for (size_t i = 0; i < PL_ARRAY_LEN(named); i++) {
		tools_obs o;

		tools_obs_init(&o);
		cr_assert_lt(fx_call(&o, c, named[i][0], named[i][1]), 0, "%s on a FIFO: %s", named[i][0], o.text.ptr);
		cr_assert(strstr(o.text.ptr, "not a regular file"), "%s: %s", named[i][0], o.text.ptr);
		tools_obs_release(&o);
	}
	/* nothing replaced the FIFO */
	cr_assert_eq(fx_sh(NULL, "test -p pipe.py"), 0);
	tools_ctx_free(c);
}

/* The editor resolves a path once, then reads and writes through the
 * directory it opened: the swap of a component for a symlink between
 * the check and the write (what a sandboxed process can do at any time)
 * is played here between tools__place_open and tools__write_at. */
Test(beneath, an_edit_writes_where_it_was_resolved)
{
	tools__place pl;
	tools_ctx *c;
	pl_err err = { 0 };
	char *got;

	make_outside();
	fx_puts("d/f.txt", "old\n");
	c = fx_ctx();
	cr_assert_eq(tools__place_open(&pl, c, "d/f.txt", false, &err), 0, "%s", err.msg);
	cr_assert_geq(pl.dirfd, 0);
	cr_assert_str_eq(pl.name.ptr, "f.txt");
	cr_assert_eq(fx_sh(NULL, "mv d d.moved && ln -s '%s' d", outside.ptr), 0);
	cr_assert_eq(tools__write_at(pl.dirfd, pl.name.ptr, "new\n", 4, 0644, &err), 0, "%s", err.msg);
	tools__place_close(&pl);
	got = fx_read("d.moved/f.txt", NULL);
	cr_assert_str_eq(got, "new\n");
	free(got);
	cr_assert_eq(fx_sh(NULL, "test ! -e '%s/f.txt'", outside.ptr), 0, "the write followed the swapped-in symlink");
	/* and once swapped, the next resolution refuses it */
	cr_assert_lt(tools__place_open(&pl, c, "d/f.txt", false, &err), 0);
	cr_assert(strstr(err.msg, "through a symlink"), "%s", err.msg);
	tools_ctx_free(c);
	drop_outside();
}

/* Planted symlinks on the way of every editing tool: to a directory
 * outside, dangling to a place outside (absolute and relative), and a
 * link inside the repository, which keeps working. */
Test(beneath, the_editor_never_writes_through_a_symlink_out)
{
	static const char *const bad[][2] = {
		{ "create", "{\"path\":\"out/new.py\",\"file_text\":\"x = 1\\n\"}" },
		{ "create", "{\"path\":\"out/secret.py\",\"file_text\":\"x = 1\\n\",\"overwrite\":true}" },
		{ "str_replace", "{\"path\":\"out/secret.py\",\"old_str\":\"SECRETNEEDLE\",\"new_str\":\"x\"}" },
		{ "insert", "{\"path\":\"out/secret.py\",\"insert_line\":0,\"new_str\":\"x = 1\"}" },
		{ "view", "{\"path\":\"out/secret.py\"}" },
		{ "create", "{\"path\":\"dangling/new.py\",\"file_text\":\"x = 1\\n\"}" },
		{ "create", "{\"path\":\"dangling/deeper/new.py\",\"file_text\":\"x = 1\\n\"}" },
		{ "create", "{\"path\":\"rel/new.py\",\"file_text\":\"x = 1\\n\"}" },
		{ "create", "{\"path\":\"rel/deeper/new.py\",\"file_text\":\"x = 1\\n\"}" },
	};
	tools_ctx *c;
	tools_obs o;
	char *got;

	make_outside();
	fx_puts("real/kept.txt", "kept\n");
	cr_assert_eq(fx_sh(NULL,
			   "ln -s '%s' out && ln -s '%s/newdir' dangling && ln -s '../%s/newdir' rel && ln -s real inside",
			   outside.ptr, outside.ptr, strrchr(outside.ptr, '/') + 1),
		     0);
	c = fx_ctx();
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		tools_obs_init(&o);
		cr_assert_lt(fx_call(&o, c, bad[i][0], bad[i][1]), 0, "%s %s was allowed: %s", bad[i][0], bad[i][1],
			     o.text.ptr);
		cr_assert(strstr(o.text.ptr, "outside the repository"), "%s %s: %s", bad[i][0], bad[i][1], o.text.ptr);
		refute_secret(&o, bad[i][0]);
		tools_obs_release(&o);
	}
	cr_assert_eq(fx_sh(NULL, "test ! -e '%s/new.py' && test ! -e '%s/newdir' && grep -q SECRETNEEDLE '%s/secret.py'",
			   outside.ptr, outside.ptr, outside.ptr),
		     0, "something was written outside the repository");
	/* a link that stays inside: edits land in its target */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "create", "{\"path\":\"inside/sub/new.txt\",\"file_text\":\"n\\n\"}"), 0, "%s",
		     o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"inside/kept.txt\",\"old_str\":\"kept\",\"new_str\":\"k2\"}"),
		     0, "%s", o.text.ptr);
	tools_obs_release(&o);
	got = fx_read("real/sub/new.txt", NULL);
	cr_assert_str_eq(got, "n\n");
	free(got);
	got = fx_read("real/kept.txt", NULL);
	cr_assert_str_eq(got, "k2\n");
	free(got);
	cr_assert_eq(fx_sh(NULL, "test -L inside"), 0);
	tools_ctx_free(c);
	drop_outside();
}

/* A repository whose .git a sandboxed process replaced: a gitfile or a
 * symlink naming a foreign repository is refused by the context and by
 * the git functions that open a path, with a message; a linked worktree
 * git itself made (it names this root back) is still opened. */
Test(beneath, a_planted_git_directory_is_refused)
{
	pl_buf foreign = PL_BUF_INIT, wt = PL_BUF_INIT;
	tools_ctx *c = NULL;
	json_t *st = NULL;
	pl_err err = { 0 };

	pl_buf_printf(&foreign, "%s.foreign", fx_root.ptr);
	cr_assert_eq(pl_mkdir_p(foreign.ptr, 0755, NULL), 0);
	cr_assert_eq(fx_sh(foreign.ptr, "git init -q && echo SECRETNEEDLE > s.txt && git add -A && git commit -qm s"), 0);
	fx_puts("a.txt", "a\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "rm -rf .git && printf 'gitdir: %s/.git\\n' > .git", foreign.ptr), 0);
	cr_assert_lt(tools_ctx_new(&c, fx_root.ptr, NULL, &err), 0, "a gitfile naming a foreign repository was opened");
	cr_assert(strstr(err.msg, "outside the repository"), "%s", err.msg);
	cr_assert_lt(tools_git_status(&st, fx_root.ptr, &err), 0);
	cr_assert(strstr(err.msg, "outside the repository"), "%s", err.msg);
	cr_assert_eq(fx_sh(NULL, "rm .git && ln -s '%s/.git' .git", foreign.ptr), 0);
	cr_assert_lt(tools_ctx_new(&c, fx_root.ptr, NULL, &err), 0, "a .git symlink to a foreign repository was opened");
	cr_assert(strstr(err.msg, "outside the repository"), "%s", err.msg);
	/* a worktree of it, made by git, is the foreign repository's own */
	pl_buf_printf(&wt, "%s.wt", fx_root.ptr);
	cr_assert_eq(fx_sh(foreign.ptr, "git worktree add -q '%s'", wt.ptr), 0);
	cr_assert_eq(tools_ctx_new(&c, wt.ptr, NULL, &err), 0, "%s", err.msg);
	cr_assert_str_neq(tools_ctx_base(c), "");
	tools_ctx_free(c);
	cr_assert_eq(tools_git_status(&st, wt.ptr, &err), 0, "%s", err.msg);
	json_decref(st);
	pl_rm_rf(wt.ptr, NULL);
	pl_rm_rf(foreign.ptr, NULL);
	pl_buf_release(&wt);
	pl_buf_release(&foreign);
}

/* repo_map's cache lives in the git directory: a symlink planted at its
 * place (the directory, or the file) is never written through. */
Test(beneath, the_cache_is_never_written_through_a_symlink)
{
	tools_ctx *c;
	tools_obs o;

	make_outside();
	fx_puts("a.py", "def f():\n    return 1\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "ln -s '%s' .git/plait-cache", outside.ptr), 0);
	c = fx_ctx();
	o = fx_obs(c, "repo_map", "{}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "a.py"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	cr_assert_eq(fx_sh(NULL, "test ! -e '%s/repo-map.bin' && test -L .git/plait-cache", outside.ptr), 0,
		     "the cache was written through a symlinked directory");
	/* the file itself a symlink: replaced, its target untouched */
	cr_assert_eq(fx_sh(NULL, "rm .git/plait-cache && mkdir .git/plait-cache && ln -s '%s/secret.py' "
				 ".git/plait-cache/repo-map.bin",
			   outside.ptr),
		     0);
	c = fx_ctx();
	o = fx_obs(c, "repo_map", "{}");
	cr_assert(strstr(o.text.ptr, "a.py"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	cr_assert_eq(fx_sh(NULL, "grep -q SECRETNEEDLE '%s/secret.py' && test -f .git/plait-cache/repo-map.bin && "
				 "test ! -L .git/plait-cache/repo-map.bin",
			   outside.ptr),
		     0);
	drop_outside();
}

/* tools_git_apply's own applier (used when libgit2's strict one refuses)
 * wrote each file of a patch by root + its path: `..`, a symlinked
 * directory on the way and the git directory are refused, nothing is
 * written outside the root nor into .git. */
Test(beneath, a_patch_never_writes_outside_the_root)
{
	pl_buf up = PL_BUF_INIT;
	const char *const bad[] = {
		NULL, /* ../<outside>/new.txt, made below */
		"--- /dev/null\n+++ b/d/new.txt\n@@ -0,0 +1 @@\n+x\n",
		"--- a/d/secret.py\n+++ b/d/secret.py\n@@ -1,2 +1,2 @@\n-def stolen_secret():\n+def x():\n"
		"     return 'SECRETNEEDLE'\n",
		"--- a/d/secret.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-def stolen_secret():\n-    return 'SECRETNEEDLE'\n",
		"--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+x\n",
		"--- /dev/null\n+++ b/sub/.GIT/config\n@@ -0,0 +1 @@\n+x\n",
	};
	tools_apply_result r;
	pl_err err = { 0 };
	char *got;

	make_outside();
	pl_buf_printf(&up, "--- /dev/null\n+++ b/../%s/new.txt\n@@ -0,0 +1 @@\n+x\n", strrchr(outside.ptr, '/') + 1);
	fx_puts("a.txt", "a\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "ln -s '%s' d", outside.ptr), 0);
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		const char *p = bad[i] ? bad[i] : up.ptr;

		cr_assert_lt(tools_git_apply(&r, fx_root.ptr, p, strlen(p), 0, &err), 0, "applied: %s", p);
		tools_apply_result_release(&r);
	}
	cr_assert_eq(fx_sh(NULL, "test ! -e '%s/new.txt' && grep -q stolen_secret '%s/secret.py' && test ! -e "
				 ".git/hooks/post-checkout && test ! -e sub",
			   outside.ptr, outside.ptr),
		     0, "a patch wrote outside the repository or into .git");
	/* the repository's own files still take patches */
	{
		const char *ok = "--- /dev/null\n+++ b/n/new.txt\n@@ -0,0 +1 @@\n+n\n";
		cr_assert_eq(tools_git_apply(&r, fx_root.ptr, ok, strlen(ok), 0, &err), 0, "%s", err.msg);
		tools_apply_result_release(&r);
		got = fx_read("n/new.txt", NULL);
		cr_assert_str_eq(got, "n\n");
		free(got);
	}
	pl_buf_release(&up);
	drop_outside();
}

/* tools_git_undo (plait chat's /undo) restores files by their paths in
 * two snapshots: a directory swapped for a symlink since (by a command
 * in the sandbox) must not carry the restore outside the repository,
 * even when the file there holds what the snapshot expects. */
Test(beneath, undo_never_restores_through_a_symlink)
{
	char s0[41], s1[41];
	pl_err err = { 0 };
	tools_snapshot_step step;
	pl_buf p = PL_BUF_INIT;
	int rc;

	make_outside();
	pl_path_join(&p, outside.ptr, "x.txt");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "changed\n", 8, 0644, NULL), 0);
	fx_puts("d/x.txt", "orig\n");
	fx_puts("d/gone.txt", "gone\n");
	fx_git_commit_all("init");
	cr_assert_eq(tools_git_snapshot(s0, fx_root.ptr, &err), 0, "%s", err.msg);
	fx_puts("d/x.txt", "changed\n");
	cr_assert_eq(tools_git_snapshot(s1, fx_root.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(fx_sh(NULL, "mv d d.moved && ln -s '%s' d", outside.ptr), 0);
	step = (tools_snapshot_step){ s1, s0 };
	rc = tools_git_undo(NULL, fx_root.ptr, &step, 1, &err);
	{
		pl_buf b = PL_BUF_INIT;
		cr_assert_eq(pl_file_read(&b, p.ptr, 0, NULL), 0);
		cr_assert_str_eq(b.ptr, "changed\n", "undo wrote outside the repository (rc %d: %s)", rc, err.msg);
		pl_buf_release(&b);
	}
	cr_assert_eq(fx_sh(NULL, "test ! -e '%s/gone.txt'", outside.ptr), 0);
	pl_buf_release(&p);
	drop_outside();
}

/* Kernels before 5.6 (and seccomp filters such as the sandbox's) answer
 * openat2 with ENOSYS: the walk one component at a time with O_NOFOLLOW
 * takes over, and follows no symlink at all.  A seccomp filter plays the
 * old kernel here (Criterion runs each test in a process of its own). */
static void refuse_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { PL_ARRAY_LEN(f), f };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	cr_assert_eq(syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0), -1);
	cr_assert_eq(errno, ENOSYS);
}

Test(beneath, without_openat2_no_symlink_is_followed)
{
	tools_ctx *c;
	tools_obs o;
	int fd;
	char *got;

	make_outside();
	fx_puts("a.py", "def inside():\n    return stolen_secret()\n");
	fx_puts("d/secret.py", "def decoy():\n    pass\n");
	fx_puts("real/kept.txt", "kept\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "rm -rf d && ln -s '%s' d && ln -s real inside && mkfifo pipe", outside.ptr), 0);
	refuse_openat2();
	c = fx_ctx();
	/* the helper itself: a symlink anywhere, "..", a FIFO */
	cr_assert_eq(tools__open(c, "d/secret.py", O_RDONLY, TOOLS__BENEATH), -ELOOP);
	cr_assert_eq(tools__open(c, "inside/kept.txt", O_RDONLY, TOOLS__BENEATH), -ELOOP);
	cr_assert_eq(tools__open(c, "a.py/x", O_RDONLY, TOOLS__BENEATH), -ENOTDIR);
	cr_assert_eq(tools__open(c, "real/../../x", O_RDONLY, TOOLS__BENEATH), -EXDEV);
	cr_assert_eq(tools__open(c, "inside", O_RDONLY, TOOLS__BENEATH), -ELOOP);
	fd = tools__open(c, "pipe", O_RDONLY, TOOLS__NO_SYMLINKS);
	cr_assert_geq(fd, 0, "a FIFO's open blocked or failed: %d", fd);
	close(fd);
	fd = tools__open(c, "real/kept.txt", O_RDONLY, TOOLS__NO_SYMLINKS);
	cr_assert_geq(fd, 0);
	close(fd);
	/* the tools on top */
	o = fx_obs(c, "search", "{\"pattern\":\"SECRET.?NEEDLE\"}");
	refute_secret(&o, "search");
	tools_obs_release(&o);
	o = fx_obs(c, "repo_map", "{}");
	refute_secret(&o, "repo_map");
	cr_assert(strstr(o.text.ptr, "a.py"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "str_replace", "{\"path\":\"inside/kept.txt\",\"old_str\":\"kept\",\"new_str\":\"k\"}"),
		     0);
	cr_assert(strstr(o.text.ptr, "through a symlink"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"real/kept.txt\",\"old_str\":\"kept\",\"new_str\":\"k2\"}"),
		     0, "%s", o.text.ptr);
	tools_obs_release(&o);
	got = fx_read("real/kept.txt", NULL);
	cr_assert_str_eq(got, "k2\n");
	free(got);
	tools_ctx_free(c);
	drop_outside();
}
