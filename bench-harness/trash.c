/* trash.c - removing the instances' checkouts off their critical path: an
 * instance renames its work directory into the run's trash (one rename)
 * and a cleaner thread deletes it while the next tests run.  On this
 * development VM's ext4 (mounted with discard) deleting a small checkout
 * takes 100-150 ms, most of the harness's own time per instance. */
#include "bench-harness/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *cleaner(void *arg)
{
	bench__trash *t = arg;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->n) {
			char *path = t->paths[--t->n];

			pthread_mutex_unlock(&t->mu);
			pl_rm_rf(path, NULL);
			free(path);
			pthread_mutex_lock(&t->mu);
		}
		if (t->closing)
			break;
		pthread_cond_wait(&t->cv, &t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int bench__trash_open(bench__trash *t, const char *dir, pl_err *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	if ((rc = pl_mkdir_p(dir, 0755, err)) < 0)
		return rc;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (pthread_create(&t->thread, NULL, cleaner, t) != 0) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		return pl_err_sys(err, PL_ESYS, "cannot start the clean-up thread");
	}
	t->running = true;
	return 0;
}

void bench__trash_put(bench__trash *t, const char *path, const char *name)
{
	pl_buf to = PL_BUF_INIT;

	if (!t || !t->running) {
		pl_rm_rf(path, NULL);
		return;
	}
	pl_path_join(&to, t->dir, name);
	if (rename(path, to.ptr) < 0) {
		/* left over from a run killed earlier: delete it now */
		pl_rm_rf(to.ptr, NULL);
		if (rename(path, to.ptr) < 0) {
			pl_rm_rf(path, NULL);
			pl_buf_release(&to);
			return;
		}
	}
	pthread_mutex_lock(&t->mu);
	t->paths = pl_xrealloc(t->paths, (t->n + 1) * sizeof(char *));
	t->paths[t->n++] = pl_buf_detach(&to, NULL);
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void bench__trash_close(bench__trash *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->closing = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t->paths);
	rmdir(t->dir);
	t->running = false;
}
