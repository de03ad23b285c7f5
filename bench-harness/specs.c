/* specs.c - the parts of v4.1's MAP_REPO_VERSION_TO_SPECS_PY that the
 * evaluation script uses (install, test_cmd, eval_commands), and
 * MAP_REPO_TO_PARSER_PY.  Copied from swebench/harness/constants/python.py
 * and log_parsers/python.py at tag v4.1.0; the packages, pip_packages and
 * pre_install keys only build images, which plait does not do. */
#include "bench-harness/internal.h"

#include <string.h>

/* constants/python.py assigns TEST_PYTEST twice; the second one counts. */
#define TEST_PYTEST "pytest -rA"
#define TEST_ASTROPY_PYTEST "pytest -rA -vv -o console_output_style=classic --tb=no"
#define TEST_DJANGO "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1"
#define TEST_DJANGO_NO_PARALLEL "./tests/runtests.py --verbosity 2"
#define TEST_SEABORN "pytest --no-header -rA"
#define TEST_SPHINX "tox --current-env -epy39 -v --"
#define TEST_SYMPY "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose"

#define PIP_E "python -m pip install -e ."

static const char *const django_old_eval[] = {
	"export LANG=en_US.UTF-8",
	"export LC_ALL=en_US.UTF-8",
	"export PYTHONIOENCODING=utf8",
	"export LANGUAGE=en_US:en",
	NULL,
};
static const char *const django_3_eval[] = {
	"sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen",
	"export LANG=en_US.UTF-8",
	"export LANGUAGE=en_US:en",
	"export LC_ALL=en_US.UTF-8",
	NULL,
};

/* One spec shared by the versions listed (space-separated). */
typedef struct group {
	const char *repo;
	const char *versions;
	bench__spec spec;
} group;

static const group groups[] = {
	{ "scikit-learn/scikit-learn", "0.20 0.21 0.22 1.3 1.4 1.5 1.6",
	  { "python -m pip install -v --no-use-pep517 --no-build-isolation -e .", TEST_PYTEST, NULL } },
	{ "pallets/flask", "2.0 2.1 2.2 2.3 3.0 3.1", { PIP_E, TEST_PYTEST, NULL } },
	{ "django/django", "1.7 1.8 1.10 1.11 2.0 2.1 2.2",
	  { "python setup.py install", TEST_DJANGO, django_old_eval } },
	{ "django/django", "1.9", { "python setup.py install", TEST_DJANGO_NO_PARALLEL, django_old_eval } },
	{ "django/django", "1.4 1.5 1.6", { "python setup.py install", TEST_DJANGO, NULL } },
	{ "django/django", "3.0 3.1 3.2", { PIP_E, TEST_DJANGO, django_3_eval } },
	{ "django/django", "4.0 4.1 4.2 5.0 5.1 5.2", { PIP_E, TEST_DJANGO, NULL } },
	{ "psf/requests",
	  "0.7 0.8 0.9 0.11 0.13 0.14 1.1 1.2 2.0 2.2 2.3 2.4 2.5 2.7 2.8 2.9 2.10 2.11 2.12 2.17 2.18 2.19 "
	  "2.22 2.26 2.25 2.27 2.31 3.0",
	  { "python -m pip install .", TEST_PYTEST, NULL } },
	{ "mwaskom/seaborn", "0.11", { PIP_E, TEST_SEABORN, NULL } },
	{ "mwaskom/seaborn", "0.12 0.13 0.14", { "python -m pip install -e .[dev]", TEST_SEABORN, NULL } },
	{ "pytest-dev/pytest",
	  "4.4 4.5 4.6 5.0 5.1 5.2 5.3 5.4 6.0 6.2 6.3 7.0 7.1 7.2 7.4 8.0 8.1 8.2 8.3 8.4",
	  { PIP_E, TEST_PYTEST, NULL } },
	{ "matplotlib/matplotlib", "3.5 3.6 3.7 3.1 3.2 3.3 3.4 3.0", { PIP_E, TEST_PYTEST, NULL } },
	{ "matplotlib/matplotlib", "3.8 3.9",
	  { "python -m pip install --no-build-isolation -e \".[dev]\"", TEST_PYTEST, NULL } },
	{ "matplotlib/matplotlib", "2.0 2.1 2.2 1.0 1.1 1.2 1.3 1.4 1.5",
	  { "python setup.py build; python setup.py install", TEST_PYTEST, NULL } },
	{ "sphinx-doc/sphinx",
	  "1.5 1.6 1.7 1.8 2.0 2.1 2.2 2.3 2.4 3.0 3.1 3.2 3.3 3.4 3.5 4.0 4.1 4.2 4.3 4.4 4.5 5.0 5.1 5.2 5.3 "
	  "6.0 6.2 7.0 7.1 7.2 7.3 7.4 8.0 8.1",
	  { "python -m pip install -e .[test]", TEST_SPHINX, NULL } },
	{ "astropy/astropy", "3.0 3.1 3.2 4.1 4.2 4.3 5.0 5.1 5.2 v5.3",
	  { "python -m pip install -e .[test] --verbose", TEST_PYTEST, NULL } },
	{ "astropy/astropy", "0.1 0.2 0.3 0.4 1.1 1.2 1.3",
	  { "python -m pip install -e .[test] --verbose", TEST_ASTROPY_PYTEST, NULL } },
	{ "sympy/sympy", "0.7 1.0 1.1 1.10 1.11 1.12 1.2 1.4 1.5 1.6 1.7 1.8 1.9 1.13 1.14",
	  { PIP_E, TEST_SYMPY, NULL } },
	{ "pylint-dev/pylint", "2.10 2.11 2.13 2.14 2.15 2.16 2.17 2.8 2.9 3.0 3.1 3.2 3.3 4.0",
	  { PIP_E, TEST_PYTEST, NULL } },
	{ "pydata/xarray", "0.12 0.18 0.19 0.20 2022.03 2022.06 2022.09 2023.07 2024.05",
	  { PIP_E, TEST_PYTEST, NULL } },
	{ "sqlfluff/sqlfluff", "0.10 0.11 0.12 0.13 0.4 0.5 0.6 0.8 0.9 1.0 1.1 1.2 1.3 1.4 2.0 2.1 2.2",
	  { PIP_E, TEST_PYTEST, NULL } },
	/* dbt-core's specs have no test_cmd: its scripts cannot be made */
	{ "dbt-labs/dbt-core", "0.13 0.14 0.15 0.16 0.17 0.18 0.19 0.20 0.21 1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.7",
	  { PIP_E, NULL, NULL } },
	{ "pyvista/pyvista",
	  "0.20 0.21 0.22 0.23 0.24 0.25 0.26 0.27 0.28 0.29 0.30 0.31 0.32 0.33 0.34 0.35 0.36 0.37 0.38 0.39 "
	  "0.40 0.41 0.42 0.43",
	  { PIP_E, TEST_PYTEST, NULL } },
	{ "pylint-dev/astroid", "2.10 2.12 2.13 2.14 2.15 2.16 2.5 2.6 2.7 2.8 2.9 3.0", { PIP_E, TEST_PYTEST, NULL } },
	{ "marshmallow-code/marshmallow", "2.18 2.19 2.20 3.0 3.1 3.10 3.11 3.12 3.13 3.15 3.16 3.19 3.2 3.4 3.8 3.9",
	  { "python -m pip install -e '.[dev]'", TEST_PYTEST, NULL } },
	{ "pvlib/pvlib-python", "0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9",
	  { "python -m pip install -e .[all]", TEST_PYTEST, NULL } },
	{ "pydicom/pydicom", "1.0 1.1 1.2 1.3 1.4 2.0 2.1 2.2 2.3 2.4 3.0", { PIP_E, TEST_PYTEST, NULL } },
	{ "swe-bench/humaneval", "1.0", { NULL, "python", NULL } },
};

/* version appears as a whole word of the space-separated list */
static bool has_version(const char *list, const char *v)
{
	size_t n = strlen(v);
	const char *p = list;

	if (!n)
		return false;
	while ((p = strstr(p, v)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

const bench__spec *bench__spec_find(const char *repo, const char *version)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(groups); i++)
		if (!strcmp(groups[i].repo, repo) && has_version(groups[i].versions, version))
			return &groups[i].spec;
	return NULL;
}

static const struct {
	const char *repo, *parser;
} parsers[] = {
	{ "astropy/astropy", "parse_log_astropy" },
	{ "django/django", "parse_log_django" },
	{ "marshmallow-code/marshmallow", "parse_log_marshmallow" },
	{ "matplotlib/matplotlib", "parse_log_matplotlib" },
	{ "mwaskom/seaborn", "parse_log_seaborn" },
	{ "pallets/flask", "parse_log_flask" },
	{ "psf/requests", "parse_log_requests" },
	{ "pvlib/pvlib-python", "parse_log_pvlib" },
	{ "pydata/xarray", "parse_log_xarray" },
	{ "pydicom/pydicom", "parse_log_pydicom" },
	{ "pylint-dev/astroid", "parse_log_astroid" },
	{ "pylint-dev/pylint", "parse_log_pylint" },
	{ "pytest-dev/pytest", "parse_log_pytest" },
	{ "pyvista/pyvista", "parse_log_pyvista" },
	{ "scikit-learn/scikit-learn", "parse_log_scikit" },
	{ "sqlfluff/sqlfluff", "parse_log_sqlfluff" },
	{ "sphinx-doc/sphinx", "parse_log_sphinx" },
	{ "sympy/sympy", "parse_log_sympy" },
};

const char *bench__repo_parser(const char *repo)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(parsers); i++)
		if (!strcmp(parsers[i].repo, repo))
			return parsers[i].parser;
	return NULL;
}

bool bench__repo_fail_only(const char *repo)
{
	return !strcmp(repo, "chartjs/Chart.js") || !strcmp(repo, "processing/p5.js") ||
	       !strcmp(repo, "markedjs/marked");
}
