/* traj.c - trajectories written as the run goes: JSON Lines, one record
 * per write(2) on an O_APPEND file, so that a run killed at any moment
 * leaves every record it had finished (the kernel keeps what was
 * written; only the machine crashing could lose the last ones, and the
 * file is fsync'ed at its end record). */
#define _GNU_SOURCE /* flock */
#include "agent/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A killed run may have left its last record cut: what is appended must
 * start on a line of its own, or the two would make one unreadable line.
 * The file is cut back to just after its last newline. */
static int cut_torn_line(agent__traj *t, const char *path, pl_err *err)
{
	char buf[4096];
	off_t end = t->size;

	while (end > 0) {
		size_t n = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
		ssize_t got = pread(t->fd, buf, n, end - (off_t)n);

		if (got != (ssize_t)n)
			return pl_err_sys(err, PL_EIO, "reading the trajectory '%s'", path);
		while (n && buf[n - 1] != '\n')
			n--, end--;
		if (n)
			break;
	}
	if (end < t->size) {
		if (ftruncate(t->fd, end) < 0)
			return pl_err_sys(err, PL_EIO, "cutting the unfinished last line of '%s'", path);
		t->size = end;
	}
	return 0;
}

int agent__traj_open(agent__traj *t, const char *path, bool append, pl_err *err)
{
	pl_buf dir = PL_BUF_INIT;
	char *slash;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	pl_buf_puts(&dir, path);
	if ((slash = strrchr(dir.ptr, '/')) && slash != dir.ptr) {
		*slash = '\0';
		/* a trajectory holds the conversation, every file shown and
		 * the commands' output: the person's alone */
		if ((rc = pl_mkdir_p(dir.ptr, 0700, err)) < 0)
			goto done;
	}
	/* truncated once locked, not by open: the file may be another run's */
	t->fd = open(path, (append ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		rc = pl_err_sys(err, PL_EIO, "trajectory '%s'", path);
		goto done;
	}
	{
		struct stat st;
		bool reg = fstat(t->fd, &st) == 0 && S_ISREG(st.st_mode);

		/* one writer per file, for as long as it is open: two chats
		 * resuming one session would interleave their records (a
		 * device, /dev/null, is anyone's) */
		if (reg && flock(t->fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				rc = pl_err_set(err, PL_EEXISTS,
						"'%s' is open in another plait (it holds the file's lock); two writers "
						"would interleave their records",
						path);
			else
				rc = pl_err_sys(err, PL_EIO, "locking trajectory '%s'", path);
		} else if (reg && !append && ftruncate(t->fd, 0) < 0) {
			rc = pl_err_sys(err, PL_EIO, "trajectory '%s'", path);
		}
		if (rc < 0) {
			close(t->fd);
			t->fd = -1;
			goto done;
		}
		t->size = reg && append ? st.st_size : 0;
	}
	if (append && (rc = cut_torn_line(t, path, err)) < 0) {
		close(t->fd);
		t->fd = -1;
		goto done;
	}
	t->path = pl_xstrdup(path);
done:
	pl_buf_release(&dir);
	return rc;
}

int agent__traj_write(agent__traj *t, const char *type, json_t *fields, pl_err *err)
{
	json_t *rec = json_object();
	char when[40];
	pl_buf line = PL_BUF_INIT;
	const char *k;
	json_t *v;
	size_t off = 0;
	int rc = 0;

	if (t->fd < 0 || t->failed) {
		json_decref(fields);
		json_decref(rec);
		return 0;
	}
	agent__iso_time(when);
	pl_json_set(rec, "type", json_string(type));
	pl_json_set(rec, "time", json_string(when));
	json_object_foreach(fields, k, v)
		pl_json_set(rec, k, json_incref(v));
	json_decref(fields);
	pl_json_dump(&line, rec, false);
	json_decref(rec);
	pl_buf_putc(&line, '\n');
	while (off < line.len) {
		ssize_t n = write(t->fd, line.ptr + off, line.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = pl_err_sys(err, PL_EIO, "writing the trajectory '%s'", t->path);
			/* no torn record for a reader, or for a resumed session
			 * to append after; nothing more is written */
			if (off && ftruncate(t->fd, t->size) < 0)
				off = 0; /* best effort: a reader drops a torn last line anyway */
			t->failed = true;
			goto done;
		}
		off += (size_t)n;
	}
	t->size += (off_t)line.len;
	t->records++;
	if (!strcmp(type, "end"))
		fsync(t->fd);
done:
	pl_buf_release(&line);
	return rc;
}

void agent__traj_close(agent__traj *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->path);
	t->path = NULL;
}
