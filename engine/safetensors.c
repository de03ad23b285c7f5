/* safetensors.c - read and validate safetensors checkpoints through mmap.
 *
 * Format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON mapping tensor names to {dtype, shape, data_offsets}, then
 * the packed data; offsets are relative to byte 8 + N.  Every field is
 * checked before any byte of data is read, so a corrupt file is an error
 * naming the file and the tensor, never an out-of-range read. */
#include "engine/safetensors.h"

#include <stdlib.h>
#include <string.h>

#define ST_HEADER_MAX (100u << 20) /* the reference parser's cap */

static const eng__st_tensor *find_in(const eng__st_tensor *t, size_t n, const char *name);

static int st_dtype_parse(eng__st_dtype *out, size_t *elsize, const char *s)
{
	if (!strcmp(s, "F32")) {
		*out = ENG__ST_F32;
		*elsize = 4;
	} else if (!strcmp(s, "F16")) {
		*out = ENG__ST_F16;
		*elsize = 2;
	} else if (!strcmp(s, "BF16")) {
		*out = ENG__ST_BF16;
		*elsize = 2;
	} else {
		return -1;
	}
	return 0;
}

static int cmp_begin(const void *a, const void *b)
{
	const eng__st_tensor *x = a, *y = b;

	if (x->data != y->data)
		return x->data < y->data ? -1 : 1;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const eng__st_tensor *)a)->name, ((const eng__st_tensor *)b)->name);
}

static int parse_tensor(eng__st_tensor *t, const char *name, json_t *v, const uint8_t *base,
			uint64_t data_size, const char *file, pl_err *err)
{
	json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
	       *offs = json_object_get(v, "data_offsets"), *e;
	size_t elsize, i;
	uint64_t numel = 1, b, end;

	if (!json_is_object(v))
		return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s': entry is not an object", file, name);
	if (!json_is_string(dt))
		return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", file,
				  name);
	if (st_dtype_parse(&t->dtype, &elsize, json_string_value(dt)) < 0)
		return pl_err_set(err, PL_EUNSUPPORTED,
				  "%s: tensor '%s': dtype '%s' is not supported (expected BF16, F16 or F32)", file,
				  name, json_string_value(dt));
	if (!json_is_array(shape) || json_array_size(shape) > 8)
		return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s': \"shape\" must be an array of at most 8 sizes",
				  file, name);
	t->ndim = (int)json_array_size(shape);
	json_array_foreach(shape, i, e) {
		json_int_t d;

		if (!json_is_integer(e) || (d = json_integer_value(e)) < 0)
			return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s': shape entry %zu is not a non-negative integer",
					  file, name, i);
		if (d > 0 && numel > (UINT64_MAX / 8) / (uint64_t)d)
			return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s': shape is too large", file, name);
		t->shape[i] = d;
		numel *= (uint64_t)d;
	}
	if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
	    !json_is_integer(json_array_get(offs, 1)) || json_integer_value(json_array_get(offs, 0)) < 0 ||
	    json_integer_value(json_array_get(offs, 1)) < 0)
		return pl_err_set(err, PL_EFORMAT,
				  "%s: tensor '%s': \"data_offsets\" must be two non-negative integers", file, name);
	b = (uint64_t)json_integer_value(json_array_get(offs, 0));
	end = (uint64_t)json_integer_value(json_array_get(offs, 1));
	if (b > end)
		return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] are reversed", file,
				  name, (unsigned long long)b, (unsigned long long)end);
	if (end > data_size)
		return pl_err_set(err, PL_EFORMAT,
				  "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data (%llu bytes)",
				  file, name, (unsigned long long)b, (unsigned long long)end,
				  (unsigned long long)data_size);
	if (end - b != numel * elsize)
		return pl_err_set(err, PL_EFORMAT,
				  "%s: tensor '%s': %llu data bytes, but shape and dtype need %llu", file, name,
				  (unsigned long long)(end - b), (unsigned long long)(numel * elsize));
	t->numel = numel;
	t->nbytes = end - b;
	t->data = base + b;
	t->name = pl_xstrdup(name);
	return 0;
}

int eng__st_set_add_file(eng__st_set *set, const char *path, const char *display, pl_err *err)
{
	pl_map map = { 0 };
	json_t *hdr = NULL, *v;
	json_error_t je;
	uint64_t hlen = 0, data_size;
	const char *key;
	size_t first = set->n, i, fi;
	int rc = 0;

	if ((rc = pl_map_open(&map, path, err)) < 0)
		return rc;
	if (map.size < 8) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: truncated file (%zu bytes; a safetensors file starts with an 8-byte header length)",
				display, map.size);
		goto fail;
	}
	for (i = 0; i < 8; i++)
		hlen |= (uint64_t)map.data[i] << (8 * i);
	if (hlen == 0 || hlen > map.size - 8) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)",
				display, (unsigned long long)hlen, map.size);
		goto fail;
	}
	if (hlen > ST_HEADER_MAX) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: header length %llu is over the 100 MiB limit", display,
				(unsigned long long)hlen);
		goto fail;
	}
	hdr = json_loadb((const char *)map.data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
	if (!hdr) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: header is not valid JSON (column %d: %s)", display, je.column,
				je.text);
		goto fail;
	}
	if (!json_is_object(hdr)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: header is not a JSON object", display);
		goto fail;
	}
	data_size = map.size - 8 - hlen;
	fi = set->n_files;
	json_object_foreach(hdr, key, v) {
		eng__st_tensor t = { 0 };

		if (!strcmp(key, "__metadata__")) {
			const char *mk;
			json_t *mv;

			if (!json_is_object(v)) {
				rc = pl_err_set(err, PL_EFORMAT, "%s: \"__metadata__\" is not an object", display);
				goto fail;
			}
			json_object_foreach(v, mk, mv) {
				if (!json_is_string(mv)) {
					rc = pl_err_set(err, PL_EFORMAT,
							"%s: \"__metadata__\" value '%s' is not a string", display, mk);
					goto fail;
				}
			}
			continue;
		}
		if (find_in(set->t, first, key)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: tensor '%s' also appears in an earlier file", display, key);
			goto fail;
		}
		if ((rc = parse_tensor(&t, key, v, map.data + 8 + hlen, data_size, display, err)) < 0)
			goto fail;
		t.file = (int)fi;
		set->t = pl_xrealloc(set->t, (set->n + 1) * sizeof(*set->t));
		set->t[set->n++] = t;
	}
	/* Ranges must not overlap (zero-length tensors overlap nothing). */
	if (set->n > first)
		qsort(set->t + first, set->n - first, sizeof(*set->t), cmp_begin);
	for (i = first + 1; i < set->n; i++) {
		const eng__st_tensor *a = &set->t[i - 1], *b = &set->t[i];

		if (a->nbytes && b->nbytes && a->data + a->nbytes > b->data) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: tensors '%s' and '%s' have overlapping data_offsets",
					display, a->name, b->name);
			goto fail;
		}
	}
	if (set->n)
		qsort(set->t, set->n, sizeof(*set->t), cmp_name);
	set->maps = pl_xrealloc(set->maps, (set->n_files + 1) * sizeof(*set->maps));
	set->files = pl_xrealloc(set->files, (set->n_files + 1) * sizeof(*set->files));
	set->maps[set->n_files] = map;
	set->files[set->n_files++] = pl_xstrdup(display);
	json_decref(hdr);
	return 0;
fail:
	for (i = first; i < set->n; i++)
		free(set->t[i].name);
	set->n = first;
	if (set->n)
		qsort(set->t, set->n, sizeof(*set->t), cmp_name);
	json_decref(hdr);
	pl_map_close(&map);
	return rc;
}

static int shard_name_ok(const char *s)
{
	return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int eng__st_set_open_dir(eng__st_set *set, const char *dir, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, q = PL_BUF_INIT;
	json_t *idx = NULL, *map, *v, *seen = NULL;
	const char *key;
	int rc = 0;

	pl_path_join(&p, dir, "model.safetensors");
	if (pl_file_exists(p.ptr)) {
		rc = eng__st_set_add_file(set, p.ptr, "model.safetensors", err);
		goto done;
	}
	pl_buf_reset(&p);
	pl_path_join(&p, dir, "model.safetensors.index.json");
	if (!pl_file_exists(p.ptr)) {
		rc = pl_err_set(err, PL_ENOTFOUND, "%s: no model.safetensors nor model.safetensors.index.json", dir);
		goto done;
	}
	if ((rc = pl_json_load_file(&idx, p.ptr, err)) < 0)
		goto done;
	map = json_object_get(idx, "weight_map");
	if (!json_is_object(map) || json_object_size(map) == 0) {
		rc = pl_err_set(err, PL_EFORMAT, "model.safetensors.index.json: missing or empty \"weight_map\" object");
		goto done;
	}
	seen = json_object();
	json_object_foreach(map, key, v) {
		const char *shard = json_string_value(v);

		if (!shard || !shard_name_ok(shard)) {
			rc = pl_err_set(err, PL_EFORMAT,
					"model.safetensors.index.json: tensor '%s' maps to an invalid shard name", key);
			goto done;
		}
		if (json_object_get(seen, shard))
			continue;
		json_object_set_new(seen, shard, json_true());
		pl_buf_reset(&q);
		pl_path_join(&q, dir, shard);
		if ((rc = eng__st_set_add_file(set, q.ptr, shard, err)) < 0)
			goto done;
	}
	/* Every tensor the index names must be in the shard it names. */
	json_object_foreach(map, key, v) {
		const eng__st_tensor *t = eng__st_set_find(set, key);

		if (!t || strcmp(set->files[t->file], json_string_value(v))) {
			rc = pl_err_set(err, PL_EFORMAT,
					"model.safetensors.index.json: tensor '%s' is not in shard '%s'", key,
					json_string_value(v));
			goto done;
		}
	}
done:
	json_decref(seen);
	json_decref(idx);
	pl_buf_release(&p);
	pl_buf_release(&q);
	return rc;
}

void eng__st_set_release(eng__st_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		free(set->t[i].name);
	for (i = 0; i < set->n_files; i++) {
		pl_map_close(&set->maps[i]);
		free(set->files[i]);
	}
	free(set->t);
	free(set->maps);
	free(set->files);
	memset(set, 0, sizeof(*set));
}

const eng__st_tensor *eng__st_set_find(const eng__st_set *set, const char *name)
{
	return find_in(set->t, set->n, name);
}

static const eng__st_tensor *find_in(const eng__st_tensor *t, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t[mid].name, name);

		if (!c)
			return &t[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static float half_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
	float f;

	if (exp == 0) {
		/* zero or subnormal: man * 2^-24 exactly */
		f = (float)man * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000u | (man << 13);
	else
		bits = sign | ((exp + 112) << 23) | (man << 13);
	memcpy(&f, &bits, 4);
	return f;
}

void eng__st_to_f32(float *dst, const eng__st_tensor *t, uint64_t first, uint64_t count)
{
	const uint8_t *p;
	uint64_t i;

	switch (t->dtype) {
	case ENG__ST_F32:
		p = t->data + first * 4;
		for (i = 0; i < count; i++) {
			uint32_t b = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
				     (uint32_t)p[4 * i + 3] << 24;
			memcpy(&dst[i], &b, 4);
		}
		break;
	case ENG__ST_BF16:
		p = t->data + first * 2;
		for (i = 0; i < count; i++) {
			uint32_t b = ((uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8) << 16;
			memcpy(&dst[i], &b, 4);
		}
		break;
	case ENG__ST_F16:
		p = t->data + first * 2;
		for (i = 0; i < count; i++)
			dst[i] = half_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
		break;
	}
}
