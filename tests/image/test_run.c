/* test_run.c - `plait image run`: a command in an image with its Env,
 * WorkingDir and User; Entrypoint and Cmd Docker's way; a copy-on-write
 * root per run, so that runs in parallel never see each other's writes and
 * the image never changes. */
#include "tests/img_test.h"

#include <sys/wait.h>

/* A small image that can run a shell: the host's sh and a few coreutils
 * with their libraries, a user u (1000) owning /work. */
static const char run_spec[] =
	"{\"tag\": \"localhost/tests/run:1\","
	" \"config\": {\"Env\": [\"PATH=/usr/bin:/bin\", \"GREETING=hello image\"], \"WorkingDir\": "
	"\"/work\","
	"  \"User\": \"u\", \"Cmd\": [\"/bin/sh\", \"-c\", \"echo default cmd\"]},"
	" \"layers\": [{\"compression\": \"gzip\","
	"  \"host\": [\"/bin/sh\", \"/usr/bin/id\", \"/usr/bin/cat\", \"/usr/bin/touch\", \"/usr/bin/ls\","
	"           \"/usr/bin/sleep\", \"/usr/bin/rm\"],"
	"  \"entries\": ["
	"   {\"path\": \"etc/passwd\", \"content\": "
	"\"root:x:0:0:root:/root:/bin/sh\\nu:x:1000:1000:u:/home/u:/bin/sh\\n\"},"
	"   {\"path\": \"etc/group\", \"content\": \"root:x:0:\\nu:x:1000:\\n\"},"
	"   {\"path\": \"etc/issue\", \"content\": \"image\\n\"},"
	"   {\"path\": \"home/u/\", \"type\": \"dir\", \"uid\": 1000, \"gid\": 1000},"
	"   {\"path\": \"work/\", \"type\": \"dir\", \"uid\": 1000, \"gid\": 1000},"
	"   {\"path\": \"work/data\", \"content\": \"original\\n\", \"uid\": 1000, \"gid\": 1000}"
	"  ]}]}";

static itest T;

static void setup(void)
{
	test_run r;

	it_need_sandbox();
	it_init(&T);
	it_mkimage(&T, "run", run_spec, "--oci img");
	r = it_plait(&T, NULL, "load --tag localhost/tests/run:1 img");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
}

static void teardown(void)
{
	it_done(&T);
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 120);

static unsigned image_uid(unsigned u)
{
	return geteuid() == 0 ? IMG_IDS_BASE + u : (unsigned)geteuid();
}

Test(run, with_the_images_env_user_and_workdir)
{
	char want[512];
	test_run r = it_plait(
		&T, NULL,
		"run localhost/tests/run:1 -- /bin/sh -c 'echo $GREETING; pwd; id -u; id -g; echo $HOME; "
		"echo mine >> /work/data && cat /work/data; touch /etc/x 2>/dev/null && echo rw || echo ro'");

	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	/* as root the image's user is its uid shifted (it owns what it owns
	 * in the image, /work, and not root's /etc); unprivileged, the caller */
	snprintf(want, sizeof(want), "hello image\n/work\n%u\n%u\n/home/u\noriginal\nmine\n%s\n",
		 image_uid(1000), image_uid(1000), geteuid() == 0 ? "ro" : "rw");
	cr_assert_str_eq(r.out.ptr, want, "stderr: %s", r.err.ptr);
	test_run_release(&r);
}

static unsigned image_gid(unsigned g)
{
	return geteuid() == 0 ? IMG_IDS_BASE + g : (unsigned)getegid();
}

/* --user (img_run_set_user) instead of the image's User, Docker's way */
Test(run, another_user_of_the_image)
{
	char want[256];
	test_run r = it_plait(&T, NULL,
			      "run --user root localhost/tests/run:1 -- /bin/sh -c 'id -u; id -g; echo $HOME; "
			      "touch /etc/x && echo rw'");

	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	/* as root: the image's root shifted, who may write /etc */
	snprintf(want, sizeof(want), "%u\n%u\n/root\nrw\n", image_uid(0), image_gid(0));
	cr_assert_str_eq(r.out.ptr, want, "stderr: %s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "run -u 1000:0 localhost/tests/run:1 -- /bin/sh -c 'id -u; id -g; echo $HOME'");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	snprintf(want, sizeof(want), "%u\n%u\n/home/u\n", image_uid(1000), image_gid(0));
	cr_assert_str_eq(r.out.ptr, want, "stderr: %s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "run --user nosuch localhost/tests/run:1 -- /bin/true");
	cr_assert_eq(r.status, 1, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "image 'localhost/tests/run:1': its user 'nosuch' is not in the image's /etc/passwd"),
		  "%s", r.err.ptr);
	test_run_release(&r);
}

Test(run, entrypoint_and_cmd_dockers_way)
{
	test_run r = it_plait(&T, NULL, "run localhost/tests/run:1");

	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "default cmd\n");
	test_run_release(&r);
	r = it_plait(&T, NULL, "run localhost/tests/run:1 /bin/sh -c 'exit 7'");
	cr_assert_eq(r.status, 7, "the command's status: %d %s", r.status, r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL,
		     "run --env GREETING=over --cwd /tmp localhost/tests/run:1 -- /bin/sh -c 'echo "
		     "$GREETING; pwd'");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "over\n/tmp\n", "options win over the image: %s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "run localhost/tests/run:1 -- /no/such/program");
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err.ptr, "/no/such/program"), "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "run localhost/tests/none:1 -- /bin/true");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "localhost/tests/none:1"), "%s", r.err.ptr);
	test_run_release(&r);
}

/* What a run writes stays in its own upper layer, removed at its end. */
Test(run, writes_never_reach_the_image)
{
	pl_buf root = PL_BUF_INIT, p = PL_BUF_INIT, text = PL_BUF_INIT;
	test_run r =
		it_plait(&T, NULL,
			 "run localhost/tests/run:1 -- /bin/sh -c 'echo changed > /work/data; rm /work/data; "
			 "echo new > /work/new; ls /work'");

	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "new\n");
	test_run_release(&r);
	it_root(&root, &T, "localhost/tests/run:1");
	pl_buf_printf(&p, "%s/work/data", root.ptr);
	cr_assert_eq(pl_file_read(&text, p.ptr, 0, NULL), 0);
	cr_assert_str_eq(text.ptr, "original\n");
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s/work/new", root.ptr);
	cr_assert(!pl_file_exists(p.ptr));
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s/runs", T.store);
	cr_assert_eq(test_sh(NULL, "[ -z \"$(ls -A '%s')\" ]", p.ptr), 0, "the run's changes are gone");
	/* --keep leaves them for inspection */
	r = it_plait(&T, NULL, "run --keep localhost/tests/run:1 -- /bin/sh -c 'echo kept > /work/k'");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "changes are kept in"), "%s", r.err.ptr);
	cr_assert_eq(test_sh(NULL, "cat '%s'/run-*/upper/work/k | grep -q kept", p.ptr), 0);
	test_run_release(&r);
	pl_buf_release(&root);
	pl_buf_release(&p);
	pl_buf_release(&text);
}

/* Two runs at once over the same image, each changing the same file: each
 * sees its own write, never the other's.  They meet through a bound host
 * directory: each writes, says so, waits for the other to have written,
 * then reads (a deadline, not a sleep, bounds the wait). */
Test(run, parallel_runs_do_not_see_each_others_writes)
{
	pl_buf sync = PL_BUF_INIT, cmd = PL_BUF_INIT;
	pid_t pid[2];
	int i;

	pl_buf_printf(&sync, "%s/sync", T.dir);
	cr_assert_eq(mkdir(sync.ptr, 0777), 0);
	cr_assert_eq(chmod(sync.ptr, 0777), 0);
	for (i = 0; i < 2; i++) {
		const char *me = i ? "b" : "a", *other = i ? "a" : "b";

		pl_buf_reset(&cmd);
		pl_buf_printf(&cmd,
			      "cd '%s' && '%s' image run --store '%s' --bind '%s:/sync' "
			      "localhost/tests/run:1 -- /bin/sh -c "
			      "'echo %s > /work/data; echo %s > /work/%s-only; touch /sync/%s; n=0; "
			      "while [ ! -e /sync/%s ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done; "
			      "[ -e /sync/%s ] || exit 3; cat /work/data; ls /work' > '%s/out-%s' 2>&1",
			      T.dir, test_plait_bin(), T.store, sync.ptr, me, me, me, me, other, other, T.dir,
			      me);
		fflush(NULL);
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (!pid[i]) {
			execl("/bin/sh", "sh", "-c", cmd.ptr, (char *)NULL);
			_exit(127);
		}
	}
	for (i = 0; i < 2; i++) {
		const char *me = i ? "b" : "a";
		pl_buf out = PL_BUF_INIT, p = PL_BUF_INIT, want = PL_BUF_INIT;
		int st;

		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		pl_buf_printf(&p, "%s/out-%s", T.dir, me);
		pl_file_read(&out, p.ptr, 0, NULL);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "run %s: %s", me, out.ptr);
		pl_buf_printf(&want, "%s\n%s-only\ndata\n", me, me);
		cr_assert_str_eq(out.ptr, want.ptr, "run %s saw: %s", me, out.ptr);
		pl_buf_release(&out);
		pl_buf_release(&p);
		pl_buf_release(&want);
	}
	pl_buf_release(&sync);
	pl_buf_release(&cmd);
}

/* As an unprivileged user: a store of its own, files its own, the same run
 * (root's tests switch to nobody with setpriv; the whole suite also passes
 * run as nobody). */
Test(run, unprivileged_store_and_run)
{
	pl_buf out = PL_BUF_INIT;
	int st;

	if (geteuid() != 0)
		cr_skip_test("already unprivileged: every test of this suite runs so");
	if (!it_tool("setpriv"))
		cr_skip_test("setpriv is not installed (Debian package util-linux)");
	cr_assert_eq(test_sh(NULL,
			     "chmod -R a+rX '%s/img' && mkdir '%s/nobody' && chown 65534:65534 '%s/nobody'",
			     T.dir, T.dir, T.dir),
		     0);
	st = test_sh(
		&out,
		"cd '%s' && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME='%s/nobody' sh -c \""
		"'%s' image load --quiet --store '%s/nobody/store' img >/dev/null && "
		"'%s' image run --store '%s/nobody/store' localhost/img:1 -- /bin/sh -c "
		"'id -u; echo mine >> /work/data; cat /work/data; touch /etc/x && echo rw'\" 2>&1",
		T.dir, T.dir, test_plait_bin(), T.dir, test_plait_bin(), T.dir);
	cr_assert_eq(st, 0, "%s", out.ptr);
	cr_assert_str_eq(out.ptr, "65534\noriginal\nmine\nrw\n", "the caller's own ids and files: %s",
			 out.ptr);
	pl_buf_release(&out);
}

/* No /etc/passwd (scratch, distroless) and no User: root's ids, HOME /root;
 * a User the image does not know is an error naming it. */
Test(run, users_without_passwd_and_unknown_users)
{
	char want[64];
	test_run r;

	it_mkimage(&T, "bare",
		   "{\"tag\": \"localhost/tests/bare:1\", \"layers\": [{\"host\": [\"/bin/sh\", "
		   "\"/usr/bin/id\"]}]}",
		   "--oci bare");
	r = it_plait(&T, NULL, "load --quiet bare");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "run localhost/bare:1 -- /bin/sh -c 'id -u; echo $HOME; pwd'");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	snprintf(want, sizeof(want), "%u\n/root\n/\n", image_uid(0));
	cr_assert_str_eq(r.out.ptr, want);
	test_run_release(&r);
	it_mkimage(&T, "ghost",
		   "{\"tag\": \"localhost/tests/ghost:1\", \"config\": {\"User\": \"ghost\"},"
		   " \"layers\": [{\"host\": [\"/bin/sh\"]}]}",
		   "--oci ghost");
	r = it_plait(&T, NULL, "load --quiet ghost");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "run localhost/ghost:1 -- /bin/true");
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "its user 'ghost' is not in the image's /etc/passwd"), "%s", r.err.ptr);
	test_run_release(&r);
}
