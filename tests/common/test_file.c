#define _GNU_SOURCE /* O_PATH */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "tests/shell.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-file", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

TestSuite(file, .init = setup, .fini = teardown);

static char *path(const char *name)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir.ptr, name);
	return pl_buf_detach(&p, NULL);
}

Test(file, write_atomic_then_read)
{
	char *p = path("a.txt");
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };
	struct stat st;

	cr_assert_eq(pl_file_write_atomic(p, "hello\0world", 11, 0640, &err), 0, "%s", err.msg);
	cr_assert_eq(pl_file_read(&b, p, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(b.len, 11);
	cr_assert_eq(memcmp(b.ptr, "hello\0world", 11), 0);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	/* Overwrite replaces the whole content. */
	cr_assert_eq(pl_file_write_atomic(p, "x", 1, 0644, &err), 0);
	pl_buf_reset(&b);
	cr_assert_eq(pl_file_read(&b, p, 0, &err), 0);
	cr_assert_str_eq(b.ptr, "x");
	pl_buf_release(&b);
	free(p);
}

Test(file, atomic_write_leaves_no_temp_files)
{
	char *p = path("b.txt");
	pl_buf cmd = PL_BUF_INIT;
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(pl_file_write_atomic(p, "data", 4, 0644, NULL), 0);
	pl_buf_printf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir.ptr);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "temporary files left behind in %s", dir.ptr);
	pl_buf_release(&cmd);
	free(p);
}

Test(file, atomic_write_into_missing_dir_fails_cleanly)
{
	char *p = path("no/such/dir/f");
	pl_err err = { 0 };

	cr_assert_eq(pl_file_write_atomic(p, "x", 1, 0644, &err), PL_EIO);
	cr_assert_not_null(strstr(err.msg, "cannot create a temporary file next to"));
	free(p);
}

Test(file, read_errors_are_clear)
{
	char *p = path("missing");
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(pl_file_read(&b, p, 0, &err), PL_ENOTFOUND);
	cr_assert_not_null(strstr(err.msg, "No such file or directory"));
	cr_assert_eq(pl_file_read(&b, dir.ptr, 0, &err), PL_EINVAL);
	cr_assert_not_null(strstr(err.msg, "is a directory"));
	cr_assert_eq(b.len, 0);
	pl_buf_release(&b);
	free(p);
}

Test(file, read_respects_limit_and_appends)
{
	char *p = path("big");
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };
	char data[300000];

	memset(data, 'z', sizeof(data));
	cr_assert_eq(pl_file_write_atomic(p, data, sizeof(data), 0644, NULL), 0);
	pl_buf_puts(&b, "prefix");
	cr_assert_eq(pl_file_read(&b, p, 1000, &err), PL_ELIMIT);
	cr_assert_str_eq(b.ptr, "prefix"); /* untouched on failure */
	cr_assert_eq(pl_file_read(&b, p, 0, &err), 0);
	cr_assert_eq(b.len, 6 + sizeof(data));
	pl_buf_release(&b);
	free(p);
}

Test(file, read_from_a_pipe_like_file)
{
	pl_buf b = PL_BUF_INIT;

	/* /proc files report size 0; reading must not trust st_size. */
	cr_assert_eq(pl_file_read(&b, "/proc/self/status", 0, NULL), 0);
	cr_assert_not_null(strstr(b.ptr, "Name:"));
	pl_buf_release(&b);
}

Test(file, mkdir_p_and_exists)
{
	char *p = path("x/y/z"), *f = path("x/file");
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdir_p(p, 0755, &err), 0, "%s", err.msg);
	cr_assert(pl_dir_exists(p));
	cr_assert_eq(pl_mkdir_p(p, 0755, &err), 0); /* idempotent */
	cr_assert_eq(pl_file_write_atomic(f, "", 0, 0644, NULL), 0);
	cr_assert(pl_file_exists(f));
	cr_assert_not(pl_dir_exists(f));
	cr_assert_not(pl_file_exists(p));
	free(p);
	p = path("x/file/sub");
	cr_assert_lt(pl_mkdir_p(p, 0755, &err), 0);
	cr_assert_eq(pl_mkdir_p("", 0755, &err), PL_EINVAL);
	free(p);
	free(f);
}

Test(file, rm_rf_removes_trees_but_not_links_targets)
{
	char *tree = path("tree"), *keep = path("keep"), *sub = path("tree/a/b"), *lnk = path("tree/link"),
	     *kf = path("keep/precious");
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdir_p(sub, 0755, NULL), 0);
	cr_assert_eq(pl_mkdir_p(keep, 0755, NULL), 0);
	cr_assert_eq(pl_file_write_atomic(kf, "x", 1, 0644, NULL), 0);
	cr_assert_eq(symlink(keep, lnk), 0);
	cr_assert_eq(pl_rm_rf(tree, &err), 0, "%s", err.msg);
	cr_assert_not(pl_dir_exists(tree));
	cr_assert(pl_file_exists(kf), "rm_rf followed a symlink");
	cr_assert_eq(pl_rm_rf(tree, &err), 0); /* missing is fine */
	cr_assert_eq(pl_rm_rf("/", &err), PL_EINVAL);
	cr_assert_eq(pl_rm_rf("", &err), PL_EINVAL);
	free(tree);
	free(keep);
	free(sub);
	free(lnk);
	free(kf);
}

Test(file, path_join_has_one_slash)
{
	pl_buf b = PL_BUF_INIT;

	pl_path_join(&b, "a", "b");
	cr_assert_str_eq(b.ptr, "a/b");
	pl_buf_reset(&b);
	pl_path_join(&b, "a/", "/b");
	cr_assert_str_eq(b.ptr, "a/b");
	pl_buf_reset(&b);
	pl_path_join(&b, "a/", "b");
	cr_assert_str_eq(b.ptr, "a/b");
	pl_buf_reset(&b);
	pl_path_join(&b, "", "b");
	cr_assert_str_eq(b.ptr, "b");
	pl_buf_release(&b);
}

Test(file, map_reads_contents)
{
	char *p = path("m"), *e = path("empty");
	pl_map m;
	pl_err err = { 0 };

	cr_assert_eq(pl_file_write_atomic(p, "mapped", 6, 0644, NULL), 0);
	cr_assert_eq(pl_map_open(&m, p, &err), 0, "%s", err.msg);
	cr_assert_eq(m.size, 6);
	cr_assert_eq(memcmp(m.data, "mapped", 6), 0);
	pl_map_close(&m);
	cr_assert_eq(pl_file_write_atomic(e, "", 0, 0644, NULL), 0);
	cr_assert_eq(pl_map_open(&m, e, &err), 0);
	cr_assert_eq(m.size, 0);
	pl_map_close(&m);
	pl_map_close(NULL);
	cr_assert_eq(pl_map_open(&m, dir.ptr, &err), PL_EINVAL);
	free(p);
	p = path("nope");
	cr_assert_eq(pl_map_open(&m, p, &err), PL_ENOTFOUND);
	free(p);
	free(e);
}

Test(file, mkdtemp_fails_in_missing_tmpdir)
{
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };
	char *old = getenv("TMPDIR") ? pl_xstrdup(getenv("TMPDIR")) : NULL;

	setenv("TMPDIR", "/nonexistent-plait-dir", 1);
	cr_assert_eq(pl_mkdtemp(&b, "x", &err), PL_EIO);
	cr_assert_eq(b.len, 0);
	cr_assert_not_null(strstr(err.msg, "/nonexistent-plait-dir"));
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
	pl_buf_release(&b);
}

/* pl_open_beneath: inside symlinks are followed or refused as asked,
 * nothing leads out (.., absolute links, absolute paths), and a FIFO
 * opened with O_NONBLOCK never blocks. */
Test(file, open_beneath_stays_beneath)
{
	char *sub = path("root/a/b"), *in = path("root/in"), *out = path("root/out"), *dotdot = path("root/up"),
	     *f = path("root/a/b/f"), *secret = path("secret"), *fifo = path("root/p"), *rootp = path("root");
	int rfd, fd;
	char c;

	cr_assert_eq(pl_mkdir_p(sub, 0755, NULL), 0);
	cr_assert_eq(pl_file_write_atomic(f, "x", 1, 0644, NULL), 0);
	cr_assert_eq(pl_file_write_atomic(secret, "s", 1, 0644, NULL), 0);
	cr_assert_eq(symlink("a/b", in), 0);
	cr_assert_eq(symlink(dir.ptr, out), 0);
	cr_assert_eq(symlink("..", dotdot), 0);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_assert_geq(rfd = open(rootp, O_PATH | O_DIRECTORY | O_CLOEXEC), 0);

	cr_assert_geq(fd = pl_open_beneath(rfd, "a/b/f", O_RDONLY, PL_OPEN_NO_SYMLINKS), 0);
	cr_assert_eq(read(fd, &c, 1), 1);
	cr_assert_eq(c, 'x');
	close(fd);
	cr_assert_geq(fd = pl_open_beneath(rfd, "in/f", O_RDONLY, PL_OPEN_BENEATH), 0, "an inside symlink is followed");
	close(fd);
	cr_assert_eq(pl_open_beneath(rfd, "in/f", O_RDONLY, PL_OPEN_NO_SYMLINKS), -ELOOP);
	cr_assert_lt(pl_open_beneath(rfd, "out/secret", O_RDONLY, PL_OPEN_BENEATH), 0, "a symlink out is refused");
	cr_assert_lt(pl_open_beneath(rfd, "up/secret", O_RDONLY, PL_OPEN_BENEATH), 0);
	cr_assert_lt(pl_open_beneath(rfd, "../secret", O_RDONLY, PL_OPEN_BENEATH), 0);
	cr_assert_lt(pl_open_beneath(rfd, secret, O_RDONLY, PL_OPEN_BENEATH), 0, "an absolute path is refused");
	cr_assert_eq(pl_open_beneath(rfd, "missing", O_RDONLY, PL_OPEN_BENEATH), -ENOENT);
	cr_assert_geq(fd = pl_open_beneath(rfd, "p", O_RDONLY | O_NONBLOCK, PL_OPEN_NO_SYMLINKS), 0);
	close(fd);
	cr_assert_geq(fd = pl_open_beneath(rfd, "", O_RDONLY | O_DIRECTORY, PL_OPEN_NO_SYMLINKS), 0, "\"\" is the root");
	close(fd);
	close(rfd);
	free(sub);
	free(in);
	free(out);
	free(dotdot);
	free(f);
	free(secret);
	free(fifo);
	free(rootp);
}
