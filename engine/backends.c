/* backends.c - which compute backends this build carries. */
#include "engine/engine.h"

#include <string.h>

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
