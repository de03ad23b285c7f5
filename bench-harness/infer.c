/* infer.c - inference over SWE-bench instances: a checkout per instance,
 * the agent's loop on the problem statement, and the predictions file
 * (JSON Lines, rewritten atomically after each instance, so that a run
 * stopped anywhere resumes with what it had). */
#define _GNU_SOURCE
#include "bench-harness/internal.h"

#include "tools/tools.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct infer_run {
	const bench_dataset *ds;
	const bench_infer_opts *o;
	pl_buf work, trajs;
	pthread_mutex_t mu, git_lock;
	size_t *pending, n, next; /* the dataset's indexes still to infer */
	json_t *preds;   /* [{instance_id, model_name_or_path, model_patch}] in file order */
	bench_progress pg;
	double t0;
	size_t added;
	bool stopped;
	int write_rc;
	pl_err write_err;
	bench__trash *trash;
	agent_engine *engine; /* backend "engine": the model the sessions share */
} infer_run;

/* What one instance's agent run came to. */
typedef struct infer_out {
	pl_buf patch, model;
	const char *outcome; /* "submitted", agent_exit_name, or "error" */
	char why[PL_ERR_MSG_MAX + 256]; /* an error's */
	char detail[256];
	agent_usage usage;
} infer_out;

/* The predictions file as it stands (a missing file is none). */
static int load_existing(json_t *preds, const char *path, pl_err *err)
{
	bench_preds *p = NULL;
	size_t i;
	int rc;

	if (!pl_file_exists(path))
		return 0;
	if ((rc = bench_preds_load(&p, path, err)) < 0) {
		/* an empty file is no prediction yet */
		pl_buf b = PL_BUF_INIT;
		bool empty = pl_file_read(&b, path, 0, NULL) == 0 && strspn(b.ptr, " \t\r\n") == b.len;

		pl_buf_release(&b);
		if (empty) {
			pl_err_clear(err);
			return 0;
		}
		pl_err_prefix(err, "the predictions file to resume");
		return rc;
	}
	for (i = 0; i < p->n; i++)
		json_array_append_new(preds, json_pack("{s:s, s:s, s:s?}", "instance_id", p->items[i].instance_id,
						       "model_name_or_path", p->items[i].model, "model_patch",
						       p->items[i].patch));
	bench_preds_free(p);
	return 0;
}

static bool has_pred(const json_t *preds, const char *id)
{
	size_t i;
	json_t *x;

	json_array_foreach(preds, i, x)
		if (!strcmp(json_string_value(json_object_get(x, "instance_id")), id))
			return true;
	return false;
}

/* Rewrites the predictions file (under r->mu). */
static int write_preds(infer_run *r, pl_err *err)
{
	pl_buf b = PL_BUF_INIT;
	size_t i;
	json_t *x;
	int rc;

	json_array_foreach(r->preds, i, x) {
		pl_json_dump(&b, x, false);
		pl_buf_putc(&b, '\n');
	}
	rc = pl_file_write_atomic(r->o->out, b.ptr, b.len, 0644, err);
	pl_buf_release(&b);
	return rc;
}

static size_t count_files(const char *patch)
{
	size_t n = 0;
	const char *p = patch;

	while ((p = strstr(p, "diff --git ")) != NULL) {
		if (p == patch || p[-1] == '\n')
			n++;
		p++;
	}
	return n;
}

static void fmt_tokens(char *out, size_t n, int64_t t)
{
	if (t >= 1000000)
		snprintf(out, n, "%.1fM", (double)t / 1e6);
	else if (t >= 1000)
		snprintf(out, n, "%.1fk", (double)t / 1e3);
	else
		snprintf(out, n, "%lld", (long long)t);
}

/* One instance: its patch (maybe empty), model name and outcome in o;
 * false with o->why when the agent could not run. */
static bool infer_one(infer_run *r, const bench_instance *in, infer_out *io)
{
	char *why = io->why;
	size_t why_n = sizeof(io->why);
	const bench_infer_opts *o = r->o;
	pl_buf work = PL_BUF_INIT, mirror = PL_BUF_INIT, traj = PL_BUF_INIT;
	agent_session *sess = NULL;
	agent_session_opts so;
	agent_result res;
	pl_err err = { 0 };
	bool ok = false, checked_out;

	agent_result_init(&res);
	if (!in->problem_statement) {
		snprintf(why, why_n, "the dataset has no problem_statement for %s", in->instance_id);
		goto done;
	}
	pl_path_join(&work, r->work.ptr, in->instance_id);
	if ((pl_dir_exists(work.ptr) && pl_rm_rf(work.ptr, &err) < 0)) {
		snprintf(why, why_n, "%s", err.msg);
		goto done;
	}
	if (bench__find_mirror(&mirror, o->repos_dir, in->repo, &err) < 0) {
		snprintf(why, why_n, "%s", err.msg);
		goto done;
	}
	pthread_mutex_lock(&r->git_lock);
	checked_out = tools_git_checkout_copy(mirror.ptr, in->base_commit, work.ptr, &err) == 0;
	pthread_mutex_unlock(&r->git_lock);
	if (!checked_out) {
		snprintf(why, why_n, "checkout of %s at %s: %s", in->repo, in->base_commit, err.msg);
		goto done;
	}
	pl_path_join(&traj, r->trajs.ptr, in->instance_id);
	pl_buf_puts(&traj, ".jsonl");
	memset(&so, 0, sizeof(so));
	so.repo = work.ptr;
	so.base = in->base_commit;
	so.kind = "fix";
	so.traj_path = traj.ptr;
	so.cancel = o->cancel;
	so.engine = r->engine;
	so.log = o->log;
	if (agent_session_new(&sess, o->settings, &so, &err) < 0 ||
	    agent_session_run(&res, sess, in->problem_statement, &err) < 0) {
		snprintf(why, why_n, "agent: %s", err.msg);
		goto done;
	}
	if (res.exit == AGENT_EXIT_CANCELLED) {
		snprintf(why, why_n, "cancelled");
		goto done;
	}
	/* the backend failing (after its retries) says nothing of the
	 * instance: no prediction, so that running again retries it */
	if (res.exit == AGENT_EXIT_MODEL_ERROR) {
		snprintf(why, why_n, "model error: %s", res.message.ptr);
		goto done;
	}
	pl_buf_add(&io->patch, res.patch.ptr, res.patch.len);
	pl_buf_puts(&io->model, o->model_name ? o->model_name : agent_session_model(sess));
	io->outcome = res.submitted ? "submitted" : agent_exit_name(res.exit);
	io->usage = res.usage;
	{
		char tok[32];
		size_t files = count_files(res.patch.ptr);

		fmt_tokens(tok, sizeof(tok), res.usage.input + res.usage.output);
		if (files)
			snprintf(io->detail, sizeof(io->detail), "%d step%s, %s tokens, %zu file%s changed", res.steps,
				 res.steps == 1 ? "" : "s", tok, files, files == 1 ? "" : "s");
		else
			snprintf(io->detail, sizeof(io->detail), "%d step%s, %s tokens, empty patch", res.steps,
				 res.steps == 1 ? "" : "s", tok);
	}
	ok = true;
done:
	agent_result_release(&res);
	agent_session_free(sess);
	if (work.len && pl_dir_exists(work.ptr) && !o->keep_work)
		bench__trash_put(r->trash, work.ptr, in->instance_id);
	pl_buf_release(&work);
	pl_buf_release(&mirror);
	pl_buf_release(&traj);
	return ok;
}

static void *worker(void *arg)
{
	infer_run *r = arg;
	const bench_infer_opts *o = r->o;

	for (;;) {
		const bench_instance *in;
		infer_out io;
		double t;
		bool ok;

		pthread_mutex_lock(&r->mu);
		if (r->next >= r->n || (o->cancel && atomic_load(o->cancel))) {
			if (r->next < r->n)
				r->stopped = true;
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		in = &r->ds->items[r->pending[r->next++]];
		r->pg.running++;
		pthread_mutex_unlock(&r->mu);

		memset(&io, 0, sizeof(io));
		pl_buf_init(&io.patch, 0);
		pl_buf_init(&io.model, 0);
		io.outcome = "error";
		t = pl_now();
		ok = infer_one(r, in, &io);

		pthread_mutex_lock(&r->mu);
		r->pg.running--;
		r->pg.done++;
		r->pg.instance_id = in->instance_id;
		r->pg.seconds = pl_now() - t;
		r->pg.overhead = 0;
		r->pg.error = NULL;
		r->pg.detail = NULL;
		if (ok) {
			json_array_append_new(r->preds, json_pack("{s:s, s:s, s:s}", "instance_id", in->instance_id,
								  "model_name_or_path", io.model.ptr, "model_patch",
								  io.patch.ptr));
			if (r->write_rc == 0)
				r->write_rc = write_preds(r, &r->write_err);
			r->added++;
			if (!strcmp(io.outcome, "submitted"))
				r->pg.resolved++;
			else
				r->pg.unresolved++;
			r->pg.outcome = io.outcome;
			r->pg.detail = io.detail;
			r->pg.tokens += io.usage.input + io.usage.output;
			r->pg.cost += io.usage.cost;
			if (!io.usage.cost_known && io.usage.calls)
				r->pg.cost_known = false;
		} else if (!strcmp(io.why, "cancelled")) {
			/* not an error of the instance: it runs again next time */
			r->stopped = true;
			r->pg.outcome = "cancelled";
		} else {
			r->pg.errors++;
			r->pg.outcome = "error";
			r->pg.error = io.why;
		}
		r->pg.elapsed = pl_now() - r->t0;
		if (o->on_progress)
			o->on_progress(o->progress_ctx, &r->pg);
		r->pg.instance_id = NULL;
		r->pg.error = NULL;
		r->pg.detail = NULL;
		pthread_mutex_unlock(&r->mu);
		pl_buf_release(&io.patch);
		pl_buf_release(&io.model);
	}
}

/* With o->repos_url: each repository of the instances to run that
 * repos_dir lacks is cloned there once, as owner__name, from
 * URL/owner/name (into a temporary name first, so that a clone cut short
 * is never taken for a repository). */
static int clone_missing(const bench_infer_opts *o, const bench_dataset *ds, const size_t *pending, size_t n,
			 pl_err *err)
{
	pl_buf m = PL_BUF_INIT, name = PL_BUF_INIT, dest = PL_BUF_INIT, tmp = PL_BUF_INIT, url = PL_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const char *repo = ds->items[pending[i]].repo;

		pl_buf_reset(&m);
		if (bench__find_mirror(&m, o->repos_dir, repo, NULL) == 0)
			continue;
		pl_buf_reset(&name);
		pl_buf_reset(&dest);
		pl_buf_reset(&tmp);
		pl_buf_reset(&url);
		bench_model_dir(&name, repo);
		pl_path_join(&dest, o->repos_dir, name.ptr);
		pl_buf_printf(&tmp, "%s/.%s.partial", o->repos_dir, name.ptr);
		pl_buf_puts(&url, o->repos_url);
		while (url.len && url.ptr[url.len - 1] == '/')
			pl_buf_setlen(&url, url.len - 1);
		pl_buf_printf(&url, "/%s", repo);
		if (pl_dir_exists(tmp.ptr) && (rc = pl_rm_rf(tmp.ptr, err)) < 0)
			break;
		pl_log_info(o->log, "bench: cloning %s into %s", url.ptr, dest.ptr);
		if (o->on_progress) {
			bench_progress pg;
			pl_buf note = PL_BUF_INIT;

			memset(&pg, 0, sizeof(pg));
			pl_buf_printf(&note, "cloning %s into %s", url.ptr, dest.ptr);
			pg.note = note.ptr;
			o->on_progress(o->progress_ctx, &pg);
			pl_buf_release(&note);
		}
		if ((rc = tools_git_clone(url.ptr, tmp.ptr, err)) < 0) {
			pl_err_prefix(err, "cloning '%s' (--repos-url)", url.ptr);
			pl_rm_rf(tmp.ptr, NULL);
			break;
		}
		if (rename(tmp.ptr, dest.ptr) < 0)
			rc = pl_err_sys(err, PL_EIO, "renaming '%s' to '%s'", tmp.ptr, dest.ptr);
	}
	pl_buf_release(&m);
	pl_buf_release(&name);
	pl_buf_release(&dest);
	pl_buf_release(&tmp);
	pl_buf_release(&url);
	return rc;
}

int bench_infer(size_t *done, const bench_dataset *ds, const bench_infer_opts *o, pl_err *err)
{
	infer_run r;
	bench__trash trash;
	pl_buf t = PL_BUF_INIT;
	size_t i;
	int rc = 0, workers = o->workers > 0 ? o->workers : 1;

	if (!o->out || !o->settings)
		return pl_err_set(err, PL_EINVAL, "inference needs a predictions file and the agent's settings");
	memset(&r, 0, sizeof(r));
	memset(&trash, 0, sizeof(trash));
	r.ds = ds;
	r.o = o;
	r.preds = json_array();
	pl_buf_init(&r.work, 0);
	pl_buf_init(&r.trajs, 0);
	pthread_mutex_init(&r.mu, NULL);
	pthread_mutex_init(&r.git_lock, NULL);
	if (o->repos_dir && o->repos_url && (rc = pl_mkdir_p(o->repos_dir, 0755, err)) < 0)
		goto done;
	if (!o->repos_dir || !pl_dir_exists(o->repos_dir)) {
		rc = pl_err_set(err, PL_ENOTFOUND,
				o->repos_dir ? "repositories directory '%s' does not exist" :
					       "a repositories directory is needed (--repos DIR, with each repository "
					       "cloned as DIR/owner__name)%s",
				o->repos_dir ? o->repos_dir : "");
		goto done;
	}
	if (o->work_dir)
		pl_buf_puts(&r.work, o->work_dir);
	else
		pl_buf_printf(&r.work, "%s.work", o->out);
	if (o->traj_dir)
		pl_buf_puts(&r.trajs, o->traj_dir);
	else
		pl_buf_printf(&r.trajs, "%s.trajs", o->out);
	if ((rc = pl_mkdir_p(r.work.ptr, 0755, err)) < 0 || (rc = pl_mkdir_p(r.trajs.ptr, 0755, err)) < 0 ||
	    (rc = load_existing(r.preds, o->out, err)) < 0)
		goto done;
	pl_path_join(&t, r.work.ptr, ".trash");
	if ((rc = bench__trash_open(&trash, t.ptr, err)) < 0)
		goto done;
	r.trash = &trash;
	r.pending = pl_xcalloc(ds->n + 1, sizeof(size_t));
	for (i = 0; i < ds->n; i++) {
		if (has_pred(r.preds, ds->items[i].instance_id))
			r.pg.cached++;
		else
			r.pending[r.n++] = i;
	}
	if (o->repos_url && (rc = clone_missing(o, ds, r.pending, r.n, err)) < 0)
		goto done;
	/* a repository missing would fail every instance of it: say so now */
	for (i = 0; i < r.n; i++) {
		pl_buf m = PL_BUF_INIT;

		rc = bench__find_mirror(&m, o->repos_dir, ds->items[r.pending[i]].repo, err);
		pl_buf_release(&m);
		if (rc < 0)
			goto done;
	}
	/* the embedded engine: one copy of the model for every worker */
	if (r.n && !strcmp(o->settings->backend, "engine") && (rc = agent_engine_open(&r.engine, o->settings, err)) < 0)
		goto done;
	r.pg.cost_known = true;
	r.pg.total = r.n;
	r.t0 = pl_now();
	if (o->on_progress)
		o->on_progress(o->progress_ctx, &r.pg);
	rc = bench__run_workers(workers, r.n, worker, &r, err);
	if (rc < 0)
		goto done;
	if (r.write_rc < 0) {
		rc = r.write_rc;
		pl_err_set(err, r.write_rc, "%s", r.write_err.msg);
		goto done;
	}
	if (!pl_file_exists(o->out) && (rc = write_preds(&r, err)) < 0)
		goto done;
	if (done)
		*done = r.added;
	if (r.stopped)
		rc = pl_err_set(err, PL_ECANCELED, "stopped: %zu of %zu instances without a prediction (run again to resume)",
				r.n - r.added, r.n);
done:
	if (r.trash)
		bench__trash_close(r.trash);
	agent_engine_free(r.engine);
	if (r.work.len)
		rmdir(r.work.ptr);
	if (r.trajs.len)
		rmdir(r.trajs.ptr); /* when no instance ran */
	pthread_mutex_destroy(&r.mu);
	pthread_mutex_destroy(&r.git_lock);
	json_decref(r.preds);
	free(r.pending);
	pl_buf_release(&r.work);
	pl_buf_release(&r.trajs);
	pl_buf_release(&t);
	return rc;
}
