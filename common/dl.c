/* dl.c - shared libraries opened at first use (see common.h for why). */
#include "common.h"

#include <dlfcn.h>

int pl_dl_open(void **out, const char *soname, const char *package, pl_err *err)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		const char *why = dlerror();

		*out = NULL;
		return pl_err_set(err, PL_ENOTFOUND, "cannot load %s (%s); install the Debian package %s (make deps)",
				  soname, why ? why : "not found", package);
	}
	*out = h;
	return 0;
}

void *pl_dl_sym(void *handle, const char *soname, const char *symbol, pl_err *err)
{
	void *p;

	dlerror();
	p = dlsym(handle, symbol);
	if (!p)
		pl_err_set(err, PL_EUNSUPPORTED, "%s has no symbol %s: plait was built against another version of it",
			   soname, symbol);
	return p;
}
