/* test_unpack.c - layers applied as umoci (the reference unpacker) applies
 * them: docker save tarballs and OCI layouts built by mkimage.py, each root
 * compared with umoci's file by file; plait's documented differences
 * (setuid bits, device nodes) and how roots share files. */
#include "tests/img_test.h"

/* Files, whiteouts (before and after what they hide, in the same layer),
 * opaque directories (marker before and after the children), hard links
 * within and across layers, symlinks, writes through a relative and an
 * absolute symlink, type changes, FIFOs, sticky and setgid directories,
 * owners; gzip and plain layers (umoci 0.4.7 reads no zstd). */
static const char feature_spec[] =
	"{\"tag\": \"localhost/tests/feature:1\","
	" \"config\": {\"Env\": [\"PATH=/usr/bin:/bin\"], \"WorkingDir\": \"/work\", \"User\": "
	"\"1000:1000\"},"
	" \"layers\": ["
	"  {\"compression\": \"gzip\", \"entries\": ["
	"    {\"path\": \"./\", \"type\": \"dir\", \"mode\": 493},"
	"    {\"path\": \"etc/\", \"type\": \"dir\", \"mode\": 493},"
	"    {\"path\": \"etc/passwd\", \"type\": \"file\", \"content\": \"root:x:0:0::/root:/bin/sh\\n\"},"
	"    {\"path\": \"gone.txt\", \"type\": \"file\", \"content\": \"whited out later\"},"
	"    {\"path\": \"gonedir/x/y\", \"type\": \"file\", \"content\": \"a whole tree whited out\"},"
	"    {\"path\": \"opq/\", \"type\": \"dir\"},"
	"    {\"path\": \"opq/old1\", \"type\": \"file\", \"content\": \"old1\"},"
	"    {\"path\": \"opq/sub/old2\", \"type\": \"file\", \"content\": \"old2\"},"
	"    {\"path\": \"opq2/old\", \"type\": \"file\", \"content\": \"old\"},"
	"    {\"path\": \"keep/a\", \"type\": \"file\", \"content\": \"a\", \"mode\": 384},"
	"    {\"path\": \"home/u/\", \"type\": \"dir\", \"uid\": 1000, \"gid\": 1000, \"mode\": 448},"
	"    {\"path\": \"home/u/.profile\", \"type\": \"file\", \"uid\": 1000, \"gid\": 1000, \"content\": "
	"\"x\"},"
	"    {\"path\": \"lib\", \"type\": \"symlink\", \"target\": \"usr/lib\"},"
	"    {\"path\": \"usr/lib/libx.so\", \"type\": \"file\", \"content\": \"ELF\", \"mode\": 493},"
	"    {\"path\": \"run/\", \"type\": \"dir\"},"
	"    {\"path\": \"var/run\", \"type\": \"symlink\", \"target\": \"/run\"},"
	"    {\"path\": \"dangling\", \"type\": \"symlink\", \"target\": \"/no/such/file\"},"
	"    {\"path\": \"dir2file/\", \"type\": \"dir\"},"
	"    {\"path\": \"dir2file/inner\", \"type\": \"file\", \"content\": \"inner\"},"
	"    {\"path\": \"file2dir\", \"type\": \"file\", \"content\": \"was a file\"},"
	"    {\"path\": \"file2link\", \"type\": \"file\", \"content\": \"was a file\"},"
	"    {\"path\": \"sticky/\", \"type\": \"dir\", \"mode\": 1023},"
	"    {\"path\": \"setgid/\", \"type\": \"dir\", \"mode\": 1533},"
	"    {\"path\": \"fifo\", \"type\": \"fifo\", \"mode\": 416},"
	"    {\"path\": \"big.bin\", \"type\": \"file\", \"size\": 3000000, \"seed\": 3}"
	"  ]},"
	"  {\"compression\": \"none\", \"entries\": ["
	"    {\"path\": \".wh.gone.txt\", \"type\": \"file\"},"
	"    {\"path\": \".wh.gonedir\", \"type\": \"file\"},"
	"    {\"path\": \"opq/new\", \"type\": \"file\", \"content\": \"written before the marker\"},"
	"    {\"path\": \"opq/.wh..wh..opq\", \"type\": \"file\"},"
	"    {\"path\": \"opq2/.wh..wh..opq\", \"type\": \"file\"},"
	"    {\"path\": \"opq2/new\", \"type\": \"file\", \"content\": \"written after the marker\"},"
	"    {\"path\": \"same.txt\", \"type\": \"file\", \"content\": \"a whiteout after me in my layer "
	"spares me\"},"
	"    {\"path\": \".wh.same.txt\", \"type\": \"file\"},"
	"    {\"path\": \"keep/a\", \"type\": \"file\", \"content\": \"a, second version\", \"mode\": 420},"
	"    {\"path\": \"keep/hl\", \"type\": \"hardlink\", \"target\": \"keep/a\"},"
	"    {\"path\": \"keep/hl_lower\", \"type\": \"hardlink\", \"target\": \"usr/lib/libx.so\"},"
	"    {\"path\": \"lib/libnew.so\", \"type\": \"file\", \"content\": \"through a relative symlink\"},"
	"    {\"path\": \"var/run/app.pid\", \"type\": \"file\", \"content\": \"through an absolute "
	"symlink\"},"
	"    {\"path\": \"dir2file\", \"type\": \"file\", \"content\": \"now a file\"},"
	"    {\"path\": \"file2dir/\", \"type\": \"dir\", \"mode\": 448},"
	"    {\"path\": \"file2dir/x\", \"type\": \"file\", \"content\": \"x\"},"
	"    {\"path\": \"file2link\", \"type\": \"symlink\", \"target\": \"etc/passwd\"},"
	"    {\"path\": \"work/\", \"type\": \"dir\", \"uid\": 1000, \"gid\": 1000}"
	"  ]},"
	"  {\"compression\": \"gzip\", \"entries\": ["
	"    {\"path\": \"keep/\", \"type\": \"dir\", \"mode\": 448},"
	"    {\"path\": \"opq/sub/\", \"type\": \"dir\"},"
	"    {\"path\": \"opq/sub/fresh\", \"type\": \"file\", \"content\": \"fresh\"}"
	"  ]}"
	" ]}";

static itest T;

static void setup(void)
{
	it_init(&T);
}
static void teardown(void)
{
	it_done(&T);
}

TestSuite(unpack, .init = setup, .fini = teardown, .timeout = 120);

/* umoci's root of the OCI layout DIR:TAG, in t->dir/BUNDLE/rootfs */
static void umoci_unpack(itest *t, const char *layout, const char *bundle)
{
	pl_buf out = PL_BUF_INIT;
	int st = test_sh(&out, "cd '%s' && umoci unpack %s --image '%s' '%s' 2>&1", t->dir,
			 geteuid() == 0 ? "" : "--rootless", layout, bundle);

	cr_assert_eq(st, 0, "umoci unpack %s failed: %s", layout, out.ptr);
	pl_buf_release(&out);
}

static void load(itest *t, const char *what, const char *tag)
{
	test_run r = it_plait(t, NULL, "load %s%s %s", tag ? "--tag " : "", tag ? tag : "", what);

	cr_assert_eq(r.status, 0, "plait image load %s: %s", what, r.err.ptr);
	test_run_release(&r);
}

Test(unpack, oci_layout_equals_umoci)
{
	pl_buf root = PL_BUF_INIT, bundle = PL_BUF_INIT;

	IT_NEED("umoci", "umoci");
	it_mkimage(&T, "feature", feature_spec, "--oci oci");
	load(&T, "oci", NULL);
	it_root(&root, &T, "localhost/oci:1");
	umoci_unpack(&T, "oci:1", "bundle");
	pl_buf_printf(&bundle, "%s/bundle/rootfs", T.dir);
	/* as root, owners too: the image's, shifted into plait's range */
	it_same_tree(bundle.ptr, root.ptr, geteuid() == 0, geteuid() == 0 ? IMG_IDS_BASE : 0);
	pl_buf_release(&root);
	pl_buf_release(&bundle);
}

Test(unpack, docker_archive_equals_umoci)
{
	pl_buf root = PL_BUF_INIT, bundle = PL_BUF_INIT;

	IT_NEED("umoci", "umoci");
	IT_NEED("skopeo", "skopeo");
	it_mkimage(&T, "feature", feature_spec, "--docker-archive saved.tar");
	load(&T, "saved.tar", NULL);
	it_root(&root, &T, "localhost/tests/feature:1");
	/* umoci reads OCI layouts: skopeo converts the tarball */
	cr_assert_eq(test_sh(NULL, "cd '%s' && skopeo copy -q docker-archive:saved.tar oci:conv:1 >/dev/null",
			     T.dir),
		     0);
	umoci_unpack(&T, "conv:1", "bundle");
	pl_buf_printf(&bundle, "%s/bundle/rootfs", T.dir);
	it_same_tree(bundle.ptr, root.ptr, geteuid() == 0, geteuid() == 0 ? IMG_IDS_BASE : 0);
	pl_buf_release(&root);
	pl_buf_release(&bundle);
}

Test(unpack, zstd_layers_unpack_like_their_gzip_twins)
{
	pl_buf root = PL_BUF_INIT, bundle = PL_BUF_INIT, spec = PL_BUF_INIT;
	const char *p;
	test_run r;

	IT_NEED("umoci", "umoci");
	IT_NEED("zstd", "zstd");
	/* the same layers, zstd-compressed: same diff_ids, same root */
	for (p = feature_spec; *p; p++) {
		if (!strncmp(p, "\"gzip\"", 6)) {
			pl_buf_puts(&spec, "\"zstd\"");
			p += 5;
		} else {
			pl_buf_putc(&spec, *p);
		}
	}
	it_mkimage(&T, "zst", spec.ptr, "--oci zst");
	it_mkimage(&T, "gz", feature_spec, "--oci gz");
	r = it_plait(&T, NULL, "load --json zst");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "tar+zstd"), "%s", r.out.ptr);
	test_run_release(&r);
	it_root(&root, &T, "localhost/zst:1");
	umoci_unpack(&T, "gz:1", "bundle");
	pl_buf_printf(&bundle, "%s/bundle/rootfs", T.dir);
	it_same_tree(bundle.ptr, root.ptr, geteuid() == 0, geteuid() == 0 ? IMG_IDS_BASE : 0);
	pl_buf_release(&root);
	pl_buf_release(&bundle);
	pl_buf_release(&spec);
}

static void mode_of(const char *root, const char *rel, struct stat *st)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	cr_assert_eq(lstat(p, st), 0, "%s: %s", p, strerror(errno));
}

Test(unpack, setuid_bits_dropped_devices_skipped)
{
	pl_buf root = PL_BUF_INIT, p = PL_BUF_INIT;
	struct stat st;

	it_mkimage(
		&T, "dev",
		"{\"tag\": \"localhost/tests/dev:1\", \"layers\": [{\"entries\": ["
		" {\"path\": \"bin/su\", \"type\": \"file\", \"content\": \"#!/bin/sh\\n\", \"mode\": 3565},"
		" {\"path\": \"bin/wall\", \"type\": \"file\", \"content\": \"#!/bin/sh\\n\", \"mode\": "
		"1517},"
		" {\"path\": \"var/mail/\", \"type\": \"dir\", \"mode\": 1533},"
		" {\"path\": \"dev/null\", \"type\": \"char\", \"major\": 1, \"minor\": 3},"
		" {\"path\": \"dev/sda\", \"type\": \"char\", \"major\": 8, \"minor\": 0},"
		" {\"path\": \"pipe\", \"type\": \"fifo\"}]}]}",
		"--oci dev");
	load(&T, "dev", NULL);
	it_root(&root, &T, "localhost/dev:1");
	mode_of(root.ptr, "bin/su", &st);
	cr_assert_eq(st.st_mode & 07777, 0755, "setuid and setgid dropped: %o", st.st_mode & 07777);
	mode_of(root.ptr, "bin/wall", &st);
	cr_assert_eq(st.st_mode & 07777, 0755, "setgid dropped: %o", st.st_mode & 07777);
	mode_of(root.ptr, "var/mail", &st);
	cr_assert_eq(st.st_mode & 07777, 02775, "a directory's setgid kept: %o", st.st_mode & 07777);
	pl_buf_printf(&p, "%s/dev/null", root.ptr);
	cr_assert(!pl_file_exists(p.ptr) && access(p.ptr, F_OK) < 0, "device nodes are not created");
	mode_of(root.ptr, "pipe", &st);
	cr_assert(S_ISFIFO(st.st_mode));
	pl_buf_release(&root);
	pl_buf_release(&p);
}

/* Two images sharing their base layers share its root's files (one inode),
 * and each layer's root is built once. */
Test(unpack, images_sharing_a_base_share_its_files)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT, pa = PL_BUF_INIT, pb = PL_BUF_INIT;
	struct stat sa, sb;
	test_run r;

	it_mkimage(&T, "a",
		   "{\"tag\": \"localhost/tests/a:1\", \"layers\": ["
		   " {\"compression\": \"gzip\", \"entries\": [{\"path\": \"base.bin\", \"type\": \"file\", "
		   "\"size\": 2000000, \"seed\": 9}]},"
		   " {\"entries\": [{\"path\": \"a.txt\", \"type\": \"file\", \"content\": \"a\"}]}]}",
		   "--oci a");
	it_mkimage(&T, "b",
		   "{\"tag\": \"localhost/tests/b:1\", \"layers\": ["
		   " {\"compression\": \"gzip\", \"entries\": [{\"path\": \"base.bin\", \"type\": \"file\", "
		   "\"size\": 2000000, \"seed\": 9}]},"
		   " {\"entries\": [{\"path\": \"b.txt\", \"type\": \"file\", \"content\": \"b\"}]}]}",
		   "--oci b");
	load(&T, "a", NULL);
	load(&T, "b", NULL);
	it_root(&a, &T, "localhost/a:1");
	it_root(&b, &T, "localhost/b:1");
	cr_assert_str_neq(a.ptr, b.ptr);
	pl_buf_printf(&pa, "%s/base.bin", a.ptr);
	pl_buf_printf(&pb, "%s/base.bin", b.ptr);
	cr_assert_eq(stat(pa.ptr, &sa), 0);
	cr_assert_eq(stat(pb.ptr, &sb), 0);
	cr_assert_eq(sa.st_ino, sb.st_ino, "the base's file is stored once");
	/* three roots (base, a, b), the base's bytes counted once */
	r = it_plait(&T, NULL, "ls --json");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "\"nroots\": 3"), "%s", r.out.ptr);
	{
		json_t *j = NULL;
		pl_err err = { 0, "" };
		json_int_t roots;

		cr_assert_eq(pl_json_parse(&j, r.out.ptr, r.out.len, "ls", &err), 0, "%s", err.msg);
		roots = json_integer_value(json_object_get(json_object_get(j, "usage"), "roots"));
		cr_assert(roots >= 2000002 && roots < 2000100, "roots hold %lld bytes, expected 2000002",
			  (long long)roots);
		json_decref(j);
	}
	test_run_release(&r);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&pa);
	pl_buf_release(&pb);
}

Test(unpack, rm_then_prune_frees_only_what_is_unused)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT;
	test_run r;

	it_mkimage(&T, "a",
		   "{\"tag\": \"localhost/tests/a:1\", \"layers\": ["
		   " {\"entries\": [{\"path\": \"base\", \"type\": \"file\", \"content\": \"base\"}]},"
		   " {\"entries\": [{\"path\": \"a.txt\", \"type\": \"file\", \"content\": \"a\"}]}]}",
		   "--oci a");
	it_mkimage(&T, "b",
		   "{\"tag\": \"localhost/tests/b:1\", \"layers\": ["
		   " {\"entries\": [{\"path\": \"base\", \"type\": \"file\", \"content\": \"base\"}]},"
		   " {\"entries\": [{\"path\": \"b.txt\", \"type\": \"file\", \"content\": \"b\"}]}]}",
		   "--oci b");
	load(&T, "a", NULL);
	load(&T, "b", NULL);
	it_root(&a, &T, "localhost/a:1");
	r = it_plait(&T, NULL, "rm localhost/a:1");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "rm localhost/a:1");
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err.ptr, "not in the store"), "%s", r.err.ptr);
	test_run_release(&r);
	cr_assert(pl_dir_exists(a.ptr), "rm leaves files to prune");
	r = it_plait(&T, NULL, "prune --json");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "\"nroots\": 1"), "only a's own root goes: %s", r.out.ptr);
	test_run_release(&r);
	cr_assert(!pl_dir_exists(a.ptr));
	it_root(&b, &T, "localhost/b:1");
	pl_buf_reset(&a);
	pl_buf_printf(&a, "%s/base", b.ptr);
	cr_assert(pl_file_exists(a.ptr), "b keeps the shared base");
	pl_buf_release(&a);
	pl_buf_release(&b);
}

Test(unpack, load_errors_name_the_problem)
{
	test_run r;

	r = it_plait(&T, NULL, "load nothing-here.tar");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "nothing-here.tar"), "%s", r.err.ptr);
	test_run_release(&r);
	cr_assert_eq(test_sh(NULL, "cd '%s' && mkdir notlayout && echo hi > notatar", T.dir), 0);
	r = it_plait(&T, NULL, "load notlayout");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "oci-layout"), "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "load notatar");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "not a tar"), "%s", r.err.ptr);
	test_run_release(&r);
	/* a blob whose content is not its name */
	it_mkimage(&T, "a",
		   "{\"tag\": \"x:1\", \"layers\": [{\"entries\": [{\"path\": \"f\", \"content\": \"f\"}]}]}",
		   "--oci bad");
	cr_assert_eq(test_sh(NULL,
			     "cd '%s/bad/blobs/sha256' && for f in *; do s=$(wc -c < $f); "
			     "if [ $s -gt 1500 ]; then chmod u+w $f; echo tampered >> $f; fi; done",
			     T.dir),
		     0);
	r = it_plait(&T, NULL, "load bad");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "has digest") || strstr(r.err.ptr, "content has digest"), "%s",
		  r.err.ptr);
	test_run_release(&r);
}
