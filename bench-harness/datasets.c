/* datasets.c - find benchmark dataset files. */
#include "bench-harness/internal.h"

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

/* The file names a dataset name may have in a data directory: those of
 * ../shared/datasets first. */
static const struct {
	const char *name;
	const char *files[3];
} known[] = {
	{ "verified", { "swe-bench-verified.jsonl", "swe-bench_verified.jsonl", NULL } },
	{ "verified-v5", { "swe-bench-verified.v5-fixes.jsonl", NULL, NULL } },
	{ "lite", { "swe-bench-lite.test.jsonl", "swe-bench-lite.jsonl", NULL } },
	{ "dev", { "swe-bench.dev.jsonl", "swe-bench-dev.jsonl", NULL } },
};

int bench_dataset_resolve(pl_buf *out, const char *name_or_path, char *const *data_dirs, pl_err *err)
{
	static const char *const suffixes[] = { "", ".xz", ".gz" };
	pl_buf p = PL_BUF_INIT, searched = PL_BUF_INIT;
	char *const *d;
	size_t i, f, s;

	if (strchr(name_or_path, '/') || pl_file_exists(name_or_path)) {
		if (!pl_file_exists(name_or_path))
			return pl_err_set(err, PL_ENOTFOUND, "dataset file '%s' does not exist", name_or_path);
		pl_buf_puts(out, name_or_path);
		return 0;
	}
	for (i = 0; i < PL_ARRAY_LEN(known); i++)
		if (!strcmp(known[i].name, name_or_path))
			break;
	if (i == PL_ARRAY_LEN(known))
		return pl_err_set(err, PL_ENOTFOUND,
				  "dataset '%s' is neither a file nor a known name (verified, verified-v5, lite, dev)",
				  name_or_path);
	for (d = data_dirs; d && *d; d++) {
		pl_buf_printf(&searched, "%s%s", searched.len ? ", " : "", *d);
		for (f = 0; f < PL_ARRAY_LEN(known[i].files) && known[i].files[f]; f++)
			for (s = 0; s < PL_ARRAY_LEN(suffixes); s++) {
				pl_buf_reset(&p);
				pl_path_join(&p, *d, known[i].files[f]);
				pl_buf_puts(&p, suffixes[s]);
				if (pl_file_exists(p.ptr)) {
					pl_buf_add(out, p.ptr, p.len);
					pl_buf_release(&p);
					pl_buf_release(&searched);
					return 0;
				}
			}
	}
	pl_err_set(err, PL_ENOTFOUND,
		   "dataset '%s' (%s, plain, .xz or .gz) not found in the data directories (%s); put it in one, "
		   "add its directory to PLAIT_DATA_PATH, or give the file's path",
		   name_or_path, known[i].files[0], searched.len ? searched.ptr : "none configured");
	pl_buf_release(&p);
	pl_buf_release(&searched);
	return PL_ENOTFOUND;
}
