/* inspect.c - what a model directory holds, read without loading its
 * weights: the configuration, every weight file's validated header, the
 * parameter count and bytes, and the per-token state the model needs.
 * `plait model info` and the models scan of `plait doctor` both use it. */
#include "engine/engine.h"
#include "engine/safetensors.h"

#include <stdlib.h>
#include <string.h>

int eng_model_inspect(eng_model_info *out, const char *dir, pl_err *err)
{
	eng_model_info info;
	eng__st_set set = { 0 };
	size_t i;
	int rc;

	memset(&info, 0, sizeof(info));
	if ((rc = eng_config_load(&info.cfg, dir, err)) < 0)
		goto done;
	if ((rc = eng__st_set_open_dir(&set, dir, err)) < 0) {
		if (err && !strstr(err->msg, dir))
			pl_err_prefix(err, "%s", dir);
		goto done;
	}
	info.n_tensors = set.n;
	for (i = 0; i < set.n; i++) {
		info.params += set.t[i].numel;
		info.weight_bytes += set.t[i].nbytes;
	}
	info.n_files = set.n_files;
	info.files = pl_xcalloc(set.n_files + 1, sizeof(*info.files));
	for (i = 0; i < set.n_files; i++)
		info.files[i] = pl_xstrdup(set.files[i]);
	eng_config_state_bytes(&info.state, &info.cfg);
	*out = info;
done:
	eng__st_set_release(&set);
	return rc;
}

void eng_model_info_release(eng_model_info *info)
{
	size_t i;

	for (i = 0; i < info->n_files; i++)
		free(info->files[i]);
	free(info->files);
	memset(info, 0, sizeof(*info));
}
