/* img_test.h - what the tests of images share (tests/image/, and the
 * benchmark harness's --env image tests): a temporary directory per test,
 * images built by tests/image/mkimage.py, the tools they are compared with
 * (umoci, skopeo, docker-registry; skipped with a reason when missing),
 * and a file-by-file comparison of two root filesystems. */
#ifndef PLAIT_IMG_TEST_H
#define PLAIT_IMG_TEST_H

#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image.h"
#include "tests/shell.h"

typedef struct itest {
	char dir[PATH_MAX];   /* removed by it_done */
	char store[PATH_MAX]; /* dir/store */
} itest;

static inline void it_init(itest *t)
{
	pl_buf d = PL_BUF_INIT;
	pl_err err = { 0, "" };

	cr_assert_eq(pl_mkdtemp(&d, "plait-img-test", &err), 0, "%s", err.msg);
	snprintf(t->dir, sizeof(t->dir), "%s", d.ptr);
	snprintf(t->store, sizeof(t->store), "%s/store", d.ptr);
	/* the sandbox's user (root's tests) reaches binds and the tools'
	 * outputs through it */
	chmod(t->dir, 0755);
	pl_buf_release(&d);
}

static inline void it_done(itest *t)
{
	if (t->dir[0] && !getenv("PLAIT_KEEP_TEST_DIRS"))
		test_sh(NULL, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", t->dir, t->dir);
}

/* The path of a program, or NULL (then the test skips, naming it). */
static inline const char *it_tool(const char *name)
{
	static const char *const dirs[] = { "/usr/bin", "/usr/sbin", "/bin", "/sbin" };
	static char path[256];
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

#define IT_NEED(tool, pkg)                                                                                   \
	do {                                                                                                 \
		if (!it_tool(tool))                                                                          \
			cr_skip_test("%s is not installed (Debian package %s, installed by make deps)",      \
				     tool, pkg);                                                             \
	} while (0)

/* Runs need the sandbox's namespaces. */
static inline void it_need_sandbox(void)
{
	sbx_caps caps;
	pl_err err = { 0, "" };

	/* the notice on stderr too: Criterion's skip message is easy to miss */
	if (sbx_caps_probe(&caps, &err) < 0) {
		fprintf(stderr, "skipped: the sandbox cannot probe this machine: %s\n", err.msg);
		cr_skip_test("the sandbox cannot probe this machine: %s", err.msg);
	}
	if (!caps.userns || !caps.all_namespaces) {
		fprintf(stderr, "skipped: user namespaces are not available here (%s): runs need the sandbox\n",
			caps.userns_error[0] ? caps.userns_error : "refused");
		cr_skip_test("user namespaces are not available here (%s): runs need the sandbox",
			     caps.userns_error[0] ? caps.userns_error : "refused");
	}
}

static inline void it_write(const char *path, const char *text)
{
	pl_err err = { 0, "" };

	cr_assert_eq(pl_file_write_atomic(path, text, strlen(text), 0644, &err), 0, "%s", err.msg);
}

/* Build an image from spec (JSON, see mkimage.py) in t->dir: args are
 * mkimage.py's options, paths relative to t->dir. */
static inline void it_mkimage(itest *t, const char *name, const char *spec, const char *args)
{
	char path[PATH_MAX + 64];
	const char *root = getenv("PLAIT_ROOT");
	pl_buf out = PL_BUF_INIT;
	int st;

	cr_assert(root, "PLAIT_ROOT is not set (make test sets it)");
	snprintf(path, sizeof(path), "%s/%s.json", t->dir, name);
	it_write(path, spec);
	st = test_sh(&out, "cd '%s' && /usr/bin/python3 '%s/tests/image/mkimage.py' '%s' %s", t->dir, root,
		     path, args);
	cr_assert_eq(st, 0, "mkimage.py %s %s failed (%d)", name, args, st);
	pl_buf_release(&out);
}

/* plait with the test's store; stdout and stderr kept apart. */
static inline test_run it_plait(itest *t, const char *env, const char *fmt, ...) PL_PRINTF(3, 4);
static inline test_run it_plait(itest *t, const char *env, const char *fmt, ...)
{
	pl_buf rest = PL_BUF_INIT, args = PL_BUF_INIT;
	const char *sp;
	va_list ap;
	test_run r;

	va_start(ap, fmt);
	pl_buf_vprintf(&rest, fmt, ap);
	va_end(ap);
	/* "image SUB --store DIR ARGS": before any "--" of the command */
	sp = strchr(rest.ptr, ' ');
	pl_buf_printf(&args, "image %.*s --store '%s'%s", sp ? (int)(sp - rest.ptr) : (int)rest.len, rest.ptr,
		      t->store, sp ? sp : "");
	r = test_plait(t->dir, env, args.ptr);
	pl_buf_release(&rest);
	pl_buf_release(&args);
	return r;
}

/* The root directory of a stored image, through the library. */
static inline void it_root(pl_buf *out, itest *t, const char *ref)
{
	img_store *s = NULL;
	img_image im;
	pl_err err = { 0, "" };

	cr_assert_eq(img_store_open(&s, t->store, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(img_get(&im, s, ref, &err), 0, "%s", err.msg);
	cr_assert_eq(img_unpack(out, s, &im, NULL, &err), 0, "%s", err.msg);
	img_image_release(&im);
	img_store_close(s);
}

/* ---------------------------------------------------------------- comparing roots */

/* One line per file of the tree at root: "path type mode size sha|target",
 * sorted; owners as ids relative to id_base. */
static inline void it__walk(pl_buf *out, const char *root, const char *rel, bool owners, unsigned id_base)
{
	char path[PATH_MAX * 2];
	struct dirent **names = NULL;
	int n, i;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	n = scandir(path, &names, NULL, alphasort);
	cr_assert_geq(n, 0, "scandir %s: %s", path, strerror(errno));
	for (i = 0; i < n; i++) {
		char sub[PATH_MAX], full[PATH_MAX * 2];
		struct stat st;

		if (!strcmp(names[i]->d_name, ".") || !strcmp(names[i]->d_name, "..")) {
			free(names[i]);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		free(names[i]);
		cr_assert_eq(lstat(full, &st), 0, "lstat %s: %s", full, strerror(errno));
		pl_buf_printf(out, "%s %o %04o", sub, (unsigned)(st.st_mode & S_IFMT) >> 12,
			      (unsigned)(st.st_mode & 07777));
		if (owners)
			pl_buf_printf(out, " %u:%u", (unsigned)st.st_uid - id_base,
				      (unsigned)st.st_gid - id_base);
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t k = readlink(full, target, sizeof(target) - 1);

			cr_assert_geq(k, 0);
			target[k] = '\0';
			pl_buf_printf(out, " -> %s", target);
		} else if (S_ISREG(st.st_mode)) {
			pl_buf data = PL_BUF_INIT;
			pl_err err = { 0, "" };
			uint64_t h = 1469598103934665603ull;
			size_t k;

			cr_assert_eq(pl_file_read(&data, full, 0, &err), 0, "%s", err.msg);
			for (k = 0; k < data.len; k++)
				h = (h ^ (unsigned char)data.ptr[k]) * 1099511628211ull;
			pl_buf_printf(out, " %zu %016llx", data.len, (unsigned long long)h);
			pl_buf_release(&data);
		}
		pl_buf_putc(out, '\n');
		if (S_ISDIR(st.st_mode))
			it__walk(out, root, sub, owners, id_base);
	}
	free(names);
}

/* Compare two roots file by file (type, mode, content, link target, and
 * owners when asked, b's shifted by b_base); fails the test listing the
 * first differences. */
static inline void it_same_tree(const char *a, const char *b, bool owners, unsigned b_base)
{
	pl_buf wa = PL_BUF_INIT, wb = PL_BUF_INIT;
	char *la, *lb, *sa = NULL, *sb = NULL;
	pl_buf diff = PL_BUF_INIT;
	int shown = 0;

	it__walk(&wa, a, "", owners, 0);
	it__walk(&wb, b, "", owners, b_base);
	la = strtok_r(wa.ptr, "\n", &sa);
	lb = strtok_r(wb.ptr, "\n", &sb);
	while ((la || lb) && shown < 8) {
		int c = !la ? 1 : !lb ? -1 : strcmp(la, lb);

		if (c == 0) {
			la = strtok_r(NULL, "\n", &sa);
			lb = strtok_r(NULL, "\n", &sb);
			continue;
		}
		shown++;
		if (c < 0) {
			pl_buf_printf(&diff, "\n  only or different in %s: %s", a, la);
			la = strtok_r(NULL, "\n", &sa);
		} else {
			pl_buf_printf(&diff, "\n  only or different in %s: %s", b, lb);
			lb = strtok_r(NULL, "\n", &sb);
		}
	}
	cr_assert_eq(shown, 0, "the roots differ:%s", diff.ptr);
	pl_buf_release(&wa);
	pl_buf_release(&wb);
	pl_buf_release(&diff);
}

/* ------------------------------------------------------------ a registry */

/* Debian's docker-registry on loopback behind tests/image/registry.py's
 * token server (bearer challenge, Basic credentials user:IT_REG_PASSWORD;
 * user "-" = anonymous tokens; flags "--drop", "--stall FILE"). */
#define IT_REG_PASSWORD "s3cret"
typedef struct it_registry {
	pid_t pid; /* -1 when not running */
	int port;
	char dir[PATH_MAX + 8];
	const char *user;
} it_registry;

static inline void it_registry_start(it_registry *r, const itest *t, const char *flags)
{
	char cmd[PATH_MAX * 3], port_file[PATH_MAX + 16];
	const char *root = getenv("PLAIT_ROOT");
	pl_buf text = PL_BUF_INIT;
	double deadline;

	IT_NEED("docker-registry", "docker-registry");
	IT_NEED("skopeo", "skopeo");
	IT_NEED("openssl", "openssl");
	cr_assert(root);
	snprintf(r->dir, sizeof(r->dir), "%s/reg", t->dir);
	cr_assert_eq(mkdir(r->dir, 0700), 0);
	snprintf(cmd, sizeof(cmd), "exec /usr/bin/python3 '%s/tests/image/registry.py' '%s' '%s' %s %s > '%s/out' 2>&1",
		 root, r->dir, r->user, IT_REG_PASSWORD, flags, r->dir);
	fflush(NULL);
	r->pid = fork();
	cr_assert_geq(r->pid, 0);
	if (!r->pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	snprintf(port_file, sizeof(port_file), "%s/port", r->dir);
	for (deadline = pl_now() + 60; !pl_file_exists(port_file); usleep(20000)) {
		int st;

		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->pid = -1;
			snprintf(port_file, sizeof(port_file), "%s/out", r->dir);
			pl_file_read(&text, port_file, 0, NULL);
			cr_assert_fail("registry.py exited: %s", text.ptr);
		}
		cr_assert_lt(pl_now(), deadline, "the registry did not start within 60 s");
	}
	cr_assert_eq(pl_file_read(&text, port_file, 0, NULL), 0);
	r->port = atoi(text.ptr);
	cr_assert_gt(r->port, 0);
	pl_buf_release(&text);
}

static inline void it_registry_stop(it_registry *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = -1;
}

/* skopeo copy SRC (an OCI layout or docker-archive in t->dir) to the
 * registry as NAME; the manifest digest it pushed into digest. */
static inline void it_registry_push(const it_registry *r, const itest *t, const char *src, const char *name,
				    const char *extra, char *digest, size_t n)
{
	pl_buf out = PL_BUF_INIT, d = PL_BUF_INIT, p = PL_BUF_INIT;
	int st;

	st = test_sh(&out,
		     "cd '%s' && skopeo copy -q %s --dest-tls-verify=false --dest-creds '%s:%s' --digestfile "
		     "pushed.digest '%s' docker://127.0.0.1:%d/%s 2>&1",
		     t->dir, extra, r->user, IT_REG_PASSWORD, src, r->port, name);
	cr_assert_eq(st, 0, "skopeo copy %s: %s", src, out.ptr);
	pl_buf_printf(&p, "%s/pushed.digest", t->dir);
	cr_assert_eq(pl_file_read(&d, p.ptr, 0, NULL), 0);
	pl_buf_rtrim(&d);
	snprintf(digest, n, "%s", d.ptr);
	pl_buf_release(&out);
	pl_buf_release(&d);
	pl_buf_release(&p);
}

#endif
