/*
 * swe_fixture.h - SWE-bench instances made by the tests: a small Python
 * package with bugs in a real git repository (repos/pallets__flask, so that
 * the official spec of pallets/flask 2.3 scripts it: pytest -rA), gold
 * patches, test patches, FAIL_TO_PASS and PASS_TO_PASS, written as a
 * dataset in SWE-bench's format; predictions; and a root filesystem that
 * runs them with the host's /usr (until the sandbox can add /testbed to the
 * host's read-only root, --env host cannot run here: see swe_host_env_ok).
 *
 * Instances:
 *   pallets__flask-1  add() subtracts; the test patch adds test_add to an
 *                     existing file; P2P test_mul
 *   pallets__flask-2  div() multiplies; the test patch creates a new file
 *                     (the only one run: PASS_TO_PASS is empty)
 *   pallets__flask-3  the test patch adds a test that sleeps for an hour
 */
#ifndef PLAIT_SWE_FIXTURE_H
#define PLAIT_SWE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench-harness/bench.h"
#include "tests/shell.h"

typedef struct swe_fixture {
	pl_buf dir;      /* everything below */
	pl_buf repos;    /* dir/repos */
	pl_buf dataset;  /* dir/dataset.jsonl */
	pl_buf rootfs;   /* dir/rootfs */
	pl_buf profile;  /* dir/profile.json: binds the host's /usr and /etc into rootfs */
	pl_buf shim;     /* dir/shim: the host conda shim */
	char base[41];
	pl_buf gold[3], test_patch[3];
} swe_fixture;

static inline char *swe_read(const char *dir, const char *name)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;

	pl_path_join(&p, dir, name);
	cr_assert_eq(pl_file_read(&b, p.ptr, 0, NULL), 0, "reading %s", p.ptr);
	pl_buf_release(&p);
	return pl_buf_detach(&b, NULL);
}

/* The repository and the patches, from git itself. */
static inline void swe_make_repo(swe_fixture *f)
{
	pl_buf out = PL_BUF_INIT;
	char *s;
	int i;

	cr_assert_eq(test_sh(NULL,
			     "set -e; mkdir -p '%s/pallets__flask' && cd '%s/pallets__flask' && git init -q -b main . && "
			     "git config user.email t@example.com && git config user.name t && mkdir calc tests && "
			     "printf 'def add(a, b):\\n    return a - b\\n\\n\\ndef mul(a, b):\\n    return a * b\\n\\n\\n"
			     "def div(a, b):\\n    return a * b\\n' > calc/__init__.py && "
			     "printf 'from calc import mul\\n\\n\\ndef test_mul():\\n    assert mul(2, 3) == 6\\n' > "
			     "tests/test_calc.py && printf 'calc\\n' > README.md && git add -A && git commit -qm base",
			     f->repos.ptr, f->repos.ptr),
		     0);
	cr_assert_eq(test_sh(&out, "cd '%s/pallets__flask' && git rev-parse HEAD", f->repos.ptr), 0);
	memcpy(f->base, out.ptr, 40);
	f->base[40] = '\0';
	/* each patch as git diff prints it, then the tree reset */
	cr_assert_eq(test_sh(NULL,
			     "set -e; cd '%s/pallets__flask'; d='%s'; "
			     "sed -i 's/return a - b/return a + b/' calc/__init__.py; git diff > \"$d/gold1.diff\"; git checkout -q .; "
			     "printf '\\n\\ndef test_add():\\n    from calc import add\\n    assert add(2, 3) == 5\\n' >> "
			     "tests/test_calc.py; git diff > \"$d/test1.diff\"; git checkout -q .; "
			     "sed -i '$s/return a \\* b/return a \\/ b/' calc/__init__.py; git diff > \"$d/gold2.diff\"; "
			     "git checkout -q .; "
			     "printf 'from calc import div\\n\\n\\ndef test_div():\\n    assert div(6, 3) == 2\\n' > "
			     "tests/test_div.py; git add -N tests/test_div.py; git diff > \"$d/test2.diff\"; "
			     "git rm -q --cached tests/test_div.py; rm tests/test_div.py; "
			     "printf 'calc, fixed\\n' > README.md; git diff > \"$d/gold3.diff\"; git checkout -q .; "
			     "printf 'import time\\n\\n\\ndef test_hang():\\n    time.sleep(3600)\\n' > tests/test_hang.py; "
			     "git add -N tests/test_hang.py; git diff > \"$d/test3.diff\"; git rm -q --cached tests/test_hang.py; "
			     "rm tests/test_hang.py; test -z \"$(git status --porcelain)\"",
			     f->repos.ptr, f->dir.ptr),
		     0);
	for (i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "gold%d.diff", i + 1);
		s = swe_read(f->dir.ptr, name);
		pl_buf_puts(&f->gold[i], s);
		free(s);
		snprintf(name, sizeof(name), "test%d.diff", i + 1);
		s = swe_read(f->dir.ptr, name);
		pl_buf_puts(&f->test_patch[i], s);
		free(s);
	}
	pl_buf_release(&out);
}

static inline json_t *swe_instance(const swe_fixture *f, int k, const char *f2p, const char *p2p)
{
	char id[32];

	snprintf(id, sizeof(id), "pallets__flask-%d", k + 1);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "repo", "pallets/flask", "instance_id", id,
			 "base_commit", f->base, "patch", f->gold[k].ptr, "test_patch", f->test_patch[k].ptr,
			 "problem_statement", "calc is wrong", "hints_text", "", "created_at", "2024-01-01T00:00:00Z",
			 "version", "2.3", "FAIL_TO_PASS", f2p, "PASS_TO_PASS", p2p, "environment_setup_commit", f->base);
}

static inline void swe_write_dataset(swe_fixture *f)
{
	json_t *in[3];
	pl_buf b = PL_BUF_INIT;
	int i;

	in[0] = swe_instance(f, 0, "[\"tests/test_calc.py::test_add\"]", "[\"tests/test_calc.py::test_mul\"]");
	in[1] = swe_instance(f, 1, "[\"tests/test_div.py::test_div\"]", "[]");
	in[2] = swe_instance(f, 2, "[\"tests/test_hang.py::test_hang\"]", "[]");
	for (i = 0; i < 3; i++) {
		char *line = json_dumps(in[i], JSON_COMPACT);

		pl_buf_puts(&b, line);
		pl_buf_putc(&b, '\n');
		free(line);
		json_decref(in[i]);
	}
	cr_assert_eq(pl_file_write_atomic(f->dataset.ptr, b.ptr, b.len, 0644, NULL), 0);
	pl_buf_release(&b);
}

/* A predictions file: JSON Lines of (instance, patch) for model "m/1". */
static inline void swe_write_preds(const swe_fixture *f, const char *name, const char *const *ids,
				   const char *const *patches, size_t n)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "instance_id", ids[i], "model_name_or_path", "m/1", "model_patch",
				      patches[i]);
		char *line = json_dumps(o, JSON_COMPACT);

		pl_buf_puts(&b, line);
		pl_buf_putc(&b, '\n');
		free(line);
		json_decref(o);
	}
	pl_path_join(&p, f->dir.ptr, name);
	cr_assert_eq(pl_file_write_atomic(p.ptr, b.ptr, b.len, 0644, NULL), 0);
	pl_buf_release(&b);
	pl_buf_release(&p);
}

/*
 * An image root made of the host's: empty directories where the sandbox
 * mounts /proc, /dev and /tmp, the official paths (/testbed, /root,
 * /eval.sh, /opt/miniconda3), the host's /bin, /lib... links, and a
 * profile binding the host's /usr and /etc and the conda shim read-only.
 */
static inline void swe_make_rootfs(swe_fixture *f)
{
	static const char *const dirs[] = { "usr", "etc", "proc", "dev", "tmp", "root", "testbed", "opt/miniconda3",
					    "var/tmp" };
	static const char *const links[] = { "bin", "sbin", "lib", "lib32", "lib64" };
	pl_buf p = PL_BUF_INIT, prof = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(dirs); i++) {
		pl_buf_reset(&p);
		pl_path_join(&p, f->rootfs.ptr, dirs[i]);
		cr_assert_eq(pl_mkdir_p(p.ptr, 0755, NULL), 0);
	}
	for (i = 0; i < PL_ARRAY_LEN(links); i++) {
		char host[64], target[256];
		ssize_t n;

		snprintf(host, sizeof(host), "/%s", links[i]);
		n = readlink(host, target, sizeof(target) - 1);
		if (n <= 0)
			continue; /* not a merged /usr: the profile binds it */
		target[n] = '\0';
		pl_buf_reset(&p);
		pl_path_join(&p, f->rootfs.ptr, links[i]);
		cr_assert_eq(symlink(target, p.ptr), 0);
	}
	pl_buf_reset(&p);
	pl_path_join(&p, f->rootfs.ptr, "eval.sh");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "", 0, 0644, NULL), 0);
	cr_assert_eq(chmod(f->rootfs.ptr, 0755), 0);
	cr_assert_eq(bench_host_env_write(f->shim.ptr, NULL, &err), 0, "%s", err.msg);
	pl_buf_printf(&prof,
		      "{\"description\": \"tests: the host's /usr and /etc in a root of their own\",\n"
		      " \"binds\": [{\"src\": \"/usr\", \"dst\": \"/usr\", \"ro\": true},\n"
		      "           {\"src\": \"/etc\", \"dst\": \"/etc\", \"ro\": true},\n"
		      "           {\"src\": \"%s\", \"dst\": \"/opt/miniconda3\", \"ro\": true}",
		      f->shim.ptr);
	for (i = 0; i < PL_ARRAY_LEN(links); i++) {
		char host[64];
		struct stat st;

		snprintf(host, sizeof(host), "/%s", links[i]);
		if (lstat(host, &st) == 0 && S_ISDIR(st.st_mode)) {
			pl_buf_reset(&p);
			pl_path_join(&p, f->rootfs.ptr, links[i]);
			cr_assert_eq(pl_mkdir_p(p.ptr, 0755, NULL), 0);
			pl_buf_printf(&prof, ",\n           {\"src\": \"%s\", \"dst\": \"%s\", \"ro\": true}", host, host);
		}
	}
	pl_buf_puts(&prof, "],\n \"limits\": {\"timeout\": 600, \"memory\": \"4G\", \"nofile\": 4096, \"nproc\": 512},\n"
			   " \"output_cap\": \"4M\", \"merge_output\": true}\n");
	cr_assert_eq(pl_file_write_atomic(f->profile.ptr, prof.ptr, prof.len, 0644, NULL), 0);
	pl_buf_release(&p);
	pl_buf_release(&prof);
}

static inline void swe_fixture_init(swe_fixture *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	pl_buf_init(&f->dir, 0);
	cr_assert_eq(pl_mkdtemp(&f->dir, "plait-test-swe", NULL), 0);
	pl_buf_init(&f->repos, 0);
	pl_buf_init(&f->dataset, 0);
	pl_buf_init(&f->rootfs, 0);
	pl_buf_init(&f->profile, 0);
	pl_buf_init(&f->shim, 0);
	for (i = 0; i < 3; i++) {
		pl_buf_init(&f->gold[i], 0);
		pl_buf_init(&f->test_patch[i], 0);
	}
	pl_path_join(&f->repos, f->dir.ptr, "repos");
	pl_path_join(&f->dataset, f->dir.ptr, "dataset.jsonl");
	pl_path_join(&f->rootfs, f->dir.ptr, "rootfs");
	pl_path_join(&f->profile, f->dir.ptr, "profile.json");
	pl_path_join(&f->shim, f->dir.ptr, "shim");
	swe_make_repo(f);
	swe_write_dataset(f);
	swe_make_rootfs(f);
}

static inline void swe_fixture_release(swe_fixture *f)
{
	int i;

	/* PLAIT_TEST_KEEP=1 keeps the fixture to look at */
	if (f->dir.len && getenv("PLAIT_TEST_KEEP"))
		cr_log_warn("kept %s", f->dir.ptr);
	else if (f->dir.len)
		pl_rm_rf(f->dir.ptr, NULL);
	pl_buf_release(&f->dir);
	pl_buf_release(&f->repos);
	pl_buf_release(&f->dataset);
	pl_buf_release(&f->rootfs);
	pl_buf_release(&f->profile);
	pl_buf_release(&f->shim);
	for (i = 0; i < 3; i++) {
		pl_buf_release(&f->gold[i]);
		pl_buf_release(&f->test_patch[i]);
	}
}

#endif
