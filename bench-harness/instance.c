/* instance.c - evaluating one instance as run_evaluation.run_instance does
 * (v4.1, and v5's patch chain under --grading v5), with a sandbox session
 * for the container: a checkout of base_commit bound at /testbed (or, under
 * --env image, a run of the instance's image over a view of its own), the
 * patch applied by the official command chain, /eval.sh run under the
 * timeout with stdout and stderr merged, the results written where and as
 * the official harness writes them. */
#define _GNU_SOURCE
#include "bench-harness/internal.h"

#include "sandbox/sandbox.h"
#include "tools/tools.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void bench_instance_log_dir(pl_buf *out, const char *log_dir, const char *run_id, const char *model,
			    const char *instance_id)
{
	pl_path_join(out, log_dir ? log_dir : "logs", "run_evaluation");
	pl_buf_putc(out, '/');
	pl_buf_puts(out, run_id);
	pl_buf_putc(out, '/');
	bench_model_dir(out, model);
	pl_buf_putc(out, '/');
	pl_buf_puts(out, instance_id);
}

/* ------------------------------------------------------------ the log */

/* run_instance.log: logging's "%(asctime)s - %(levelname)s - %(message)s" */
typedef struct ilog {
	FILE *f;
} ilog;

static void ilog_printf(ilog *l, const char *level, const char *fmt, ...) PL_PRINTF(3, 4);
static void ilog_printf(ilog *l, const char *level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (!l->f)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(l->f, "%s,%03ld - %s - ", when, ts.tv_nsec / 1000000, level);
	va_start(ap, fmt);
	vfprintf(l->f, fmt, ap);
	va_end(ap);
	fputc('\n', l->f);
	fflush(l->f);
}

#define INFO(l, ...) ilog_printf((l), "INFO", __VA_ARGS__)

/* ------------------------------------------------------------ files */

/* A log file (patch.diff, eval.sh) written whole and renamed into place,
 * without its own fsync: the instance counts as done only when
 * report.json is there, written after it with pl_file_write_atomic, whose
 * fsync commits these too on a journaling file system; a crash before it
 * reruns the instance, which writes them again.  Two fewer syncs per
 * instance (about 10 ms on this VM under load). */
static int write_log_file(const char *path, const char *data, size_t n, pl_err *err)
{
	pl_buf tmp = PL_BUF_INIT;
	int fd, rc = 0;

	pl_buf_printf(&tmp, "%s.tmp", path);
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", tmp.ptr);
		goto done;
	}
	while (n) {
		ssize_t w = write(fd, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", tmp.ptr);
			break;
		}
		data += w;
		n -= (size_t)w;
	}
	if (close(fd) < 0 && rc == 0)
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", tmp.ptr);
	if (rc == 0 && rename(tmp.ptr, path) < 0)
		rc = pl_err_sys(err, PL_EIO, "cannot rename '%s' to '%s'", tmp.ptr, path);
done:
	pl_buf_release(&tmp);
	return rc;
}

/* chown -R, not following links, leaving alone the files (not the
 * directories) under .git/objects: a local clone hard-links them to the
 * mirror's, which must not change owner. */
static int chown_tree(int dfd, const char *name, const char *path, uid_t uid, gid_t gid, int depth, bool objects,
		      pl_err *err)
{
	struct stat st;
	int fd;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pl_err_sys(err, PL_EIO, "cannot stat '%s'", path);
	if (!(objects && !S_ISDIR(st.st_mode)) && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return pl_err_sys(err, PL_EIO, "cannot give '%s' to the sandbox's user", path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (depth > 256)
		return pl_err_set(err, PL_ELIMIT, "'%s' is nested too deep", path);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return pl_err_sys(err, PL_EIO, "cannot read '%s'", path);
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		pl_buf child = PL_BUF_INIT;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pl_path_join(&child, path, e->d_name);
		rc = chown_tree(dirfd(d), e->d_name, child.ptr, uid, gid, depth + 1,
				objects || (depth == 1 && !strcmp(e->d_name, "objects") && !strcmp(name, ".git")), err);
		pl_buf_release(&child);
	}
	closedir(d);
	return rc;
}

static int give_to(const bench__run *run, const char *path, pl_err *err)
{
	if (run->uid < 0)
		return 0;
	return chown_tree(AT_FDCWD, path, path, (uid_t)run->uid, (gid_t)run->gid, 0, false, err);
}

int bench__find_mirror(pl_buf *out, const char *repos_dir, const char *repo, pl_err *err)
{
	pl_buf name = PL_BUF_INIT;
	int rc = 0;

	if (!repos_dir)
		return pl_err_set(err, PL_EINVAL, "no repositories directory (--repos DIR with %s cloned as DIR/",
				  repo);
	bench_model_dir(&name, repo);
	pl_path_join(out, repos_dir, name.ptr);
	if (!pl_dir_exists(out->ptr)) {
		pl_buf_puts(out, ".git");
		if (!pl_dir_exists(out->ptr))
			rc = pl_err_set(err, PL_ENOTFOUND,
					"repository '%s' not found as %s/%s (or .git): clone it there, e.g. git clone "
					"--mirror https://github.com/%s %s/%s",
					repo, repos_dir, name.ptr, repo, repos_dir, name.ptr);
	}
	pl_buf_release(&name);
	return rc;
}

/* The root of an instance under --env rootfs:DIR: DIR/<instance_id>, or
 * DIR/<owner__name>/<version>, or DIR itself. */
static void rootfs_for(pl_buf *out, const char *dir, const bench_instance *in)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir, in->instance_id);
	if (pl_dir_exists(p.ptr)) {
		pl_buf_add(out, p.ptr, p.len);
		pl_buf_release(&p);
		return;
	}
	pl_buf_reset(&p);
	pl_path_join(&p, dir, "");
	bench_model_dir(&p, in->repo);
	pl_buf_putc(&p, '/');
	pl_buf_puts(&p, in->version);
	if (pl_dir_exists(p.ptr))
		pl_buf_add(out, p.ptr, p.len);
	else
		pl_buf_puts(out, dir);
	pl_buf_release(&p);
}

/* ------------------------------------------------------------ sandbox */

/* testbed and home: the checkout and the home directory bound at /testbed
 * and /root; NULL under --env image, whose run (ir) has its own. */
static int make_config(sbx_config *cfg, const bench__run *run, const bench_instance *in, const img_run *ir,
		       const char *testbed, const char *home, const char *eval_sh, const char *patch, pl_err *err)
{
	const bench_eval_opts *o = run->o;
	size_t i;
	int rc;

	if ((rc = sbx_profile_load(cfg, o->sandbox_profile ? o->sandbox_profile : "eval", err)) < 0)
		return rc;
	/* The official container's environment, not the caller's: only PATH,
	 * HOME and TZ (Dockerfile's ENV and docker exec's HOME); an image's
	 * own Env, HOME and root instead under --env image (docker exec
	 * gives the image's Env). */
	for (i = 0; i < cfg->nenv_allow; i++)
		free(cfg->env_allow[i]);
	cfg->nenv_allow = 0;
	if (ir) {
		if ((rc = img_run_configure(cfg, ir, err)) < 0)
			return rc;
	} else if ((rc = sbx_config_set_env(cfg, "PATH=/opt/miniconda3/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					    err)) < 0 ||
		   (rc = sbx_config_set_env(cfg, "HOME=/root", err)) < 0 ||
		   (rc = sbx_config_set_env(cfg, "TZ=Etc/UTC", err)) < 0) {
		return rc;
	}
	cfg->merge_output = true;
	cfg->network = o->network;
	if (o->env == BENCH_ENV_ROOTFS) {
		pl_buf r = PL_BUF_INIT;

		rootfs_for(&r, o->rootfs, in);
		sbx_config_set_rootfs(cfg, r.ptr);
		pl_buf_release(&r);
	}
	if (testbed)
		sbx_config_add_bind(cfg, testbed, "/testbed", false);
	if (home)
		sbx_config_add_bind(cfg, home, "/root", false);
	sbx_config_add_bind(cfg, eval_sh, "/eval.sh", true);
	sbx_config_add_bind(cfg, patch, "/tmp/patch.diff", true);
	if (o->env == BENCH_ENV_HOST)
		sbx_config_add_bind(cfg, run->host_env, "/opt/miniconda3", true);
	sbx_config_set_cwd(cfg, "/testbed");
	return 0;
}

typedef struct sink {
	int fd;
	int error; /* errno of a failed write */
} sink;

static void to_file(void *ctx, int stream, const char *data, size_t n)
{
	sink *s = ctx;

	(void)stream;
	while (n && !s->error) {
		ssize_t w = write(s->fd, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			s->error = errno;
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

/* One command in the session; a set-up failure is an error, its exit
 * status a result. */
static int run_cmd(sbx_session *s, sbx_result *res, const char *const *argv, double timeout, sink *out, pl_err *err)
{
	sbx_exec_opts eo;

	memset(&eo, 0, sizeof(eo));
	eo.cwd = "/testbed";
	eo.timeout = timeout;
	if (out) {
		eo.on_output = to_file;
		eo.on_output_ctx = out;
	}
	sbx_result_release(res);
	sbx_result_init(res);
	return sbx_session_exec(res, s, argv, &eo, err);
}

/* "{total_runtime:_.2f}": two decimals, '_' between thousands */
static void py_seconds(char out[48], double t)
{
	char digits[48];
	size_t n, i, k = 0;
	const char *dot;

	snprintf(digits, sizeof(digits), "%.2f", t);
	dot = strchr(digits, '.');
	n = dot ? (size_t)(dot - digits) : strlen(digits);
	for (i = 0; i < n; i++) {
		out[k++] = digits[i];
		if (i + 1 < n && (n - i - 1) % 3 == 0 && digits[i] != '-')
			out[k++] = '_';
	}
	snprintf(out + k, 48 - k, "%s", dot ? dot : "");
}

static void strip_out(pl_buf *b, const pl_buf *out)
{
	const char *s = out->ptr;
	size_t n = out->len;

	if (!bench__utf8_valid(s, n, NULL)) {
		pl_buf_add(b, s, n);
		return;
	}
	bench__py_strip(&s, &n);
	pl_buf_add(b, s, n);
}

/* ------------------------------------------------------------ images */

/* The run of inst's image: the image by its official name from the store,
 * pulled from its registry on first use unless the options say not to (a
 * missing one is then the instance's error, saying how to get it), its
 * root unpacked when it is not yet, a view of its own for this instance.
 * Workers pulling images that share layers fetch each layer once (the
 * store's locks, image.h). */
static int image_run_open(img_run **out, pl_buf *name, const bench__run *run, const bench_instance *in, pl_err *err)
{
	img_image im;
	int rc;

	if ((rc = bench_image_name(name, run->o->image, in->instance_id, err)) < 0)
		return rc;
	memset(&im, 0, sizeof(im));
	rc = img_get(&im, run->images, name->ptr, err);
	if (rc == PL_ENOTFOUND && !run->o->image_no_pull) {
		pl_err perr = { 0, "" };

		if ((rc = img_pull(&im, run->images, name->ptr, NULL, &perr)) < 0)
			return pl_err_set(err, rc,
					  "image '%s' is not in the image store (%s) and pulling it failed: %s; get it "
					  "with `plait image pull %s` (or `plait image load` a docker save of it)",
					  name->ptr, img_store_dir(run->images), perr.msg, name->ptr);
	}
	if (rc < 0) {
		if (rc == PL_ENOTFOUND)
			return pl_err_set(err, PL_ENOTFOUND,
					  "image '%s' is not in the image store (%s): get it with `plait image pull "
					  "%s` (or `plait image load` a docker save of it)",
					  name->ptr, img_store_dir(run->images), name->ptr);
		return rc;
	}
	/* as root, whatever the image's User: the official harness creates
	 * every container with user="root" */
	if ((rc = img_run_open(out, run->images, &im, err)) == 0 && (rc = img_run_set_user(*out, "root", err)) < 0) {
		img_run_close(*out);
		*out = NULL;
	}
	img_image_release(&im);
	return rc;
}

/* ------------------------------------------------------------ run_instance */

#define FAIL(...)                                                         \
	do {                                                              \
		snprintf(res->error, sizeof(res->error), __VA_ARGS__);    \
		goto done;                                                \
	} while (0)

void bench__instance_run(bench__result *res, const bench__run *run, const bench_instance *in,
			 const bench_pred *pred)
{
	const bench_eval_opts *o = run->o;
	pl_buf ld = PL_BUF_INIT, work = PL_BUF_INIT, testbed = PL_BUF_INIT, home = PL_BUF_INIT, p = PL_BUF_INIT,
	       script = PL_BUF_INIT, mirror = PL_BUF_INIT, patch_path = PL_BUF_INIT, eval_path = PL_BUF_INIT,
	       out_path = PL_BUF_INIT, tmp_path = PL_BUF_INIT, before = PL_BUF_INIT, after = PL_BUF_INIT,
	       text = PL_BUF_INIT;
	sbx_config cfg;
	sbx_session *s = NULL;
	img_run *ir = NULL;
	pl_buf image = PL_BUF_INIT;
	sbx_result r;
	sink sk = { -1, 0 };
	ilog lg = { NULL };
	json_t *report = NULL;
	pl_err err = { 0 };
	const char *patch = pred->patch ? pred->patch : "";
	double t0 = pl_now(), ts;
	int timeout = o->timeout > 0 ? o->timeout : 1800;
	bool applied = false, checked_out, v5 = o->grading == BENCH_GRADING_V5;
	size_t i;

	memset(res, 0, sizeof(*res));
	res->outcome = BENCH__ERROR;
	sbx_config_init(&cfg);
	sbx_result_init(&r);
	bench_instance_log_dir(&ld, run->log_dir, o->run_id, pred->model, in->instance_id);
	if (pl_mkdir_p(ld.ptr, 0755, &err) < 0)
		FAIL("%s", err.msg);
	pl_path_join(&p, ld.ptr, "run_instance.log");
	lg.f = fopen(p.ptr, "we");
	if (!lg.f)
		FAIL("cannot write '%s': %s", p.ptr, strerror(errno));

	/* the script first: an instance the specs cannot script fails before
	 * any checkout */
	if (bench_eval_script(&script, in, o->grading, &err) < 0) {
		INFO(&lg, "Error creating the evaluation script: %s", err.msg);
		FAIL("%s", err.msg);
	}

	if (o->env == BENCH_ENV_IMAGE) {
		/* the image's /testbed, under a view of this instance's own */
		if (image_run_open(&ir, &image, run, in, &err) < 0) {
			INFO(&lg, "Error preparing the image of %s: %s", in->instance_id, err.msg);
			FAIL("%s", err.msg);
		}
		/* --keep-work: what the instance changed stays for a look (plait
		 * image prune removes it) */
		if (o->keep_work)
			img_run_keep(ir);
		INFO(&lg, "Image %s for %s, its changes in %s%s", image.ptr, in->instance_id, img_run_changes(ir),
		     o->keep_work ? " (kept)" : "");
		goto have_testbed;
	}

	/* the checkout */
	pl_path_join(&work, run->work_dir, "");
	bench_model_dir(&work, pred->model);
	pl_buf_putc(&work, '/');
	pl_buf_puts(&work, in->instance_id);
	if ((pl_dir_exists(work.ptr) && pl_rm_rf(work.ptr, &err) < 0) || pl_mkdir_p(work.ptr, 0755, &err) < 0)
		FAIL("%s", err.msg);
	pl_path_join(&testbed, work.ptr, "testbed");
	pl_path_join(&home, work.ptr, "root");
	if (bench__find_mirror(&mirror, o->repos_dir, in->repo, &err) < 0) {
		INFO(&lg, "%s", err.msg);
		FAIL("%s", err.msg);
	}
	if (run->git_lock)
		pthread_mutex_lock(run->git_lock);
	checked_out = tools_git_checkout_copy(mirror.ptr, in->base_commit, testbed.ptr, &err) == 0;
	if (run->git_lock)
		pthread_mutex_unlock(run->git_lock);
	if (!checked_out) {
		INFO(&lg, "Checkout of %s at %s failed: %s", mirror.ptr, in->base_commit, err.msg);
		FAIL("checkout of %s at %s: %s", in->repo, in->base_commit, err.msg);
	}
	INFO(&lg, "Checked out %s at %s in %s (%.3f s)", mirror.ptr, in->base_commit, testbed.ptr, pl_now() - t0);
	if (pl_mkdir_p(home.ptr, 0755, &err) < 0 || give_to(run, testbed.ptr, &err) < 0 || give_to(run, home.ptr, &err) < 0)
		FAIL("%s", err.msg);
have_testbed:

	/* patch.diff, verbatim */
	pl_path_join(&patch_path, ld.ptr, "patch.diff");
	if (write_log_file(patch_path.ptr, patch, strlen(patch), &err) < 0)
		FAIL("%s", err.msg);
	INFO(&lg, "Intermediate patch for %s written to %s, now applying to container...", in->instance_id,
	     patch_path.ptr);
	pl_path_join(&eval_path, ld.ptr, "eval.sh");
	if (write_log_file(eval_path.ptr, script.ptr, script.len, &err) < 0)
		FAIL("%s", err.msg);

	if (make_config(&cfg, run, in, ir, ir ? NULL : testbed.ptr, ir ? NULL : home.ptr, eval_path.ptr,
			patch_path.ptr, &err) < 0 ||
	    sbx_session_open(&s, &cfg, &err) < 0) {
		INFO(&lg, "Error starting the sandbox for %s: %s", in->instance_id, err.msg);
		FAIL("sandbox: %s", err.msg);
	}
	if (ir)
		INFO(&lg, "Sandbox for %s started (image %s)", in->instance_id, image.ptr);
	else
		INFO(&lg, "Sandbox for %s started (%s)", in->instance_id,
		     o->env == BENCH_ENV_HOST ? "the host's root" : cfg.rootfs);

	/* GIT_APPLY_CMDS */
	{
		static const char *const v4_cmds[][7] = {
			{ "git", "apply", "--verbose", "/tmp/patch.diff", NULL },
			{ "git", "apply", "--verbose", "--reject", "/tmp/patch.diff", NULL },
			{ "patch", "--batch", "--fuzz=5", "-p1", "-i", "/tmp/patch.diff", NULL },
		};
		static const char *const v5_cmds[][8] = {
			{ "git", "apply", "--verbose", "/tmp/patch.diff", NULL },
			{ "git", "apply", "--verbose", "--3way", "/tmp/patch.diff", NULL },
			{ "git", "apply", "--verbose", "--reject", "/tmp/patch.diff", NULL },
			{ "patch", "--batch", "--forward", "--fuzz=5", "-p1", "-i", "/tmp/patch.diff", NULL },
		};
		static const char *const reset[] = { "/bin/bash", "-c", "git checkout -- . ; git clean -fd", NULL };
		static const char *const reverse[] = { "git", "apply", "--check", "--reverse", "/tmp/patch.diff", NULL };
		size_t n = v5 ? PL_ARRAY_LEN(v5_cmds) : PL_ARRAY_LEN(v4_cmds);

		for (i = 0; i < n && !applied; i++) {
			const char *const *argv = v5 ? v5_cmds[i] : v4_cmds[i];
			pl_buf cmd = PL_BUF_INIT;

			if (v5 && i > 0 && run_cmd(s, &r, reset, timeout, NULL, &err) < 0)
				FAIL("sandbox: %s", err.msg);
			if (run_cmd(s, &r, argv, timeout, NULL, &err) < 0)
				FAIL("sandbox: %s", err.msg);
			for (const char *const *a = argv; *a && strcmp(*a, "/tmp/patch.diff"); a++)
				pl_buf_printf(&cmd, "%s%s", cmd.len ? " " : "", *a);
			if (r.exit_code == 0) {
				INFO(&lg, ">>>>> Applied Patch:\n%s", r.out.ptr);
				applied = true;
			} else {
				INFO(&lg, "Failed to apply patch to container: %s", cmd.ptr);
			}
			pl_buf_release(&cmd);
		}
		if (!applied && v5) {
			sbx_result rr;

			sbx_result_init(&rr);
			if (run_cmd(s, &rr, reverse, timeout, NULL, &err) == 0 && rr.exit_code == 0) {
				INFO(&lg, ">>>>> Applied Patch: verified already applied");
				applied = true;
			}
			sbx_result_release(&rr);
		}
		if (!applied) {
			INFO(&lg, ">>>>> Patch Apply Failed:\n%s", r.out.ptr);
			FAIL("patch apply failed");
		}
	}

	{
		static const char *const diff[] = { "git", "-c", "core.fileMode=false", "diff", NULL };

		if (run_cmd(s, &r, diff, timeout, NULL, &err) < 0)
			FAIL("sandbox: %s", err.msg);
		strip_out(&before, &r.out);
		INFO(&lg, "Git diff before:\n%s", before.ptr);
	}
	INFO(&lg, "Eval script for %s written to %s; copying to container...", in->instance_id, eval_path.ptr);

	/* /bin/bash /eval.sh, its output streamed to test_output.txt */
	pl_path_join(&out_path, ld.ptr, "test_output.txt");
	pl_buf_printf(&tmp_path, "%s.tmp", out_path.ptr);
	sk.fd = open(tmp_path.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (sk.fd < 0)
		FAIL("cannot write '%s': %s", tmp_path.ptr, strerror(errno));
	{
		static const char *const run_eval[] = { "/bin/bash", "/eval.sh", NULL };
		char secs[48];

		ts = pl_now();
		if (run_cmd(s, &r, run_eval, timeout, &sk, &err) < 0)
			FAIL("sandbox: %s", err.msg);
		res->script_seconds = pl_now() - ts;
		py_seconds(secs, res->script_seconds);
		INFO(&lg, "Test runtime: %s seconds", secs);
	}
	if (r.timed_out) {
		char msg[96];

		snprintf(msg, sizeof(msg), BENCH__TIMEOUT_FMT, timeout);
		to_file(&sk, 1, msg, strlen(msg));
	}
	if (sk.error || fsync(sk.fd) < 0 || close(sk.fd) < 0) {
		sk.fd = -1;
		FAIL("cannot write '%s': %s", tmp_path.ptr, strerror(sk.error ? sk.error : errno));
	}
	sk.fd = -1;
	if (rename(tmp_path.ptr, out_path.ptr) < 0)
		FAIL("cannot rename '%s': %s", tmp_path.ptr, strerror(errno));
	INFO(&lg, "Test output for %s written to %s", in->instance_id, out_path.ptr);
	if (r.timed_out) {
		INFO(&lg, "Test timed out after %d seconds.", timeout);
		FAIL("timed out after %d s", timeout);
	}

	{
		static const char *const diff[] = { "git", "-c", "core.fileMode=false", "diff", NULL };

		if (run_cmd(s, &r, diff, timeout, NULL, &err) < 0)
			FAIL("sandbox: %s", err.msg);
		strip_out(&after, &r.out);
		INFO(&lg, "Git diff after:\n%s", after.ptr);
		if (strcmp(before.ptr, after.ptr))
			INFO(&lg, "Git diff changed after running eval script");
	}
	sbx_session_close(s);
	s = NULL;
	img_run_close(ir);
	ir = NULL;

	INFO(&lg, "Grading answer for %s...", in->instance_id);
	if (pl_file_read(&text, out_path.ptr, 0, &err) < 0)
		FAIL("%s", err.msg);
	if (bench_grade(&report, in, pred->patch == NULL, text.ptr, text.len, o->grading, &err) < 0) {
		INFO(&lg, "Error in evaluating model for %s: %s", in->instance_id, err.msg);
		FAIL("grading: %s", err.msg);
	}
	{
		pl_buf b = PL_BUF_INIT, rep = PL_BUF_INIT;
		bool resolved = json_is_true(json_object_get(json_object_get(report, in->instance_id), "resolved"));
		pl_buf rp = PL_BUF_INIT;

		bench__py_repr(&rep, report);
		INFO(&lg, "report: %s\nResult for %s: resolved: %s", rep.ptr, in->instance_id, resolved ? "True" : "False");
		bench_json_dump_py(&b, report, 4);
		pl_path_join(&rp, ld.ptr, "report.json");
		if (pl_file_write_atomic(rp.ptr, b.ptr, b.len, 0644, &err) == 0)
			res->outcome = resolved ? BENCH__RESOLVED : BENCH__UNRESOLVED;
		else
			snprintf(res->error, sizeof(res->error), "%s", err.msg);
		pl_buf_release(&b);
		pl_buf_release(&rep);
		pl_buf_release(&rp);
	}
done:
	if (sk.fd >= 0)
		close(sk.fd);
	sbx_session_close(s);
	img_run_close(ir); /* the instance's changes to the image go */
	if (res->outcome == BENCH__ERROR && !res->error[0])
		snprintf(res->error, sizeof(res->error), "failed");
	if (work.len && !o->keep_work && pl_dir_exists(work.ptr)) {
		pl_buf name = PL_BUF_INIT;

		bench_model_dir(&name, pred->model);
		pl_buf_printf(&name, "__%s", in->instance_id);
		bench__trash_put(run->trash, work.ptr, name.ptr);
		pl_buf_release(&name);
	}
	res->seconds = pl_now() - t0;
	INFO(&lg, "Done in %.3f s: the evaluation script %.3f s, the harness %.3f s", res->seconds, res->script_seconds,
	     res->seconds - res->script_seconds);
	if (lg.f)
		fclose(lg.f);
	json_decref(report);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&ld);
	pl_buf_release(&work);
	pl_buf_release(&testbed);
	pl_buf_release(&home);
	pl_buf_release(&p);
	pl_buf_release(&script);
	pl_buf_release(&mirror);
	pl_buf_release(&patch_path);
	pl_buf_release(&eval_path);
	pl_buf_release(&out_path);
	pl_buf_release(&tmp_path);
	pl_buf_release(&before);
	pl_buf_release(&after);
	pl_buf_release(&text);
	pl_buf_release(&image);
}
