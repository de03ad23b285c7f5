/* models_scan.c - find model directories and say whether each could load.
 *
 * This reads only config.json and file sizes: cheap enough for `plait
 * doctor` to run over every configured directory. */
#define _GNU_SOURCE
#include "engine/engine.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint64_t file_size(const char *dir, const char *name)
{
	pl_buf p = PL_BUF_INIT;
	struct stat st;
	uint64_t n = 0;

	pl_path_join(&p, dir, name);
	if (stat(p.ptr, &st) == 0 && S_ISREG(st.st_mode))
		n = (uint64_t)st.st_size;
	pl_buf_release(&p);
	return n;
}

static bool has_file(const char *dir, const char *name)
{
	pl_buf p = PL_BUF_INIT;
	bool ok;

	pl_path_join(&p, dir, name);
	ok = pl_file_exists(p.ptr);
	pl_buf_release(&p);
	return ok;
}

/* Sum of the shards a safetensors index names, each counted once. */
static int index_weights(json_t *files, uint64_t *bytes, const char *dir, json_t *problems)
{
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };
	json_t *idx = NULL, *map, *seen = json_object(), *v;
	const char *key;
	int rc = 0;

	pl_path_join(&p, dir, "model.safetensors.index.json");
	if ((rc = pl_json_load_file(&idx, p.ptr, &err)) < 0) {
		json_array_append_new(problems, json_string(err.msg));
		goto done;
	}
	map = json_object_get(idx, "weight_map");
	if (!json_is_object(map)) {
		json_array_append_new(problems,
				      json_sprintf("%s: no \"weight_map\" object", p.ptr));
		goto done;
	}
	json_object_foreach(map, key, v) {
		const char *shard = json_string_value(v);

		if (!shard || json_object_get(seen, shard))
			continue;
		json_object_set_new(seen, shard, json_true());
		json_array_append_new(files, json_string(shard));
		if (!has_file(dir, shard))
			json_array_append_new(problems, json_sprintf("shard '%s' is missing", shard));
		*bytes += file_size(dir, shard);
	}
done:
	json_decref(idx);
	json_decref(seen);
	pl_buf_release(&p);
	return rc;
}

static json_t *describe(const char *dir)
{
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };
	json_t *m = json_object(), *cfg = NULL, *problems = json_array(), *files = json_array(), *arch;
	int64_t layers = 0, hidden = 0, loops = 1, vocab = 0;
	uint64_t bytes = 0;

	pl_json_set(m, "path", json_string(dir));
	pl_path_join(&p, dir, "config.json");
	if (pl_json_load_file(&cfg, p.ptr, &err) < 0) {
		json_array_append_new(problems, json_string(err.msg));
		goto out;
	}
	arch = json_object_get(cfg, "architectures");
	if (json_is_array(arch) && json_array_size(arch) > 0 && json_is_string(json_array_get(arch, 0)))
		pl_json_set(m, "architecture", json_copy(json_array_get(arch, 0)));
	if (pl_json_get_int(&layers, cfg, "num_hidden_layers", p.ptr, &err) < 0 ||
	    pl_json_get_int(&hidden, cfg, "hidden_size", p.ptr, &err) < 0 ||
	    pl_json_get_int(&vocab, cfg, "vocab_size", p.ptr, &err) < 0 ||
	    pl_json_opt_int(&loops, cfg, "plt_num_loops", p.ptr, &err) < 0)
		json_array_append_new(problems, json_string(err.msg));
	pl_json_set(m, "layers", json_integer(layers));
	pl_json_set(m, "hidden_size", json_integer(hidden));
	pl_json_set(m, "vocab_size", json_integer(vocab));
	pl_json_set(m, "loops", json_integer(loops));
out:
	if (has_file(dir, "model.safetensors.index.json")) {
		index_weights(files, &bytes, dir, problems);
	} else if (has_file(dir, "model.safetensors")) {
		json_array_append_new(files, json_string("model.safetensors"));
		bytes = file_size(dir, "model.safetensors");
	} else {
		json_array_append_new(problems,
				      json_string("no model.safetensors or model.safetensors.index.json"));
	}
	pl_json_set(m, "weight_files", files);
	pl_json_set(m, "weight_bytes", json_integer((json_int_t)bytes));
	pl_json_set(m, "tokenizer", json_string(has_file(dir, "tokenizer.model") ? "tokenizer.model"
						: has_file(dir, "tokenizer.json")  ? "tokenizer.json"
										   : "missing"));
	if (!has_file(dir, "tokenizer.model") && !has_file(dir, "tokenizer.json"))
		json_array_append_new(problems, json_string("no tokenizer.model or tokenizer.json"));
	pl_json_set(m, "problems", problems);
	json_decref(cfg);
	pl_buf_release(&p);
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
