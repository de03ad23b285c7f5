/* The engine's machine and model-directory probes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "test_ckpt.h"
#include "tests/shell.h"

Test(backends, cpu_is_always_built)
{
	const char *const *b = eng_backends_built();
	size_t n = 0;

	while (b[n])
		n++;
	cr_assert_geq(n, 1);
	cr_assert_str_eq(b[n - 1], "cpu"); /* the fallback comes last */
	cr_assert(eng_backend_is_built("cpu"));
	cr_assert_not(eng_backend_is_built("metal"));
#ifdef PLAIT_HAVE_CUDA
	cr_assert(eng_backend_is_built("cuda"));
#else
	cr_assert_not(eng_backend_is_built("cuda"));
#endif
}

Test(cpu, features_are_known_names_in_order)
{
	json_t *f = eng_cpu_features();
	size_t i;
	json_t *v;

	cr_assert(json_is_array(f));
	json_array_foreach(f, i, v)
		cr_assert(json_is_string(v));
#if defined(__x86_64__)
	/* Every x86-64 CPU plait can run on has SSE4.2 (and Debian's kernels list it). */
	cr_assert_gt(json_array_size(f), 0);
	cr_assert_str_eq(json_string_value(json_array_get(f, 0)), "sse4_2");
#endif
	json_decref(f);
}

Test(gpu, probe_never_fails_and_explains_absence)
{
	eng_gpu_report r;

	eng_gpu_probe(&r);
	cr_assert_not_null(r.probe);
	cr_assert(!strcmp(r.probe, "cuda-runtime") || !strcmp(r.probe, "driver"), "probe '%s'", r.probe);
	cr_assert(r.count >= 0 && r.count <= (int)PL_ARRAY_LEN(r.devices), "count %d", r.count);
	if (r.count == 0)
		cr_assert_gt(strlen(r.note), 0, "no GPU found but no reason given");
	if (!r.driver_found)
		cr_assert_eq(r.count, 0, "GPUs reported without a driver");
	for (int i = 0; i < r.count; i++) {
		cr_assert_gt(strlen(r.devices[i].name), 0, "GPU %d has no name", i);
		cr_assert_geq(r.devices[i].cc_major, 3, "GPU %d: compute capability %d.%d", i, r.devices[i].cc_major,
			      r.devices[i].cc_minor);
		cr_assert_gt(r.devices[i].mem_total, 0);
		cr_assert_leq(r.devices[i].mem_free, r.devices[i].mem_total);
	}
	/* what the kernel's NVIDIA driver lists, when it is loaded: the same
	 * number of GPUs */
	if (r.driver_found) {
		pl_buf out = PL_BUF_INIT;

		if (test_sh(&out, "ls /proc/driver/nvidia/gpus 2>/dev/null | wc -l") == 0 && atoi(out.ptr) > 0)
			cr_assert_eq(r.count, atoi(out.ptr), "the driver lists %d GPUs, the probe %d", atoi(out.ptr),
				     r.count);
		pl_buf_release(&out);
	}
}

/* ---- model directories, built in a scratch directory */

static pl_buf root = PL_BUF_INIT;

static void write_file(const char *rel, const char *text)
{
	pl_buf p = PL_BUF_INIT, d = PL_BUF_INIT;
	char *slash;

	pl_path_join(&p, root.ptr, rel);
	pl_buf_puts(&d, p.ptr);
	slash = strrchr(d.ptr, '/');
	*slash = '\0';
	cr_assert_eq(pl_mkdir_p(d.ptr, 0755, NULL), 0);
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0);
	pl_buf_release(&p);
	pl_buf_release(&d);
}

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&root, "plait-test-models", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
}

static const char plt_config[] =
	"{\"architectures\":[\"IQuestPLTCoderForCausalLM\"],\"num_hidden_layers\":2,"
	"\"hidden_size\":64,\"vocab_size\":300,\"plt_num_loops\":2}";

/* A real tiny checkpoint (test_ckpt.h) at root/rel, its config naming the
 * architecture. */
static void write_ckpt(const char *rel)
{
	pl_buf d = PL_BUF_INIT;
	ck c;

	ck_build(&c, true);
	pl_json_set(c.cfg, "architectures", json_pack("[s]", "IQuestPLTCoderForCausalLM"));
	pl_path_join(&d, root.ptr, rel);
	cr_assert_eq(pl_mkdir_p(d.ptr, 0755, NULL), 0);
	ck_write(&c, d.ptr);
	ck_release(&c);
	pl_buf_release(&d);
}

static json_t *find(json_t *arr, const char *suffix)
{
	size_t i;
	json_t *m;

	json_array_foreach(arr, i, m)
		if (pl_str_ends_with(json_string_value(json_object_get(m, "path")), suffix))
			return m;
	return NULL;
}

Test(models, scan_finds_and_judges_directories, .init = setup, .fini = teardown)
{
	json_t *out = json_array(), *m;
	pl_err err = { 0 };

	write_ckpt("good");
	write_file("good/tokenizer.model", "x");
	/* two shards, the second missing */
	write_ckpt("sharded");
	cr_assert_eq(test_sh(NULL, "cd '%s/sharded' && mv model.safetensors m-1.safetensors", root.ptr), 0);
	write_file("sharded/model.safetensors.index.json",
		   "{\"weight_map\":{\"model.norm.weight\":\"m-1.safetensors\",\"lm_head.weight\":\"m-2.safetensors\"}}");
	write_file("sharded/tokenizer.json", "{}");
	/* weights that are not a safetensors file */
	write_ckpt("garbage");
	write_file("garbage/model.safetensors", "12345678");
	write_file("garbage/tokenizer.json", "{}");
	write_file("broken/config.json", "{not json");
	write_file("noweights/config.json", "{\"num_hidden_layers\":1,\"hidden_size\":8,\"vocab_size\":4}");
	write_file("notamodel/readme.txt", "hello");

	cr_assert_eq(eng_models_scan(out, root.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(out), 5);

	/* what eng_model_inspect reads: the shape and the headers' totals */
	m = find(out, "/good");
	cr_assert_not_null(m);
	cr_assert_str_eq(json_string_value(json_object_get(m, "architecture")), "IQuestPLTCoderForCausalLM");
	cr_assert_eq(json_integer_value(json_object_get(m, "loops")), 2);
	cr_assert_eq(json_integer_value(json_object_get(m, "layers")), 1);
	cr_assert_eq(json_integer_value(json_object_get(m, "parameters")), 256 + 24 + 320 + 64 + 16 + 2 + 8);
	cr_assert_eq(json_integer_value(json_object_get(m, "weight_bytes")),
		     4 * json_integer_value(json_object_get(m, "parameters")));
	cr_assert_eq(json_integer_value(json_object_get(m, "kv_bytes_per_token_bf16")), 1 * 2 * 4 * 2);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "weight_files"), 0)), "model.safetensors");
	cr_assert_eq(json_array_size(json_object_get(m, "problems")), 0);

	m = find(out, "/sharded");
	cr_assert_eq(json_array_size(json_object_get(m, "problems")), 1);
	cr_assert(strstr(json_string_value(json_array_get(json_object_get(m, "problems"), 0)), "m-2.safetensors"),
		  "%s", json_string_value(json_array_get(json_object_get(m, "problems"), 0)));

	m = find(out, "/garbage");
	cr_assert_eq(json_array_size(json_object_get(m, "problems")), 1);
	cr_assert(strstr(json_string_value(json_array_get(json_object_get(m, "problems"), 0)), "model.safetensors"),
		  "%s", json_string_value(json_array_get(json_object_get(m, "problems"), 0)));

	m = find(out, "/broken");
	cr_assert_not_null(strstr(json_string_value(json_array_get(json_object_get(m, "problems"), 0)),
				  "invalid JSON"));

	m = find(out, "/noweights");
	cr_assert_eq(json_array_size(json_object_get(m, "problems")), 2);
	json_decref(out);
}

Test(models, scan_of_a_model_dir_itself_and_of_nothing, .init = setup, .fini = teardown)
{
	json_t *out = json_array();
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };

	write_file("one/config.json", plt_config);
	pl_path_join(&p, root.ptr, "one");
	cr_assert_eq(eng_models_scan(out, p.ptr, &err), 0);
	cr_assert_eq(json_array_size(out), 1);
	pl_buf_reset(&p);
	pl_path_join(&p, root.ptr, "missing");
	cr_assert_eq(eng_models_scan(out, p.ptr, &err), 0);
	cr_assert_eq(json_array_size(out), 1);
	cr_assert_eq(eng_models_scan(NULL, p.ptr, &err), PL_EINVAL);
	json_decref(out);
	pl_buf_release(&p);
}
