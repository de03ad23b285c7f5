/* preds.c - predictions as get_predictions_from_file reads them, keyed by
 * instance id as run_evaluation.main keys them. */
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

void bench_preds_free(bench_preds *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->items[i].instance_id);
		free(p->items[i].model);
		free(p->items[i].patch);
	}
	free(p->items);
	free(p);
}

const bench_pred *bench_preds_find(const bench_preds *p, const char *instance_id)
{
	size_t i;

	for (i = 0; p && i < p->n; i++)
		if (!strcmp(p->items[i].instance_id, instance_id))
			return &p->items[i];
	return NULL;
}

bool bench_pred_is_empty(const bench_pred *p)
{
	return !p->patch || !p->patch[0];
}

void bench_model_dir(pl_buf *out, const char *model)
{
	for (; *model; model++) {
		if (*model == '/')
			pl_buf_puts(out, "__");
		else
			pl_buf_putc(out, *model);
	}
}

/* {pred[id]: pred for pred in predictions}: a later duplicate replaces the
 * value and keeps the first one's place. */
static void put(bench_preds *p, size_t *cap, const char *id, const char *model, const char *patch)
{
	bench_pred *e = (bench_pred *)bench_preds_find(p, id);

	if (!e) {
		if (p->n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			p->items = pl_xrealloc(p->items, *cap * sizeof(*p->items));
		}
		e = &p->items[p->n++];
		e->instance_id = pl_xstrdup(id);
	} else {
		free(e->model);
		free(e->patch);
	}
	e->model = pl_xstrdup(model);
	e->patch = patch ? pl_xstrdup(patch) : NULL;
}

static int add_one(bench_preds *p, size_t *cap, const json_t *o, const char *what, pl_err *err)
{
	const json_t *id, *model, *patch;

	if (!json_is_object(o))
		return pl_err_set(err, PL_EFORMAT, "%s: each prediction must be an object, found %s", what,
				  pl_json_type_name(o));
	id = json_object_get(o, "instance_id");
	if (!id)
		return pl_err_set(err, PL_EFORMAT, "%s: each prediction must contain 'instance_id'", what);
	if (!json_is_string(id))
		return pl_err_set(err, PL_EFORMAT, "%s: 'instance_id' must be a string, found %s", what,
				  pl_json_type_name(id));
	model = json_object_get(o, "model_name_or_path");
	if (model && !json_is_string(model))
		return pl_err_set(err, PL_EFORMAT, "%s: 'model_name_or_path' must be a string, found %s", what,
				  pl_json_type_name(model));
	patch = json_object_get(o, "model_patch");
	if (!patch)
		return pl_err_set(err, PL_EFORMAT, "%s: prediction '%s' has no 'model_patch' (give \"\" or null "
				  "for no patch)", what, json_string_value(id));
	if (!json_is_string(patch) && !json_is_null(patch))
		return pl_err_set(err, PL_EFORMAT, "%s: 'model_patch' must be a string or null, found %s", what,
				  pl_json_type_name(patch));
	put(p, cap, json_string_value(id), model ? json_string_value(model) : "None",
	    json_is_string(patch) ? json_string_value(patch) : NULL);
	return 0;
}

/* bench__json_records' callback: one prediction more. */
typedef struct load_state {
	bench_preds *p;
	size_t cap;
} load_state;

static int add_record(void *ctx, const json_t *o, const char *what, pl_err *err)
{
	load_state *ls = ctx;

	return add_one(ls->p, &ls->cap, o, what, err);
}

int bench_preds_load(bench_preds **out, const char *path, pl_err *err)
{
	bench_preds *p = pl_xcalloc(1, sizeof(*p));
	pl_buf text = PL_BUF_INIT;
	load_state ls = { p, 0 };
	int rc;

	/* a list, JSON Lines, or an object of predictions keyed by id */
	if ((rc = bench_file_read(&text, path, err)) < 0 ||
	    (rc = bench__json_records(&text, path, true, add_record, &ls, err)) < 0)
		goto done;
	if (!p->n) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: no predictions", path);
		goto done;
	}
	*out = p;
	p = NULL;
done:
	bench_preds_free(p);
	pl_buf_release(&text);
	return rc;
}

int bench_preds_gold(bench_preds **out, const bench_dataset *ds, pl_err *err)
{
	bench_preds *p = pl_xcalloc(1, sizeof(*p));
	size_t cap = 0, i;

	for (i = 0; i < ds->n; i++)
		put(p, &cap, ds->items[i].instance_id, "gold", ds->items[i].patch);
	if (!p->n) {
		bench_preds_free(p);
		return pl_err_set(err, PL_EINVAL, "%s: no instances, so no gold predictions", ds->path);
	}
	*out = p;
	return 0;
}

int bench_preds_check(const bench_preds *p, const bench_dataset *ds, pl_err *err)
{
	pl_buf missing = PL_BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < p->n; i++)
		if (!bench_dataset_find(ds, p->items[i].instance_id)) {
			pl_buf_printf(&missing, "%s%s", n ? " " : "", p->items[i].instance_id);
			n++;
		}
	if (!n)
		return 0;
	pl_err_set(err, PL_EINVAL, "%zu prediction id%s not in the dataset %s: %.600s", n, n == 1 ? " is" : "s are",
		   ds->path, missing.ptr);
	pl_buf_release(&missing);
	return PL_EINVAL;
}
