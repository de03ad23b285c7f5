/* Where binds land: destinations missing from a read-only root (the host's
 * or an image's) are created in tmpfs mounts of the sandbox's own, never on
 * the host or in the image, and the root stays read-only for the command. */
#include "sbx_test.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT; /* fixture root, 0755 */
static pl_buf src = PL_BUF_INIT; /* a directory to bind, writable by the sandbox */
static pl_buf file = PL_BUF_INIT; /* a file to bind */
static char tag[32];             /* unique names on the host's root */

static void setup(void)
{
	pl_err err = { 0 };
	pl_buf p = PL_BUF_INIT;

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-mounts", &err), 0, "%s", err.msg);
	chmod(tmp.ptr, 0755);
	pl_path_join(&src, tmp.ptr, "src");
	cr_assert_eq(mkdir(src.ptr, 0755), 0);
	pl_path_join(&p, src.ptr, "inside");
	write_text(p.ptr, "from the host\n");
	give_to_sandbox(src.ptr, 0755);
	pl_path_join(&file, tmp.ptr, "eval.sh");
	write_text(file.ptr, "echo evaluated\n");
	snprintf(tag, sizeof(tag), "plait-mnt-%d", (int)getpid());
	pl_buf_release(&p);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
	pl_buf_release(&src);
	pl_buf_release(&file);
}

TestSuite(mounts, .init = setup, .fini = teardown, .timeout = 60);

/* The names in dir, one per line, sorted; with modes and sizes when deep
 * (a whole tree, recursively). */
static void listing(pl_buf *out, const char *dir, bool deep)
{
	pl_buf_reset(out);
	if (deep)
		cr_assert_eq(test_sh(out, "cd '%s' && find . -printf '%%p %%y %%m %%s %%l\\n' | sort", dir), 0);
	else
		cr_assert_eq(test_sh(out, "ls -a '%s' | sort", dir), 0);
}

/* Nothing named after this test in the host's dir (other programs may
 * change it meanwhile: a whole listing would not be stable). */
static void nothing_of_ours_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert(d);
	while ((e = readdir(d)))
		cr_assert(!strstr(e->d_name, tag), "%s/%s was made on the host", dir, e->d_name);
	closedir(d);
}

static void run_sh(sbx_result *r, const sbx_config *cfg, const char *script)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	pl_err err = { 0 };

	sbx_result_init(r);
	cr_assert_eq(sbx_run(r, cfg, argv, &err), 0, "%s", err.msg);
}

Test(mounts, missing_destinations_are_created_in_the_read_only_host_root)
{
	pl_buf before = PL_BUF_INIT, after = PL_BUF_INIT, local = PL_BUF_INIT, local_after = PL_BUF_INIT,
	       dst = PL_BUF_INIT, script = PL_BUF_INIT, p = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };

	listing(&local, "/usr/local", false);
	sbx_config_init(&cfg);
	/* a directory at the top, read-write; a file at the top; a directory
	 * three levels down from a missing top; one in an existing directory */
	pl_buf_printf(&dst, "/%s-w", tag);
	sbx_config_add_bind(&cfg, src.ptr, dst.ptr, false);
	pl_buf_reset(&dst);
	pl_buf_printf(&dst, "/%s-eval.sh", tag);
	sbx_config_add_bind(&cfg, file.ptr, dst.ptr, true);
	pl_buf_reset(&dst);
	pl_buf_printf(&dst, "/%s-a/b/c", tag);
	sbx_config_add_bind(&cfg, src.ptr, dst.ptr, true);
	pl_buf_reset(&dst);
	pl_buf_printf(&dst, "/usr/local/%s", tag);
	sbx_config_add_bind(&cfg, src.ptr, dst.ptr, true);
	pl_buf_printf(&script,
		      "T=%s; cat /$T-w/inside /$T-a/b/c/inside /usr/local/$T/inside; sh /$T-eval.sh; "
		      "echo written > /$T-w/new && echo rw-ok; "
		      "touch /$T-new 2>/dev/null || echo root-ro; mkdir /$T-a/z 2>/dev/null || echo new-dir-ro; "
		      "touch /$T-a/b/c/x 2>/dev/null || echo ro-bind-ro; touch /usr/local/$T-y 2>/dev/null || echo local-ro; "
		      "ls -a /usr/local | grep -v \"^$T\\$\" | sort",
		      tag);
	run_sh(&r, &cfg, script.ptr);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out.ptr, r.err.ptr);
	pl_buf_printf(&p, "from the host\nfrom the host\nfrom the host\nevaluated\nrw-ok\nroot-ro\nnew-dir-ro\nro-bind-ro\n"
			  "local-ro\n%s",
		      local.ptr);
	cr_assert_str_eq(r.out.ptr, p.ptr, "%s", r.err.ptr);
	/* the host: nothing new at the top or in /usr/local, the write went
	 * through the bind */
	nothing_of_ours_in("/");
	nothing_of_ours_in("/usr/local");
	pl_buf_reset(&p);
	pl_path_join(&p, src.ptr, "new");
	cr_assert(pl_file_exists(p.ptr));
	sbx_result_release(&r);
	/* the same in a session */
	{
		sbx_session *s = NULL;
		const char *argv[] = { "/bin/sh", "-c", script.ptr, NULL };

		unlink(p.ptr);
		cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
		sbx_result_init(&r);
		cr_assert_eq(sbx_session_exec(&r, s, argv, NULL, &err), 0, "%s", err.msg);
		cr_assert_eq(r.exit_code, 0, "%s%s", r.out.ptr, r.err.ptr);
		cr_assert(pl_str_starts_with(r.out.ptr, "from the host\n"), "%s", r.out.ptr);
		sbx_result_release(&r);
		sbx_session_close(s);
	}
	nothing_of_ours_in("/");
	sbx_config_release(&cfg);
	pl_buf_release(&before);
	pl_buf_release(&after);
	pl_buf_release(&local);
	pl_buf_release(&local_after);
	pl_buf_release(&dst);
	pl_buf_release(&script);
	pl_buf_release(&p);
}

Test(mounts, the_cli_binds_onto_missing_destinations)
{
	pl_buf out = PL_BUF_INIT, before = PL_BUF_INIT, after = PL_BUF_INIT;

	cr_assert_eq(test_sh(&out, "'%s' sandbox run --bind '%s:/%s' --ro-bind '%s:/%s.sh' -- /bin/sh -c "
				   "'cat /%s/inside; sh /%s.sh' 2>&1",
			     test_plait_bin(), src.ptr, tag, file.ptr, tag, tag, tag),
		     0, "%s", out.ptr);
	cr_assert_str_eq(out.ptr, "from the host\nevaluated\n");
	nothing_of_ours_in("/");
	pl_buf_release(&out);
	pl_buf_release(&before);
	pl_buf_release(&after);
}

/* A small image root: the host's /usr through a bind, its own /etc,
 * symlinks for bin and lib, the empty mount points an image has. */
static void make_image(pl_buf *root)
{
	pl_path_join(root, tmp.ptr, "image");
	cr_assert_eq(test_sh(NULL,
			     "set -e; mkdir -p '%s'; cd '%s'; mkdir -p usr etc proc dev tmp opt/conda; "
			     "ln -s usr/bin bin; ln -s usr/lib lib; ln -s usr/lib64 lib64; echo image > etc/issue; "
			     "echo conda > opt/conda/marker; chmod -R go-w .",
			     root->ptr, root->ptr),
		     0);
}

Test(mounts, missing_destinations_in_an_image_root_leave_the_image_unchanged)
{
	pl_buf root = PL_BUF_INIT, before = PL_BUF_INIT, after = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;

	/* SWE-bench's places: /testbed, /eval.sh, /home/<repo> */
	make_image(&root);
	listing(&before, root.ptr, true);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	sbx_config_add_bind(&cfg, src.ptr, "/testbed", false);
	sbx_config_add_bind(&cfg, file.ptr, "/eval.sh", true);
	sbx_config_add_bind(&cfg, src.ptr, "/home/repo", true);
	run_sh(&r, &cfg,
	       "cat /testbed/inside /home/repo/inside /etc/issue /opt/conda/marker; sh /eval.sh; ls /; "
	       "echo ok > /testbed/result && echo testbed-rw; touch /x 2>/dev/null || echo root-ro; "
	       "touch /home/y 2>/dev/null || echo home-ro");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out.ptr, r.err.ptr);
	cr_assert_str_eq(r.out.ptr,
			 "from the host\nfrom the host\nimage\nconda\nevaluated\n"
			 "bin\ndev\netc\neval.sh\nhome\nlib\nlib64\nopt\nproc\ntestbed\ntmp\nusr\n"
			 "testbed-rw\nroot-ro\nhome-ro\n",
			 "%s", r.err.ptr);
	listing(&after, root.ptr, true);
	cr_assert_str_eq(after.ptr, before.ptr, "the image changed");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&root);
	pl_buf_release(&before);
	pl_buf_release(&after);
}

Test(mounts, a_destination_missing_from_a_writable_bind_is_refused)
{
	pl_buf work = PL_BUF_INIT, dst = PL_BUF_INIT, before = PL_BUF_INIT, after = PL_BUF_INIT;
	const char *argv[] = { "/bin/true", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };

	pl_path_join(&work, tmp.ptr, "work");
	cr_assert_eq(mkdir(work.ptr, 0755), 0);
	give_to_sandbox(work.ptr, 0755);
	listing(&before, work.ptr, true);
	pl_path_join(&dst, work.ptr, "cache/x");
	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, work.ptr);
	sbx_config_add_bind(&cfg, src.ptr, dst.ptr, true);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), PL_ESYS);
	cr_assert(strstr(err.msg, "bind destination missing from a writable bind or the work directory"), "%s",
		  err.msg);
	cr_assert(strstr(err.msg, dst.ptr), "%s", err.msg);
	listing(&after, work.ptr, true);
	cr_assert_str_eq(after.ptr, before.ptr, "the work directory changed");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&work);
	pl_buf_release(&dst);
	pl_buf_release(&before);
	pl_buf_release(&after);
}

Test(mounts, a_destination_of_the_wrong_kind_is_a_clear_error)
{
	const char *argv[] = { "/bin/true", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };

	sbx_result_init(&r);
	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, file.ptr, "/usr", true);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), PL_ESYS);
	cr_assert_str_eq(err.msg, "setting up the sandbox: bind destination (the source is not a directory) '/usr': "
				  "Is a directory");
	sbx_config_release(&cfg);
	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, src.ptr, "/etc/hostname", true);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), PL_ESYS);
	cr_assert_str_eq(err.msg, "setting up the sandbox: bind destination (the source is a directory) "
				  "'/etc/hostname': Not a directory");
	sbx_config_release(&cfg);
	sbx_result_release(&r);
}

Test(mounts, destinations_are_normalized)
{
	pl_buf dst = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	pl_buf_printf(&dst, "//%s/./x//", tag);
	sbx_config_add_bind(&cfg, src.ptr, dst.ptr, true);
	run_sh(&r, &cfg, "cat /plait-mnt-*/x/inside");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "from the host\n");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&dst);
}

/* ---------------------------------------------------------------- symlinks */

static void run_err(pl_err *err, const sbx_config *cfg)
{
	const char *argv[] = { "/bin/true", NULL };
	sbx_result r;

	sbx_result_init(&r);
	cr_assert_lt(sbx_run(&r, cfg, argv, err), 0, "the sandbox started");
	sbx_result_release(&r);
}

Test(mounts, symlinks_in_an_image_cannot_place_mount_points_on_the_host)
{
	pl_buf root = PL_BUF_INIT, shm = PL_BUF_INIT, shm_after = PL_BUF_INIT, img = PL_BUF_INIT,
	       img_after = PL_BUF_INIT, etc = PL_BUF_INIT, etc_after = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };

	/* an image whose symlinks point at host places: resolved inside,
	 * they lead into the sandbox's own /dev (refused) or the image's own
	 * /etc (a tmpfs copy of it gets the mount point) */
	make_image(&root);
	cr_assert_eq(test_sh(NULL, "cd '%s' && ln -s /dev/shm/%s-x out && ln -s /dev/shm lnk && ln -s /etc etcl", root.ptr,
			     tag),
		     0);
	listing(&img, root.ptr, true);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	sbx_config_add_bind(&cfg, src.ptr, "/out/a", true);
	run_err(&err, &cfg);
	/* out leads to a /dev/shm/... that the sandbox's /dev/shm lacks */
	cr_assert(strstr(err.msg, "bind destination: a symlink on its way leads nowhere '/out/a'"), "%s", err.msg);
	sbx_config_release(&cfg);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	pl_buf_printf(&shm, "/lnk/%s-y", tag);
	sbx_config_add_bind(&cfg, src.ptr, shm.ptr, true);
	run_err(&err, &cfg);
	cr_assert(strstr(err.msg, "bind destination (it leads into /proc or /dev, the sandbox's own) '/lnk/"), "%s",
		  err.msg);
	sbx_config_release(&cfg);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	pl_buf_printf(&etc, "/etcl/%s", tag);
	sbx_config_add_bind(&cfg, src.ptr, etc.ptr, true);
	pl_buf_printf(&etc_after, "cat /etc/%s/inside /etcl/%s/inside; cat /etc/issue", tag, tag);
	run_sh(&r, &cfg, etc_after.ptr);
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "from the host\nfrom the host\nimage\n");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	listing(&img_after, root.ptr, true);
	cr_assert_str_eq(img_after.ptr, img.ptr, "the image changed");
	/* nothing of ours on the host (other programs use /dev/shm meanwhile:
	 * its listing is not stable) */
	pl_buf_reset(&shm_after);
	pl_buf_printf(&shm_after, "/dev/shm/%s-x", tag);
	cr_assert(!pl_file_exists(shm_after.ptr), "%s was made on the host", shm_after.ptr);
	pl_buf_reset(&shm_after);
	pl_buf_printf(&shm_after, "/dev/shm/%s-y", tag);
	cr_assert(!pl_file_exists(shm_after.ptr), "%s was made on the host", shm_after.ptr);
	pl_buf_reset(&etc_after);
	pl_buf_printf(&etc_after, "/etc/%s", tag);
	cr_assert(!pl_file_exists(etc_after.ptr), "%s was made on the host", etc_after.ptr);
	pl_buf_release(&root);
	pl_buf_release(&shm);
	pl_buf_release(&shm_after);
	pl_buf_release(&img);
	pl_buf_release(&img_after);
	pl_buf_release(&etc);
	pl_buf_release(&etc_after);
}

Test(mounts, a_symlink_left_in_the_work_directory_cannot_place_mount_points_on_the_host)
{
	pl_buf work = PL_BUF_INIT, link = PL_BUF_INIT, dst = PL_BUF_INIT, shm = PL_BUF_INIT, shm_after = PL_BUF_INIT;
	sbx_config cfg;
	pl_err err = { 0 };

	/* run 1 left work/cache -> /dev/shm; run 2 binds a cache under it */
	pl_path_join(&work, tmp.ptr, "work");
	cr_assert_eq(mkdir(work.ptr, 0755), 0);
	pl_path_join(&link, work.ptr, "cache");
	cr_assert_eq(symlink("/dev/shm", link.ptr), 0);
	pl_path_join(&dst, link.ptr, tag);
	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, work.ptr);
	sbx_config_add_bind(&cfg, src.ptr, dst.ptr, true);
	run_err(&err, &cfg);
	cr_assert(strstr(err.msg, "it leads into /proc or /dev"), "%s", err.msg);
	pl_buf_printf(&shm, "/dev/shm/%s", tag);
	cr_assert(!pl_file_exists(shm.ptr), "%s was made on the host", shm.ptr);
	sbx_config_release(&cfg);
	pl_buf_release(&work);
	pl_buf_release(&link);
	pl_buf_release(&dst);
	pl_buf_release(&shm);
	pl_buf_release(&shm_after);
}

Test(mounts, dot_dot_and_other_spellings_of_reserved_places_are_refused)
{
	static const struct {
		const char *dst, *msg;
	} cases[] = {
		{ "/../dev/shm/x", "bind destination '/../dev/shm/x' has a '..' component" },
		{ "/a/../../etc", "bind destination '/a/../../etc' has a '..' component" },
		{ "/./proc", "bind destination '/./proc' is reserved (/, /proc and /dev are the sandbox's own)" },
		{ "//dev//", "bind destination '//dev//' is reserved" },
		{ "/proc/./sys", "bind destination '/proc/./sys' is reserved" },
		{ "/.", "bind destination '/.' is reserved" },
	};
	sbx_config cfg;
	pl_err err = { 0 };
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		sbx_config_init(&cfg);
		sbx_config_add_bind(&cfg, "/proc", cases[i].dst, true);
		cr_assert_eq(sbx_config_check(&cfg, &err), PL_EINVAL, "%s accepted", cases[i].dst);
		cr_assert(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].dst, err.msg);
		sbx_config_release(&cfg);
	}
	/* a name with dots is no '..' */
	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, "/usr", "/a..b/..c", true);
	cr_assert_eq(sbx_config_check(&cfg, &err), 0, "%s", err.msg);
	sbx_config_release(&cfg);
}

Test(mounts, a_bind_source_through_a_symlink_left_in_the_work_directory_is_refused)
{
	pl_buf work = PL_BUF_INIT, out = PL_BUF_INIT, victim = PL_BUF_INIT, before = PL_BUF_INIT,
	       after = PL_BUF_INIT, inner = PL_BUF_INIT;
	sbx_config cfg;
	pl_err err = { 0 };
	size_t k;

	/* run 1 left work/out -> a directory outside every bind (here the
	 * fixture's own, standing for any host directory); run 2 binds
	 * work/out writable */
	pl_path_join(&work, tmp.ptr, "work");
	cr_assert_eq(mkdir(work.ptr, 0755), 0);
	pl_path_join(&victim, tmp.ptr, "victim");
	cr_assert_eq(mkdir(victim.ptr, 0755), 0);
	listing(&before, victim.ptr, true);
	for (k = 0; k < 2; k++) {
		/* to a host directory, and to one inside the work directory */
		pl_buf_reset(&out);
		pl_path_join(&out, work.ptr, k ? "out2" : "out");
		pl_buf_reset(&inner);
		pl_path_join(&inner, work.ptr, "inner");
		if (k)
			cr_assert_eq(mkdir(inner.ptr, 0755), 0);
		cr_assert_eq(symlink(k ? inner.ptr : victim.ptr, out.ptr), 0);
		sbx_config_init(&cfg);
		sbx_config_set_workdir(&cfg, work.ptr);
		sbx_config_add_bind(&cfg, out.ptr, "/tmp/out", false);
		run_err(&err, &cfg);
		cr_assert(strstr(err.msg, "on its way is a symlink") ||
				  strstr(err.msg, "no symlink may lead through the work directory or a writable bind"),
			  "%s", err.msg);
		cr_assert(strstr(err.msg, out.ptr), "%s", err.msg);
		sbx_config_release(&cfg);
	}
	listing(&after, victim.ptr, true);
	cr_assert_str_eq(after.ptr, before.ptr);
	pl_buf_release(&work);
	pl_buf_release(&out);
	pl_buf_release(&victim);
	pl_buf_release(&before);
	pl_buf_release(&after);
	pl_buf_release(&inner);
}

Test(mounts, a_writable_source_through_a_symlink_left_by_an_earlier_run_elsewhere_is_refused)
{
	pl_buf old = PL_BUF_INIT, link = PL_BUF_INIT, via = PL_BUF_INIT, victim = PL_BUF_INIT, before = PL_BUF_INIT,
	       after = PL_BUF_INIT, fresh = PL_BUF_INIT, p = PL_BUF_INIT;
	const char *argv[] = { "/bin/sh", "-c", "echo planted > ./planted", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	int k;

	/* an earlier run's work directory (old) holds old/link -> victim, a
	 * directory outside every bind; this run's work directory is another
	 * one, and its writable sources lead through old/link */
	pl_path_join(&old, tmp.ptr, "old");
	pl_path_join(&fresh, tmp.ptr, "fresh");
	pl_path_join(&victim, tmp.ptr, "victim");
	cr_assert_eq(mkdir(old.ptr, 0755), 0);
	cr_assert_eq(mkdir(fresh.ptr, 0755), 0);
	cr_assert_eq(mkdir(victim.ptr, 0755), 0);
	pl_path_join(&p, victim.ptr, "sub");
	cr_assert_eq(mkdir(p.ptr, 0755), 0);
	pl_path_join(&link, old.ptr, "link");
	cr_assert_eq(symlink(victim.ptr, link.ptr), 0);
	listing(&before, victim.ptr, true);
	for (k = 0; k < 3; k++) {
		/* a bind through it, a bind of it, the work directory through it */
		pl_buf_reset(&via);
		pl_buf_printf(&via, "%s%s", link.ptr, k == 1 ? "" : "/sub");
		sbx_config_init(&cfg);
		if (k < 2) {
			sbx_config_set_workdir(&cfg, fresh.ptr);
			sbx_config_add_bind(&cfg, via.ptr, "/tmp/out", false);
		} else {
			sbx_config_set_workdir(&cfg, via.ptr);
		}
		sbx_result_init(&r);
		cr_assert_lt(sbx_run(&r, &cfg, argv, &err), 0, "case %d: the sandbox started", k);
		sbx_result_release(&r);
		/* the message names the symlink */
		cr_assert(strstr(err.msg, via.ptr), "%s", err.msg);
		pl_buf_reset(&p);
		pl_buf_printf(&p, "'%s' on its way is a symlink", link.ptr);
		cr_assert(strstr(err.msg, p.ptr), "case %d: %s", k, err.msg);
		sbx_config_release(&cfg);
	}
	listing(&after, victim.ptr, true);
	cr_assert_str_eq(after.ptr, before.ptr);
	/* read-only, the caller's path resolves as given */
	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, link.ptr, "/tmp/ro", true);
	sbx_result_init(&r);
	argv[2] = "ls /tmp/ro";
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert_str_eq(r.out.ptr, "sub\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&old);
	pl_buf_release(&link);
	pl_buf_release(&via);
	pl_buf_release(&victim);
	pl_buf_release(&before);
	pl_buf_release(&after);
	pl_buf_release(&fresh);
	pl_buf_release(&p);
}

Test(mounts, run_is_the_sandboxs_own_and_net_keeps_a_resolv_conf_that_leads_there)
{
	pl_buf root = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;

	/* systemd-resolved's layout: /etc/resolv.conf -> the stub in /run */
	make_image(&root);
	cr_assert_eq(test_sh(NULL,
			     "cd '%s' && mkdir -p run/systemd/resolve && echo 'nameserver 127.0.0.53' > "
			     "run/systemd/resolve/stub-resolv.conf && echo pid > run/daemon.pid && "
			     "ln -s ../run/systemd/resolve/stub-resolv.conf etc/resolv.conf",
			     root.ptr),
		     0);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	run_sh(&r, &cfg, "ls -A /run | tr '\\n' ' '; cat /etc/resolv.conf 2>/dev/null || echo no-resolv");
	cr_assert_str_eq(r.out.ptr, "lock no-resolv\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	cfg.network = true;
	run_sh(&r, &cfg, "ls -A /run | tr '\\n' ' '; cat /etc/resolv.conf");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "lock systemd nameserver 127.0.0.53\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&root);
}
