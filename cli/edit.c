/* edit.c - load libedit at first use and fill the table of edit.h. */
#define CLI_EDIT_IMPL
#include "cli/edit.h"

#include <pthread.h>

#ifndef CLI_LIBEDIT_SONAME
#error "CLI_LIBEDIT_SONAME (the libedit file to load) is set by the Makefile"
#endif
_Static_assert(sizeof(CLI_LIBEDIT_SONAME) > 1, "the Makefile found no libedit.so: run make deps");

/* Written once under pthread_once, read-only afterwards (a library is
 * loaded per process). */
static struct {
	pthread_once_t once;
	cli_edit_api api;
	bool ok;
	pl_err err;
} lib = { PTHREAD_ONCE_INIT, { 0 }, false, { 0 } };

static void load_once(void)
{
	void *h = NULL, *p;

	if (pl_dl_open(&h, CLI_LIBEDIT_SONAME, "libedit2", &lib.err) < 0)
		return;
#define CLI_EDIT_RESOLVE(f)                                        \
	if (!(p = pl_dl_sym(h, CLI_LIBEDIT_SONAME, #f, &lib.err))) \
		return;                                            \
	lib.api.f = (__typeof__(f) *)p;
	CLI_EDIT_FUNCS(CLI_EDIT_RESOLVE)
#undef CLI_EDIT_RESOLVE
	lib.ok = true;
}

int cli__edit_load(pl_err *err)
{
	pthread_once(&lib.once, load_once);
	if (!lib.ok)
		return pl_err_set(err, lib.err.code ? lib.err.code : PL_EINTERNAL, "%s", lib.err.msg);
	return 0;
}

const cli_edit_api *cli__edit(void)
{
	PL_ASSERT(lib.ok);
	return &lib.api;
}
