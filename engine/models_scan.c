/* models_scan.c - find model directories and say whether each could load.
 *
 * Each directory found is inspected (eng_model_inspect: config.json and the
 * weight files' headers, never the weights): cheap enough for `plait
 * doctor` to run over every configured directory. */
#define _GNU_SOURCE
#include "engine/engine.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static bool has_file(const char *dir, const char *name)
{
	pl_buf p = PL_BUF_INIT;
	bool ok;

	pl_path_join(&p, dir, name);
	ok = pl_file_exists(p.ptr);
	pl_buf_release(&p);
	return ok;
}

/* The "architectures" entry of config.json, which eng_config does not keep;
 * NULL when absent or unreadable (eng_model_inspect reports why). */
static json_t *architecture(const char *dir)
{
	pl_buf p = PL_BUF_INIT;
	json_t *cfg = NULL, *arch, *name = NULL;

	pl_path_join(&p, dir, "config.json");
	if (pl_json_load_file(&cfg, p.ptr, NULL) == 0) {
		arch = json_object_get(cfg, "architectures");
		if (json_is_array(arch) && json_is_string(json_array_get(arch, 0)))
			name = json_copy(json_array_get(arch, 0));
	}
	json_decref(cfg);
	pl_buf_release(&p);
	return name;
}

static json_t *describe(const char *dir)
{
	json_t *m = json_object(), *problems = json_array(), *files = json_array(), *arch;
	eng_model_info info;
	pl_err err = { 0 };
	size_t i;

	pl_json_set(m, "path", json_string(dir));
	if ((arch = architecture(dir)))
		pl_json_set(m, "architecture", arch);
	if (eng_model_inspect(&info, dir, &err) == 0) {
		pl_json_set(m, "layers", json_integer(info.cfg.layers));
		pl_json_set(m, "hidden_size", json_integer(info.cfg.hidden));
		pl_json_set(m, "vocab_size", json_integer(info.cfg.vocab));
		pl_json_set(m, "loops", json_integer(info.cfg.loops));
		pl_json_set(m, "parameters", json_integer((json_int_t)info.params));
		pl_json_set(m, "kv_bytes_per_token_bf16", json_integer((json_int_t)info.state.kv0_bf16));
		for (i = 0; i < info.n_files; i++)
			json_array_append_new(files, json_string(info.files[i]));
		pl_json_set(m, "weight_bytes", json_integer((json_int_t)info.weight_bytes));
		eng_model_info_release(&info);
	} else {
		json_array_append_new(problems, json_string(err.msg));
	}
	pl_json_set(m, "weight_files", files);
	pl_json_set(m, "tokenizer", json_string(has_file(dir, "tokenizer.model") ? "tokenizer.model"
						: has_file(dir, "tokenizer.json")  ? "tokenizer.json"
										   : "missing"));
	if (!has_file(dir, "tokenizer.model") && !has_file(dir, "tokenizer.json"))
		json_array_append_new(problems, json_string("no tokenizer.model or tokenizer.json"));
	pl_json_set(m, "problems", problems);
	return m;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int eng_models_scan(json_t *out, const char *dir, pl_err *err)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;

	if (!json_is_array(out))
		return pl_err_set(err, PL_EINVAL, "eng_models_scan: out must be a JSON array");
	if (!pl_dir_exists(dir))
		return 0;
	if (has_file(dir, "config.json")) {
		json_array_append_new(out, describe(dir));
		return 0;
	}
	d = opendir(dir);
	if (!d)
		return pl_err_sys(err, PL_EIO, "cannot read model directory '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		pl_buf p = PL_BUF_INIT;

		if (e->d_name[0] == '.')
			continue;
		pl_path_join(&p, dir, e->d_name);
		if (pl_dir_exists(p.ptr) && has_file(p.ptr, "config.json")) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				names = pl_xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = pl_buf_detach(&p, NULL);
		}
		pl_buf_release(&p);
	}
	closedir(d);
	/* readdir order is arbitrary; a report should not reshuffle between runs. */
	if (n)
		qsort(names, n, sizeof(*names), by_path);
	for (i = 0; i < n; i++) {
		json_array_append_new(out, describe(names[i]));
		free(names[i]);
	}
	free(names);
	return 0;
}
