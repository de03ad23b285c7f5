/* test_registry.c - `plait image pull` against Debian's docker-registry,
 * started by the test on loopback behind a token server of its own
 * (tests/image/registry.py: bearer challenge, Basic credentials, a
 * connection dropped or stalled mid-blob on request); the test's images
 * pushed there with Debian's skopeo, pulled back, and their roots compared
 * with umoci's. */
#include "tests/img_test.h"

#include <signal.h>
#include <sys/wait.h>

#define USER	 "tester"
#define PASSWORD IT_REG_PASSWORD
#define AUTH	 "PLAIT_REGISTRY_AUTH=" USER ":" PASSWORD

static itest T;
static it_registry R = { -1, 0, "", USER };

static const char small_spec[] =
	"{\"tag\": \"localhost/tests/small:1\","
	" \"config\": {\"Env\": [\"A=1\"]},"
	" \"layers\": ["
	"  {\"compression\": \"gzip\", \"entries\": ["
	"    {\"path\": \"etc/hostname\", \"content\": \"small\\n\"},"
	"    {\"path\": \"big.bin\", \"size\": 1500000, \"seed\": 11},"
	"    {\"path\": \"gone\", \"content\": \"x\"},"
	"    {\"path\": \"d/old\", \"content\": \"old\"},"
	"    {\"path\": \"l\", \"type\": \"symlink\", \"target\": \"etc/hostname\"}]},"
	"  {\"compression\": \"gzip\", \"entries\": ["
	"    {\"path\": \".wh.gone\"},"
	"    {\"path\": \"d/.wh..wh..opq\"},"
	"    {\"path\": \"d/new\", \"content\": \"new\"},"
	"    {\"path\": \"h\", \"type\": \"hardlink\", \"target\": \"etc/hostname\"},"
	"    {\"path\": \"more.bin\", \"size\": 900000, \"seed\": 12}]}]}";

static void setup(void)
{
	it_init(&T);
	R.user = USER;
}

static void teardown(void)
{
	it_registry_stop(&R);
	it_done(&T);
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 180);

/* Start registry.py with flags ("", "--drop", "--stall FILE"). */
static void start_registry(const char *flags)
{
	it_registry_start(&R, &T, flags);
}

/* skopeo copy SRC to the registry as NAME; the pushed digest into digest. */
static void push(const char *src, const char *name, const char *extra, char *digest, size_t n)
{
	it_registry_push(&R, &T, src, name, extra, digest, n);
}

static void ref_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "127.0.0.1:%d/%s", R.port, name);
}

static void same_as_umoci(const char *layout, const char *ref)
{
	pl_buf root = PL_BUF_INIT, bundle = PL_BUF_INIT, out = PL_BUF_INIT;

	if (!it_tool("umoci")) {
		cr_log_warn("umoci is not installed (Debian package umoci): roots not compared");
		return;
	}
	pl_buf_printf(&bundle, "%s/bundle-%d", T.dir, (int)(pl_now() * 1000) % 100000);
	cr_assert_eq(test_sh(&out, "umoci unpack %s --image '%s/%s' '%s' 2>&1", geteuid() ? "--rootless" : "",
			     T.dir, layout, bundle.ptr),
		     0, "umoci: %s", out.ptr);
	pl_buf_puts(&bundle, "/rootfs");
	it_root(&root, &T, ref);
	it_same_tree(bundle.ptr, root.ptr, geteuid() == 0, geteuid() == 0 ? IMG_IDS_BASE : 0);
	pl_buf_release(&root);
	pl_buf_release(&bundle);
	pl_buf_release(&out);
}

static char *read_log(pl_buf *b)
{
	char p[PATH_MAX + 16];

	pl_buf_reset(b);
	snprintf(p, sizeof(p), "%s/log", R.dir);
	pl_file_read(b, p, 0, NULL);
	return b->ptr;
}

Test(registry, skopeo_pushes_plait_pulls_both_formats)
{
	char digest_oci[128], digest_tar[128], ref[256];
	test_run r;

	start_registry("");
	it_mkimage(&T, "small", small_spec, "--oci small --docker-archive small.tar");
	push("oci:small:1", "tests/small:oci", "", digest_oci, sizeof(digest_oci));
	push("docker-archive:small.tar", "tests/small:tar", "", digest_tar, sizeof(digest_tar));
	ref_of(ref, sizeof(ref), "tests/small:oci");
	r = it_plait(&T, AUTH, "pull --json %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, digest_oci), "the manifest skopeo pushed (%s): %s", digest_oci,
		  r.out.ptr);
	test_run_release(&r);
	same_as_umoci("small:1", ref);
	ref_of(ref, sizeof(ref), "tests/small:tar");
	r = it_plait(&T, AUTH, "pull --json %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, digest_tar), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "docker.image.rootfs.diff.tar.gzip"),
		  "skopeo pushed a Docker v2 image: %s", r.out.ptr);
	test_run_release(&r);
	same_as_umoci("small:1", ref);
	/* by digest, and again: nothing fetched twice */
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/tests/small@%s", R.port, digest_oci);
	r = it_plait(&T, AUTH, "pull %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, NULL, "ls");
	cr_assert(strstr(r.out.ptr, "tests/small@sha256:"), "%s", r.out.ptr);
	test_run_release(&r);
}

Test(registry, credentials_from_env_docker_config_or_refused)
{
	char digest[128], ref[256], cfgdir[PATH_MAX + 16], path[PATH_MAX + 32], env[PATH_MAX + 32];
	test_run r;

	start_registry("");
	it_mkimage(&T, "small", small_spec, "--oci small");
	push("oci:small:1", "tests/small:1", "", digest, sizeof(digest));
	ref_of(ref, sizeof(ref), "tests/small:1");
	/* anonymous: refused, saying what to do */
	r = it_plait(&T, "DOCKER_CONFIG=/nonexistent", "pull %s", ref);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "refused anonymous access"), "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "PLAIT_REGISTRY_AUTH"), "%s", r.err.ptr);
	test_run_release(&r);
	r = it_plait(&T, "PLAIT_REGISTRY_AUTH=tester:wrong", "pull %s", ref);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "refused the credentials"), "%s", r.err.ptr);
	test_run_release(&r);
	/* a Docker config.json's auths entry */
	snprintf(cfgdir, sizeof(cfgdir), "%s/docker", T.dir);
	cr_assert_eq(mkdir(cfgdir, 0700), 0);
	snprintf(path, sizeof(path), "%s/config.json", cfgdir);
	{
		pl_buf j = PL_BUF_INIT;

		/* "tester:s3cret" in base64 */
		pl_buf_printf(&j, "{\"auths\": {\"127.0.0.1:%d\": {\"auth\": \"dGVzdGVyOnMzY3JldA==\"}}}",
			      R.port);
		it_write(path, j.ptr);
		pl_buf_release(&j);
	}
	snprintf(env, sizeof(env), "DOCKER_CONFIG='%s'", cfgdir);
	r = it_plait(&T, env, "pull %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	/* a missing tag */
	ref_of(ref, sizeof(ref), "tests/small:nope");
	r = it_plait(&T, AUTH, "pull %s", ref);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "manifest 'nope': HTTP 404"), "%s", r.err.ptr);
	test_run_release(&r);
}

Test(registry, connection_dropped_mid_blob_is_resumed)
{
	char digest[128], ref[256], want[256];
	pl_buf log = PL_BUF_INIT;
	const char *drop;
	unsigned long long at = 0;
	test_run r;

	start_registry("--drop");
	it_mkimage(&T, "small", small_spec, "--oci small");
	push("oci:small:1", "tests/small:1", "", digest, sizeof(digest));
	ref_of(ref, sizeof(ref), "tests/small:1");
	r = it_plait(&T, AUTH, "pull --jobs 2 %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	read_log(&log);
	drop = strstr(log.ptr, "DROP sha256:");
	cr_assert(drop, "the proxy dropped a blob: %s", log.ptr);
	cr_assert_eq(sscanf(drop + 5 + 71, " %llu", &at), 1);
	snprintf(want, sizeof(want), "GET %.71s range=bytes=%llu-", drop + 5, at);
	cr_assert(strstr(log.ptr, want), "resumed with a Range from %llu (%s): %s", at, want, log.ptr);
	same_as_umoci("small:1", ref);
	pl_buf_release(&log);
}

Test(registry, interrupted_pull_resumes_where_it_stopped)
{
	char digest[128], ref[256], stall[PATH_MAX + 16], want[256], cmd[PATH_MAX * 4];
	pl_buf log = PL_BUF_INIT, out = PL_BUF_INIT, partial = PL_BUF_INIT;
	unsigned long long at = 0;
	const char *s;
	double deadline;
	pid_t pid;
	int st;
	test_run r;

	snprintf(stall, sizeof(stall), "%s/stall", T.dir);
	it_write(stall, "");
	{
		char flags[PATH_MAX + 32];

		snprintf(flags, sizeof(flags), "--stall '%s'", stall);
		start_registry(flags);
	}
	it_mkimage(&T, "small", small_spec, "--oci small");
	push("oci:small:1", "tests/small:1", "", digest, sizeof(digest));
	ref_of(ref, sizeof(ref), "tests/small:1");
	snprintf(cmd, sizeof(cmd),
		 "exec env %s '%s' image pull --store '%s' --jobs 1 %s > '%s/pull.out' 2>&1", AUTH,
		 test_plait_bin(), T.store, ref, T.dir);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (deadline = pl_now() + 60; !strstr(read_log(&log), "STALL "); usleep(20000))
		cr_assert_lt(pl_now(), deadline, "no blob stalled within 60 s: %s", log.ptr);
	s = strstr(log.ptr, "STALL ");
	cr_assert_eq(sscanf(s + 6 + 71, " %llu", &at), 1);
	/* Ctrl-C while the blob hangs half-way */
	kill(pid, SIGINT);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	snprintf(cmd, sizeof(cmd), "%s/pull.out", T.dir);
	pl_file_read(&out, cmd, 0, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "plait exits 130 when interrupted: %d %s", st,
		  out.ptr);
	cr_assert(strstr(out.ptr, "run the same command again to resume"), "%s", out.ptr);
	pl_buf_printf(&partial, "%s/tmp/sha256-%.64s.partial", T.store, s + 6 + 7);
	{
		struct stat pst;

		cr_assert_eq(stat(partial.ptr, &pst), 0, "the partial download is kept: %s", partial.ptr);
		cr_assert_eq((unsigned long long)pst.st_size, at, "it holds what arrived");
	}
	unlink(stall);
	r = it_plait(&T, AUTH, "pull %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	snprintf(want, sizeof(want), "GET %.71s range=bytes=%llu-", s + 6, at);
	cr_assert(strstr(read_log(&log), want), "the second pull resumed (%s): %s", want, log.ptr);
	cr_assert(!pl_file_exists(partial.ptr));
	same_as_umoci("small:1", ref);
	pl_buf_release(&log);
	pl_buf_release(&out);
	pl_buf_release(&partial);
}

Test(registry, index_resolved_for_the_platform)
{
	char digest[128], ref[256];
	pl_buf root = PL_BUF_INIT, p = PL_BUF_INIT, text = PL_BUF_INIT;
	test_run r;

	start_registry("");
	it_mkimage(&T, "multi",
		   "{\"tag\": \"localhost/tests/multi:1\", \"platforms\": [\"linux/amd64\", \"linux/arm64\"],"
		   " \"layers\": [{\"entries\": [{\"path\": \"etc/issue\", \"content\": \"multi\\n\"}]}]}",
		   "--oci multi");
	push("oci:multi:1", "tests/multi:1", "--all", digest, sizeof(digest));
	ref_of(ref, sizeof(ref), "tests/multi:1");
	r = it_plait(&T, AUTH, "pull %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	it_root(&root, &T, ref);
	pl_buf_printf(&p, "%s/platform", root.ptr);
	cr_assert_eq(pl_file_read(&text, p.ptr, 0, NULL), 0);
	cr_assert_str_eq(text.ptr, "linux/amd64\n");
	ref_of(ref, sizeof(ref), "tests/multi:1");
	r = it_plait(&T, AUTH, "pull --platform linux/arm64 %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	pl_buf_reset(&root);
	it_root(&root, &T, ref);
	pl_buf_reset(&p);
	pl_buf_reset(&text);
	pl_buf_printf(&p, "%s/platform", root.ptr);
	cr_assert_eq(pl_file_read(&text, p.ptr, 0, NULL), 0);
	cr_assert_str_eq(text.ptr, "linux/arm64\n");
	r = it_plait(&T, AUTH, "pull --platform linux/s390x %s", ref);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "no image for linux/s390x") && strstr(r.err.ptr, "linux/arm64"), "%s",
		  r.err.ptr);
	test_run_release(&r);
	/* the layout itself, loaded: the same resolution */
	r = it_plait(&T, NULL, "load --json multi");
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "\"platform\": \"linux/amd64\""), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&root);
	pl_buf_release(&p);
	pl_buf_release(&text);
}

/* A hostile layer pulled from a registry is refused like a loaded one:
 * nothing recorded, nothing written outside the store. */
Test(registry, hostile_layer_refused_when_pulled)
{
	char digest[128], ref[256], canary[PATH_MAX + 16], victim[PATH_MAX + 32];
	pl_buf spec = PL_BUF_INIT, text = PL_BUF_INIT;
	test_run r;

	start_registry("");
	snprintf(canary, sizeof(canary), "%s/canary", T.dir);
	cr_assert_eq(mkdir(canary, 0755), 0);
	snprintf(victim, sizeof(victim), "%s/victim", canary);
	it_write(victim, "intact\n");
	pl_buf_printf(&spec,
		      "{\"tag\": \"x:1\", \"layers\": [{\"entries\": ["
		      "{\"path\": \"out\", \"type\": \"symlink\", \"target\": "
		      "\"../../../../../../../../../../../../../../../..%s\"},"
		      "{\"path\": \"out/victim\", \"content\": \"overwritten\"}]}]}",
		      canary);
	it_mkimage(&T, "hostile", spec.ptr, "--oci hostile");
	push("oci:hostile:1", "tests/hostile:1", "", digest, sizeof(digest));
	ref_of(ref, sizeof(ref), "tests/hostile:1");
	r = it_plait(&T, AUTH, "pull %s", ref);
	cr_assert_eq(r.status, 1, "the hostile layer was accepted");
	cr_assert(strstr(r.err.ptr, "entry 'out/victim'") && strstr(r.err.ptr, "climbs above the root"), "%s",
		  r.err.ptr);
	test_run_release(&r);
	cr_assert_eq(pl_file_read(&text, victim, 0, NULL), 0);
	cr_assert_str_eq(text.ptr, "intact\n");
	r = it_plait(&T, NULL, "ls --json");
	cr_assert(strstr(r.out.ptr, "\"images\": []"), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&spec);
	pl_buf_release(&text);
}

/* A registry that gives anonymous clients tokens (Docker Hub's public
 * repositories): no credentials needed, none sent. */
Test(registry, anonymous_bearer_tokens)
{
	char digest[128], ref[256];
	pl_buf log = PL_BUF_INIT;
	test_run r;

	R.user = "-";
	start_registry("");
	it_mkimage(&T, "small", small_spec, "--oci small");
	push("oci:small:1", "tests/small:1", "", digest, sizeof(digest));
	ref_of(ref, sizeof(ref), "tests/small:1");
	r = it_plait(&T, "DOCKER_CONFIG=/nonexistent", "pull %s", ref);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	test_run_release(&r);
	cr_assert(!strstr(read_log(&log), "TOKEN refused"), "%s", log.ptr);
	same_as_umoci("small:1", ref);
	pl_buf_release(&log);
}
