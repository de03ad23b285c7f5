/* test_overlay.c - a writable root over a read-only image root
 * (sbx_config_set_rootfs_overlay): the command changes its root, the
 * changes land in the overlay's upper layer, the image never changes, and
 * two sandboxes over one image do not see each other's changes. */
#include "sbx_test.h"

static pl_buf tmp = PL_BUF_INIT, root = PL_BUF_INIT;

/* As root, the image's owner and the id the sandbox runs as (an image
 * store's shifted root, outside the sandbox's own pool); unprivileged, the
 * caller, who owns everything. */
#define IMAGE_ID 2113933312u /* 0x7e000000 + 4096 */

static unsigned image_owner(void) { return geteuid() == 0 ? IMAGE_ID : (unsigned)geteuid(); }

static void setup(void)
{
	pl_err err = { 0 };
	pl_buf cmd = PL_BUF_INIT;

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-sbx-ovl", &err), 0, "%s", err.msg);
	give_to_sandbox(tmp.ptr, 0755);
	pl_path_join(&root, tmp.ptr, "rootfs");
	/* an image root owned by the id the sandbox runs as, as an image
	 * store's is by the image user's (shifted) ids; the host's /usr bound
	 * in */
	pl_buf_printf(&cmd,
		      "set -e; mkdir -p %s; cd %s; mkdir -p usr etc proc dev tmp; ln -s usr/bin bin; "
		      "ln -s usr/lib lib; ln -s usr/lib64 lib64; echo image > etc/issue; echo bye > etc/gone; "
		      "chown -R %u:%u . 2>/dev/null || true",
		      root.ptr, root.ptr, image_owner(), image_owner());
	cr_assert_eq(host_sh(cmd.ptr), 0);
	pl_buf_release(&cmd);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
	pl_buf_release(&root);
}

TestSuite(overlay, .init = setup, .fini = teardown, .timeout = 60);

static void run_in(sbx_result *r, const char *changes, const char *script)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	pl_err err = { 0 };
	sbx_config cfg;

	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_set_rootfs_overlay(&cfg, changes, geteuid() == 0 ? IMAGE_ID : 0, geteuid() == 0 ? 1 : 0);
	if (geteuid() == 0)
		cfg.uid = cfg.gid = IMAGE_ID;
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	sbx_config_add_bind(&cfg, "/usr", "/opt/missing/usr", true);
	sbx_result_init(r);
	cr_assert_eq(sbx_run(r, &cfg, argv, &err), 0, "%s", err.msg);
	sbx_config_release(&cfg);
}

Test(overlay, changes_go_to_the_upper_layer_only)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT, text = PL_BUF_INIT, p = PL_BUF_INIT;
	sbx_result r;

	pl_path_join(&a, tmp.ptr, "run-a");
	pl_path_join(&b, tmp.ptr, "run-b");
	cr_assert_eq(mkdir(a.ptr, 0700), 0);
	cr_assert_eq(mkdir(b.ptr, 0700), 0);
	run_in(&r, a.ptr,
	       "echo changed >> /etc/issue && echo new > /new && rm /etc/gone && mkdir -p /var/x && "
	       "cat /etc/issue && ls /etc && ls /opt/missing/usr/bin/sh");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "image\nchanged\nissue\n/opt/missing/usr/bin/sh\n");
	sbx_result_release(&r);
	/* the image is as it was */
	pl_path_join(&p, root.ptr, "etc/issue");
	cr_assert_eq(pl_file_read(&text, p.ptr, 0, NULL), 0);
	cr_assert_str_eq(text.ptr, "image\n");
	pl_buf_reset(&p);
	pl_path_join(&p, root.ptr, "etc/gone");
	cr_assert(pl_file_exists(p.ptr));
	pl_buf_reset(&p);
	pl_path_join(&p, root.ptr, "new");
	cr_assert(!pl_file_exists(p.ptr));
	pl_buf_reset(&p);
	pl_path_join(&p, root.ptr, "opt");
	cr_assert(!pl_dir_exists(p.ptr), "a missing bind destination is made in the overlay, not the image");
	/* the changes are in the upper layer */
	pl_buf_reset(&p);
	pl_path_join(&p, a.ptr, "upper/new");
	cr_assert(pl_file_exists(p.ptr));
	/* another sandbox over the same image sees none of them */
	run_in(&r, b.ptr, "cat /etc/issue; cat /etc/gone; test -e /new || echo no-new");
	cr_assert_str_eq(r.out.ptr, "image\nbye\nno-new\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&text);
	pl_buf_release(&p);
}

Test(overlay, needs_a_rootfs_and_a_directory)
{
	const char *ok[] = { "/bin/true", NULL };
	pl_err err = { 0 };
	sbx_config cfg;
	sbx_result r;

	sbx_result_init(&r);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs_overlay(&cfg, tmp.ptr, 0, 0);
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "without a rootfs"), "%s", err.msg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_set_rootfs_overlay(&cfg, "/no/such/dir", 0, 0);
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "rootfs_overlay '/no/such/dir'"), "%s", err.msg);
	sbx_config_release(&cfg);
	sbx_result_release(&r);
}
