/* What the tools read and write stays beneath the repository root: no
 * symlink in any component leads out, a FIFO or a device never blocks a
 * tool, a planted .git never makes plait read a foreign repository. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "tools/internal.h"

/* The deadlines: a tool that blocks (a FIFO's open) fails its test at the
 * suite's timeout instead of hanging the run. */
TestSuite(beneath, .init = fx_setup, .fini = fx_teardown, .timeout = 30);

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
