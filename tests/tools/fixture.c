/* fixture.c - helpers the tools tests share. */
#include "fixture.h"
#include "tests/shell.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

pl_buf fx_root = PL_BUF_INIT;

void fx_setup(void)
{
	pl_buf_release(&fx_root);
	cr_assert_eq(pl_mkdtemp(&fx_root, "plait-test-tools", NULL), 0);
}

void fx_teardown(void)
{
	pl_rm_rf(fx_root.ptr, NULL);
	pl_buf_release(&fx_root);
}

int fx_sh(const char *dir, const char *fmt, ...)
{
	pl_buf cmd = PL_BUF_INIT;
	va_list ap;
	int st;

	pl_buf_printf(&cmd, "cd '%s' && export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t "
			    "GIT_COMMITTER_EMAIL=t@t GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent && (",
		      dir ? dir : fx_root.ptr);
	va_start(ap, fmt);
	pl_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	pl_buf_puts(&cmd, ") >/dev/null 2>&1");
	st = test_sh(NULL, "%s", cmd.ptr);
	pl_buf_release(&cmd);
	return st;
}

void fx_write(const char *rel, const void *data, size_t n)
{
	pl_buf p = PL_BUF_INIT, dir = PL_BUF_INIT;
	char *slash;

	pl_path_join(&p, fx_root.ptr, rel);
	pl_buf_puts(&dir, p.ptr);
	slash = strrchr(dir.ptr, '/');
	*slash = 0;
	cr_assert_eq(pl_mkdir_p(dir.ptr, 0755, NULL), 0);
	cr_assert_eq(pl_file_write_atomic(p.ptr, data, n, 0644, NULL), 0);
	pl_buf_release(&p);
	pl_buf_release(&dir);
}

void fx_puts(const char *rel, const char *s)
{
	fx_write(rel, s, strlen(s));
}

char *fx_read(const char *rel, size_t *len)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;

	pl_path_join(&p, fx_root.ptr, rel);
	if (pl_file_read(&b, p.ptr, 0, NULL) < 0) {
		pl_buf_release(&p);
		pl_buf_release(&b);
		return NULL;
	}
	pl_buf_release(&p);
	return pl_buf_detach(&b, len);
}

void fx_git_commit_all(const char *msg)
{
	cr_assert_eq(fx_sh(NULL, "git init -q -b main 2>/dev/null || git init -q; git add -A && git commit -qm '%s'", msg), 0);
}

int fx_call(tools_obs *obs, tools_ctx *ctx, const char *name, const char *args_json)
{
	json_t *args = NULL;
	int rc;

	cr_assert_eq(pl_json_parse(&args, args_json, strlen(args_json), "args", NULL), 0, "bad test JSON %s", args_json);
	rc = tools_call(obs, ctx, name, args, NULL);
	json_decref(args);
	return rc;
}

tools_ctx *fx_ctx(void)
{
	tools_ctx *c = NULL;
	pl_err err = { 0 };

	cr_assert_eq(tools_ctx_new(&c, fx_root.ptr, NULL, &err), 0, "%s", err.msg);
	return c;
}

tools_obs fx_obs(tools_ctx *ctx, const char *name, const char *args_json)
{
	tools_obs o;

	tools_obs_init(&o);
	fx_call(&o, ctx, name, args_json);
	return o;
}
