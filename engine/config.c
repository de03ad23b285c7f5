/* config.c - read and validate config.json and generation_config.json. */
#include "engine/engine.h"

#include <math.h>
#include <string.h>

#define DIM_MAX ((int64_t)1 << 24)

static int get_dim(int64_t *out, const json_t *cfg, const char *key, bool required, int64_t dflt, pl_err *err)
{
	int rc;

	*out = dflt;
	if (required)
		rc = pl_json_get_int(out, cfg, key, "config.json", err);
	else
		rc = pl_json_opt_int(out, cfg, key, "config.json", err);
	if (rc < 0)
		return rc;
	if (*out <= 0 || *out > DIM_MAX)
		return pl_err_set(err, PL_EFORMAT, "config.json: \"%s\" is %lld, expected a size in 1..%lld", key,
				  (long long)*out, (long long)DIM_MAX);
	return 0;
}

/* eos_token_id: an integer or an array of integers. */
static int read_eos(eng_config *c, const json_t *obj, const char *what, pl_err *err)
{
	json_t *v = json_object_get(obj, "eos_token_id"), *e;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return pl_err_set(err, PL_EFORMAT, "%s: \"eos_token_id\" is negative", what);
		c->eos_ids[0] = (int32_t)json_integer_value(v);
		c->n_eos = 1;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > PL_ARRAY_LEN(c->eos_ids))
		return pl_err_set(err, PL_EFORMAT, "%s: \"eos_token_id\" must be an integer or an array of at most %zu",
				  what, PL_ARRAY_LEN(c->eos_ids));
	json_array_foreach(v, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > INT32_MAX)
			return pl_err_set(err, PL_EFORMAT, "%s: \"eos_token_id\" entry %zu is not a token id", what, i);
		c->eos_ids[i] = (int32_t)json_integer_value(e);
	}
	c->n_eos = (int)json_array_size(v);
	return 0;
}

static int read_plt(eng_config *c, const json_t *cfg, pl_err *err)
{
	const char *key;
	json_t *v, *w;
	int64_t loops = 1;
	bool b;
	int rc;

	c->is_plt = false;
	json_object_foreach((json_t *)cfg, key, v) if (pl_str_starts_with(key, "plt_")) c->is_plt = true;
	c->loops = c->config_loops = 1;
	c->window_left = 64;
	c->emb_scale = 1.0;
	c->hidden_scale = 0.0;
	if (!c->is_plt)
		return 0;
	if ((rc = pl_json_get_int(&loops, cfg, "plt_num_loops", "config.json", err)) < 0)
		return rc;
	if (loops < 1 || loops > ENG_MAX_LOOPS)
		return pl_err_set(err, PL_EFORMAT, "config.json: \"plt_num_loops\" is %lld, expected 1..%d",
				  (long long)loops, ENG_MAX_LOOPS);
	c->loops = c->config_loops = (int)loops;
	w = json_object_get(cfg, "plt_window_size");
	if (w && !json_is_null(w)) {
		if (!json_is_array(w) || json_array_size(w) != 2 || !json_is_integer(json_array_get(w, 0)) ||
		    !json_is_integer(json_array_get(w, 1)))
			return pl_err_set(err, PL_EFORMAT,
					  "config.json: \"plt_window_size\" must be [left, right] integers");
		if (json_integer_value(json_array_get(w, 0)) != ENG_LOCAL_WINDOW - 1 ||
		    json_integer_value(json_array_get(w, 1)) != 0)
			return pl_err_set(err, PL_EUNSUPPORTED,
					  "config.json: \"plt_window_size\" [%lld, %lld] is not supported (only [%d, 0])",
					  (long long)json_integer_value(json_array_get(w, 0)),
					  (long long)json_integer_value(json_array_get(w, 1)), ENG_LOCAL_WINDOW - 1);
	}
	if ((rc = pl_json_get_num(&c->emb_scale, cfg, "plt_emb_scale", "config.json", err)) < 0 ||
	    (rc = pl_json_get_num(&c->hidden_scale, cfg, "plt_hidden_scale", "config.json", err)) < 0)
		return rc;
	if (!isfinite(c->emb_scale) || !isfinite(c->hidden_scale))
		return pl_err_set(err, PL_EFORMAT, "config.json: \"plt_emb_scale\"/\"plt_hidden_scale\" must be finite");
	b = true;
	if ((rc = pl_json_opt_bool(&b, cfg, "plt_normalize_per_loop", "config.json", err)) < 0)
		return rc;
	if (!b)
		return pl_err_set(err, PL_EUNSUPPORTED, "config.json: \"plt_normalize_per_loop\" false is not supported");
	b = true;
	if ((rc = pl_json_opt_bool(&b, cfg, "plt_gate_use_hidden_states", "config.json", err)) < 0)
		return rc;
	if (!b)
		return pl_err_set(err, PL_EUNSUPPORTED,
				  "config.json: \"plt_gate_use_hidden_states\" false (query gate) is not supported");
	return 0;
}

static int read_generation_config(eng_config *c, const char *dir, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	json_t *g = NULL;
	int rc = 0;

	pl_path_join(&p, dir, "generation_config.json");
	if (!pl_file_exists(p.ptr))
		goto done;
	if ((rc = pl_json_load_file(&g, p.ptr, err)) < 0)
		goto done;
	if (!json_is_object(g)) {
		rc = pl_err_set(err, PL_EFORMAT, "generation_config.json: not a JSON object");
		goto done;
	}
	if ((rc = read_eos(c, g, "generation_config.json", err)) < 0 ||
	    (rc = pl_json_opt_int(&c->bos_id, g, "bos_token_id", "generation_config.json", err)) < 0 ||
	    (rc = pl_json_opt_num(&c->gen_temperature, g, "temperature", "generation_config.json", err)) < 0 ||
	    (rc = pl_json_opt_num(&c->gen_top_p, g, "top_p", "generation_config.json", err)) < 0 ||
	    (rc = pl_json_opt_int(&c->gen_top_k, g, "top_k", "generation_config.json", err)) < 0)
		goto done;
	/* Absent values stay at -1; present ones must be in range. */
	if (json_object_get(g, "temperature") && !json_is_null(json_object_get(g, "temperature")) &&
	    !(c->gen_temperature >= 0)) {
		rc = pl_err_set(err, PL_EFORMAT, "generation_config.json: \"temperature\" is negative");
		goto done;
	}
	if (json_object_get(g, "top_p") && !json_is_null(json_object_get(g, "top_p")) &&
	    !(c->gen_top_p > 0 && c->gen_top_p <= 1)) {
		rc = pl_err_set(err, PL_EFORMAT, "generation_config.json: \"top_p\" must be in (0, 1]");
		goto done;
	}
	if (json_object_get(g, "top_k") && !json_is_null(json_object_get(g, "top_k")) && c->gen_top_k < 0) {
		rc = pl_err_set(err, PL_EFORMAT, "generation_config.json: \"top_k\" is negative");
		goto done;
	}
	/* As in transformers, temperature and top-p/top-k apply only with
	 * do_sample true (its default is false): otherwise greedy. */
	{
		bool sample = false;

		if ((rc = pl_json_opt_bool(&sample, g, "do_sample", "generation_config.json", err)) < 0)
			goto done;
		if (!sample)
			c->gen_temperature = 0;
	}
	c->has_gen_defaults = true;
done:
	json_decref(g);
	pl_buf_release(&p);
	return rc;
}

int eng_config_load(eng_config *out, const char *dir, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	json_t *cfg = NULL, *rs;
	eng_config c;
	bool bias = false;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.bos_id = -1;
	c.gen_temperature = c.gen_top_p = -1.0;
	c.gen_top_k = -1;
	pl_path_join(&p, dir, "config.json");
	if ((rc = pl_json_load_file(&cfg, p.ptr, err)) < 0)
		goto done;
	if (!json_is_object(cfg)) {
		rc = pl_err_set(err, PL_EFORMAT, "config.json: not a JSON object");
		goto done;
	}
	if ((rc = get_dim(&c.hidden, cfg, "hidden_size", true, 0, err)) < 0 ||
	    (rc = get_dim(&c.intermediate, cfg, "intermediate_size", true, 0, err)) < 0 ||
	    (rc = get_dim(&c.layers, cfg, "num_hidden_layers", true, 0, err)) < 0 ||
	    (rc = get_dim(&c.heads, cfg, "num_attention_heads", true, 0, err)) < 0 ||
	    (rc = get_dim(&c.kv_heads, cfg, "num_key_value_heads", false, c.heads, err)) < 0 ||
	    (rc = get_dim(&c.vocab, cfg, "vocab_size", true, 0, err)) < 0)
		goto done;
	if (c.heads % c.kv_heads) {
		rc = pl_err_set(err, PL_EFORMAT,
				"config.json: \"num_attention_heads\" %lld is not a multiple of \"num_key_value_heads\" %lld",
				(long long)c.heads, (long long)c.kv_heads);
		goto done;
	}
	if (json_object_get(cfg, "head_dim") && !json_is_null(json_object_get(cfg, "head_dim"))) {
		if ((rc = get_dim(&c.head_dim, cfg, "head_dim", true, 0, err)) < 0)
			goto done;
	} else {
		if (c.hidden % c.heads) {
			rc = pl_err_set(err, PL_EFORMAT,
					"config.json: \"hidden_size\" %lld is not a multiple of \"num_attention_heads\" %lld",
					(long long)c.hidden, (long long)c.heads);
			goto done;
		}
		c.head_dim = c.hidden / c.heads;
	}
	if (c.head_dim % 2) {
		rc = pl_err_set(err, PL_EFORMAT, "config.json: head_dim %lld is odd (RoPE pairs dimensions)",
				(long long)c.head_dim);
		goto done;
	}
	if ((rc = pl_json_opt_int(&c.max_pos, cfg, "max_position_embeddings", "config.json", err)) < 0)
		goto done;
	if (c.max_pos < 0) {
		rc = pl_err_set(err, PL_EFORMAT, "config.json: \"max_position_embeddings\" is negative");
		goto done;
	}
	c.rms_eps = 1e-6;
	c.rope_theta = 10000.0;
	if ((rc = pl_json_opt_num(&c.rms_eps, cfg, "rms_norm_eps", "config.json", err)) < 0 ||
	    (rc = pl_json_opt_num(&c.rope_theta, cfg, "rope_theta", "config.json", err)) < 0 ||
	    (rc = pl_json_opt_bool(&c.tie_embeddings, cfg, "tie_word_embeddings", "config.json", err)) < 0)
		goto done;
	if (!(c.rms_eps > 0) || !isfinite(c.rms_eps)) {
		rc = pl_err_set(err, PL_EFORMAT, "config.json: \"rms_norm_eps\" must be a positive number");
		goto done;
	}
	if (!(c.rope_theta > 0) || !isfinite(c.rope_theta)) {
		rc = pl_err_set(err, PL_EFORMAT, "config.json: \"rope_theta\" must be a positive number");
		goto done;
	}
	rs = json_object_get(cfg, "rope_scaling");
	if (rs && !json_is_null(rs)) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "config.json: \"rope_scaling\" is not supported (must be null)");
		goto done;
	}
	if ((rc = pl_json_opt_bool(&bias, cfg, "attention_bias", "config.json", err)) < 0)
		goto done;
	if (!bias && (rc = pl_json_opt_bool(&bias, cfg, "mlp_bias", "config.json", err)) < 0)
		goto done;
	if (bias) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "config.json: attention or MLP biases are not supported");
		goto done;
	}
	if ((rc = read_plt(&c, cfg, err)) < 0 || (rc = read_eos(&c, cfg, "config.json", err)) < 0 ||
	    (rc = pl_json_opt_int(&c.bos_id, cfg, "bos_token_id", "config.json", err)) < 0)
		goto done;
	if ((rc = read_generation_config(&c, dir, err)) < 0)
		goto done;
	*out = c;
done:
	if (rc < 0 && err && !strstr(err->msg, dir))
		pl_err_prefix(err, "%s", dir);
	json_decref(cfg);
	pl_buf_release(&p);
	return rc;
}

void eng_config_state_bytes(eng_state_bytes *out, const eng_config *c)
{
	/* K and V of one position in every layer, kv_heads x head_dim each */
	uint64_t kv = (uint64_t)c->layers * 2 * (uint64_t)(c->kv_heads * c->head_dim);
	uint64_t later = (uint64_t)(c->loops - 1);

	out->kv0_bf16 = kv * 2;
	out->cpu_per_token = kv * sizeof(float) * (uint64_t)c->loops + later * (uint64_t)c->hidden * sizeof(float) +
			     sizeof(int32_t);
	out->ring_bf16 = kv * 2 * ENG_LOCAL_WINDOW;
}
