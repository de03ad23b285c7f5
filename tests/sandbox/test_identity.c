/* Who a sandbox runs as: never root; as root, a uid of its own per
 * sandbox, with the owner of its work directory and writable binds mapped
 * onto it, and the way to them made when an ancestor is closed to it; no
 * supplementary groups. */
#include "sbx_test.h"
#include "tests/shell.h"

#include <sys/prctl.h>

static pl_buf fx = PL_BUF_INIT; /* a fixture the sandboxes see through the host's root */

static void setup(void)
{
	visible_fixture(&fx, "identity");
}

static void teardown(void)
{
	pl_rm_rf(fx.ptr, NULL);
	pl_buf_release(&fx);
}

TestSuite(identity, .init = setup, .fini = teardown, .timeout = 90);

static void need_root(void)
{
	if (geteuid() != 0) {
		teardown(); /* cr_skip_test leaves without .fini */
		cr_skip_test("needs root (running as uid %d): an unprivileged caller's sandboxes run as the caller, "
			     "the only ids it may map",
			     (int)geteuid());
	}
}

static void run_sh(sbx_result *r, const sbx_config *cfg, const char *script)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	pl_err err = { 0 };

	sbx_result_init(r);
	cr_assert_eq(sbx_run(r, cfg, argv, &err), 0, "%s", err.msg);
}

static unsigned first_uint(const char *s)
{
	unsigned u = 0;

	cr_assert_eq(sscanf(s, "%u", &u), 1, "no number in '%s'", s);
	return u;
}

static void mkdir_mode(pl_buf *out, const char *parent, const char *name, int mode)
{
	pl_buf_reset(out);
	pl_path_join(out, parent, name);
	cr_assert_eq(mkdir(out->ptr, 0755), 0, "%s: %s", out->ptr, strerror(errno));
	cr_assert_eq(chmod(out->ptr, (mode_t)mode), 0);
}

Test(identity, root_is_refused_as_the_sandboxs_uid_or_gid)
{
	const char *argv[] = { "/bin/true", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	pl_buf out = PL_BUF_INIT;

	sbx_config_init(&cfg);
	sbx_result_init(&r);
	cfg.uid = 0;
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "the sandbox never runs as uid 0 (root): give another uid");
	cfg.uid = -1;
	cfg.gid = 0;
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "the sandbox never runs as gid 0 (root): give another gid");
	cr_assert_neq(test_sh(&out, "'%s' sandbox run --uid 0 -- /bin/true 2>&1", test_plait_bin()), 0);
	cr_assert(strstr(out.ptr, "never runs as uid 0"), "%s", out.ptr);
	/* the default is never root either */
	sbx_config_release(&cfg);
	sbx_config_init(&cfg);
	run_sh(&r, &cfg, "id -u; id -g; cat /proc/self/uid_map");
	cr_assert(sandbox_uid_ok(first_uint(r.out.ptr)), "%s", r.out.ptr);
	cr_assert_neq(first_uint(strchr(r.out.ptr, '\n') + 1), 0, "%s", r.out.ptr);
	/* and its user namespace maps nothing but its own ids: no uid 0 */
	{
		const char *map = strchr(strchr(r.out.ptr, '\n') + 1, '\n') + 1;
		unsigned in, outside, n;

		cr_assert_eq(sscanf(map, "%u %u %u", &in, &outside, &n), 3, "%s", map);
		cr_assert_eq(n, 1, "%s", map);
		cr_assert_neq(in, 0, "%s", map);
		cr_assert_eq(in, outside, "%s", map);
		cr_assert_null(strchr(strchr(map, '\n') + 1, '\n'), "more than one line: %s", map);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&out);
}

Test(identity, a_root_owned_work_directory_is_mapped_onto_the_sandboxs_user)
{
	pl_buf work = PL_BUF_INIT, p = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;
	struct stat st;

	need_root();
	/* the checkout of a root who runs the agent: root's, 0700 */
	mkdir_mode(&work, fx.ptr, "repo", 0700);
	pl_path_join(&p, work.ptr, "tracked");
	write_text(p.ptr, "v1\n");
	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, work.ptr);
	run_sh(&r, &cfg,
	       "id -u; stat -c '%u' .; echo v2 > tracked && echo edited; echo made > new && echo created; "
	       "cat /etc/shadow >/dev/null 2>&1 || echo shadow-closed; "
	       "chmod 4755 new 2>/dev/null || echo setuid-refused");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out.ptr, r.err.ptr);
	/* inside: the directory is the sandbox user's own, and that user is
	 * neither root nor the owner */
	{
		unsigned uid = first_uint(r.out.ptr), owner = first_uint(strchr(r.out.ptr, '\n') + 1);

		cr_assert(sandbox_uid_ok(uid), "%s", r.out.ptr);
		cr_assert_eq(owner, uid, "%s", r.out.ptr);
	}
	cr_assert(strstr(r.out.ptr, "edited\ncreated\nshadow-closed\nsetuid-refused\n"), "%s", r.out.ptr);
	/* outside: what it made belongs to the owner, with no setuid bit */
	pl_buf_reset(&p);
	pl_path_join(&p, work.ptr, "new");
	cr_assert_eq(stat(p.ptr, &st), 0);
	cr_assert_eq(st.st_uid, 0);
	cr_assert_eq(st.st_gid, 0);
	cr_assert_eq(st.st_mode & 06000, 0);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&work);
	pl_buf_release(&p);
}

Test(identity, a_work_directory_under_a_closed_directory_is_reached)
{
	pl_buf closed = PL_BUF_INIT, work = PL_BUF_INIT, p = PL_BUF_INIT, script = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;

	/* /root/project, or a checkout in a 0700 home directory */
	mkdir_mode(&closed, fx.ptr, "home", 0755);
	pl_path_join(&p, closed.ptr, "secret");
	write_text(p.ptr, "s3cret\n");
	cr_assert_eq(chmod(closed.ptr, 0700), 0);
	mkdir_mode(&work, closed.ptr, "project", 0755);
	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, work.ptr);
	pl_buf_printf(&script, "cd '%s' && pwd && echo ok > made && ls -a '%s' | tr '\\n' ' '; cat '%s' 2>&1 | head -c 0",
		      work.ptr, closed.ptr, p.ptr);
	run_sh(&r, &cfg, script.ptr);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out.ptr, r.err.ptr);
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s\n", work.ptr);
	cr_assert(pl_str_starts_with(r.out.ptr, p.ptr), "%s", r.out.ptr);
	if (geteuid() == 0) /* the closed directory shows the way in, nothing else */
		cr_assert(strstr(r.out.ptr, "\n. .. project \n") || pl_str_ends_with(r.out.ptr, ". .. project "), "%s",
			  r.out.ptr);
	pl_buf_reset(&p);
	pl_path_join(&p, work.ptr, "made");
	cr_assert(pl_file_exists(p.ptr));
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&closed);
	pl_buf_release(&work);
	pl_buf_release(&p);
	pl_buf_release(&script);
}

Test(identity, concurrent_sandboxes_have_distinct_uids_and_cannot_read_each_others_work)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT, p = PL_BUF_INIT, script = PL_BUF_INIT;
	sbx_config ca, cb;
	sbx_session *sa = NULL, *sb = NULL;
	sbx_result r;
	pl_err err = { 0 };
	const char *id[] = { "id", "-u", NULL };
	const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	unsigned ua, ub;

	need_root();
	/* Two benchmark instances' work directories, 0700, owned by the id
	 * every sandbox ran as before (the old rule: give the sandbox user
	 * its work directory). */
	mkdir_mode(&a, fx.ptr, "instance-a", 0700);
	mkdir_mode(&b, fx.ptr, "instance-b", 0700);
	pl_path_join(&p, a.ptr, "answer");
	write_text(p.ptr, "answer-of-a\n");
	cr_assert_eq(chown(a.ptr, NOBODY, NOBODY), 0);
	cr_assert_eq(chown(p.ptr, NOBODY, NOBODY), 0);
	cr_assert_eq(chown(b.ptr, NOBODY, NOBODY), 0);
	sbx_config_init(&ca);
	sbx_config_set_workdir(&ca, a.ptr);
	sbx_config_init(&cb);
	sbx_config_set_workdir(&cb, b.ptr);
	cr_assert_eq(sbx_session_open(&sa, &ca, &err), 0, "%s", err.msg);
	cr_assert_eq(sbx_session_open(&sb, &cb, &err), 0, "%s", err.msg);
	sbx_result_init(&r);
	cr_assert_eq(sbx_session_exec(&r, sa, id, NULL, &err), 0, "%s", err.msg);
	ua = first_uint(r.out.ptr);
	sbx_result_release(&r);
	cr_assert_eq(sbx_session_exec(&r, sb, id, NULL, &err), 0, "%s", err.msg);
	ub = first_uint(r.out.ptr);
	sbx_result_release(&r);
	cr_assert(sandbox_uid_ok(ua) && sandbox_uid_ok(ub), "uids %u and %u", ua, ub);
	cr_assert_neq(ua, ub, "two live sandboxes share uid %u", ua);
	/* B cannot read A's work, which A can */
	pl_buf_printf(&script, "cat '%s' 2>&1 || echo refused", p.ptr);
	argv[2] = script.ptr;
	cr_assert_eq(sbx_session_exec(&r, sa, argv, NULL, &err), 0, "%s", err.msg);
	cr_assert_str_eq(r.out.ptr, "answer-of-a\n");
	sbx_result_release(&r);
	cr_assert_eq(sbx_session_exec(&r, sb, argv, NULL, &err), 0, "%s", err.msg);
	cr_assert(pl_str_ends_with(r.out.ptr, "refused\n") && !strstr(r.out.ptr, "answer-of-a"), "B read A's work: %s",
		  r.out.ptr);
	sbx_result_release(&r);
	sbx_session_close(sa);
	sbx_session_close(sb);
	sbx_config_release(&ca);
	sbx_config_release(&cb);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&p);
	pl_buf_release(&script);
}

Test(identity, no_supplementary_groups_inside)
{
	pid_t pid;
	int st;

	need_root();
	/* a caller in other groups (a docker-group user's sandbox must not be
	 * in that group) */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const gid_t groups[] = { 4242, 4343 };
		const char *argv[] = { "/bin/sh", "-c", "id -G", NULL };
		sbx_config cfg;
		sbx_result r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setgroups(2, groups) < 0)
			_exit(10);
		sbx_config_init(&cfg);
		sbx_result_init(&r);
		if (sbx_run(&r, &cfg, argv, NULL) < 0)
			_exit(11);
		/* one group: the sandbox's own gid */
		_exit(strchr(r.out.ptr, ' ') || strstr(r.out.ptr, "4242") || strstr(r.out.ptr, "4343") ? 12 : 0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "the sandbox kept the caller's groups (code %d)", WEXITSTATUS(st));
}

Test(identity, the_process_limit_binds_the_sandboxs_user)
{
	const char *argv[] = { probe_path(), "fork_bomb", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	unsigned n = 0;

	/* --nproc 20 once let a sandbox run as root fork 298 processes */
	probe_config(&cfg);
	cfg.limits.nproc = 20;
	cfg.cgroup = SBX_CGUSE_OFF;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	cr_assert_eq(sscanf(r.out.ptr, "fork refused after %u children", &n), 1, "%s", r.out.ptr);
	cr_assert_lt(n, 20, "%u children under --nproc 20", n);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* The agent's shell (tools/shell.c) as plait runs it: `plait tool bash`. */
static void agent_shell(pl_buf *out, const char *repo, const char *command)
{
	pl_buf_reset(out);
	cr_assert_eq(test_sh(out, "'%s' tool bash --repo '%s' --args '{\"command\": \"%s\"}' 2>&1", test_plait_bin(),
			     repo, command),
		     0, "%s", out->ptr);
}

Test(identity, the_agents_shell_on_a_root_owned_repository_is_not_root)
{
	pl_buf repo = PL_BUF_INIT, out = PL_BUF_INIT, p = PL_BUF_INIT;
	struct stat st;

	need_root();
	mkdir_mode(&repo, fx.ptr, "checkout", 0755);
	agent_shell(&out, repo.ptr,
		    "id -u; echo hi > new.txt && echo written; cat /etc/shadow >/dev/null 2>&1 || echo shadow-closed; "
		    "cp /bin/true t && chmod u+s t 2>/dev/null || echo setuid-refused");
	cr_assert(sandbox_uid_ok(first_uint(out.ptr)), "the shell runs as %s", out.ptr);
	cr_assert(strstr(out.ptr, "written\nshadow-closed\nsetuid-refused\n[exit code 0]"), "%s", out.ptr);
	pl_path_join(&p, repo.ptr, "new.txt");
	cr_assert_eq(stat(p.ptr, &st), 0);
	cr_assert_eq(st.st_uid, 0, "the file belongs to %u, not to the repository's owner", (unsigned)st.st_uid);
	pl_buf_reset(&p);
	pl_path_join(&p, repo.ptr, "t");
	cr_assert_eq(stat(p.ptr, &st), 0);
	cr_assert_eq(st.st_mode & 06000, 0);
	pl_buf_release(&repo);
	pl_buf_release(&out);
	pl_buf_release(&p);
}

Test(identity, the_agents_shell_reaches_a_repository_under_a_closed_directory)
{
	pl_buf home = PL_BUF_INIT, repo = PL_BUF_INIT, out = PL_BUF_INIT, p = PL_BUF_INIT;

	/* a checkout under a 0700 directory (a home directory, or root's
	 * mktemp -d), owned as root by another user than the directory's */
	mkdir_mode(&home, fx.ptr, "home", 0700);
	mkdir_mode(&repo, home.ptr, "project", 0755);
	if (geteuid() == 0)
		cr_assert_eq(chown(repo.ptr, 4321, 4321), 0);
	agent_shell(&out, repo.ptr, "pwd; echo hi > made.txt && echo written");
	pl_buf_printf(&p, "%s\nwritten\n[exit code 0]", repo.ptr);
	cr_assert(pl_str_starts_with(out.ptr, p.ptr), "%s", out.ptr);
	pl_buf_reset(&p);
	pl_path_join(&p, repo.ptr, "made.txt");
	cr_assert(pl_file_exists(p.ptr));
	pl_buf_release(&home);
	pl_buf_release(&repo);
	pl_buf_release(&out);
	pl_buf_release(&p);
}
