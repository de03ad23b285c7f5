/* hostenv.c - the conda shim of --env host: what the official scripts'
 * "source /opt/miniconda3/bin/activate; conda activate testbed" find when
 * /opt/miniconda3 is this directory, bound read-only over the host's root.
 * "testbed" is a virtual environment over the host's interpreter with the
 * system's site-packages and /testbed on its path, standing for the
 * editable install the official images hold. */
#define _GNU_SOURCE
#include "bench-harness/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char activate[] =
	"# plait's conda shim for --env host (docs/BENCHMARKS.md, \"Environments\").\n"
	"# Sourced by the evaluation script as /opt/miniconda3/bin/activate; defines\n"
	"# conda, whose \"activate testbed\" selects the host's Python through the\n"
	"# virtual environment /opt/miniconda3/envs/testbed.\n"
	"conda() {\n"
	"\tcase \"${1:-}\" in\n"
	"\tactivate)\n"
	"\t\tlocal env=\"${2:-base}\" prefix\n"
	"\t\tif [ \"$env\" = base ]; then prefix=/opt/miniconda3; else prefix=\"/opt/miniconda3/envs/$env\"; fi\n"
	"\t\tif [ ! -d \"$prefix\" ]; then\n"
	"\t\t\techo \"conda: environment '$env' does not exist (plait's host shim has base and testbed)\" >&2\n"
	"\t\t\treturn 1\n"
	"\t\tfi\n"
	"\t\texport CONDA_DEFAULT_ENV=\"$env\" CONDA_PREFIX=\"$prefix\" CONDA_SHLVL=1\n"
	"\t\texport PATH=\"$prefix/bin:${PATH:-/usr/bin:/bin}\"\n"
	"\t\t;;\n"
	"\tdeactivate)\n"
	"\t\tunset CONDA_DEFAULT_ENV CONDA_PREFIX\n"
	"\t\t;;\n"
	"\t*)\n"
	"\t\techo \"conda: plait's host shim only activates and deactivates environments\" >&2\n"
	"\t\treturn 1\n"
	"\t\t;;\n"
	"\tesac\n"
	"}\n"
	"# The sandbox has no network: pip fails at once instead of retrying.\n"
	"export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1\n"
	"conda activate base\n";

/* pytest as the environment's console script: run by the environment's
 * interpreter, so /testbed is on its path as with an editable install. */
static const char pytest_script[] =
	"#!/opt/miniconda3/envs/testbed/bin/python\n"
	"# plait's host shim: the host's pytest, run by this environment's interpreter\n"
	"import sys\n"
	"import pytest\n"
	"sys.exit(pytest.console_main() if hasattr(pytest, \"console_main\") else pytest.main())\n";

/* The interpreter's X.Y, from the name its symbolic links lead to
 * ("/usr/bin/python3" -> "python3.11"). */
static int python_version(char out[16], const char *python, pl_err *err)
{
	char path[PATH_MAX], next[PATH_MAX];
	int hops;

	if (snprintf(path, sizeof(path), "%s", python) >= (int)sizeof(path))
		return pl_err_set(err, PL_EINVAL, "interpreter path '%s' is too long", python);
	for (hops = 0; hops < 16; hops++) {
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		ssize_t n;
		int major, minor;
		char tail;

		if (sscanf(base, "python%d.%d%c", &major, &minor, &tail) == 2 ||
		    (sscanf(base, "python%d.%d%c", &major, &minor, &tail) == 3 && tail != '.')) {
			snprintf(out, 16, "%d.%d", major, minor);
			return 0;
		}
		n = readlink(path, next, sizeof(next) - 1);
		if (n < 0)
			break;
		next[n] = '\0';
		if (next[0] == '/') {
			memcpy(path, next, (size_t)n + 1);
		} else {
			char *slash = strrchr(path, '/');
			size_t dir = slash ? (size_t)(slash - path) + 1 : 0;

			if (dir + (size_t)n >= sizeof(path))
				break;
			memcpy(path + dir, next, (size_t)n + 1);
		}
	}
	if (access(python, X_OK) < 0)
		return pl_err_sys(err, PL_ENOTFOUND, "host interpreter '%s'", python);
	return pl_err_set(err, PL_EINVAL,
			  "cannot tell the version of '%s' from its name: give a versioned interpreter such as "
			  "/usr/bin/python3.11",
			  python);
}

static int write_file(const char *dir, const char *name, const char *text, int mode, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	int rc;

	pl_path_join(&p, dir, name);
	rc = pl_file_write_atomic(p.ptr, text, strlen(text), mode, err);
	pl_buf_release(&p);
	return rc;
}

static int link_to(const char *dir, const char *name, const char *target, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	int rc = 0;

	pl_path_join(&p, dir, name);
	if (unlink(p.ptr) < 0 && errno != ENOENT)
		rc = pl_err_sys(err, PL_EIO, "cannot replace '%s'", p.ptr);
	else if (symlink(target, p.ptr) < 0)
		rc = pl_err_sys(err, PL_EIO, "cannot create the link '%s'", p.ptr);
	pl_buf_release(&p);
	return rc;
}

int bench_host_env_write(const char *dir, const char *python, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, s = PL_BUF_INIT, home = PL_BUF_INIT;
	char ver[16], *real = NULL;
	int rc;

	if (!python)
		python = "/usr/bin/python3";
	if (python[0] != '/')
		return pl_err_set(err, PL_EINVAL, "host interpreter '%s' must be an absolute path", python);
	if ((rc = python_version(ver, python, err)) < 0)
		return rc;
	real = realpath(python, NULL);
	if (!real) {
		rc = pl_err_sys(err, PL_ENOTFOUND, "host interpreter '%s'", python);
		goto done;
	}
	pl_buf_add(&home, real, (size_t)(strrchr(real, '/') - real));
	pl_path_join(&p, dir, "bin");
	if ((rc = pl_mkdir_p(p.ptr, 0755, err)) < 0 || (rc = write_file(p.ptr, "activate", activate, 0644, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	pl_path_join(&p, dir, "envs/testbed/bin");
	if ((rc = pl_mkdir_p(p.ptr, 0755, err)) < 0 || (rc = link_to(p.ptr, "python", python, err)) < 0 ||
	    (rc = link_to(p.ptr, "python3", python, err)) < 0 ||
	    (rc = write_file(p.ptr, "pytest", pytest_script, 0755, err)) < 0 ||
	    (rc = write_file(p.ptr, "py.test", pytest_script, 0755, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	pl_path_join(&p, dir, "envs/testbed");
	pl_buf_printf(&s, "home = %s\ninclude-system-site-packages = true\nversion = %s\n", home.ptr, ver);
	if ((rc = write_file(p.ptr, "pyvenv.cfg", s.ptr, 0644, err)) < 0)
		goto done;
	pl_buf_printf(&p, "/lib/python%s/site-packages", ver);
	if ((rc = pl_mkdir_p(p.ptr, 0755, err)) < 0 ||
	    (rc = write_file(p.ptr, "_plait_testbed.pth", "/testbed\n", 0644, err)) < 0)
		goto done;
	/* every directory readable by the sandbox's user */
	pl_buf_reset(&p);
	pl_path_join(&p, dir, "envs");
	if (chmod(dir, 0755) < 0 || chmod(p.ptr, 0755) < 0)
		rc = pl_err_sys(err, PL_EIO, "cannot make '%s' readable", dir);
done:
	if (rc < 0)
		pl_err_prefix(err, "writing the host environment in '%s'", dir);
	free(real);
	pl_buf_release(&p);
	pl_buf_release(&s);
	pl_buf_release(&home);
	return rc;
}
