/* backends.c - which compute backends this build carries, and the tables
 * of those that can run a model (backend.h). */
#include "engine/backend.h"

#include <string.h>

#ifdef PLAIT_HAVE_CUDA
#include "engine/cuda/module.h"
#endif

static const char *const built[] = {
#ifdef PLAIT_HAVE_CUDA
	"cuda",
#endif
	"cpu",
	NULL,
};

const char *const *eng_backends_built(void)
{
	return built;
}

bool eng_backend_is_built(const char *name)
{
	size_t i;

	for (i = 0; built[i]; i++)
		if (!strcmp(built[i], name))
			return true;
	return false;
}

bool eng_backend_has_profile(const char *name)
{
	const eng__backend_ops *b = eng__backend_find(name);

	return b && b->profile;
}

int eng_backend_load(const char *name, pl_err *err)
{
	if (!eng_backend_is_built(name)) {
		pl_buf b = PL_BUF_INIT;
		size_t i;
		int rc;

		for (i = 0; built[i]; i++)
			pl_buf_printf(&b, "%s%s", i ? ", " : "", built[i]);
		rc = pl_err_set(err, PL_EUNSUPPORTED, "backend '%s' is not built into this plait (built: %s)", name,
				b.ptr);
		pl_buf_release(&b);
		return rc;
	}
#ifdef PLAIT_HAVE_CUDA
	if (!strcmp(name, "cuda")) {
		const eng_cuda_ops *ops;

		return eng__cuda_module_load(&ops, NULL, err);
	}
#endif
	return 0;
}

/* Backends that can run a model.  The CUDA backend is listed in CUDA
 * builds; whether this machine can run it is its upload's answer (the
 * module, a GPU). */
static const eng__backend_ops *const runnable[] = {
	&eng__cpu_backend,
#ifdef PLAIT_HAVE_CUDA
	&eng__cuda_backend,
#endif
	NULL,
};

const eng__backend_ops *const *eng__backends(void)
{
	return runnable;
}

const eng__backend_ops *eng__backend_find(const char *name)
{
	size_t i;

	for (i = 0; runnable[i]; i++)
		if (!strcmp(runnable[i]->name, name))
			return runnable[i];
	return NULL;
}
