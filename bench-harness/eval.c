/* eval.c - a run: the instances to evaluate (get_dataset_from_preds:
 * predictions, no empty patch, no report.json yet), worker threads taking
 * them in dataset order, progress, the summary; and regrading from
 * existing logs (--rewrite_reports). */
#define _GNU_SOURCE
#include "bench-harness/internal.h"

#include "sandbox/sandbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct job {
	const bench_instance *in;
	const bench_pred *pred;
} job;

typedef struct pool {
	const bench__run *run;
	job *jobs;
	size_t n, next;
	pthread_mutex_t mu;
	bench_progress pg;
	double t0;
	bool stopped;
} pool;

static bool stop_requested(const bench_eval_opts *o)
{
	return o->stop && *o->stop;
}

static void *worker(void *arg)
{
	pool *pl = arg;
	const bench_eval_opts *o = pl->run->o;

	for (;;) {
		bench__result r;
		job j;

		pthread_mutex_lock(&pl->mu);
		if (pl->next >= pl->n || stop_requested(o)) {
			if (pl->next < pl->n)
				pl->stopped = true;
			pthread_mutex_unlock(&pl->mu);
			return NULL;
		}
		j = pl->jobs[pl->next++];
		pl->pg.running++;
		pthread_mutex_unlock(&pl->mu);

		bench__instance_run(&r, pl->run, j.in, j.pred);

		pthread_mutex_lock(&pl->mu);
		pl->pg.running--;
		pl->pg.done++;
		pl->pg.instance_id = j.in->instance_id;
		pl->pg.seconds = r.seconds;
		pl->pg.overhead = r.seconds - r.script_seconds;
		pl->pg.error = NULL;
		if (r.outcome == BENCH__RESOLVED) {
			pl->pg.resolved++;
			pl->pg.outcome = "resolved";
		} else if (r.outcome == BENCH__UNRESOLVED) {
			pl->pg.unresolved++;
			pl->pg.outcome = "unresolved";
		} else {
			pl->pg.errors++;
			pl->pg.outcome = "error";
			pl->pg.error = r.error;
		}
		pl->pg.elapsed = pl_now() - pl->t0;
		if (o->on_progress)
			o->on_progress(o->progress_ctx, &pl->pg);
		pl->pg.instance_id = NULL;
		pl->pg.error = NULL;
		pthread_mutex_unlock(&pl->mu);
	}
}

/* v5's write_run_metadata: logs/run_evaluation/<run_id>/run.json */
static int write_run_json(const bench_eval_opts *o, const char *log_dir, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;
	json_t *j = json_object();
	char when[40];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	pl_path_join(&p, log_dir, "run_evaluation");
	pl_buf_printf(&p, "/%s", o->run_id);
	if ((rc = pl_mkdir_p(p.ptr, 0755, err)) < 0)
		goto done;
	pl_buf_puts(&p, "/run.json");
	pl_json_set(j, "dataset", json_string(o->dataset_name ? o->dataset_name : ""));
	pl_json_set(j, "split", json_string("test"));
	pl_json_set(j, "task_repo", json_null());
	pl_json_set(j, "created_at", json_string(when));
	bench_json_dump_py(&b, j, 2);
	pl_buf_putc(&b, '\n');
	rc = pl_file_write_atomic(p.ptr, b.ptr, b.len, 0644, err);
done:
	json_decref(j);
	pl_buf_release(&p);
	pl_buf_release(&b);
	return rc;
}

/* path made absolute against the current directory */
static void absolute(pl_buf *out, const char *path)
{
	char cwd[4096];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		pl_path_join(out, cwd, path);
	else
		pl_buf_puts(out, path);
}

static int check_opts(const bench_eval_opts *o, pl_err *err)
{
	if (!o->run_id || !o->run_id[0])
		return pl_err_set(err, PL_EINVAL, "a run id is required (it names logs/run_evaluation/<run_id>)");
	if (strchr(o->run_id, '/') || !strcmp(o->run_id, ".") || !strcmp(o->run_id, ".."))
		return pl_err_set(err, PL_EINVAL, "run id '%s' must not contain '/' (it is a directory name)", o->run_id);
	return 0;
}

/* report.json's verdict when it exists: 1, 0, or -1 (absent or unreadable) */
static int cached(const bench__run *run, const bench_instance *in, const bench_pred *pr)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;
	json_t *j = NULL;
	int v = -1;

	bench_instance_log_dir(&p, run->log_dir, run->o->run_id, pr->model, in->instance_id);
	pl_buf_puts(&p, "/report.json");
	if (pl_file_exists(p.ptr)) {
		v = 0;
		if (pl_file_read(&b, p.ptr, 0, NULL) == 0 && (j = json_loadb(b.ptr, b.len, 0, NULL)) != NULL)
			v = json_is_true(json_object_get(json_object_get(j, in->instance_id), "resolved"));
	}
	json_decref(j);
	pl_buf_release(&p);
	pl_buf_release(&b);
	return v;
}

static int summarize(json_t **summary_out, pl_buf *path_out, const bench_dataset *ds, const bench_preds *p,
		     const bench_eval_opts *o, const char *log_dir, pl_err *err)
{
	json_t *s = NULL;
	int rc;

	if ((rc = bench_run_report(&s, ds, p, log_dir, o->run_id, o->grading, err)) < 0)
		return rc;
	if ((rc = bench_run_report_write(path_out, s, p, o->report_dir, o->run_id, o->shard_k, o->shard_n, err)) < 0) {
		json_decref(s);
		return rc;
	}
	*summary_out = s;
	return 0;
}

int bench_eval(json_t **summary_out, pl_buf *path_out, const bench_dataset *ds, const bench_preds *p,
	       const bench_eval_opts *o, pl_err *err)
{
	bench__run run;
	bench_eval_opts ro;
	pool pl;
	pthread_mutex_t git_lock = PTHREAD_MUTEX_INITIALIZER;
	bench__trash trash;
	pl_buf log_dir = PL_BUF_INIT, work = PL_BUF_INIT, rootfs = PL_BUF_INIT;
	sbx_config probe;
	size_t i;
	int rc, workers = o->workers > 0 ? o->workers : 1;

	memset(&run, 0, sizeof(run));
	memset(&pl, 0, sizeof(pl));
	sbx_config_init(&probe);
	pthread_mutex_init(&pl.mu, NULL);
	if ((rc = check_opts(o, err)) < 0)
		goto done;
	/* absolute: the sandbox binds only absolute paths */
	absolute(&log_dir, o->log_dir ? o->log_dir : "logs");
	if (o->work_dir)
		absolute(&work, o->work_dir);
	else
		pl_buf_printf(&work, "%s/plait-work/%s", log_dir.ptr, o->run_id);
	run.o = o;
	run.log_dir = log_dir.ptr;
	run.work_dir = work.ptr;
	run.git_lock = &git_lock;
	/* what the sandbox writes belongs to the user it runs as: nobody when
	 * plait is root (never uid 0 for code nobody here wrote) */
	run.uid = run.gid = -1;
	if (geteuid() == 0)
		run.uid = run.gid = 65534;
	/* problems every instance would hit are errors before any starts */
	if ((rc = sbx_profile_load(&probe, o->sandbox_profile ? o->sandbox_profile : "eval", err)) < 0)
		goto done;
	if (probe.uid >= 0 && geteuid() == 0)
		run.uid = probe.uid;
	if (probe.gid >= 0 && geteuid() == 0)
		run.gid = probe.gid;
	if (o->env != BENCH_ENV_IMAGE && (!o->repos_dir || !pl_dir_exists(o->repos_dir))) {
		rc = pl_err_set(err, PL_ENOTFOUND,
				o->repos_dir ? "repositories directory '%s' does not exist" :
					       "a repositories directory is needed (--repos DIR, with each repository "
					       "cloned as DIR/owner__name)%s",
				o->repos_dir ? o->repos_dir : "");
		goto done;
	}
	if (o->env == BENCH_ENV_ROOTFS && (!o->rootfs || !pl_dir_exists(o->rootfs))) {
		rc = pl_err_set(err, PL_ENOTFOUND, "root filesystem directory '%s' does not exist",
				o->rootfs ? o->rootfs : "");
		goto done;
	}
	if (o->env == BENCH_ENV_IMAGE) {
		pl_buf probe_name = PL_BUF_INIT;

		/* a bad template fails every instance: say so once */
		rc = bench_image_name(&probe_name, o->image, "owner__name-1", err);
		pl_buf_release(&probe_name);
		if (rc < 0 || (rc = img_store_open(&run.images, o->image_store, o->log, err)) < 0)
			goto done;
	}
	if ((rc = pl_mkdir_p(work.ptr, 0755, err)) < 0)
		goto done;
	if (o->env == BENCH_ENV_ROOTFS) {
		absolute(&rootfs, o->rootfs);
		ro = *o;
		ro.rootfs = rootfs.ptr;
		run.o = &ro;
	}
	if (o->env == BENCH_ENV_HOST) {
		snprintf(run.host_env, sizeof(run.host_env), "%s/host-env", work.ptr);
		if ((rc = bench_host_env_write(run.host_env, o->python, err)) < 0)
			goto done;
	}
	if (o->grading == BENCH_GRADING_V5 && (rc = write_run_json(o, log_dir.ptr, err)) < 0)
		goto done;
	if (!o->keep_work) {
		pl_buf t = PL_BUF_INIT;

		pl_path_join(&t, work.ptr, ".trash");
		rc = bench__trash_open(&trash, t.ptr, err);
		pl_buf_release(&t);
		if (rc < 0)
			goto done;
		run.trash = &trash;
	}

	/* the instances to run, in dataset order */
	pl.jobs = pl_xcalloc(ds->n + 1, sizeof(job));
	for (i = 0; i < ds->n; i++) {
		const bench_pred *pr = bench_preds_find(p, ds->items[i].instance_id);
		int v;

		if (!pr)
			continue;
		if (bench_pred_is_empty(pr)) {
			pl.pg.empty++;
			continue;
		}
		if ((v = cached(&run, &ds->items[i], pr)) >= 0) {
			pl.pg.cached++;
			continue;
		}
		pl.jobs[pl.n].in = &ds->items[i];
		pl.jobs[pl.n].pred = pr;
		pl.n++;
	}
	pl.run = &run;
	pl.pg.total = pl.n;
	pl.t0 = pl_now();
	if (o->on_progress)
		o->on_progress(o->progress_ctx, &pl.pg);
	rc = bench__run_workers(workers, pl.n, worker, &pl, err);
	if (run.trash) {
		bench__trash_close(run.trash);
		run.trash = NULL;
	}
	if (rc < 0)
		goto done;
	/* the shim and what a run killed earlier left behind */
	if (!o->keep_work) {
		pl_rm_rf(work.ptr, NULL);
		if (!o->work_dir) {
			pl_buf parent = PL_BUF_INIT;

			pl_path_join(&parent, log_dir.ptr, "plait-work");
			rmdir(parent.ptr); /* when no other run uses it */
			pl_buf_release(&parent);
		}
	}
	if ((rc = summarize(summary_out, path_out, ds, p, o, log_dir.ptr, err)) < 0)
		goto done;
	if (pl.stopped) {
		rc = pl_err_set(err, PL_ECANCELED, "stopped: %zu of %zu instances not started (run again to resume)",
				pl.n - pl.next, pl.n);
	}
done:
	if (run.trash)
		bench__trash_close(run.trash);
	img_store_close(run.images);
	pthread_mutex_destroy(&pl.mu);
	sbx_config_release(&probe);
	free(pl.jobs);
	pl_buf_release(&log_dir);
	pl_buf_release(&work);
	pl_buf_release(&rootfs);
	return rc;
}

int bench_regrade(json_t **summary_out, pl_buf *path_out, size_t *regraded, const bench_dataset *ds,
		  const bench_preds *p, const bench_eval_opts *o, pl_err *err)
{
	const char *log_dir = o->log_dir ? o->log_dir : "logs";
	pl_buf dir = PL_BUF_INIT, b = PL_BUF_INIT, out = PL_BUF_INIT, rp = PL_BUF_INIT;
	size_t i, n = 0;
	int rc;

	if ((rc = check_opts(o, err)) < 0)
		return rc;
	for (i = 0; i < ds->n; i++) {
		const bench_instance *in = &ds->items[i];
		const bench_pred *pr = bench_preds_find(p, in->instance_id);
		json_t *report = NULL;
		pl_err gerr = { 0 };

		if (!pr)
			continue;
		pl_buf_reset(&dir);
		pl_buf_reset(&b);
		pl_buf_reset(&out);
		pl_buf_reset(&rp);
		bench_instance_log_dir(&dir, log_dir, o->run_id, pr->model, in->instance_id);
		pl_path_join(&b, dir.ptr, "test_output.txt");
		if (!pl_file_exists(b.ptr))
			continue;
		if ((rc = pl_file_read(&out, b.ptr, 0, err)) < 0)
			goto done;
		if (bench_grade(&report, in, pr->patch == NULL, out.ptr, out.len, o->grading, &gerr) < 0) {
			/* the official rewrite raises for this one and goes on */
			pl_log_warn(o->log, "%s: not regraded: %s", in->instance_id, gerr.msg);
			continue;
		}
		pl_buf_reset(&out);
		bench_json_dump_py(&out, report, 4);
		json_decref(report);
		pl_path_join(&rp, dir.ptr, "report.json");
		if ((rc = pl_file_write_atomic(rp.ptr, out.ptr, out.len, 0644, err)) < 0)
			goto done;
		n++;
		if (o->on_progress) {
			bench_progress pg;

			memset(&pg, 0, sizeof(pg));
			pg.instance_id = in->instance_id;
			pg.done = n;
			o->on_progress(o->progress_ctx, &pg);
		}
	}
	if (regraded)
		*regraded = n;
	rc = summarize(summary_out, path_out, ds, p, o, log_dir, err);
done:
	pl_buf_release(&dir);
	pl_buf_release(&b);
	pl_buf_release(&out);
	pl_buf_release(&rp);
	return rc;
}
