/* pool.c - the thread pool the tools share: n items handed out to worker
 * threads through one atomic counter, the caller's thread working too. */
#include "tools/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct par {
	void (*fn)(size_t, void *, int);
	void *arg;
	size_t n;
	atomic_size_t next;
	int worker;
} par;

typedef struct par_thread {
	par *p;
	int id;
} par_thread;

static void *par_main(void *a)
{
	par_thread *t = a;
	size_t i;

	while ((i = atomic_fetch_add(&t->p->next, 1)) < t->p->n)
		t->p->fn(i, t->p->arg, t->id);
	return NULL;
}

void tools__parallel(size_t n, int threads, void (*fn)(size_t i, void *arg, int worker), void *arg)
{
	par p = { fn, arg, n, 0, 0 };
	pthread_t th[TOOLS__MAX_THREADS];
	par_thread pt[TOOLS__MAX_THREADS];
	int k, started;

	if (threads <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c < 1 ? 1 : c > TOOLS__MAX_THREADS ? TOOLS__MAX_THREADS : (int)c;
	}
	if (threads > TOOLS__MAX_THREADS)
		threads = TOOLS__MAX_THREADS;
	if ((size_t)threads > n)
		threads = n ? (int)n : 1;
	atomic_init(&p.next, 0);
	for (k = 0; k < threads; k++)
		pt[k] = (par_thread){ &p, k };
	for (started = 1; started < threads; started++)
		if (pthread_create(&th[started], NULL, par_main, &pt[started]) != 0)
			break;
	par_main(&pt[0]);
	for (k = 1; k < started; k++)
		pthread_join(th[k], NULL);
}
