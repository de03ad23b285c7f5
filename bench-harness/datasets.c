/* datasets.c - find benchmark dataset files. */
#include "bench-harness/bench.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dataset_name(const char *n)
{
	return pl_str_ends_with(n, ".jsonl") || pl_str_ends_with(n, ".jsonl.xz") ||
	       pl_str_ends_with(n, ".json");
}

/* Instances in a JSONL file: non-empty lines, counted over a memory map. */
static int64_t count_lines(const char *path)
{
	pl_map m;
	int64_t n = 0;
	size_t i;
	bool content = false;

	if (pl_map_open(&m, path, NULL) < 0)
		return -1;
	for (i = 0; i < m.size; i++) {
		if (m.data[i] == '\n') {
			n += content;
			content = false;
		} else if (m.data[i] != ' ' && m.data[i] != '\r' && m.data[i] != '\t') {
			content = true;
		}
	}
	n += content;
	pl_map_close(&m);
	return n;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int bench_datasets_scan(json_t *out, const char *dir, pl_err *err)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;

	if (!json_is_array(out))
		return pl_err_set(err, PL_EINVAL, "bench_datasets_scan: out must be a JSON array");
	if (!pl_dir_exists(dir))
		return 0;
	d = opendir(dir);
	if (!d)
		return pl_err_sys(err, PL_EIO, "cannot read data directory '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !is_dataset_name(e->d_name))
			continue;
		names = pl_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = pl_xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		pl_buf p = PL_BUF_INIT;
		struct stat st;
		json_t *o;

		pl_path_join(&p, dir, names[i]);
		if (stat(p.ptr, &st) == 0 && S_ISREG(st.st_mode)) {
			o = json_object();
			pl_json_set(o, "path", json_string(p.ptr));
			pl_json_set(o, "bytes", json_integer((json_int_t)st.st_size));
			pl_json_set(o, "compressed", json_boolean(pl_str_ends_with(names[i], ".xz")));
			if (pl_str_ends_with(names[i], ".jsonl"))
				pl_json_set(o, "instances", json_integer(count_lines(p.ptr)));
			json_array_append_new(out, o);
		}
		pl_buf_release(&p);
		free(names[i]);
	}
	free(names);
	return 0;
}
