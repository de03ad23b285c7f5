/* source.c - one source file read whole for parsing or searching. */
#include "tools/internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

bool tools__read_source(pl_buf *b, const tools_ctx *ctx, const char *rel)
{
	pl_buf p = PL_BUF_INIT;
	struct stat st;
	int fd;
	size_t len = 0;

	pl_path_join(&p, ctx->root, rel);
	fd = open(p.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	pl_buf_release(&p);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		close(fd);
		return false;
	}
	pl_buf_reset(b);
	pl_buf_grow(b, (size_t)st.st_size);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, b->ptr + len, (size_t)st.st_size - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	b->len = len;
	b->ptr[len] = 0;
	return !tools__is_binary(b->ptr, len);
}
