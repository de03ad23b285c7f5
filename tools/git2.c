/* git2.c - load libgit2 at first use and fill the table of git2.h. */
#define TOOLS_GIT2_IMPL
#include "tools/git2.h"

#include <pthread.h>

#ifndef TOOLS_LIBGIT2_SONAME
#error "TOOLS_LIBGIT2_SONAME (the libgit2 file to load) is set by the Makefile"
#endif
_Static_assert(sizeof(TOOLS_LIBGIT2_SONAME) > 1, "the Makefile found no libgit2.so: run make deps");

/* Written once under pthread_once, read-only afterwards: the one piece of
 * process-wide state in tools/, because a library is loaded per process. */
static struct {
	pthread_once_t once;
	tools__git2 api;
	bool ok;
	pl_err err;
} lib = { PTHREAD_ONCE_INIT, { 0 }, false, { 0 } };

static void load_once(void)
{
	void *h = NULL, *p;

	if (pl_dl_open(&h, TOOLS_LIBGIT2_SONAME, "libgit2-1.5", &lib.err) < 0)
		return;
#define TOOLS_GIT2_RESOLVE(f)                                                       \
	if (!(p = pl_dl_sym(h, TOOLS_LIBGIT2_SONAME, #f, &lib.err)))                 \
		return;                                                             \
	lib.api.f = (__typeof__(f) *)p;
	TOOLS_GIT2_FUNCS(TOOLS_GIT2_RESOLVE)
#undef TOOLS_GIT2_RESOLVE
	lib.ok = true;
}

int tools__git2_load(pl_err *err)
{
	pthread_once(&lib.once, load_once);
	if (!lib.ok)
		return pl_err_set(err, lib.err.code ? lib.err.code : PL_EINTERNAL, "%s", lib.err.msg);
	return 0;
}

int tools__git2_init(pl_err *err)
{
	int rc;

	if ((rc = tools__git2_load(err)) < 0)
		return rc;
	lib.api.git_libgit2_init();
	lib.api.git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	return 0;
}

const tools__git2 *tools__git2_api(void)
{
	PL_ASSERT(lib.ok);
	return &lib.api;
}
