/* output.c - a sandboxed command's output, passed to plait's own. */
#include "cli/cli.h"

#include <errno.h>
#include <unistd.h>

/* An on_output callback of sbx_exec_opts and img_run_opts: the command's
 * stdout and stderr bytes go to plait's, unchanged and in order.  A closed
 * descriptor (plait ... | head) drops the rest: the command runs on to its
 * end, and its exit status is still plait's. */
void cli_pass_output(void *ctx, int stream, const char *data, size_t n)
{
	(void)ctx;
	while (n) {
		ssize_t w = write(stream == 2 ? 2 : 1, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		data += w;
		n -= (size_t)w;
	}
}
