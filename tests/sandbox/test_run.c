/* sbx_run, sessions, configs and profiles: what a caller sees. */
#include "sbx_test.h"

#include <sys/syscall.h>

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-sbx", &err), 0, "%s", err.msg);
	give_to_sandbox(tmp.ptr, 0755);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(session, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(profile, .init = setup, .fini = teardown, .timeout = 30);

static void sh(sbx_result *r, const sbx_config *cfg, const char *script)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	pl_err err = { 0 };

	sbx_result_init(r);
	cr_assert_eq(sbx_run(r, cfg, argv, &err), 0, "%s", err.msg);
}

Test(run, exit_code_and_separate_streams)
{
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	sh(&r, &cfg, "echo out; echo err >&2; exit 7");
	cr_assert_eq(r.exit_code, 7);
	cr_assert_eq(r.signal, 0);
	cr_assert_str_eq(r.out.ptr, "out\n");
	cr_assert_str_eq(r.err.ptr, "err\n");
	cr_assert(!r.timed_out);
	cr_assert_eq(r.limits_hit, 0);
	cr_assert_gt(r.peak_rss, 0);
	cr_assert_gt(r.wall_time, 0);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(run, merged_output_keeps_arrival_order)
{
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	cfg.merge_output = true;
	sh(&r, &cfg, "for i in 1 2 3 4 5; do echo o$i; echo e$i >&2; done");
	cr_assert_str_eq(r.out.ptr, "o1\ne1\no2\ne2\no3\ne3\no4\ne4\no5\ne5\n");
	cr_assert_eq(r.err.len, 0);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(run, killed_by_a_signal)
{
	sbx_config cfg;
	sbx_result r;
	pl_buf d = PL_BUF_INIT;

	sbx_config_init(&cfg);
	sh(&r, &cfg, "kill -SEGV $$");
	cr_assert_eq(r.signal, SIGSEGV);
	cr_assert_eq(r.exit_code, -1);
	sbx_result_describe(&d, &r, &cfg);
	cr_assert_str_eq(d.ptr, "killed by SEGV (signal 11)");
	pl_buf_release(&d);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* The caller's handler: were it still installed in the sandbox's init, a
 * command signalling init would make init exit and the run fail. */
static void on_usr1(int sig)
{
	(void)sig;
	_exit(99);
}

Test(run, the_callers_signal_dispositions_stay_outside)
{
	/* A caller that ignores SIGCHLD, SIGPIPE and signal 32 and handles
	 * SIGUSR1 (as servers do): the sandbox's init must still reap its
	 * children and must not run the caller's handler, and commands start
	 * with nothing ignored. */
	struct sigaction sa;
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	pl_err err = { 0 };
	const char *argv[] = { "/bin/bash", "-c",
			       "kill -USR1 1; sleep 0.1; "
			       "cat /proc/self/status | while read -r k v; do [ \"$k\" = SigIgn: ] && echo \"$k $v\"; done; "
			       "yes | head -n1 >/dev/null; echo pipe=${PIPESTATUS[0]}; exit 3",
			       NULL };
	const char *want = "SigIgn: 0000000000000000\npipe=141\n";
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* and signal 32, glibc's own, which its wrappers will not touch but an
	 * ancestor may have left ignored (CI's launcher does) */
	{
		struct {
			void (*handler)(int);
			unsigned long flags;
			void (*restorer)(void);
			uint64_t mask;
		} ign = { SIG_IGN, 0, NULL, 0 };

		cr_assert_eq(syscall(SYS_rt_sigaction, 32, &ign, NULL, sizeof(ign.mask)), 0);
	}
	sbx_config_init(&cfg);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert_eq(r.exit_code, 3, "%s%s", r.out.ptr, r.err.ptr);
	cr_assert_str_eq(r.out.ptr, want);
	sbx_result_release(&r);
	/* the same in a session, command after command */
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
	for (i = 0; i < 2; i++) {
		sbx_result_init(&r);
		cr_assert_eq(sbx_session_exec(&r, s, argv, NULL, &err), 0, "%s", err.msg);
		cr_assert_eq(r.exit_code, 3, "%s%s", r.out.ptr, r.err.ptr);
		cr_assert_str_eq(r.out.ptr, want);
		sbx_result_release(&r);
	}
	sbx_session_close(s);
	sbx_config_release(&cfg);
}

Test(run, namespaces_identity_and_mounts)
{
	sbx_config cfg;
	sbx_result r;
	pl_buf want = PL_BUF_INIT;

	sbx_config_init(&cfg);
	sh(&r, &cfg,
	   "echo $$; hostname; id -u; ls /proc | grep -c '^[0-9]'; "
	   "ip -o link 2>/dev/null | wc -l || cat /proc/net/dev | tail -n +3 | wc -l; "
	   "test -w /tmp && echo tmp-writable; test -c /dev/null && echo devnull; ls /dev | tr '\\n' ' '");
	{
		unsigned uid = 0;

		cr_assert(pl_str_starts_with(r.out.ptr, "2\nsandbox\n"), "%s", r.out.ptr);
		cr_assert_eq(sscanf(r.out.ptr + strlen("2\nsandbox\n"), "%u", &uid), 1, "%s", r.out.ptr);
		cr_assert(sandbox_uid_ok(uid), "the sandbox runs as uid %u", uid);
	}
	cr_assert(strstr(r.out.ptr, "tmp-writable\ndevnull\n"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero"), "%s",
		  r.out.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&want);
}

Test(run, private_loopback_works_inside)
{
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	sh(&r, &cfg,
	   "/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); s.listen(); "
	   "c=socket.create_connection(s.getsockname()); a,_=s.accept(); c.send(b\"hi\"); print(a.recv(2).decode())'");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "hi\n");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(run, environment_is_an_allowlist)
{
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	const char *extra[] = { "EXTRA=3", NULL };
	const char *argv[] = { "/usr/bin/env", NULL };
	sbx_exec_opts o = { 0 };

	setenv("PLAIT_SECRET_TOKEN", "hunter2", 1);
	setenv("LC_PLAIT", "kept", 1);
	sbx_config_init(&cfg);
	cr_assert_eq(sbx_config_set_env(&cfg, "FOO=bar", &err), 0);
	cr_assert_eq(sbx_config_set_env(&cfg, "FOO=baz", &err), 0);
	o.env = extra;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, &err), 0, "%s", err.msg);
	cr_assert_null(strstr(r.out.ptr, "hunter2"));
	cr_assert(strstr(r.out.ptr, "LC_PLAIT=kept\n"));
	cr_assert(strstr(r.out.ptr, "FOO=baz\n"));
	cr_assert_null(strstr(r.out.ptr, "FOO=bar"));
	cr_assert(strstr(r.out.ptr, "EXTRA=3\n"));
	cr_assert(strstr(r.out.ptr, "HOME=/tmp\n"));
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(run, workdir_is_writable_and_shared_with_the_host)
{
	sbx_config cfg;
	sbx_result r;
	pl_buf p = PL_BUF_INIT;

	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, tmp.ptr);
	sh(&r, &cfg, "pwd; echo made > made.txt");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	pl_buf_printf(&p, "%s\n", tmp.ptr);
	cr_assert_str_eq(r.out.ptr, p.ptr);
	pl_buf_reset(&p);
	pl_path_join(&p, tmp.ptr, "made.txt");
	{
		pl_buf c = PL_BUF_INIT;

		read_text(&c, p.ptr);
		cr_assert_str_eq(c.ptr, "made\n");
		pl_buf_release(&c);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&p);
}

Test(run, stdin_data_and_cwd)
{
	sbx_config cfg;
	sbx_result r;
	sbx_exec_opts o = { 0 };
	const char *argv[] = { "/bin/sh", "-c", "pwd; wc -c", NULL };
	static char big[300000];

	memset(big, 'a', sizeof(big));
	sbx_config_init(&cfg);
	o.stdin_data = big;
	o.stdin_len = sizeof(big);
	o.cwd = "/usr";
	sbx_result_init(&r);
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, NULL), 0);
	cr_assert_str_eq(r.out.ptr, "/usr\n300000\n");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(run, binds_and_rootfs)
{
	sbx_config cfg;
	sbx_result r;
	pl_buf root = PL_BUF_INIT, data = PL_BUF_INIT, cmd = PL_BUF_INIT, f = PL_BUF_INIT;

	/* A tiny image root: the host's /usr and /lib* through binds, our
	 * own /etc, empty mount points. */
	pl_path_join(&root, tmp.ptr, "rootfs");
	pl_buf_printf(&cmd,
		      "set -e; cd %s; mkdir -p %s; cd %s; mkdir -p usr etc proc dev tmp data; "
		      "ln -s usr/bin bin; ln -s usr/lib lib; ln -s usr/lib64 lib64; echo image > etc/issue",
		      tmp.ptr, root.ptr, root.ptr);
	cr_assert_eq(host_sh(cmd.ptr), 0);
	pl_path_join(&data, tmp.ptr, "data");
	cr_assert_eq(mkdir(data.ptr, 0777), 0);
	give_to_sandbox(data.ptr, 0777);
	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, root.ptr);
	sbx_config_add_bind(&cfg, "/usr", NULL, true);
	sbx_config_add_bind(&cfg, data.ptr, "/data", false);
	sh(&r, &cfg, "cat /etc/issue; echo w > /data/w; ls /; echo x > /etc/x 2>/dev/null || echo ro");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert(pl_str_starts_with(r.out.ptr, "image\n"), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "ro\n"));
	pl_path_join(&f, data.ptr, "w");
	cr_assert(pl_file_exists(f.ptr));
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&root);
	pl_buf_release(&data);
	pl_buf_release(&cmd);
	pl_buf_release(&f);
}

Test(run, bad_inputs_are_clear_errors)
{
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	const char *none[] = { NULL };
	const char *missing[] = { "no-such-command-plait", NULL };
	const char *ok[] = { "/bin/true", NULL };

	sbx_config_init(&cfg);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, none, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "no command to run");
	cr_assert_eq(sbx_run(&r, &cfg, missing, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "cannot run 'no-such-command-plait' in the sandbox: No such file or directory");

	sbx_config_add_bind(&cfg, "/no/such/dir", NULL, false);
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "bind source '/no/such/dir': No such file or directory");
	sbx_config_release(&cfg);

	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, "relative", "/x", false);
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "bind source 'relative' is not an absolute path");
	sbx_config_release(&cfg);

	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, "/usr", "/proc/x", true);
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "is reserved"), "%s", err.msg);
	sbx_config_release(&cfg);

	sbx_config_init(&cfg);
	sbx_config_set_rootfs(&cfg, "/etc/passwd");
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "rootfs '/etc/passwd' is not a directory");
	sbx_config_release(&cfg);

	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, "/no/such/work");
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "workdir '/no/such/work': No such file or directory");
	cr_assert_eq(sbx_config_set_env(&cfg, "NOEQUALS", &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "environment setting 'NOEQUALS' is not NAME=VALUE");
	cr_assert_eq(sbx_config_set_env(&cfg, "=x", &err), PL_EINVAL);
	sbx_config_release(&cfg);

	sbx_config_init(&cfg);
	cfg.limits.timeout = -1;
	cr_assert_eq(sbx_run(&r, &cfg, ok, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "timeout -1 is negative");
	sbx_config_release(&cfg);
	sbx_result_release(&r);
}

Test(run, setup_failure_in_the_child_is_reported)
{
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	const char *cwd_missing[] = { "/bin/true", NULL };
	sbx_exec_opts o = { 0 };

	sbx_config_init(&cfg);
	sbx_result_init(&r);
	o.cwd = "/no/such/cwd";
	cr_assert_eq(sbx_run_opts(&r, &cfg, cwd_missing, &o, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "cannot run '/bin/true' in the sandbox: No such file or directory");
	o.cwd = "relative";
	cr_assert_eq(sbx_run_opts(&r, &cfg, cwd_missing, &o, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "cwd 'relative' is not an absolute path");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

static void collect(void *ctx, int stream, const char *data, size_t n)
{
	cr_assert_eq(stream, 1);
	pl_buf_add(ctx, data, n);
}

Test(run, streaming_callback_sees_everything)
{
	sbx_config cfg;
	sbx_result r;
	sbx_exec_opts o = { 0 };
	pl_buf seen = PL_BUF_INIT;
	const char *argv[] = { "/bin/sh", "-c", "seq 1 20000", NULL };

	sbx_config_init(&cfg);
	cfg.output_cap = 100;
	o.on_output = collect;
	o.on_output_ctx = &seen;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run_opts(&r, &cfg, argv, &o, NULL), 0);
	cr_assert(r.out_truncated);
	cr_assert(pl_str_starts_with(r.out.ptr, "1\n2\n"));
	cr_assert(pl_str_ends_with(r.out.ptr, "19999\n20000\n"), "%s", r.out.ptr);
	cr_assert_eq(r.out_bytes, 108894);
	cr_assert_eq(seen.len, 108894, "the callback saw %zu bytes", seen.len);
	cr_assert(pl_str_ends_with(seen.ptr, "\n19999\n20000\n"));
	pl_buf_release(&seen);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* ---------------------------------------------------------------- sessions */

static void session_sh(sbx_session *s, sbx_result *r, const char *script, const sbx_exec_opts *o)
{
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	pl_err err = { 0 };

	sbx_result_init(r);
	cr_assert_eq(sbx_session_exec(r, s, argv, o, &err), 0, "%s", err.msg);
}

Test(session, many_commands_share_one_sandbox)
{
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	pl_err err = { 0 };
	int i;

	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, tmp.ptr);
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
	sbx_config_release(&cfg); /* the session keeps its own copy */
	session_sh(s, &r, "echo kept > /tmp/state; echo $$", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	sbx_result_release(&r);
	for (i = 0; i < 20; i++) {
		session_sh(s, &r, "cat /tmp/state; pwd", NULL);
		cr_assert_eq(r.exit_code, 0);
		cr_assert(pl_str_starts_with(r.out.ptr, "kept\n"));
		sbx_result_release(&r);
	}
	session_sh(s, &r, "exit 9", NULL);
	cr_assert_eq(r.exit_code, 9);
	sbx_result_release(&r);
	sbx_session_close(s);
}

Test(session, timeout_kills_the_command_not_the_session)
{
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	sbx_exec_opts o = { 0 };

	sbx_config_init(&cfg);
	cr_assert_eq(sbx_session_open(&s, &cfg, NULL), 0);
	o.timeout = 0.3;
	session_sh(s, &r, "echo started; sleep 100", &o);
	cr_assert(r.timed_out);
	cr_assert_eq(r.signal, SIGKILL);
	cr_assert_str_eq(r.out.ptr, "started\n");
	sbx_result_release(&r);
	session_sh(s, &r, "echo alive", NULL);
	cr_assert_str_eq(r.out.ptr, "alive\n");
	sbx_result_release(&r);
	sbx_session_close(s);
	sbx_config_release(&cfg);
}

Test(session, background_processes_die_with_the_session)
{
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	char script[200], token[64];

	snprintf(token, sizeof(token), "plait-bg-%d", (int)getpid());
	snprintf(script, sizeof(script), "(setsid bash -c 'exec -a %s sleep 300' </dev/null >/dev/null 2>&1 &); echo ok",
		 token);
	sbx_config_init(&cfg);
	cr_assert_eq(sbx_session_open(&s, &cfg, NULL), 0);
	session_sh(s, &r, script, NULL);
	cr_assert_str_eq(r.out.ptr, "ok\n");
	sbx_result_release(&r);
	/* the background process may still be exec'ing: look until it shows */
	session_sh(s, &r,
		   "for i in $(seq 100); do n=$(ps -eo args | grep -c '^plait-bg'); [ $n -ge 1 ] && break; sleep 0.1; "
		   "done; echo $n",
		   NULL);
	cr_assert_str_eq(r.out.ptr, "1\n", "the background process is not running: %s", r.out.ptr);
	sbx_result_release(&r);
	cr_assert(process_with_token(token));
	sbx_session_close(s);
	cr_assert(!process_with_token(token), "a background process outlived the session");
	sbx_config_release(&cfg);
}

Test(session, stdin_env_cwd_and_errors)
{
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	sbx_exec_opts o = { 0 };
	const char *env[] = { "GREETING=hello", NULL };
	const char *missing[] = { "no-such-command-plait", NULL };
	pl_err err = { 0 };

	sbx_config_init(&cfg);
	cfg.merge_output = true;
	cr_assert_eq(sbx_session_open(&s, &cfg, NULL), 0);
	o.stdin_data = "abc";
	o.stdin_len = 3;
	o.env = env;
	o.cwd = "/etc";
	session_sh(s, &r, "pwd; cat; echo; echo $GREETING >&2", &o);
	cr_assert_str_eq(r.out.ptr, "/etc\nabc\nhello\n");
	sbx_result_release(&r);
	sbx_result_init(&r);
	cr_assert_eq(sbx_session_exec(&r, s, missing, NULL, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "cannot run 'no-such-command-plait' in the sandbox: No such file or directory");
	sbx_result_release(&r);
	session_sh(s, &r, "echo still here", NULL);
	cr_assert_str_eq(r.out.ptr, "still here\n");
	sbx_result_release(&r);
	sbx_session_close(s);
	sbx_session_close(NULL);
	sbx_config_release(&cfg);
}

Test(session, open_fails_clearly)
{
	sbx_config cfg;
	sbx_session *s = NULL;
	pl_err err = { 0 };

	sbx_config_init(&cfg);
	sbx_config_add_bind(&cfg, "/usr", "/etc/hostname", true);
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), PL_ESYS);
	cr_assert_null(s);
	cr_assert(strstr(err.msg, "bind destination (the source is a directory) '/etc/hostname'"), "%s", err.msg);
	sbx_config_release(&cfg);
}

/* ---------------------------------------------------------------- profiles */

static void profile_file(pl_buf *path, const char *json)
{
	pl_buf_reset(path);
	pl_path_join(path, tmp.ptr, "p.json");
	write_text(path->ptr, json);
}

Test(profile, shipped_profiles_load)
{
	static const char *const names[] = { "agent", "test", "eval" };
	sbx_config cfg;
	pl_err err = { 0 };
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(names); i++) {
		sbx_config_init(&cfg);
		cr_assert_eq(sbx_profile_load(&cfg, names[i], &err), 0, "%s: %s", names[i], err.msg);
		cr_assert_gt(cfg.limits.timeout, 0);
		cr_assert_gt(cfg.limits.nproc, 0);
		cr_assert(!cfg.network);
		sbx_config_release(&cfg);
	}
	sbx_config_init(&cfg);
	cr_assert_eq(sbx_profile_load(&cfg, "eval", &err), 0);
	cr_assert(cfg.merge_output);
	sbx_config_release(&cfg);
}

Test(profile, every_key_applies)
{
	sbx_config cfg;
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };

	profile_file(&p, "{\"description\": \"d\", \"rootfs\": \"/\", \"binds\": [{\"src\": \"/usr\", \"ro\": true},"
			 " {\"src\": \"/etc\", \"dst\": \"/e\"}], \"workdir\": \"/w\", \"cwd\": \"/c\","
			 " \"env_allow\": [\"USER\"], \"env\": {\"A\": \"1\"}, \"network\": true, \"hostname\": \"h\","
			 " \"limits\": {\"timeout\": 1.5, \"cpu_seconds\": 2, \"address_space\": \"1G\", \"memory\": 1024,"
			 " \"nofile\": 10, \"nproc\": 11, \"fsize\": \"2K\"}, \"output_cap\": \"4K\", \"merge_output\": true}");
	sbx_config_init(&cfg);
	cr_assert_eq(sbx_profile_load(&cfg, p.ptr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cfg.rootfs, "/");
	cr_assert_eq(cfg.nbinds, 2);
	cr_assert_str_eq(cfg.binds[0].dst, "/usr");
	cr_assert(cfg.binds[0].ro);
	cr_assert_str_eq(cfg.binds[1].dst, "/e");
	cr_assert(!cfg.binds[1].ro);
	cr_assert_str_eq(cfg.workdir, "/w");
	cr_assert_str_eq(cfg.cwd, "/c");
	cr_assert_str_eq(cfg.env_allow[cfg.nenv_allow - 1], "USER");
	cr_assert_str_eq(cfg.env_set[cfg.nenv_set - 1], "A=1");
	cr_assert(cfg.network);
	cr_assert_str_eq(cfg.hostname, "h");
	cr_assert_float_eq(cfg.limits.timeout, 1.5, 1e-9);
	cr_assert_eq(cfg.limits.cpu_seconds, 2);
	cr_assert_eq(cfg.limits.address_space, 1ull << 30);
	cr_assert_eq(cfg.limits.memory, 1024);
	cr_assert_eq(cfg.limits.nofile, 10);
	cr_assert_eq(cfg.limits.nproc, 11);
	cr_assert_eq(cfg.limits.fsize, 2048);
	cr_assert_eq(cfg.output_cap, 4096);
	cr_assert(cfg.merge_output);
	sbx_config_release(&cfg);
	pl_buf_release(&p);
}

Test(profile, bad_profiles_are_clear_errors)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "[1]", "a profile must be a JSON object" },
		{ "{\"netwrok\": true}", "unknown key 'netwrok'" },
		{ "{\"network\": \"yes\"}", "network" },
		{ "{\"limits\": {\"timeout\": -1}}", "limits: 'timeout' must not be negative" },
		{ "{\"limits\": {\"memory\": \"lots\"}}", "limits: 'memory'" },
		{ "{\"limits\": {\"memory\": true}}", "must be a byte count or a size string" },
		{ "{\"limits\": {\"nproc\": -3}}", "limits: 'nproc' must not be negative" },
		{ "{\"limits\": {\"cpu\": 3}}", "limits: unknown key 'cpu'" },
		{ "{\"limits\": 5}", "limits must be an object" },
		{ "{\"binds\": [{\"dst\": \"/x\"}]}", "binds[0]" },
		{ "{\"binds\": [\"/usr\"]}", "binds[0] must be an object" },
		{ "{\"binds\": {}}", "'binds' must be an array of objects" },
		{ "{\"env\": {\"A\": 1}}", "env 'A' must be a string" },
		{ "{\"env_allow\": [1]}", "'env_allow'[0] must be a string" },
		{ "{\"network\": tru", "" },
	};
	sbx_config cfg;
	pl_buf p = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		profile_file(&p, cases[i].json);
		sbx_config_init(&cfg);
		cr_assert_lt(sbx_profile_load(&cfg, p.ptr, &err), 0, "case %zu accepted", i);
		cr_assert(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
		cr_assert(strstr(err.msg, "p.json"), "case %zu: the file is not named: %s", i, err.msg);
		sbx_config_release(&cfg);
	}
	sbx_config_init(&cfg);
	cr_assert_eq(sbx_profile_load(&cfg, "no-such-profile", &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "sandbox profile 'no-such-profile' not found"), "%s", err.msg);
	cr_assert_eq(sbx_profile_load(&cfg, "bad name!", &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "may hold only letters"), "%s", err.msg);
	cr_assert_lt(sbx_profile_load(&cfg, "/no/such/file.json", &err), 0);
	cr_assert(strstr(err.msg, "/no/such/file.json"), "%s", err.msg);
	sbx_config_release(&cfg);
	pl_buf_release(&p);
}
