/* ts.c - load the tree-sitter runtime at first use and fill the table of ts.h. */
#define TOOLS_TS_IMPL
#include "tools/ts.h"

#include <pthread.h>

#ifndef TOOLS_LIBTREE_SITTER_SONAME
#error "TOOLS_LIBTREE_SITTER_SONAME (the libtree-sitter file to load) is set by the Makefile"
#endif
_Static_assert(sizeof(TOOLS_LIBTREE_SITTER_SONAME) > 1, "the Makefile found no libtree-sitter.so: run make deps");

/* Written once under pthread_once, read-only afterwards: a library is
 * loaded per process (CONVENTIONS.md). */
static struct {
	pthread_once_t once;
	tools__ts api;
	bool ok;
	pl_err err;
} lib = { PTHREAD_ONCE_INIT, { 0 }, false, { 0 } };

static void load_once(void)
{
	void *h = NULL, *p;

	if (pl_dl_open(&h, TOOLS_LIBTREE_SITTER_SONAME, "libtree-sitter0", &lib.err) < 0)
		return;
#define TOOLS_TS_RESOLVE(f)                                                   \
	if (!(p = pl_dl_sym(h, TOOLS_LIBTREE_SITTER_SONAME, #f, &lib.err))) \
		return;                                                     \
	lib.api.f = (__typeof__(f) *)p;
	TOOLS_TS_FUNCS(TOOLS_TS_RESOLVE)
#undef TOOLS_TS_RESOLVE
	lib.ok = true;
}

int tools_ts_load(pl_err *err)
{
	pthread_once(&lib.once, load_once);
	if (!lib.ok)
		return pl_err_set(err, lib.err.code ? lib.err.code : PL_EINTERNAL, "%s", lib.err.msg);
	return 0;
}

const tools__ts *tools__ts_api(void)
{
	PL_ASSERT(lib.ok);
	return &lib.api;
}
