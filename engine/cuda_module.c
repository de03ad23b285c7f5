/* cuda_module.c - find and open libplait-cuda.so at first use (cuda/module.h).
 *
 * Compiled in every build, CUDA or not: it is plain C over dlopen, and the
 * tests of its error paths then run in the sanitizer build too.  Only
 * PLAIT_HAVE_CUDA builds call it outside the tests. */
#define _GNU_SOURCE
#include "engine/cuda/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX "build it with 'make' (build/lib/" ENG_CUDA_MODULE_FILE "), install it with 'make install' " \
	    "(PREFIX/lib/plait/), or set PLAIT_CUDA_MODULE to its path"

int eng__cuda_module_open(const eng_cuda_ops **out, const char *path, pl_err *err)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	eng_cuda_module_fn entry;
	const eng_cuda_ops *ops;
	int rc = 0;

	if (!h) {
		const char *why = dlerror();

		/* dlerror names the path itself ("PATH: cannot open shared
		 * object file: ..."); add it only when it does not. */
		if (why && strstr(why, path))
			return pl_err_set(err, PL_ENOTFOUND, "%s", why);
		return pl_err_set(err, PL_ENOTFOUND, "%s: %s", path, why ? why : "cannot be loaded");
	}
	dlerror();
	*(void **)&entry = dlsym(h, ENG_CUDA_MODULE_SYMBOL);
	if (!entry) {
		rc = pl_err_set(err, PL_EFORMAT, "%s has no symbol %s: not a plait CUDA module, or one of another ABI",
				path, ENG_CUDA_MODULE_SYMBOL);
		goto done;
	}
	ops = entry();
	/* The symbol's name fixes the ABI; these checks catch a module whose
	 * table is broken rather than merely old. */
	if (!ops || ops->abi != 1 || ops->size < sizeof(eng_cuda_ops) || !ops->runtime_probe) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: %s returned a table this plait cannot use (abi %u, size %u)",
				path, ENG_CUDA_MODULE_SYMBOL, ops ? ops->abi : 0, ops ? ops->size : 0);
		goto done;
	}
	*out = ops;
done:
	if (rc < 0)
		dlclose(h);
	return rc;
}

/* Written once under pthread_once, read-only afterwards: the table of a
 * library opened at first use is per process by nature (CONVENTIONS.md). */
static struct {
	pthread_once_t once;
	const eng_cuda_ops *ops;
	const eng_cuda_ops_v2 *ops2;
	char path[PATH_MAX];
	pl_err err, err2;
} mod = { PTHREAD_ONCE_INIT, NULL, NULL, "", { 0 }, { 0 } };

/* The backend table of the module at path, opened already: the same
 * checks as for _v1 (the name fixes the ABI; abi, size and the entries
 * catch a broken table). */
static void open_v2(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* the same handle, one more reference */
	eng_cuda_module_v2_fn entry;
	const eng_cuda_ops_v2 *o;

	if (!h) {
		pl_err_set(&mod.err2, PL_EUNSUPPORTED, "%s: %s", path, dlerror());
		return;
	}
	dlerror();
	*(void **)&entry = dlsym(h, ENG_CUDA_MODULE_SYMBOL_V2);
	if (!entry) {
		pl_err_set(&mod.err2, PL_EUNSUPPORTED,
			   "%s has no symbol %s: a CUDA module of an older plait, which only probes GPUs; rebuild it "
			   "with 'make'", path, ENG_CUDA_MODULE_SYMBOL_V2);
		return;
	}
	o = entry();
	if (!o || o->abi != 2 || o->size < sizeof(eng_cuda_ops_v2) || !o->upload || !o->forward || !o->selftest) {
		pl_err_set(&mod.err2, PL_EUNSUPPORTED, "%s: %s returned a table this plait cannot use (abi %u, size %u)",
			   path, ENG_CUDA_MODULE_SYMBOL_V2, o ? o->abi : 0, o ? o->size : 0);
		return;
	}
	mod.ops2 = o;
}

static void load_once(void)
{
	static const char *const rel[] = { "lib/", "../lib/", "../lib/plait/" };
	const char *env = getenv("PLAIT_CUDA_MODULE");
	char exe[PATH_MAX], *slash;
	pl_buf tried = PL_BUF_INIT, path = PL_BUF_INIT;
	pl_err e = { 0 };
	ssize_t n;
	size_t i;

	if (env && *env) {
		if (eng__cuda_module_open(&mod.ops, env, &e) == 0) {
			snprintf(mod.path, sizeof(mod.path), "%s", env);
			open_v2(mod.path);
		} else
			pl_err_set(&mod.err, e.code, "cannot load the CUDA module named by PLAIT_CUDA_MODULE: %s; %s",
				   e.msg, "point PLAIT_CUDA_MODULE at build/lib/" ENG_CUDA_MODULE_FILE
				   " or PREFIX/lib/plait/" ENG_CUDA_MODULE_FILE ", or unset it");
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1) {
		pl_err_sys(&mod.err, PL_ENOTFOUND,
			   "cannot load the CUDA module: cannot find the running program (/proc/self/exe); "
			   "set PLAIT_CUDA_MODULE to the path of " ENG_CUDA_MODULE_FILE);
		return;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	for (i = 0; i < PL_ARRAY_LEN(rel); i++) {
		pl_buf_reset(&path);
		pl_buf_printf(&path, "%s/%s%s", exe, rel[i], ENG_CUDA_MODULE_FILE);
		if (eng__cuda_module_open(&mod.ops, path.ptr, &e) == 0) {
			snprintf(mod.path, sizeof(mod.path), "%s", path.ptr);
			open_v2(mod.path);
			goto done;
		}
		pl_buf_printf(&tried, "%s%s", i ? "; " : "", e.msg);
	}
	pl_err_set(&mod.err, PL_ENOTFOUND, "cannot load the CUDA module %s (tried %s); %s", ENG_CUDA_MODULE_FILE,
		   tried.ptr, FIX);
done:
	pl_buf_release(&path);
	pl_buf_release(&tried);
}

int eng__cuda_module_load(const eng_cuda_ops **out, const char **path_out, pl_err *err)
{
	pthread_once(&mod.once, load_once);
	if (!mod.ops)
		return pl_err_set(err, mod.err.code ? mod.err.code : PL_EINTERNAL, "%s", mod.err.msg);
	*out = mod.ops;
	if (path_out)
		*path_out = mod.path;
	return 0;
}

int eng__cuda_module_load_v2(const eng_cuda_ops_v2 **out, pl_err *err)
{
	const eng_cuda_ops *v1;
	int rc;

	if ((rc = eng__cuda_module_load(&v1, NULL, err)) < 0)
		return rc;
	if (!mod.ops2)
		return pl_err_set(err, mod.err2.code ? mod.err2.code : PL_EINTERNAL, "%s", mod.err2.msg);
	*out = mod.ops2;
	return 0;
}
