/* test_cuda_module.c - the CUDA module (libplait-cuda.so) opened at first
 * use: what a user sees when it is missing or is not a module.  These run
 * in every build and need no GPU: the loader is plain C over dlopen. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cuda/module.h"
#include "engine/engine.h"
#include "tests/shell.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-cuda-module", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

/* Criterion runs each test in its own process, so each one gets its own
 * first use of the module and sees the PLAIT_CUDA_MODULE it sets. */

Test(cuda_module, env_path_missing_names_it_and_the_fix, .init = setup, .fini = teardown)
{
	const eng_cuda_ops *ops = NULL;
	const char *path = NULL;
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };

	pl_path_join(&p, dir.ptr, "no-such/libplait-cuda.so");
	setenv("PLAIT_CUDA_MODULE", p.ptr, 1);
	cr_assert_eq(eng__cuda_module_load(&ops, &path, &err), PL_ENOTFOUND);
	cr_assert_null(ops);
	cr_assert_null(path);
	cr_assert(strstr(err.msg, "cannot load the CUDA module named by PLAIT_CUDA_MODULE"), "%s", err.msg);
	cr_assert(strstr(err.msg, p.ptr), "%s", err.msg);
	cr_assert(strstr(err.msg, "No such file or directory"), "%s", err.msg);
	cr_assert(strstr(err.msg, "or unset it"), "%s", err.msg);
	/* A second use gives the same answer without trying again. */
	pl_err_clear(&err);
	cr_assert_eq(eng__cuda_module_load(&ops, &path, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, p.ptr), "%s", err.msg);
	pl_buf_release(&p);
}

Test(cuda_module, env_path_not_a_shared_object, .init = setup, .fini = teardown)
{
	static const char text[] = "this is not an ELF file, whatever its name says\n";
	const eng_cuda_ops *ops = NULL;
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };

	pl_path_join(&p, dir.ptr, "libplait-cuda.so");
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0755, NULL), 0);
	setenv("PLAIT_CUDA_MODULE", p.ptr, 1);
	cr_assert_eq(eng__cuda_module_load(&ops, NULL, &err), PL_ENOTFOUND);
	cr_assert_null(ops);
	cr_assert(strstr(err.msg, p.ptr), "%s", err.msg);
	cr_assert(strstr(err.msg, "invalid ELF header") || strstr(err.msg, "file too short"), "%s", err.msg);
	pl_buf_release(&p);
}

Test(cuda_module, shared_object_without_the_entry_point)
{
	const eng_cuda_ops *ops = NULL;
	Dl_info info;
	pl_err err = { 0 };

	/* libm: a real shared object (the engine links it) that is no module. */
	cr_assert(dladdr((void *)&cos, &info) && info.dli_fname);
	cr_assert_eq(eng__cuda_module_open(&ops, info.dli_fname, &err), PL_EFORMAT);
	cr_assert_null(ops);
	cr_assert(strstr(err.msg, info.dli_fname), "%s", err.msg);
	cr_assert(strstr(err.msg, "has no symbol eng_cuda_module_v1: not a plait CUDA module"), "%s", err.msg);
}

Test(cuda_module, backend_cuda_fails_clearly_without_the_module, .init = setup, .fini = teardown)
{
	eng_load_opts o = { 0 };
	eng_model *m = NULL;
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };

	pl_path_join(&p, dir.ptr, "missing.so");
	setenv("PLAIT_CUDA_MODULE", p.ptr, 1);
	o.backend = "cuda";
	cr_assert_eq(eng_model_load(&m, dir.ptr, &o, &err), eng_backend_is_built("cuda") ? PL_ENOTFOUND : PL_EUNSUPPORTED);
	cr_assert_null(m);
	if (eng_backend_is_built("cuda")) {
		cr_assert(strstr(err.msg, "backend 'cuda': cannot load the CUDA module"), "%s", err.msg);
		cr_assert(strstr(err.msg, p.ptr), "%s", err.msg);
	} else {
		cr_assert_str_eq(err.msg, "backend 'cuda' is not built into this plait (built: cpu)");
	}
	cr_assert_eq(eng_backend_load("cpu", &err), 0);
	cr_assert_eq(eng_backend_load("metal", &err), PL_EUNSUPPORTED);
	cr_assert(strstr(err.msg, "backend 'metal' is not built"), "%s", err.msg);
	pl_buf_release(&p);
}

Test(cuda_module, doctor_reports_the_missing_module, .init = setup, .fini = teardown)
{
	test_run r;
	pl_buf env = PL_BUF_INIT;

	pl_buf_printf(&env, "PLAIT_CUDA_MODULE='%s/missing.so'", dir.ptr);
	r = test_plait(dir.ptr, env.ptr, "doctor");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	if (eng_backend_is_built("cuda")) {
		cr_assert(strstr(r.out.ptr, "[warning] gpu: the CUDA backend is unavailable, models run on the CPU: "
					    "cannot load the CUDA module named by PLAIT_CUDA_MODULE"),
			  "%s", r.out.ptr);
		cr_assert(strstr(r.out.ptr, "missing.so: cannot open shared object file"), "%s", r.out.ptr);
		cr_assert(strstr(r.out.ptr, "cuda_module             -"), "%s", r.out.ptr);
	} else {
		/* The CPU build never looks for the module. */
		cr_assert_null(strstr(r.out.ptr, "CUDA module"), "%s", r.out.ptr);
	}
	test_run_release(&r);
	pl_buf_release(&env);
}

#ifdef PLAIT_HAVE_CUDA
/* The test binary is build/tests/test-engine: the module is found at
 * ../lib/libplait-cuda.so next to it, as `make tests` builds it. */
Test(cuda_module, found_next_to_the_program)
{
	const eng_cuda_ops *ops = NULL;
	const char *path = NULL;
	pl_err err = { 0 };

	unsetenv("PLAIT_CUDA_MODULE");
	cr_assert_eq(eng__cuda_module_load(&ops, &path, &err), 0, "%s", err.msg);
	cr_assert_not_null(ops);
	cr_assert_eq(ops->abi, 1);
	cr_assert_geq(ops->size, sizeof(eng_cuda_ops));
	cr_assert(pl_str_ends_with(path, "/../lib/libplait-cuda.so"), "%s", path);
	cr_assert_eq(eng_backend_load("cuda", &err), 0, "%s", err.msg);
}
#endif
