/* output.c - a sandboxed command's output, passed to plait's own. */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

/* An on_output callback of sbx_exec_opts and img_run_opts: the command's
 * stdout and stderr bytes go to plait's, unchanged and in order.  When
 * plait's side is gone (plait ... | head, SIGPIPE ignored), the rest is
 * dropped, and with ctx a descriptor (const int *) the byte SIGPIPE is
 * written there once per write that failed: the caller's stop pipe, so that
 * the run is torn down as the signal would have ended plait. */
void cli_pass_output(void *ctx, int stream, const char *data, size_t n)
{
	const int *stop_fd = ctx;

	while (n) {
		ssize_t w = write(stream == 2 ? 2 : 1, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EPIPE && stop_fd && *stop_fd >= 0) {
			unsigned char c = SIGPIPE;
			(void)!write(*stop_fd, &c, 1);
		}
		if (w <= 0)
			return;
		data += w;
		n -= (size_t)w;
	}
}
