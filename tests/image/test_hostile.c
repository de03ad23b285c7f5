/* test_hostile.c - layers that try to leave the root are refused, naming
 * the entry, and change nothing outside it: ".." and absolute names,
 * symlinks that climb out or lead to the host's directories followed by
 * writes, hard links and whiteouts through them, symlink loops.  A canary
 * directory beside the store must stay as it was, and no root of a refused
 * layer may be left in the store. */
#include "tests/img_test.h"

static itest T;
static char canary[PATH_MAX + 16];    /* absolute */
static char climb[PATH_MAX * 2 + 64]; /* "../../..(many)" + canary: out of any root */

static void setup(void)
{
	char p[PATH_MAX + 32];

	it_init(&T);
	snprintf(canary, sizeof(canary), "%s/canary", T.dir);
	cr_assert_eq(mkdir(canary, 0755), 0);
	snprintf(p, sizeof(p), "%s/victim", canary);
	it_write(p, "intact\n");
	snprintf(climb, sizeof(climb), "../../../../../../../../../../../../../../../..%s", canary);
}

static void teardown(void)
{
	it_done(&T);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 60);

/* Nothing changed in the canary; no root, no staging left for the layer. */
static void canary_intact(void)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	struct dirent **names = NULL;
	int n, i;

	pl_buf_printf(&p, "%s/victim", canary);
	cr_assert_eq(pl_file_read(&b, p.ptr, 0, NULL), 0, "the victim is still there");
	cr_assert_str_eq(b.ptr, "intact\n");
	n = scandir(canary, &names, NULL, alphasort);
	cr_assert_eq(n, 3, "the canary holds only its victim (%d entries)", n);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s/tmp", T.store);
	cr_assert_eq(test_sh(NULL, "! ls '%s' | grep -q '^root-.*[^k]$'", p.ptr), 0,
		     "no staging root left behind");
	pl_buf_release(&b);
	pl_buf_release(&p);
}

/* Load a one-image layout from layers (JSON array text); expect the load to
 * fail with a message holding every string of want. */
static void refused(const char *layers, const char *const *want)
{
	pl_buf spec = PL_BUF_INIT;
	test_run r;

	pl_buf_printf(&spec, "{\"tag\": \"localhost/tests/hostile:1\", \"layers\": %s}", layers);
	it_mkimage(&T, "hostile", spec.ptr, "--oci hostile");
	r = it_plait(&T, NULL, "load hostile");
	cr_assert_eq(r.status, 1, "the hostile layer was accepted: %s", r.out.ptr);
	for (; *want; want++)
		cr_assert(strstr(r.err.ptr, *want), "expected '%s' in: %s", *want, r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "ls --json");
	cr_assert(strstr(r.out.ptr, "\"images\": []"), "nothing recorded: %s", r.out.ptr);
	test_run_release(&r);
	canary_intact();
	pl_buf_release(&spec);
}

Test(hostile, dotdot_name)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(&l, "[{\"entries\": [{\"path\": \"%s/pwned\", \"content\": \"x\"}]}]", climb);
	refused(l.ptr, (const char *const[]){ "/pwned'", "'..' component", NULL });
	pl_buf_release(&l);
}

Test(hostile, absolute_name)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(&l, "[{\"entries\": [{\"path\": \"%s/pwned\", \"content\": \"x\"}]}]", canary);
	refused(l.ptr, (const char *const[]){ "/canary/pwned'", "absolute path", NULL });
	pl_buf_release(&l);
}

Test(hostile, write_through_a_symlink_that_climbs_out)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(&l,
		      "[{\"entries\": [{\"path\": \"out\", \"type\": \"symlink\", \"target\": \"%s\"},"
		      " {\"path\": \"out/pwned\", \"content\": \"x\"}]}]",
		      climb);
	refused(l.ptr, (const char *const[]){ "entry 'out/pwned'", "climbs above the root", NULL });
	pl_buf_release(&l);
}

/* the symlink in one layer, the write through it in the next */
Test(hostile, write_through_a_lower_layers_symlink)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(&l,
		      "[{\"entries\": [{\"path\": \"a/out\", \"type\": \"symlink\", \"target\": \"../%s\"}]},"
		      " {\"entries\": [{\"path\": \"a/out/victim\", \"content\": \"overwritten\"}]}]",
		      climb);
	refused(l.ptr, (const char *const[]){ "entry 'a/out/victim'", "climbs above the root", NULL });
	pl_buf_release(&l);
}

Test(hostile, write_through_an_absolute_symlink_to_a_host_directory)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(&l,
		      "[{\"entries\": [{\"path\": \"abs\", \"type\": \"symlink\", \"target\": \"%s\"},"
		      " {\"path\": \"abs/pwned\", \"content\": \"x\"}]}]",
		      canary);
	/* inside the image, /canary's path does not exist: no directory is
	 * ever made through a symlink */
	refused(l.ptr, (const char *const[]){ "entry 'abs/pwned'", "which the image does not have", NULL });
	pl_buf_release(&l);
}

Test(hostile, hard_links_out)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(
		&l,
		"[{\"entries\": [{\"path\": \"hl\", \"type\": \"hardlink\", \"target\": \"%s/victim\"}]}]",
		climb);
	refused(l.ptr, (const char *const[]){ "entry 'hl'", "'..' component", NULL });
	pl_buf_reset(&l);
	pl_buf_printf(
		&l,
		"[{\"entries\": [{\"path\": \"hl\", \"type\": \"hardlink\", \"target\": \"%s/victim\"}]}]",
		canary);
	refused(l.ptr, (const char *const[]){ "entry 'hl'", "absolute path", NULL });
	pl_buf_reset(&l);
	pl_buf_printf(&l,
		      "[{\"entries\": [{\"path\": \"out\", \"type\": \"symlink\", \"target\": \"%s\"},"
		      " {\"path\": \"hl\", \"type\": \"hardlink\", \"target\": \"out/victim\"}]}]",
		      climb);
	refused(l.ptr, (const char *const[]){ "entry 'hl'", "climbs above the root", NULL });
	pl_buf_release(&l);
}

Test(hostile, whiteouts_through_a_symlink_out)
{
	pl_buf l = PL_BUF_INIT;

	pl_buf_printf(&l,
		      "[{\"entries\": [{\"path\": \"out\", \"type\": \"symlink\", \"target\": \"%s\"}]},"
		      " {\"entries\": [{\"path\": \"out/.wh.victim\"}]}]",
		      climb);
	refused(l.ptr, (const char *const[]){ "entry 'out/.wh.victim'", "climbs above the root", NULL });
	pl_buf_reset(&l);
	pl_buf_printf(&l,
		      "[{\"entries\": [{\"path\": \"out\", \"type\": \"symlink\", \"target\": \"%s\"}]},"
		      " {\"entries\": [{\"path\": \"out/.wh..wh..opq\"}]}]",
		      climb);
	refused(l.ptr, (const char *const[]){ "entry 'out/.wh..wh..opq'", "climbs above the root", NULL });
	pl_buf_release(&l);
}

Test(hostile, symlink_loop)
{
	refused("[{\"entries\": [{\"path\": \"a\", \"type\": \"symlink\", \"target\": \"b\"},"
		" {\"path\": \"b\", \"type\": \"symlink\", \"target\": \"a\"},"
		" {\"path\": \"a/x\", \"content\": \"x\"}]}]",
		(const char *const[]){ "entry 'a/x'", "more than 40 symlinks", NULL });
}

/* An entry replaces a symlink at its own name; it never writes through it. */
Test(hostile, an_entry_replaces_a_symlink_never_follows_it)
{
	pl_buf l = PL_BUF_INIT, root = PL_BUF_INIT, p = PL_BUF_INIT;
	struct stat st;
	test_run r;

	pl_buf_printf(&l,
		      "{\"tag\": \"localhost/tests/replace:1\", \"layers\": ["
		      "{\"entries\": [{\"path\": \"x\", \"type\": \"symlink\", \"target\": \"%s/victim\"},"
		      " {\"path\": \"y\", \"type\": \"symlink\", \"target\": \"%s/victim\"}]},"
		      "{\"entries\": [{\"path\": \"x\", \"content\": \"replaced\"},"
		      " {\"path\": \"y/\", \"type\": \"dir\"}]}]}",
		      canary, climb);
	it_mkimage(&T, "replace", l.ptr, "--oci replace");
	r = it_plait(&T, NULL, "load replace");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	canary_intact();
	it_root(&root, &T, "localhost/replace:1");
	pl_buf_printf(&p, "%s/x", root.ptr);
	cr_assert_eq(lstat(p.ptr, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "x is a file now");
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s/y", root.ptr);
	cr_assert_eq(lstat(p.ptr, &st), 0);
	cr_assert(S_ISDIR(st.st_mode), "y is a directory now");
	pl_buf_release(&l);
	pl_buf_release(&root);
	pl_buf_release(&p);
}

/* A diff_id that does not match the layer: the root is not kept. */
Test(hostile, config_lying_about_a_layer)
{
	pl_buf cmd = PL_BUF_INIT;
	test_run r;

	it_mkimage(&T, "lie",
		   "{\"tag\": \"x:1\", \"layers\": [{\"entries\": [{\"path\": \"f\", \"content\": \"f\"}]}]}",
		   "--oci lie");
	/* rewrite the config's diff_id, and the manifest and index after it */
	pl_buf_printf(&cmd,
		      "cd '%s/lie' && /usr/bin/python3 -c '\n"
		      "import json,hashlib,os\n"
		      "b=\"blobs/sha256/\"\n"
		      "idx=json.load(open(\"index.json\"))\n"
		      "m=json.load(open(b+idx[\"manifests\"][0][\"digest\"][7:]))\n"
		      "c=json.load(open(b+m[\"config\"][\"digest\"][7:]))\n"
		      "c[\"rootfs\"][\"diff_ids\"][0]=\"sha256:\"+\"0\"*64\n"
		      "def put(o):\n"
		      "  d=json.dumps(o).encode(); h=hashlib.sha256(d).hexdigest(); "
		      "open(b+h,\"wb\").write(d); return h,len(d)\n"
		      "h,n=put(c); m[\"config\"][\"digest\"]=\"sha256:\"+h; m[\"config\"][\"size\"]=n\n"
		      "h,n=put(m); idx[\"manifests\"][0][\"digest\"]=\"sha256:\"+h; "
		      "idx[\"manifests\"][0][\"size\"]=n\n"
		      "json.dump(idx,open(\"index.json\",\"w\"))'",
		      T.dir);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0);
	r = it_plait(&T, NULL, "load lie");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "but the image config says sha256:0000"), "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "ls --json");
	cr_assert(strstr(r.out.ptr, "\"nroots\": 0"), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&cmd);
}

/* The same refusal from a `docker save` tarball. */
Test(hostile, refused_from_a_docker_save_tarball)
{
	pl_buf spec = PL_BUF_INIT;
	test_run r;

	pl_buf_printf(&spec,
		      "{\"tag\": \"localhost/tests/hostile:1\", \"layers\": ["
		      "{\"entries\": [{\"path\": \"out\", \"type\": \"symlink\", \"target\": \"%s\"}]},"
		      "{\"entries\": [{\"path\": \"out/victim\", \"content\": \"overwritten\"}]}]}",
		      climb);
	it_mkimage(&T, "hostile", spec.ptr, "--docker-archive hostile.tar");
	r = it_plait(&T, NULL, "load hostile.tar");
	cr_assert_eq(r.status, 1, "the hostile layer was accepted: %s", r.out.ptr);
	cr_assert(strstr(r.err.ptr, "entry 'out/victim'") && strstr(r.err.ptr, "climbs above the root"), "%s",
		  r.err.ptr);
	test_run_release(&r);
	canary_intact();
	pl_buf_release(&spec);
}
