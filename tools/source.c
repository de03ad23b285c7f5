/* source.c - one source file read whole for parsing or searching. */
#include "tools/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tools__read_fd(pl_buf *b, int fd, size_t max)
{
	struct stat st;
	size_t len = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	pl_buf_reset(b);
	pl_buf_grow(b, (size_t)st.st_size);
	/* the size fstat gave: a file growing meanwhile is read as it was */
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, b->ptr + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			pl_buf_reset(b);
			return -e;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	b->len = len;
	b->ptr[len] = 0;
	return 0;
}

bool tools__read_source(pl_buf *b, const tools_ctx *ctx, const char *rel)
{
	int fd = tools__open(ctx, rel, O_RDONLY, TOOLS__NO_SYMLINKS), rc;

	if (fd < 0)
		return false;
	rc = tools__read_fd(b, fd, 64u << 20);
	close(fd);
	return rc == 0 && !tools__is_binary(b->ptr, b->len);
}

int tools__read_named(pl_buf *b, const tools_ctx *ctx, const char *rel, int how, size_t max, pl_err *err)
{
	int fd = tools__open(ctx, rel, O_RDONLY, how), rc = fd;

	if (fd >= 0) {
		rc = tools__read_fd(b, fd, max);
		close(fd);
	}
	switch (rc) {
	case 0:
		return 0;
	case -ENOENT:
		return pl_err_set(err, PL_ENOTFOUND, "'%s' does not exist", rel);
	case -ELOOP:
		if (how == TOOLS__NO_SYMLINKS)
			return pl_err_set(err, PL_EINVAL,
					  "'%s' is not a readable text file: it is a symlink, or a directory on its way is", rel);
		/* fall through */
	case -EXDEV:
		return pl_err_set(err, PL_EINVAL, "path '%s' leads outside the repository through a symlink", rel);
	case -EISDIR:
		return pl_err_set(err, PL_EINVAL, "'%s' is a directory, not a file", rel);
	case -EINVAL:
		return pl_err_set(err, PL_EINVAL, "'%s' is not a regular file (a FIFO, a socket or a device): it is not read",
				  rel);
	case -EFBIG:
		return pl_err_set(err, PL_ELIMIT, "'%s' is larger than %zu MiB, more than is read whole", rel, max >> 20);
	default:
		return pl_err_set(err, PL_EIO, "reading '%s': %s", rel, strerror(-rc));
	}
}
