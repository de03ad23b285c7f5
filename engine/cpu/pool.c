/* pool.c - the small thread pool a model owns (no global state): workers
 * wait on a generation counter and claim pieces of a range under a mutex. */
#include "engine/cpu/cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct worker_arg {
	eng__pool *p;
	int id;
} worker_arg;

static void work(eng__pool *p, int id)
{
	for (;;) {
		size_t b, e;

		pthread_mutex_lock(&p->mu);
		b = p->next;
		if (b >= p->total) {
			pthread_mutex_unlock(&p->mu);
			return;
		}
		e = b + p->grain < p->total ? b + p->grain : p->total;
		p->next = e;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, b, e, id);
	}
}

static void *worker_main(void *arg)
{
	worker_arg *wa = arg;
	eng__pool *p = wa->p;
	int id = wa->id;
	uint64_t seen = 0;

	free(wa);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->cv_work, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		work(p, id);
		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
			pthread_cond_signal(&p->cv_done);
		pthread_mutex_unlock(&p->mu);
	}
}

int eng__pool_init(eng__pool *p, int n, pl_err *err)
{
	int i, e;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	p->n = 1;
	p->threads = pl_xcalloc((size_t)n, sizeof(*p->threads));
	for (i = 1; i < n; i++) {
		worker_arg *wa = pl_xmalloc(sizeof(*wa));

		wa->p = p;
		wa->id = i;
		if ((e = pthread_create(&p->threads[i], NULL, worker_main, wa)) != 0) {
			free(wa);
			errno = e;
			eng__pool_release(p);
			return pl_err_sys(err, PL_ESYS, "cannot start worker thread %d", i);
		}
		p->n = i + 1;
	}
	return 0;
}

void eng__pool_release(eng__pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	for (i = 1; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_work);
	pthread_cond_destroy(&p->cv_done);
	memset(p, 0, sizeof(*p));
}

void eng__pool_run(eng__pool *p, eng__pool_fn fn, void *ctx, size_t total, size_t grain)
{
	if (grain == 0)
		grain = 1;
	if (p->n <= 1 || total <= grain) {
		fn(ctx, 0, total, 0);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->total = total;
	p->grain = grain;
	p->next = 0;
	p->pending = p->n - 1;
	p->gen++;
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	work(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->pending > 0)
		pthread_cond_wait(&p->cv_done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
