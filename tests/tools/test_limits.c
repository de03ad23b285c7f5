/* What a hostile or careless model can hand the tools ends in bounded
 * time with an error it can read, never a crash or a hang: globs that
 * made the old matcher backtrack exponentially, sources nested deeper
 * than tree-sitter survives, regular expressions that blow up, huge
 * untracked files in a snapshot.  Each suite's timeout is the deadline;
 * a crash fails the test as well. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tools/internal.h"
#include "tests/shell.h"

TestSuite(limits, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* find's pattern and search's glob: 41 stars took 10 s over four files
 * and 400 KB of them crashed plait; now any pattern the schema takes
 * ends at once, and a longer one is refused by the schema. */
Test(limits, glob_patterns_end_quickly_or_are_refused)
{
	pl_buf args = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	size_t i;

	fx_puts("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.txt", "x\n");
	fx_puts("b.txt", "x\n");
	fx_puts("c/d.txt", "x\n");
	fx_git_commit_all("init");
	c = fx_ctx();

	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 1000; i++)
		pl_buf_putc(&args, '*');
	pl_buf_puts(&args, "b.txt\"}");
	o = fx_obs(c, "find", args.ptr);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "b.txt\n"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "aaaa"), "%s", o.text.ptr);
	tools_obs_release(&o);

	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"x\",\"glob\":\"");
	for (i = 0; i < 300; i++)
		pl_buf_puts(&args, "{,}");
	pl_buf_puts(&args, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "No match"), "%s", o.text.ptr);
	tools_obs_release(&o);

	/* 400 KB: the schema refuses it, naming the argument and the limit */
	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 400000; i++)
		pl_buf_putc(&args, '*');
	pl_buf_puts(&args, "b\"}");
	o = fx_obs(c, "find", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "argument 'pattern' must be at most 1024 characters long, got 400001"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);
	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"x\",\"glob\":\"");
	for (i = 0; i < 1025; i++)
		pl_buf_puts(&args, "\xc3\xa9");
	pl_buf_puts(&args, "\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "argument 'glob' must be at most 1024 characters long, got 1025"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&args);
}

static void nested(pl_buf *b, const char *head, size_t depth, const char *tail)
{
	size_t i;

	pl_buf_reset(b);
	pl_buf_puts(b, head);
	for (i = 0; i < depth; i++)
		pl_buf_putc(b, '(');
	pl_buf_putc(b, '1');
	for (i = 0; i < depth; i++)
		pl_buf_putc(b, ')');
	pl_buf_puts(b, tail);
}

/* JavaScript nested 100,000 parentheses deep made tree-sitter 0.20.7
 * abort plait ("munmap_chunk(): invalid pointer") in create, outline,
 * definition, references and repo_map.  Nothing that deep is parsed now,
 * and the observations say so; the other files are still read. */
Test(limits, deeply_nested_sources_are_not_parsed)
{
	static const char *const calls[][2] = {
		{ "definition", "{\"symbol\":\"kept\"}" },
		{ "references", "{\"symbol\":\"kept\"}" },
		{ "repo_map", "{}" },
	};
	pl_buf src = PL_BUF_INIT, args = PL_BUF_INIT;
	json_t *j;
	tools_ctx *c;
	tools_obs o;

	fx_puts("kept.py", "def kept():\n    return 1\n");
	nested(&src, "x = ", 3000, "\n");
	fx_puts("fine.py", src.ptr);
	nested(&src, "def kept2():\n    return ", 100000, "\n");
	fx_puts("deep.py", src.ptr);
	fx_git_commit_all("init");
	c = fx_ctx();

	/* the editor writes it, and says it did not check its syntax */
	nested(&src, "x = ", 100000, ";\n");
	j = json_pack("{s:s, s:s}", "path", "deep.js", "file_text", src.ptr);
	tools_obs_init(&o);
	cr_assert_eq(tools_call(&o, c, "create", j, NULL), 0);
	json_decref(j);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[syntax not checked: the file nests brackets more than 4096 deep, which is not parsed]"),
		  "%s", o.text.ptr);
	tools_obs_release(&o);

	o = fx_obs(c, "outline", "{\"path\":\"deep.js\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "'deep.js' nests brackets more than 4096 deep, which is not parsed"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\".\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "deep.js:\n  (not parsed: brackets nested too deep)\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "deep.py:\n  (not parsed: brackets nested too deep)\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "kept.py:\n  function kept"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* 3,000 deep is parsed as any file */
	o = fx_obs(c, "outline", "{\"path\":\"fine.py\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "constant x"), "%s", o.text.ptr);
	tools_obs_release(&o);
	for (size_t i = 0; i < PL_ARRAY_LEN(calls); i++) {
		o = fx_obs(c, calls[i][0], calls[i][1]);
		cr_assert_not(o.is_error, "%s: %s", calls[i][0], o.text.ptr);
		cr_assert(strstr(o.text.ptr, "kept.py"), "%s: %s", calls[i][0], o.text.ptr);
		cr_assert_null(strstr(o.text.ptr, "kept2"), "%s: %s", calls[i][0], o.text.ptr);
		tools_obs_release(&o);
	}
	/* and an edit of it goes through, unchecked, as the create did */
	o = fx_obs(c, "str_replace", "{\"path\":\"deep.py\",\"old_str\":\"kept2\",\"new_str\":\"kept3\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[syntax not checked"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&src);
	pl_buf_release(&args);
}

/* search's regex: a{255}{255}{255} (17 characters) took 27 s and 3.4 GB
 * in regcomp, nineteen nested (...)+ 44 s, and 20,000 nested parentheses
 * crashed plait.  Each is refused before regcomp with what to change;
 * patterns people write still run. */
Test(limits, regexes_that_blow_up_regcomp_are_refused, .timeout = 30)
{
	static const char *const fine[] = { "(a+)+", "[0-9a-f]{40}", ".{1000}", "(ab|cd){3,5}x", "a{100}{100}",
					    "needle" };
	pl_buf args = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	size_t i;

	fx_puts("a.txt", "needle\n");
	fx_git_commit_all("init");
	c = fx_ctx();

	o = fx_obs(c, "search", "{\"pattern\":\"a{255}{255}{255}\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "pattern 'a{255}{255}{255}' repeats too much: its counts multiply to more than "
				     "10000 copies"),
		  "%s", o.text.ptr);
	tools_obs_release(&o);

	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 19; i++)
		pl_buf_putc(&args, '(');
	pl_buf_putc(&args, 'a');
	for (i = 0; i < 19; i++)
		pl_buf_puts(&args, ")+");
	pl_buf_puts(&args, "\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "repeats too much"), "%s", o.text.ptr);
	tools_obs_release(&o);

	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 1000; i++)
		pl_buf_putc(&args, '(');
	pl_buf_putc(&args, 'a');
	for (i = 0; i < 1000; i++)
		pl_buf_putc(&args, ')');
	pl_buf_puts(&args, "\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "nests groups more than 100 deep; search takes at most 100"), "%s", o.text.ptr);
	tools_obs_release(&o);

	/* 20,000 nested: the schema refuses it first */
	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 20000; i++)
		pl_buf_putc(&args, '(');
	for (i = 0; i < 20000; i++)
		pl_buf_putc(&args, ')');
	pl_buf_puts(&args, "\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "argument 'pattern' must be at most 2048 characters long, got 40000"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);

	for (i = 0; i < PL_ARRAY_LEN(fine); i++) {
		json_t *j = json_pack("{s:s}", "pattern", fine[i]);
		tools_obs_init(&o);
		tools_call(&o, c, "search", j, NULL);
		json_decref(j);
		cr_assert_not(o.is_error, "%s: %s", fine[i], o.text.ptr);
		tools_obs_release(&o);
	}
	o = fx_obs(c, "search", "{\"pattern\":\"ne{2}dl(e|x)+\"}");
	cr_assert(strstr(o.text.ptr, "a.txt\n1:needle\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&args);
}

/* Snapshots (plait chat takes one around every call that may change
 * files) re-read every untracked file each time: a 200 MB one cost 30 s a
 * call.  The untracked files' stat data and blob ids are now kept in a
 * private index, so that libgit2 reads again only what changed, as git
 * does with its own index; an untracked file over TOOLS_MAX_UNTRACKED is
 * left out; a file git comes to ignore leaves the snapshot too; the
 * repository's own index is never touched. */
Test(limits, snapshots_keep_stat_data_and_leave_out_huge_untracked_files)
{
	char s1[41], s2[41], s3[41];
	pl_buf idx = PL_BUF_INIT;
	struct stat before, after;
	pl_err err = { 0 };

	fx_puts("a.txt", "tracked\n");
	fx_git_commit_all("init");
	fx_puts("new.txt", "untracked one\n");
	fx_puts("later-ignored.txt", "x\n");
	cr_assert_eq(fx_sh(NULL, "truncate -s %llu big.bin", (unsigned long long)TOOLS_MAX_UNTRACKED + 1), 0);
	cr_assert_eq(tools_git_snapshot(s1, fx_root.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(fx_sh(NULL, "git ls-tree -r --name-only %s | tr '\\n' ' ' | grep -qx 'a.txt later-ignored.txt new.txt '", s1),
		     0, "the snapshot holds what it should");
	/* the private index holds the untracked file with its stat data */
	cr_assert_eq(fx_sh(NULL, "GIT_INDEX_FILE=.git/plait-cache/worktree-index git ls-files -s --debug new.txt > idx.out && "
				 "grep -q \"$(git hash-object new.txt)\" idx.out && grep -q 'size: 14' idx.out && "
				 "! grep -q 'mtime: 0:0' idx.out && rm idx.out"),
		     0, "the private index keeps new.txt's blob and stat data");

	/* nothing changed: the same tree, and the private index is not
	 * written again */
	pl_buf_printf(&idx, "%s/.git/plait-cache/worktree-index", fx_root.ptr);
	cr_assert_eq(stat(idx.ptr, &before), 0);
	cr_assert_eq(tools_git_snapshot(s2, fx_root.ptr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(s2, s1);
	cr_assert_eq(stat(idx.ptr, &after), 0);
	cr_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec &&
		  before.st_ino == after.st_ino, "the private index was written again with nothing changed");

	/* a change is seen; a newly ignored file leaves */
	fx_puts("new.txt", "untracked, changed\n");
	fx_puts(".git/info/exclude", "later-ignored.txt\n");
	cr_assert_eq(tools_git_snapshot(s3, fx_root.ptr, &err), 0, "%s", err.msg);
	cr_assert_str_neq(s3, s1);
	cr_assert_eq(fx_sh(NULL, "git ls-tree -r --name-only %s | tr '\\n' ' ' | grep -qx 'a.txt new.txt '", s3), 0);
	cr_assert_eq(fx_sh(NULL, "git cat-file -p %s:new.txt | grep -qx 'untracked, changed'", s3), 0);
	cr_assert_eq(fx_sh(NULL, "test \"$(git ls-files)\" = a.txt"), 0, "the repository's index is untouched");
	pl_buf_release(&idx);
}

/* `plait tool outline` on a FIFO, as the reviewer ran it: it returns (the
 * test's timeout is the deadline) with exit status 1 and the message,
 * never waiting for a writer.  tools__open_at opens with O_NONBLOCK and
 * readers take regular files only. */
Test(limits, outline_of_a_fifo_returns_from_the_command_line, .timeout = 30)
{
	pl_buf args = PL_BUF_INIT;
	test_run r;

	fx_puts("a.py", "def f():\n    pass\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "mkfifo p.py"), 0);
	pl_buf_printf(&args, "tool outline --repo '%s' --args '{\"path\":\"p.py\"}'", fx_root.ptr);
	r = test_plait(fx_root.ptr, NULL, args.ptr);
	cr_assert_eq(r.status, 1, "status %d: %s%s", r.status, r.out.ptr, r.err.ptr);
	cr_assert(strstr(r.out.ptr, "'p.py' is not a regular file") || strstr(r.err.ptr, "'p.py' is not a regular file"),
		  "%s%s", r.out.ptr, r.err.ptr);
	test_run_release(&r);
	pl_buf_release(&args);
}

static atomic_int stop_flag;

static double cpu_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Sets the flag once the search is under way: the process has spent
 * 0.2 s of CPU since the thread started (the matcher is busy), polled
 * against a deadline rather than after a fixed sleep, so a loaded
 * machine that starts the search late cannot cancel it before it runs. */
static void *cancel_soon(void *arg)
{
	const double cpu0 = cpu_seconds(), end = pl_now() + 30;
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	(void)arg;
	while (cpu_seconds() < cpu0 + 0.2 && pl_now() < end)
		nanosleep(&nap, NULL);
	atomic_store(&stop_flag, 1);
	return NULL;
}

/* A search glibc's matcher makes slow ((a+)+$ over lines of a's that end
 * in b: minutes for this file) stops soon after the context's cancel
 * flag is set (Ctrl-C in plait chat), with what it found and a note; the
 * test's timeout is the deadline. */
Test(limits, a_slow_search_stops_when_cancelled, .timeout = 40)
{
	tools_ctx_opts opts = { 0 };
	pl_buf big = PL_BUF_INIT;
	pl_err err = { 0 };
	tools_ctx *c = NULL;
	pthread_t th;
	tools_obs o;
	size_t i, k;

	for (i = 0; i < 2000; i++) {
		for (k = 0; k < 1000; k++)
			pl_buf_putc(&big, 'a');
		pl_buf_puts(&big, "b\n");
	}
	fx_write("slow.txt", big.ptr, big.len);
	fx_git_commit_all("init");
	atomic_store(&stop_flag, 0);
	opts.cancel = &stop_flag;
	cr_assert_eq(tools_ctx_new(&c, fx_root.ptr, &opts, &err), 0, "%s", err.msg);
	cr_assert_eq(pthread_create(&th, NULL, cancel_soon, NULL), 0);
	o = fx_obs(c, "search", "{\"pattern\":\"(a+)+$\"}");
	pthread_join(th, NULL);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[search cancelled: what is above is what it found until then]"), "%s", o.text.ptr);
	cr_assert(json_is_true(json_object_get(o.data, "cancelled")));
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&big);
}

/* Without a cancel (plait fix, plait mcp), the time limit stops the same
 * search: lowered here to 1 s from TOOLS__SEARCH_SECONDS; the test's
 * timeout is the deadline. */
Test(limits, a_slow_search_stops_at_its_time_limit, .timeout = 40)
{
	pl_buf big = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	size_t i, k;

	for (i = 0; i < 2000; i++) {
		for (k = 0; k < 1000; k++)
			pl_buf_putc(&big, 'a');
		pl_buf_puts(&big, "b\n");
	}
	fx_write("slow.txt", big.ptr, big.len);
	fx_puts("fast.txt", "aaa\nbb\na\n");
	fx_git_commit_all("init");
	c = fx_ctx();
	cr_assert_eq(c->search_seconds, TOOLS__SEARCH_SECONDS);
	c->search_seconds = 1;
	o = fx_obs(c, "search", "{\"pattern\":\"(a+)+$\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[search stopped after 1 s, its time limit: the pattern is slow on these files"), "%s",
		  o.text.ptr);
	cr_assert(strstr(o.text.ptr, "fast.txt\n1:aaa\n3:a\n"), "what it found first is shown: %s", o.text.ptr);
	cr_assert(json_is_true(json_object_get(o.data, "timed_out")));
	tools_obs_release(&o);
	/* a quick search is not cut */
	o = fx_obs(c, "search", "{\"pattern\":\"^a+$\",\"path\":\"fast.txt\"}");
	cr_assert(strstr(o.text.ptr, "fast.txt\n1:aaa\n3:a\n"), "%s", o.text.ptr);
	cr_assert_null(json_object_get(o.data, "timed_out"));
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&big);
}
