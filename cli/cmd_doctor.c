/* cmd_doctor.c - `plait doctor`: what this machine offers plait, what is missing.
 *
 * The report is built once as JSON; the text form is a rendering of that
 * same object, so `--json` and the default output cannot disagree. */
#include "cli/cli.h"

#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "bench-harness/bench.h"
#include "engine/engine.h"
#include "sandbox/sandbox.h"
#include "tools/tools.h"

static const char doctor_usage[] =
	"usage: plait doctor [--json] [--config FILE]\n"
	"\n"
	"Report what this machine offers plait: CPU and memory, GPUs and driver,\n"
	"the backends built into this binary, library versions, tree-sitter grammars,\n"
	"sandbox support, and the models and datasets found in the configured\n"
	"directories; then list what is missing and how to fix it.\n"
	"\n"
	"Exits 0 unless plait cannot work at all on this machine (exit 1).\n"
	"\n"
	"Options:\n"
	"  --json          print the report as one JSON object\n"
	"  --config FILE   read this configuration file too (see docs/CONFIGURATION.md)\n"
	"  -h, --help      show this help\n";

static void problem(json_t *problems, const char *severity, const char *area, const char *fix,
		    const char *fmt, ...) PL_PRINTF(5, 6);

static void problem(json_t *problems, const char *severity, const char *area, const char *fix,
		    const char *fmt, ...)
{
	json_t *p = json_object();
	pl_buf msg = PL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pl_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	pl_json_set(p, "severity", json_string(severity));
	pl_json_set(p, "area", json_string(area));
	pl_json_set(p, "message", json_string(msg.ptr));
	if (fix)
		pl_json_set(p, "fix", json_string(fix));
	json_array_append_new(problems, p);
	pl_buf_release(&msg);
}

static json_t *strings(char *const *l)
{
	json_t *a = json_array();

	for (; l && *l; l++)
		json_array_append_new(a, json_string(*l));
	return a;
}

static json_t *section_plait(void)
{
	json_t *o = json_object(), *b = json_array();
	const char *const *be;

	for (be = eng_backends_built(); *be; be++)
		json_array_append_new(b, json_string(*be));
	pl_json_set(o, "version", json_string(PLAIT_VERSION));
	pl_json_set(o, "backends_built", b);
#if defined(__SANITIZE_ADDRESS__)
	pl_json_set(o, "sanitizers", json_true());
#else
	pl_json_set(o, "sanitizers", json_false());
#endif
	return o;
}

static json_t *section_system(json_t *problems)
{
	json_t *o = json_object();
	pl_sysinfo si;
	pl_err err = { 0 };

	if (pl_sysinfo_read(&si, &err) < 0) {
		problem(problems, "warning", "system", NULL, "%s", err.msg);
		return o;
	}
	pl_json_set(o, "os", json_string(si.os));
	pl_json_set(o, "kernel", json_string(si.kernel));
	pl_json_set(o, "arch", json_string(si.arch));
	pl_json_set(o, "cpu", json_string(si.cpu_model[0] ? si.cpu_model : "unknown"));
	pl_json_set(o, "cores_online", json_integer(si.cores_online));
	pl_json_set(o, "cpu_features", eng_cpu_features());
	pl_json_set(o, "memory_total_bytes", json_integer((json_int_t)si.mem_total));
	pl_json_set(o, "memory_available_bytes", json_integer((json_int_t)si.mem_available));
	if (si.mem_available && si.mem_available < (1ull << 30))
		problem(problems, "warning", "system", "close other programs or use a smaller model",
			"less than 1 GiB of memory is available");
	return o;
}

static json_t *section_gpu(json_t *problems)
{
	json_t *o = json_object(), *devs = json_array();
	eng_gpu_report r;
	int i;

	eng_gpu_probe(&r);
	pl_json_set(o, "probe", json_string(r.probe ? r.probe : "none"));
	if (eng_backend_is_built("cuda"))
		pl_json_set(o, "cuda_module", r.module ? json_string(r.module) : json_null());
	pl_json_set(o, "driver", json_boolean(r.driver_found));
	if (r.driver_version)
		pl_json_set(o, "driver_cuda_version", json_sprintf("%d.%d", r.driver_version / 1000,
								    (r.driver_version % 1000) / 10));
	if (r.runtime_version)
		pl_json_set(o, "runtime_cuda_version", json_sprintf("%d.%d", r.runtime_version / 1000,
								     (r.runtime_version % 1000) / 10));
	for (i = 0; i < r.count; i++) {
		json_t *d = json_object();

		pl_json_set(d, "name", json_string(r.devices[i].name));
		pl_json_set(d, "compute_capability",
			    json_sprintf("%d.%d", r.devices[i].cc_major, r.devices[i].cc_minor));
		pl_json_set(d, "sms", json_integer(r.devices[i].sm_count));
		pl_json_set(d, "memory_bytes", json_integer((json_int_t)r.devices[i].mem_total));
		if (r.devices[i].mem_free)
			pl_json_set(d, "free_bytes", json_integer((json_int_t)r.devices[i].mem_free));
		json_array_append_new(devs, d);
	}
	pl_json_set(o, "devices", devs);
	if (r.count == 0 && r.note[0])
		pl_json_set(o, "note", json_string(r.note));
	if (r.count > 0 && !eng_backend_is_built("cuda"))
		problem(problems, "warning", "gpu",
			"install the CUDA Toolkit (nvcc in /usr/local/cuda/bin or on PATH) and run 'make'",
			"%d GPU(s) found, but this build has no CUDA backend: the engine will use the CPU",
			r.count);
	/* Built with CUDA but the module is not where plait looks: the
	 * message lists each path tried and the loader's reason. */
	if (r.module_error[0])
		problem(problems, "warning", "gpu",
			"run 'make' (or 'make install'), or set PLAIT_CUDA_MODULE to the module's path",
			"the CUDA backend is unavailable, models run on the CPU: %s", r.module_error);
	if (eng_backend_is_built("cuda") && !r.module_error[0]) {
		pl_json_set(o, "cuda_backend", json_boolean(r.backend_ready));
		if (!r.backend_ready)
			problem(problems, "warning", "gpu", "rebuild the module with 'make'",
				"the CUDA module cannot run models: %s", r.backend_note);
		else if (r.count > 0)
			problem(problems, "info", "gpu", NULL,
				"models can run on %s with --backend cuda: bf16 weights on the device (%.1f GB free of "
				"%.1f GB), decode as one CUDA graph per step, prefill through cuBLASLt and tensor-core "
				"attention",
				r.devices[0].name, (double)r.devices[0].mem_free / 1e9, (double)r.devices[0].mem_total / 1e9);
	}
	for (i = 0; i < r.count; i++)
		if (eng_backend_is_built("cuda") && r.devices[i].cc_major < 9)
			problem(problems, "warning", "gpu", NULL,
				"%s (compute capability %d.%d): the CUDA backend is built for Hopper (9.0) "
				"and will not run on it",
				r.devices[i].name, r.devices[i].cc_major, r.devices[i].cc_minor);
	return o;
}

static json_t *section_models(const agent_config *cfg, json_t *problems)
{
	json_t *o = json_object(), *found = json_array(), *m;
	char *const *d;
	pl_err err = { 0 };
	size_t i;

	for (d = cfg ? cfg->model_dirs : NULL; d && *d; d++)
		if (eng_models_scan(found, *d, &err) < 0)
			problem(problems, "warning", "models", NULL, "%s", err.msg);
	pl_json_set(o, "dirs", strings(cfg ? cfg->model_dirs : NULL));
	json_array_foreach(found, i, m) {
		json_t *pr = json_object_get(m, "problems"), *p;
		size_t j;

		json_array_foreach(pr, j, p)
			problem(problems, "warning", "models", NULL, "%s: %s",
				json_string_value(json_object_get(m, "path")), json_string_value(p));
	}
	pl_json_set(o, "found", found);
	if (json_array_size(found) == 0)
		problem(problems, "warning", "models",
			"put a model directory (config.json, model.safetensors, tokenizer.model) in one of "
			"the directories above, or point PLAIT_MODEL_PATH at one",
			"no models found: 'plait fix' and 'plait chat' with the embedded engine need one "
			"(HTTP backends do not)");
	return o;
}

static json_t *section_sandbox(json_t *problems)
{
	json_t *o = json_object();
	sbx_caps c;
	pl_err err = { 0 };

	if (sbx_caps_probe(&c, &err) < 0) {
		problem(problems, "warning", "sandbox", NULL, "%s", err.msg);
		return o;
	}
	pl_json_set(o, "root", json_boolean(c.is_root));
	pl_json_set(o, "user_namespaces", json_boolean(c.userns));
	pl_json_set(o, "all_namespaces", json_boolean(c.all_namespaces));
	pl_json_set(o, "seccomp", json_boolean(c.seccomp));
	pl_json_set(o, "cgroup", json_string(sbx_cgroup_kind_name(c.cgroup)));
	pl_json_set(o, "cgroup_writable", json_boolean(c.cgroup_writable));
	pl_json_set(o, "limits_by", json_string(c.cgroup_writable ? "cgroup" : "rlimit"));
	pl_json_set(o, "cgroup_mode", json_string(sbx_cgroup_mode_name(c.cginfo.mode)));
	if (c.cginfo.mount[0])
		pl_json_set(o, "cgroup_mount", json_string(c.cginfo.mount));
	if (c.cginfo.own[0])
		pl_json_set(o, "cgroup_own", json_string(c.cginfo.own));
	if (c.cgroup_writable)
		pl_json_set(o, "cgroup_parent", json_string(c.cginfo.parent));
	/* As root the sysctls do not apply: what refuses is the surrounding
	 * chroot, container or security policy. */
	if (!c.all_namespaces)
		problem(problems, "warning", "sandbox",
			c.is_root ? "run plait outside this chroot or container, or let it create user "
				    "namespaces (seccomp or AppArmor policy)"
				  : "as root: 'sysctl -w kernel.unprivileged_userns_clone=1' and "
				    "'sysctl -w user.max_user_namespaces=15000'",
			"cannot create the namespaces the sandbox needs (%s): commands cannot be isolated",
			c.userns_error[0] ? c.userns_error : "refused");
	if (!c.seccomp)
		problem(problems, "warning", "sandbox", "use a kernel built with CONFIG_SECCOMP_FILTER",
			"seccomp is not available: the sandbox cannot filter system calls");
	if (!c.cgroup_writable)
		problem(problems, "info", "sandbox", NULL,
			"memory and process limits fall back to rlimits (cgroup %s here): %s",
			sbx_cgroup_kind_name(c.cgroup), c.cginfo.why);
	/* the profile the agent's shell uses: never read from beside the
	 * program, so a build tree needs PLAIT_ROOT */
	{
		sbx_config cfg;

		sbx_config_init(&cfg);
		if (sbx_profile_load(&cfg, "agent", &err) < 0)
			problem(problems, "warning", "sandbox",
				"install plait (make install), or run it from its source tree with PLAIT_ROOT=$PWD",
				"%s: the agent's commands cannot run", err.msg);
		pl_json_set(o, "profiles_found", json_boolean(err.code == 0));
		sbx_config_release(&cfg);
	}
	return o;
}

static json_t *section_tools(json_t *problems)
{
	json_t *o = json_object(), *gr = json_array(), *git;
	const tools_lang *langs;
	size_t n, i;
	unsigned lo, hi;
	pl_err err = { 0 };

	tools_ts_abi_range(&lo, &hi);
	if ((git = tools_libgit2_info(&err))) {
		pl_json_set(o, "libgit2", json_incref(json_object_get(git, "version")));
		pl_json_set(o, "libgit2_features", json_incref(json_object_get(git, "features")));
		json_decref(git);
	} else {
		pl_json_set(o, "libgit2", json_null());
		problem(problems, "fatal", "tools", "make deps", "%s", err.msg);
	}
	pl_json_set(o, "tree_sitter_abi", json_sprintf("%u-%u", lo, hi));
	langs = tools_langs(&n);
	if (tools_ts_load(&err) < 0) {
		problem(problems, "fatal", "tools", "make deps", "%s: the code tools cannot parse", err.msg);
		n = 0;
	}
	for (i = 0; i < n; i++) {
		json_t *g = json_object();
		unsigned abi = 0;
		bool ok = tools_lang_check(&langs[i], &abi);

		pl_json_set(g, "name", json_string(langs[i].name));
		pl_json_set(g, "package", json_sprintf("%s@%s", langs[i].package, langs[i].version));
		pl_json_set(g, "abi", json_integer(abi));
		pl_json_set(g, "ok", json_boolean(ok));
		json_array_append_new(gr, g);
		if (!ok)
			problem(problems, "fatal", "tools", "rebuild plait against this tree-sitter runtime",
				"grammar %s (ABI %u) is rejected by the tree-sitter runtime (ABI %u-%u)",
				langs[i].name, abi, lo, hi);
	}
	pl_json_set(o, "grammars", gr);
	return o;
}

static json_t *section_agent(const agent_config *cfg, json_t *problems)
{
	pl_err err = { 0 };
	json_t *o = json_object(), *http = agent_http_info(&err), *cred = agent_credentials_present(NULL);

	pl_json_set(o, "config_files", strings(cfg ? cfg->files : NULL));
	if (!http)
		problem(problems, "warning", "agent", "make deps",
			"%s: the HTTP model backends are unavailable, the embedded engine is not affected", err.msg);
	else if (!json_is_true(json_object_get(http, "https")))
		problem(problems, "warning", "agent", "install a libcurl built with TLS",
			"libcurl has no https: HTTP model backends can only reach plain-http servers");
	pl_json_set(o, "http", http ? http : json_null());
	pl_json_set(o, "credentials", cred);
	/* plait fix's profile and its prompts, found where plait reads them */
	{
		agent_settings *s = NULL;
		agent_settings_opts so = { 0 };
		pl_err e2 = { 0 };

		so.profile = "swebench";
		so.config = cfg;
		if (agent_settings_load(&s, &so, &e2) < 0)
			problem(problems, "warning", "agent",
				"install plait (make install), or run it from its source tree with PLAIT_ROOT=$PWD",
				"%s: plait fix and plait chat cannot start", e2.msg);
		pl_json_set(o, "profiles_found", json_boolean(e2.code == 0));
		agent_settings_free(s);
	}
	return o;
}

static json_t *section_datasets(const agent_config *cfg, json_t *problems)
{
	json_t *o = json_object(), *found = json_array();
	char *const *d;
	pl_err err = { 0 };

	for (d = cfg ? cfg->data_dirs : NULL; d && *d; d++)
		if (bench_datasets_scan(found, *d, &err) < 0)
			problem(problems, "warning", "datasets", NULL, "%s", err.msg);
	pl_json_set(o, "dirs", strings(cfg ? cfg->data_dirs : NULL));
	pl_json_set(o, "found", found);
	return o;
}

/* ------------------------------------------------------------ text form */

static bool is_size_key(const char *k)
{
	return pl_str_ends_with(k, "_bytes") || !strcmp(k, "bytes");
}

static void render_scalar(pl_buf *b, const char *key, const json_t *v)
{
	char tmp[32];

	switch (json_typeof(v)) {
	case JSON_STRING: pl_buf_puts(b, json_string_value(v)); break;
	case JSON_INTEGER:
		if (key && is_size_key(key))
			pl_buf_puts(b, pl_fmt_size(tmp, sizeof(tmp), (uint64_t)json_integer_value(v)));
		else
			pl_buf_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL: pl_buf_printf(b, "%g", json_real_value(v)); break;
	case JSON_TRUE: pl_buf_puts(b, "yes"); break;
	case JSON_FALSE: pl_buf_puts(b, "no"); break;
	case JSON_NULL: pl_buf_puts(b, "-"); break;
	default: pl_json_dump(b, v, false); break;
	}
}

/* An object on one line: its first string value, then key=value pairs. */
static void render_inline(pl_buf *b, const json_t *obj)
{
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_array(v) && json_array_size(v) == 0)
			continue;
		if (!first)
			pl_buf_puts(b, "  ");
		if (first && json_is_string(v)) {
			pl_buf_puts(b, json_string_value(v));
		} else if (json_is_array(v)) {
			size_t i;
			json_t *x;

			pl_buf_printf(b, "%s=", k);
			json_array_foreach(v, i, x) {
				if (i)
					pl_buf_putc(b, ',');
				render_scalar(b, NULL, x);
			}
		} else {
			pl_buf_printf(b, "%s=", k);
			render_scalar(b, k, v);
		}
		first = false;
	}
}

static void render_value(pl_buf *b, const char *key, const json_t *v, int indent)
{
	size_t i;
	json_t *x;
	const char *k;

	if (json_is_object(v)) {
		pl_buf_printf(b, "%*s%s:\n", indent, "", key);
		json_object_foreach((json_t *)v, k, x)
			render_value(b, k, x, indent + 2);
		return;
	}
	pl_buf_printf(b, "%*s%-24s", indent, "", key);
	if (!json_is_array(v)) {
		render_scalar(b, key, v);
		pl_buf_putc(b, '\n');
		return;
	}
	if (json_array_size(v) == 0) {
		pl_buf_puts(b, "(none)\n");
		return;
	}
	if (!json_is_object(json_array_get(v, 0))) {
		json_array_foreach(v, i, x) {
			if (i)
				pl_buf_puts(b, ", ");
			render_scalar(b, NULL, x);
		}
		pl_buf_putc(b, '\n');
		return;
	}
	pl_buf_putc(b, '\n');
	json_array_foreach(v, i, x) {
		pl_buf_printf(b, "%*s- ", indent + 2, "");
		render_inline(b, x);
		pl_buf_putc(b, '\n');
	}
}

static void render_text(pl_buf *b, const json_t *report)
{
	const char *k;
	json_t *v, *p;
	size_t i;

	json_object_foreach((json_t *)report, k, v) {
		if (!strcmp(k, "problems") || !strcmp(k, "ok") || !json_is_object(v))
			continue;
		pl_buf_printf(b, "%s\n", k);
		{
			const char *k2;
			json_t *v2;

			json_object_foreach(v, k2, v2)
				render_value(b, k2, v2, 2);
		}
		pl_buf_putc(b, '\n');
	}
	v = json_object_get(report, "problems");
	if (json_array_size(v) == 0) {
		pl_buf_puts(b, "No problems found.\n");
		return;
	}
	pl_buf_puts(b, "problems\n");
	json_array_foreach(v, i, p) {
		const char *fix = json_string_value(json_object_get(p, "fix"));

		pl_buf_printf(b, "  [%s] %s: %s\n", json_string_value(json_object_get(p, "severity")),
			      json_string_value(json_object_get(p, "area")),
			      json_string_value(json_object_get(p, "message")));
		if (fix)
			pl_buf_printf(b, "      fix: %s\n", fix);
	}
	pl_buf_printf(b, "\n%s\n",
		      json_is_true(json_object_get(report, "ok"))
			      ? "plait can work here (the problems above limit what it can do)."
			      : "plait cannot work here until the fatal problems above are fixed.");
}

enum { O_JSON = 1, O_CONFIG };

static const cli_opt doctor_opts[] = {
	{ "json", 0, false, O_JSON },
	{ "config", 0, true, O_CONFIG },
	{ NULL, 0, false, 0 },
};

int cli_cmd_doctor(int argc, char **argv, const cli_ctx *ctx)
{
	agent_config_opts copts = { 0 };
	agent_config *cfg = NULL;
	json_t *report = NULL, *problems, *p;
	pl_err err = { 0 };
	pl_buf out = PL_BUF_INIT;
	bool json = false, ok = true;
	const char *v;
	int id, status;
	size_t k;
	cli_args a;

	if (cli_wants_help(argc, argv)) {
		fputs(doctor_usage, stdout);
		return CLI_EXIT_OK;
	}
	cli_args_init(&a, argc, argv, 1, "doctor", doctor_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		if (id == CLI_BAD)
			return CLI_EXIT_USAGE;
		if (id == CLI_POS)
			return cli_fail(ctx, "doctor", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		if (id == O_JSON)
			json = true;
		else
			copts.file = v;
	}
	report = json_object();
	problems = json_array();
	if (agent_config_load(&cfg, &copts, &err) < 0)
		problem(problems, "fatal", "config", "fix or remove the file", "%s", err.msg);

	pl_json_set(report, "plait", section_plait());
	pl_json_set(report, "system", section_system(problems));
	pl_json_set(report, "gpu", section_gpu(problems));
	pl_json_set(report, "models", section_models(cfg, problems));
	pl_json_set(report, "sandbox", section_sandbox(problems));
	pl_json_set(report, "tools", section_tools(problems));
	pl_json_set(report, "agent", section_agent(cfg, problems));
	pl_json_set(report, "datasets", section_datasets(cfg, problems));
	json_array_foreach(problems, k, p)
		if (!strcmp(json_string_value(json_object_get(p, "severity")), "fatal"))
			ok = false;
	pl_json_set(report, "problems", problems);
	pl_json_set(report, "ok", json_boolean(ok));

	if (json) {
		pl_json_dump(&out, report, true);
		pl_buf_putc(&out, '\n');
	} else {
		render_text(&out, report);
	}
	fwrite(out.ptr, 1, out.len, stdout);
	status = ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	pl_buf_release(&out);
	json_decref(report);
	agent_config_free(cfg);
	return status;
}
