/* workers.c - the threads that take instances from a shared queue, for
 * evaluation and inference alike. */
#include "bench-harness/internal.h"

#include <stdlib.h>

int bench__run_workers(int workers, size_t n, void *(*fn)(void *), void *arg, pl_err *err)
{
	pthread_t *th;
	size_t i, started = 0;
	int rc = 0;

	if (!n)
		return 0;
	if (workers < 1)
		workers = 1;
	if ((size_t)workers > n)
		workers = (int)n;
	th = pl_xcalloc((size_t)workers, sizeof(*th));
	for (i = 0; i < (size_t)workers; i++) {
		if (pthread_create(&th[i], NULL, fn, arg) != 0) {
			/* those started take the whole queue between them */
			rc = pl_err_sys(err, PL_ESYS, "cannot start worker %zu", i + 1);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	return rc;
}
