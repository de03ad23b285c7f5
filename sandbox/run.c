/* run.c - the caller's side of a sandbox: one-shot runs and long-lived
 * sessions.
 *
 * The caller prepares everything the child will need (the spec: paths,
 * environment, limits), clone()s it into new user, mount, PID, IPC, UTS
 * (and network) namespaces, writes its uid/gid maps and moves it into its
 * cgroup while the child starts (child.c), then lets it go.  From then on
 * it talks to the sandbox's init over a SOCK_SEQPACKET control socket: the
 * commands to start (sessions), the wait status and rusage of each, a
 * set-up failure; and it reads the commands' output from pipes, feeding
 * stdin, capturing and capping, and enforcing the wall-clock timeout. */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------- starting */

static void spec_release(sbx__spec *sp)
{
	size_t i;

	for (i = 0; sp->bind_dst && i < sp->cfg->nbinds; i++) {
		free(sp->bind_dst[i]);
		free(sp->bind_src[i]);
	}
	/* trees the caller opened and the child did not take */
	for (i = 0; sp->bind_fd && i <= sp->cfg->nbinds; i++)
		if (sp->bind_fd[i] >= 0)
			close(sp->bind_fd[i]);
	free(sp->bind_dst);
	free(sp->bind_src);
	free(sp->bind_fd);
	free(sp->bind_dir);
	free(sp->mirror_fd);
	free(sp->own_dev);
	free(sp->keep_fd);
	free(sp->work_dst);
	free(sp->work_src);
}

/* Open files times processes within a share of the host's one file table
 * (fs.file-max): a sandbox could otherwise leave the host no file to open.
 * nofile is lowered as needed (never below SBX__NOFILE_MIN). */
static void bound_open_files(sbx_limits *lim, uint64_t nproc)
{
	pl_buf b = PL_BUF_INIT;
	unsigned long long fmax = 0;
	uint64_t bound;

	if (!nproc || pl_file_read(&b, "/proc/sys/fs/file-max", 0, NULL) < 0 || sscanf(b.ptr, "%llu", &fmax) != 1 ||
	    !fmax) {
		pl_buf_release(&b);
		return;
	}
	pl_buf_release(&b);
	bound = fmax / SBX__FILE_TABLE_SHARE / nproc;
	if (bound < SBX__NOFILE_MIN)
		bound = SBX__NOFILE_MIN;
	if (!lim->nofile || lim->nofile > bound)
		lim->nofile = bound;
}

/* cg: the sandbox's cgroup, when it has one: memory and processes are then
 * its limits, not RLIMIT_AS (which breaks programs reserving large virtual
 * ranges: Go, the JVM, AddressSanitizer), RLIMIT_NPROC and pid_max.  ids:
 * the host ids it runs as. */
static void spec_prepare(sbx__spec *sp, const sbx_config *cfg, const sbx__cgroup *cg, const sbx__ids *ids)
{
	size_t i, n = cfg->nbinds + 1;

	memset(sp, 0, sizeof(*sp));
	sp->cfg = cfg;
	sp->lim = cfg->limits;
	if (cg && cg->dir[0]) {
		sp->cg = cg;
		sp->lim.memory = 0;
		sp->lim.nproc = 0;
	}
	sp->sync_fd = sp->ctl_fd = sp->fd_in = sp->fd_out = sp->fd_err = -1;
	sp->root_src = cfg->rootfs ? cfg->rootfs : "/";
	if (cfg->workdir) {
		sp->work_dst = sbx__path_normalize(cfg->workdir);
		sp->work_src = sbx__path_normalize(cfg->workdir);
	}
	sp->bind_dst = pl_xcalloc(n, sizeof(char *));
	sp->bind_src = pl_xcalloc(n, sizeof(char *));
	sp->bind_fd = pl_xcalloc(n, sizeof(int));
	sp->bind_dir = pl_xcalloc(n, sizeof(bool));
	for (i = 0; i < n; i++)
		sp->bind_fd[i] = -1;
	/* per bind (the work directory's included) at most one tmpfs copy of
	 * a directory and one tmpfs hiding a directory; the sandbox's own
	 * tmpfs mounts are those and a few more (/tmp, /var/tmp, /run...) */
	sp->mirror_fd = pl_xcalloc(2 * n, sizeof(int));
	sp->own_dev = pl_xcalloc(2 * n + 8, sizeof(dev_t));
	sp->keep_fd = pl_xcalloc(n + 8, sizeof(int));
	for (i = 0; i < cfg->nbinds; i++) {
		sp->bind_dst[i] = sbx__path_normalize(cfg->binds[i].dst);
		sp->bind_src[i] = sbx__path_normalize(cfg->binds[i].src);
	}
	/* /tmp, /dev/shm, /run...: memory no rlimit counts, as much as the
	 * sandbox may use (a cgroup counts it too); and inodes, which cost
	 * kernel memory that the size does not count (empty files): one per
	 * 16 KiB of it, between 4096 and 2^20 */
	if (cfg->limits.memory) {
		uint64_t inodes = cfg->limits.memory / (16 << 10);

		inodes = inodes < 4096 ? 4096 : inodes > (1 << 20) ? (1 << 20) : inodes;
		snprintf(sp->tmpfs_opts, sizeof(sp->tmpfs_opts), "mode=0755,size=%llu,nr_inodes=%llu",
			 (unsigned long long)cfg->limits.memory, (unsigned long long)inodes);
	} else {
		snprintf(sp->tmpfs_opts, sizeof(sp->tmpfs_opts), "mode=0755");
	}
	bound_open_files(&sp->lim, cfg->limits.nproc);
	if (sp->lim.nproc)
		snprintf(sp->pid_max, sizeof(sp->pid_max), "%llu",
			 (unsigned long long)(sp->lim.nproc + 1 < 301 ? 301 : sp->lim.nproc + 1));
	sp->host_uid = ids->uid;
	sp->host_gid = ids->gid;
	sp->lock_fd = ids->lock_fd;
	sp->drop_to = geteuid() == 0;
}

/* Why sbx__source_open refused src (errno says), into err. */
static int source_error(pl_err *err, const char *what, const char *src, bool writable)
{
	char link[PATH_MAX];

	if (errno != ELOOP)
		return pl_err_sys(err, PL_ENOTFOUND, "%s '%s'", what, src);
	if (writable && sbx__first_symlink(link, sizeof(link), src))
		return pl_err_set(err, PL_EINVAL,
				  "%s '%s': '%s' on its way is a symlink: a writable source and the work directory are "
				  "opened without following any (one left by an earlier run in a directory it could "
				  "write could lead anywhere on the host); give the path it leads to",
				  what, src, link);
	return pl_err_set(err, PL_EINVAL,
			  "%s '%s': a symlink lies on its way inside the work directory or a writable bind (it may "
			  "have been left there by an earlier run)",
			  what, src);
}

/* Every source opens as the child will open it (sbx__source_open): a
 * refusal is said here, naming the symlink, before anything starts.  The
 * child opens them again itself, by the same rules. */
static int check_sources(const sbx__spec *sp, pl_err *err)
{
	const sbx_config *cfg = sp->cfg;
	size_t i;
	int fd;

	for (i = 0; i <= cfg->nbinds; i++) {
		const char *src = i < cfg->nbinds ? sp->bind_src[i] : sp->work_src;
		bool writable = i == cfg->nbinds || !cfg->binds[i].ro;

		if (!src)
			continue;
		if ((fd = sbx__source_open(sp, src, writable)) < 0)
			return source_error(err, i < cfg->nbinds ? "bind source" : "workdir", src, writable);
		close(fd);
	}
	return 0;
}

/* As root, the work directory and the writable binds whose owner is not
 * the sandbox's user are bound id-mapped: their owner's files appear as the
 * sandbox user's own, and what it creates there belongs to the owner on the
 * host, as if the owner had made it; the sandbox's own uid owns nothing on
 * the host.  The caller opens these: id-mapping a mount takes privilege in
 * the host's user namespace, which the child has left. */
static int open_mapped_binds(sbx__spec *sp, pl_err *err)
{
	const sbx_config *cfg = sp->cfg;
	struct {
		uid_t uid;
		gid_t gid;
		int fd;
	} ns[4];
	size_t nns = 0, i, j;
	int rc = 0;

	if (!sp->drop_to)
		return 0;
	for (i = 0; i <= cfg->nbinds && rc == 0; i++) {
		const char *src = i < cfg->nbinds ? (cfg->binds[i].ro ? NULL : sp->bind_src[i]) : sp->work_src;
		struct mount_attr ma;
		struct stat st;
		int fd, userns = -1;
		bool own;

		if (!src)
			continue;
		if ((fd = sbx__source_open(sp, src, true)) < 0 || fstat(fd, &st) < 0) {
			rc = source_error(err, i < cfg->nbinds ? "bind source" : "workdir", src, true);
			if (fd >= 0)
				close(fd);
			break;
		}
		if (st.st_uid == sp->host_uid && st.st_gid == sp->host_gid) {
			close(fd); /* the sandbox's own: the child binds it as is */
			continue;
		}
		for (j = 0; j < nns && userns < 0; j++)
			if (ns[j].uid == st.st_uid && ns[j].gid == st.st_gid)
				userns = ns[j].fd;
		own = userns < 0;
		if (own && (rc = sbx__idmap_userns(&userns, st.st_uid, st.st_gid, sp->host_uid, sp->host_gid, err)) < 0) {
			close(fd);
			break;
		}
		if (own && nns < PL_ARRAY_LEN(ns)) {
			ns[nns].uid = st.st_uid;
			ns[nns].gid = st.st_gid;
			ns[nns++].fd = userns;
			own = false;
		}
		memset(&ma, 0, sizeof(ma));
		ma.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
		ma.userns_fd = (uint64_t)userns;
		ma.propagation = MS_PRIVATE;
		sp->bind_fd[i] = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
		if (sp->bind_fd[i] < 0 ||
		    mount_setattr(sp->bind_fd[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &ma, sizeof(ma)) < 0)
			rc = pl_err_sys(err, PL_EUNSUPPORTED,
					"cannot map the owner of '%s' (uid %u) onto the sandbox's user (uid %u) with an "
					"id-mapped mount (Linux 5.12+, and a filesystem that supports them); run the sandbox "
					"as the owner instead (--uid %u)",
					src, (unsigned)st.st_uid, (unsigned)sp->host_uid, (unsigned)st.st_uid);
		sp->bind_dir[i] = S_ISDIR(st.st_mode);
		if (own)
			close(userns);
		close(fd);
	}
	for (j = 0; j < nns; j++)
		close(ns[j].fd);
	return rc;
}

static int write_proc(pid_t pid, const char *file, const char *data, pl_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (sbx__write_file(path, data) < 0)
		return pl_err_sys(err, PL_ESYS, "writing %s for the sandbox", file);
	return 0;
}

/* Root maps inner 0 to host 0 only while the root is assembled (owner
 * checks on the host's files it opens, owners for the files it makes),
 * and the sandbox's ids; the child then leaves for a user namespace of its
 * own that maps the sandbox's ids only (child.c).  An unprivileged
 * caller's child writes its own maps.  Over an overlay root, set-up also
 * maps the owners of the image's files (map_line). */
static void map_line(char *m, size_t n, unsigned id, const sbx_config *cfg)
{
	unsigned base = cfg->rootfs_ids_base, count = cfg->rootfs_ids_count;
	size_t len;

	snprintf(m, n, "0 0 1\n");
	/* an overlay root: its files' owners, for copy-up's chown */
	if (cfg->rootfs_overlay && count && base > 0) {
		len = strlen(m);
		snprintf(m + len, n - len, "%u %u %u\n", base, base, count);
	}
	if (id != 0 && !(cfg->rootfs_overlay && count && base > 0 && id >= base && id - base < count)) {
		len = strlen(m);
		snprintf(m + len, n - len, "%u %u 1\n", id, id);
	}
}

static int write_maps(pid_t pid, const sbx__spec *sp, pl_err *err)
{
	char m[160];
	int rc;

	if (!sp->drop_to)
		return 0;
	map_line(m, sizeof(m), sp->host_uid, sp->cfg);
	if ((rc = write_proc(pid, "uid_map", m, err)) < 0)
		return rc;
	map_line(m, sizeof(m), sp->host_gid, sp->cfg);
	return write_proc(pid, "gid_map", m, err);
}

/* Whether this process runs under a seccomp filter: a plait sandbox's
 * (whose filter refuses new namespaces), or a container runtime's. */
static bool under_seccomp_filter(void)
{
	pl_buf st = PL_BUF_INIT;
	bool yes = pl_file_read(&st, "/proc/self/status", 0, NULL) == 0 && strstr(st.ptr, "\nSeccomp:\t2\n");

	pl_buf_release(&st);
	return yes;
}

/* Clone the sandbox's init.  On success *pid_out is its pid and *ctl the
 * caller's end of the control socket. */
static int start_sandbox(pid_t *pid_out, int *ctl, sbx__spec *sp, pl_err *err)
{
	int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
	int sync[2] = { -1, -1 }, sv[2] = { -1, -1 }, rc = 0, e;
	pid_t pid;

	if (!sp->cfg->network)
		flags |= CLONE_NEWNET;
	if (pipe2(sync, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "creating the sandbox's control channel");
		goto done;
	}
	sp->sync_fd = sync[0];
	sp->ctl_fd = sv[1];
	pid = (pid_t)syscall(SYS_clone, (unsigned long)flags, NULL, NULL, NULL, 0UL);
	if (pid < 0) {
		e = errno;
		if (e == EPERM && under_seccomp_filter())
			rc = pl_err_set(err, PL_EUNSUPPORTED,
					"cannot create the sandbox's namespaces: this process runs under a seccomp filter "
					"that refuses them: inside a plait sandbox, nested sandboxes are refused on purpose "
					"(a container runtime's filter may refuse them too)");
		else
			rc = pl_err_set(err, e == EPERM || e == EINVAL || e == ENOSPC ? PL_EUNSUPPORTED : PL_ESYS,
					"cannot create the sandbox's namespaces: %s (see 'plait doctor')", strerror(e));
		goto done;
	}
	if (pid == 0)
		sbx__child_main(sp);
	close(sync[0]);
	close(sv[1]);
	sync[0] = sv[1] = -1;
	/* Into its cgroup before it runs anything: every process of the
	 * sandbox is then born inside. */
	if ((rc = write_maps(pid, sp, err)) < 0 || (sp->cg && (rc = sbx__cgroup_attach(sp->cg, pid, err)) < 0) ||
	    write(sync[1], "g", 1) != 1) {
		if (!rc)
			rc = pl_err_sys(err, PL_ESYS, "starting the sandbox");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto done;
	}
	*pid_out = pid;
	*ctl = sv[0];
	sv[0] = -1;
done:
	if (sync[0] >= 0)
		close(sync[0]);
	if (sync[1] >= 0)
		close(sync[1]);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return rc;
}

static int report_error(sbx_result *res, const sbx__report *r, const char *cmd, pl_err *err)
{
	if (res && r->type == SBX__MSG_EXEC_FAIL && !strcmp(r->text, "exec"))
		res->exec_error = r->err;
	if (r->type == SBX__MSG_SETUP_FAIL)
		return pl_err_set(err, PL_ESYS, "setting up the sandbox: %s: %s", r->text, strerror(r->err));
	if (r->type == SBX__MSG_EXEC_FAIL && !strcmp(r->text, "exec"))
		return pl_err_set(err, r->err == ENOENT ? PL_ENOTFOUND : PL_ESYS,
				  "cannot run '%s' in the sandbox: %s", cmd, strerror(r->err));
	return pl_err_set(err, PL_ESYS, "cannot run '%s' in the sandbox: %s: %s", cmd, r->text, strerror(r->err));
}

/* ---------------------------------------------------------------- output */

/* Head and tail of a stream: the first cap/2 bytes, a ring of the last
 * cap - cap/2, and the count of everything. */
typedef struct capture {
	pl_buf head;
	char *ring;
	size_t head_max, ring_max, ring_len, ring_pos;
	uint64_t total;
} capture;

static void capture_init(capture *c, size_t cap)
{
	pl_buf_init(&c->head, 0);
	c->head_max = cap / 2;
	c->ring_max = cap - c->head_max;
	c->ring = NULL; /* allocated when output outgrows the head */
	c->ring_len = c->ring_pos = 0;
	c->total = 0;
}

static void capture_add(capture *c, const char *p, size_t n)
{
	size_t k;

	c->total += n;
	if (c->head.len < c->head_max) {
		k = c->head_max - c->head.len < n ? c->head_max - c->head.len : n;
		pl_buf_add(&c->head, p, k);
		p += k;
		n -= k;
	}
	if (!c->ring_max || !n)
		return;
	if (!c->ring)
		c->ring = pl_xmalloc(c->ring_max + 1);
	if (n >= c->ring_max) {
		memcpy(c->ring, p + n - c->ring_max, c->ring_max);
		c->ring_len = c->ring_max;
		c->ring_pos = 0;
		return;
	}
	while (n) {
		k = c->ring_max - c->ring_pos < n ? c->ring_max - c->ring_pos : n;
		memcpy(c->ring + c->ring_pos, p, k);
		c->ring_pos = (c->ring_pos + k) % c->ring_max;
		c->ring_len = c->ring_len + k > c->ring_max ? c->ring_max : c->ring_len + k;
		p += k;
		n -= k;
	}
}

/* Into out; returns whether bytes were cut. */
static bool capture_finish(capture *c, pl_buf *out, uint64_t *total)
{
	uint64_t cut = c->total - c->head.len - c->ring_len;
	size_t start = c->ring_len < c->ring_max ? 0 : c->ring_pos;

	pl_buf_reset(out);
	pl_buf_add(out, c->head.ptr, c->head.len);
	if (cut)
		pl_buf_printf(out, "\n[... %llu bytes cut ...]\n", (unsigned long long)cut);
	if (c->ring_len == c->ring_max && c->ring_max) {
		pl_buf_add(out, c->ring + start, c->ring_max - start);
		pl_buf_add(out, c->ring, start);
	} else if (c->ring_len) {
		pl_buf_add(out, c->ring, c->ring_len);
	}
	*total = c->total;
	pl_buf_release(&c->head);
	free(c->ring);
	c->ring = NULL;
	return cut != 0;
}

/* ---------------------------------------------------------------- shared run loop */

typedef struct run_state {
	int out, err, in, ctl; /* caller's ends; -1 when closed */
	const char *stdin_data; /* what is left to send: the caller's data, or
				 * what was read from src into buf */
	size_t stdin_len, stdin_off;
	int src;   /* streamed stdin: the caller's descriptor; -1 at its end */
	char *buf; /* streamed stdin: one read's worth at a time */
	capture cap_out, cap_err;
	const sbx_exec_opts *opts;
	sbx__report rep;
	bool have_rep;
	bool cancelled; /* opts->cancel was set: the command was killed */
} run_state;

static void read_stream(run_state *st, int *fd, capture *c, int stream)
{
	char buf[65536];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	capture_add(c, buf, (size_t)n);
	if (st->opts && st->opts->on_output)
		st->opts->on_output(st->opts->on_output_ctx, stream, buf, (size_t)n);
}

#define STREAM_BUF 65536

/* Streamed stdin: the next read from the caller's descriptor, or its end
 * (then the command's stdin closes once what was read is sent). */
static void read_source(run_state *st)
{
	ssize_t n = read(st->src, st->buf, STREAM_BUF);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		st->stdin_data = st->buf;
		st->stdin_len = (size_t)n;
		st->stdin_off = 0;
		return;
	}
	st->src = -1; /* the caller's: not ours to close */
	if (st->in >= 0) {
		close(st->in);
		st->in = -1;
	}
}

/* Poll until the report arrives and, when wait_eof, the streams close.
 * on_timeout is called once when the deadline passes.  Streamed stdin
 * holds at most one read in memory: the next read waits until the command
 * has taken it, and when the command stops reading, so does the loop. */
static void run_loop(run_state *st, double deadline, bool wait_eof, void (*on_timeout)(void *), void *arg,
		     bool *timed_out)
{
	struct pollfd pf[6];
	int n, ms, i, cancel = st->opts && st->opts->cancel_fd > 0 ? st->opts->cancel_fd : -1;

	for (;;) {
		/* nothing (more) to send */
		if (st->in >= 0 && st->stdin_off >= st->stdin_len && st->src < 0) {
			close(st->in);
			st->in = -1;
		}
		if (st->have_rep && !wait_eof)
			break;
		if (st->have_rep && st->out < 0 && st->err < 0)
			break;
		if (!st->have_rep && st->ctl < 0)
			break;
		n = 0;
		if (st->out >= 0)
			pf[n++] = (struct pollfd){ st->out, POLLIN, 0 };
		if (st->err >= 0)
			pf[n++] = (struct pollfd){ st->err, POLLIN, 0 };
		if (st->ctl >= 0 && !st->have_rep)
			pf[n++] = (struct pollfd){ st->ctl, POLLIN, 0 };
		if (st->in >= 0 && st->stdin_off < st->stdin_len)
			pf[n++] = (struct pollfd){ st->in, POLLOUT, 0 };
		else if (st->in >= 0 && st->src >= 0)
			pf[n++] = (struct pollfd){ st->src, POLLIN, 0 };
		if (cancel >= 0)
			pf[n++] = (struct pollfd){ cancel, POLLIN, 0 };
		ms = -1;
		if (deadline > 0 && !*timed_out) {
			double left = deadline - pl_now();

			ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
		}
		/* the flag has no descriptor to wait on: look at it every 50 ms
		 * (a signal that sets it also interrupts the poll) */
		if (st->opts && st->opts->cancel && !st->cancelled && (ms < 0 || ms > 50))
			ms = 50;
		if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR)
			break;
		if (st->opts && st->opts->cancel && !st->cancelled && !*timed_out && atomic_load(st->opts->cancel)) {
			st->cancelled = true;
			on_timeout(arg);
		}
		if (deadline > 0 && !*timed_out && !st->cancelled && pl_now() >= deadline) {
			*timed_out = true;
			on_timeout(arg);
		}
		for (i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == cancel) {
				/* once: the run ends as on a timeout, but says so
				 * only as the signal that killed it */
				cancel = -1;
				on_timeout(arg);
			} else if (pf[i].fd == st->out)
				read_stream(st, &st->out, &st->cap_out, 1);
			else if (pf[i].fd == st->err)
				read_stream(st, &st->err, &st->cap_err, 2);
			else if (pf[i].fd == st->ctl) {
				ssize_t r = recv(st->ctl, &st->rep, sizeof(st->rep), 0);

				if (r == sizeof(st->rep))
					st->have_rep = true;
				else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
					close(st->ctl);
					st->ctl = -1;
				}
			} else if (pf[i].fd == st->src && st->in >= 0) {
				read_source(st);
			} else if (pf[i].fd == st->in) {
				ssize_t w = send(st->in, st->stdin_data + st->stdin_off, st->stdin_len - st->stdin_off,
						 MSG_NOSIGNAL);

				if (w > 0)
					st->stdin_off += (size_t)w;
				/* the command closed its stdin (or is gone), or all
				 * is sent and nothing more comes */
				if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
				    (st->stdin_off >= st->stdin_len && st->src < 0)) {
					close(st->in);
					st->in = -1;
					st->src = -1;
				}
			}
		}
	}
}

/* What the command's stdin gets: the caller's data, or what is read from
 * its descriptor as the command takes it; nothing when st->in is -1. */
static void stdin_start(run_state *st, const sbx_exec_opts *o)
{
	st->src = -1;
	st->buf = NULL;
	st->stdin_data = NULL;
	st->stdin_len = st->stdin_off = 0;
	if (st->in < 0 || !o)
		return;
	if (o->stdin_stream) {
		st->src = o->stdin_fd;
		st->buf = pl_xmalloc(STREAM_BUF);
	} else {
		st->stdin_data = o->stdin_data;
		st->stdin_len = o->stdin_len;
	}
}

/* Drain what the streams hold now without waiting (session commands may
 * leave background processes holding the pipes open). */
static void drain(run_state *st)
{
	int *fds[2] = { &st->out, &st->err };
	int i;

	for (i = 0; i < 2; i++) {
		while (*fds[i] >= 0) {
			uint64_t before = (i ? st->cap_err.total : st->cap_out.total);

			read_stream(st, fds[i], i ? &st->cap_err : &st->cap_out, i + 1);
			if (*fds[i] >= 0 && (i ? st->cap_err.total : st->cap_out.total) == before)
				break;
		}
	}
}

static void fill_result(sbx_result *res, run_state *st, const sbx_config *cfg, bool timed_out, double t0)
{
	int status = st->rep.status;

	res->wall_time = pl_now() - t0;
	res->timed_out = timed_out;
	res->cancelled = st->cancelled;
	if (timed_out)
		res->limits_hit |= SBX_LIMIT_TIMEOUT;
	if (st->have_rep && st->rep.type == SBX__MSG_DONE) {
		const struct rusage *ru = &st->rep.ru;

		res->cpu_time = (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
				(double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
		res->peak_rss = (uint64_t)ru->ru_maxrss * 1024;
		if (WIFEXITED(status)) {
			res->exit_code = WEXITSTATUS(status);
		} else if (WIFSIGNALED(status)) {
			res->signal = WTERMSIG(status);
		}
	} else {
		res->signal = SIGKILL; /* init was killed: the whole tree went with it */
	}
	if (res->signal == SIGXCPU ||
	    (res->signal == SIGKILL && cfg->limits.cpu_seconds && res->cpu_time >= (double)cfg->limits.cpu_seconds))
		res->limits_hit |= SBX_LIMIT_CPU;
	if (res->signal == SIGXFSZ)
		res->limits_hit |= SBX_LIMIT_FSIZE;
	res->out_truncated = capture_finish(&st->cap_out, &res->out, &res->out_bytes);
	res->err_truncated = capture_finish(&st->cap_err, &res->err, &res->err_bytes);
	if (res->out_truncated || res->err_truncated)
		res->limits_hit |= SBX_LIMIT_OUTPUT;
}

/* ---------------------------------------------------------------- environment */

static bool env_allowed(const sbx_config *cfg, const char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t n = eq ? (size_t)(eq - entry) : strlen(entry), i, k;

	for (i = 0; i < cfg->nenv_allow; i++) {
		const char *a = cfg->env_allow[i];

		k = strlen(a);
		if (k && a[k - 1] == '*') {
			if (n >= k - 1 && !strncmp(entry, a, k - 1))
				return true;
		} else if (k == n && !strncmp(entry, a, n)) {
			return true;
		}
	}
	return false;
}

static void env_put(char ***v, size_t *n, const char *assignment)
{
	size_t len = strcspn(assignment, "="), i;

	for (i = 0; i < *n; i++) {
		if (!strncmp((*v)[i], assignment, len) && (*v)[i][len] == '=') {
			free((*v)[i]);
			(*v)[i] = pl_xstrdup(assignment);
			return;
		}
	}
	*v = pl_xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = pl_xstrdup(assignment);
	(*v)[*n] = NULL;
}

/* The command's environment: allowlisted caller variables, then the
 * config's settings, then the command's.  NULL-terminated, caller frees. */
static char **build_env(const sbx_config *cfg, const char *const *extra)
{
	char **v = pl_xcalloc(1, sizeof(char *));
	size_t n = 0, i;
	char **e;

	for (e = environ; e && *e; e++)
		if (strchr(*e, '=') && env_allowed(cfg, *e))
			env_put(&v, &n, *e);
	for (i = 0; i < cfg->nenv_set; i++)
		env_put(&v, &n, cfg->env_set[i]);
	for (; extra && *extra; extra++)
		if (strchr(*extra, '=') && **extra != '=')
			env_put(&v, &n, *extra);
	return v;
}

static void strv_free(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

static const char *pick_cwd(const sbx_config *cfg, const sbx_exec_opts *o)
{
	if (o && o->cwd)
		return o->cwd;
	if (cfg->cwd)
		return cfg->cwd;
	return cfg->workdir ? cfg->workdir : "/";
}

static int check_argv(const char *const *argv, pl_err *err)
{
	if (!argv || !argv[0] || !argv[0][0])
		return pl_err_set(err, PL_EINVAL, "no command to run");
	return 0;
}

/* Pipes for one command: in (when there is stdin data), out, err (unless
 * merged).  p[i][0] read end, p[i][1] write end. */
/* want_out false: no output pipes (the command writes to the caller's). */
static int make_pipes(int p[3][2], bool want_in, bool want_out, bool merged, pl_err *err)
{
	int i;

	for (i = 0; i < 3; i++)
		p[i][0] = p[i][1] = -1;
	/* stdin is a socket so that writing to a command that stopped reading
	 * fails with EPIPE instead of raising SIGPIPE in the caller. */
	if ((want_in && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p[0]) < 0) ||
	    (want_out && pipe2(p[1], O_CLOEXEC) < 0) || (want_out && !merged && pipe2(p[2], O_CLOEXEC) < 0)) {
		for (i = 0; i < 3; i++) {
			if (p[i][0] >= 0)
				close(p[i][0]);
			if (p[i][1] >= 0)
				close(p[i][1]);
		}
		return pl_err_sys(err, PL_ESYS, "creating pipes for the command");
	}
	/* the caller's ends: stdin's writing end, the output pipes' reading ends */
	if (p[0][1] >= 0)
		fcntl(p[0][1], F_SETFL, O_NONBLOCK);
	for (i = 1; i < 3; i++)
		if (p[i][0] >= 0)
			fcntl(p[i][0], F_SETFL, O_NONBLOCK);
	return 0;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* The sandbox's cgroup when cfg's limits call for one (or cgroups are
 * required), else none; fails when required and unusable. */
static int cgroup_open(sbx__cgroup *cg, const sbx_config *cfg, pl_err *err)
{
	sbx_cgroup_info info;

	sbx__cgroup_init(cg);
	/* Every sandbox has limits, so this runs for each: where v1 holds the
	 * controllers (hybrid machines), the answer is known at once. */
	if (cfg->cgroup == SBX_CGUSE_AUTO && sbx__cgroup_v1_holds_limits())
		return 0;
	if (sbx_config_uses_cgroup(cfg, &info))
		return sbx__cgroup_create(cg, &info, &cfg->limits, err);
	if (cfg->cgroup == SBX_CGUSE_REQUIRE)
		return pl_err_set(err, PL_EUNSUPPORTED, "cgroups are required but none is usable: %s", info.why);
	return 0;
}

static void kill_pid(void *arg)
{
	kill(*(pid_t *)arg, SIGKILL);
}

/* What can be checked of the per-command options before starting. */
static int check_opts(const sbx_exec_opts *o, const sbx_config *cfg, pl_err *err)
{
	if (!o)
		return 0;
	if (o->cwd && o->cwd[0] != '/')
		return pl_err_set(err, PL_EINVAL, "cwd '%s' is not an absolute path", o->cwd);
	if (o->stdin_stream && o->stdin_data)
		return pl_err_set(err, PL_EINVAL, "stdin: both data and a descriptor to stream were given");
	if (o->stdin_stream && (o->stdin_fd < 0 || fcntl(o->stdin_fd, F_GETFD) < 0))
		return pl_err_set(err, PL_EINVAL, "stdin: descriptor %d is not open", o->stdin_fd);
	if (o->direct_output) {
		if (o->out_fd < 0 || fcntl(o->out_fd, F_GETFD) < 0)
			return pl_err_set(err, PL_EINVAL, "direct output: descriptor %d is not open", o->out_fd);
		if (!cfg->merge_output && (o->err_fd < 0 || fcntl(o->err_fd, F_GETFD) < 0))
			return pl_err_set(err, PL_EINVAL, "direct output: descriptor %d is not open", o->err_fd);
	}
	return 0;
}

static double pick_timeout(const sbx_config *cfg, const sbx_exec_opts *o)
{
	return o && o->timeout > 0 ? o->timeout : cfg->limits.timeout;
}

int sbx_run_opts(sbx_result *res, const sbx_config *cfg, const char *const *argv, const sbx_exec_opts *opts,
		 pl_err *err)
{
	run_state st;
	sbx__spec sp;
	sbx__cgroup cg;
	sbx__ids ids;
	char **envp = NULL;
	int p[3][2], rc, i;
	unsigned cg_hit = 0;
	pid_t pid = -1;
	bool timed_out = false, want_in = opts && (opts->stdin_data || opts->stdin_stream),
	     direct = opts && opts->direct_output;
	double t0 = pl_now(), timeout = pick_timeout(cfg, opts);
	size_t cap = cfg->output_cap ? cfg->output_cap : 1 << 20;

	if ((rc = check_argv(argv, err)) < 0 || (rc = sbx_config_check(cfg, err)) < 0 ||
	    (rc = check_opts(opts, cfg, err)) < 0)
		return rc;
	if ((rc = cgroup_open(&cg, cfg, err)) < 0)
		return rc;
	if ((rc = sbx__ids_acquire(&ids, cfg, err)) < 0) {
		sbx__cgroup_destroy(&cg);
		return rc;
	}
	if ((rc = make_pipes(p, want_in, !direct, cfg->merge_output, err)) < 0) {
		sbx__ids_release(&ids);
		sbx__cgroup_destroy(&cg);
		return rc;
	}
	envp = build_env(cfg, opts ? opts->env : NULL);
	spec_prepare(&sp, cfg, &cg, &ids);
	sp.argv = (char *const *)argv;
	sp.envp = envp;
	sp.cwd = pick_cwd(cfg, opts);
	sp.fd_in = p[0][0];
	if (direct) {
		sp.fd_out = opts->out_fd;
		sp.fd_err = cfg->merge_output ? opts->out_fd : opts->err_fd;
	} else {
		sp.fd_out = p[1][1];
		sp.fd_err = cfg->merge_output ? p[1][1] : p[2][1];
	}
	memset(&st, 0, sizeof(st));
	st.in = st.ctl = -1;
	if ((rc = check_sources(&sp, err)) == 0 && (rc = open_mapped_binds(&sp, err)) == 0)
		rc = start_sandbox(&pid, &st.ctl, &sp, err);
	/* The child's ends now live in the child only. */
	if (p[0][0] >= 0)
		close(p[0][0]);
	if (p[1][1] >= 0)
		close(p[1][1]);
	if (p[2][1] >= 0)
		close(p[2][1]);
	st.in = p[0][1];
	st.out = p[1][0];
	st.err = p[2][0];
	if (rc < 0) {
		for (i = 0; i < 3; i++)
			if ((i == 0 ? st.in : i == 1 ? st.out : st.err) >= 0)
				close(i == 0 ? st.in : i == 1 ? st.out : st.err);
		goto done;
	}
	stdin_start(&st, opts);
	st.opts = opts;
	capture_init(&st.cap_out, cap);
	capture_init(&st.cap_err, cap);
	run_loop(&st, timeout > 0 ? t0 + timeout : 0, true, kill_pid, &pid, &timed_out);
	free(st.buf);
	cg_hit = sbx__cgroup_limits_hit(&cg);
	sbx__cgroup_kill(&cg);
	kill(pid, SIGKILL);
	/* Reaped before returning, even by a caller about to exit: left to its
	 * exit, init would be a zombie of whatever reaps orphans, and a
	 * subreaper (a container's PID 1, a harness) that does not expect it
	 * keeps it forever. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	for (i = 0; i < 2; i++) {
		int *fd = i ? &st.err : &st.out;

		if (*fd >= 0)
			close(*fd);
	}
	if (st.in >= 0)
		close(st.in);
	if (st.ctl >= 0)
		close(st.ctl);
	if (st.have_rep && st.rep.type != SBX__MSG_DONE) {
		capture_finish(&st.cap_out, &res->out, &res->out_bytes);
		capture_finish(&st.cap_err, &res->err, &res->err_bytes);
		rc = report_error(res, &st.rep, argv[0], err);
		goto done;
	}
	fill_result(res, &st, cfg, timed_out, t0);
	res->limits_hit |= cg_hit;
	res->cgroup = cg.dir[0] != '\0';
done:
	sbx__cgroup_destroy(&cg);
	sbx__ids_release(&ids);
	spec_release(&sp);
	strv_free(envp);
	return rc;
}

int sbx_run(sbx_result *res, const sbx_config *cfg, const char *const *argv, pl_err *err)
{
	return sbx_run_opts(res, cfg, argv, NULL, err);
}

/* ---------------------------------------------------------------- sessions */

struct sbx_session {
	sbx_config cfg; /* a deep copy: the init's spec points into it */
	pid_t init;
	int ctl;
	bool dead;
	sbx__cgroup cg;
	sbx__ids ids; /* held until the session is closed */
};

static void config_copy(sbx_config *dst, const sbx_config *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->rootfs = src->rootfs ? pl_xstrdup(src->rootfs) : NULL;
	sbx_config_set_rootfs_overlay(dst, src->rootfs_overlay, src->rootfs_ids_base, src->rootfs_ids_count);
	dst->workdir = src->workdir ? pl_xstrdup(src->workdir) : NULL;
	dst->cwd = src->cwd ? pl_xstrdup(src->cwd) : NULL;
	dst->hostname = src->hostname ? pl_xstrdup(src->hostname) : NULL;
	for (i = 0; i < src->nbinds; i++)
		sbx_config_add_bind(dst, src->binds[i].src, src->binds[i].dst, src->binds[i].ro);
	for (i = 0; i < src->nenv_allow; i++)
		sbx_config_allow_env(dst, src->env_allow[i]);
	for (i = 0; i < src->nenv_set; i++)
		sbx_config_set_env(dst, src->env_set[i], NULL);
	dst->network = src->network;
	dst->limits = src->limits;
	dst->output_cap = src->output_cap;
	dst->merge_output = src->merge_output;
	dst->protect_git = src->protect_git;
	dst->uid = src->uid;
	dst->gid = src->gid;
	dst->cgroup = src->cgroup;
	dst->cgroup_parent = src->cgroup_parent ? pl_xstrdup(src->cgroup_parent) : NULL;
}

int sbx_session_open(sbx_session **out, const sbx_config *cfg, pl_err *err)
{
	sbx_session *s;
	sbx__report r;
	sbx__spec sp;
	ssize_t n;
	int rc;

	if ((rc = sbx_config_check(cfg, err)) < 0)
		return rc;
	s = pl_xcalloc(1, sizeof(*s));
	s->ctl = -1;
	sbx__cgroup_init(&s->cg);
	sbx__ids_init(&s->ids);
	config_copy(&s->cfg, cfg);
	if ((rc = cgroup_open(&s->cg, &s->cfg, err)) < 0 || (rc = sbx__ids_acquire(&s->ids, &s->cfg, err)) < 0)
		goto fail;
	spec_prepare(&sp, &s->cfg, &s->cg, &s->ids);
	sp.session = true;
	if ((rc = check_sources(&sp, err)) == 0 && (rc = open_mapped_binds(&sp, err)) == 0)
		rc = start_sandbox(&s->init, &s->ctl, &sp, err);
	spec_release(&sp);
	if (rc < 0)
		goto fail;
	do
		n = recv(s->ctl, &r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(r) || r.type != SBX__MSG_READY) {
		if (n == sizeof(r))
			rc = report_error(NULL, &r, "session", err);
		else
			rc = pl_err_set(err, PL_ESYS, "the sandbox session died while starting");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sbx_session_close(s);
	return rc;
}

static int send_exec(sbx_session *s, const char *const *argv, char **envp, const char *cwd, int fds[3],
		     pl_err *err)
{
	pl_buf m = PL_BUF_INIT;
	uint32_t argc = 0, envc = 0;
	int type = SBX__MSG_EXEC, rc = 0;
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct msghdr mh = { 0 };
	struct iovec iov;
	struct cmsghdr *cm;
	size_t i;

	while (argv[argc])
		argc++;
	while (envp[envc])
		envc++;
	pl_buf_add(&m, &type, sizeof(type));
	pl_buf_add(&m, &argc, 4);
	pl_buf_add(&m, &envc, 4);
	pl_buf_add(&m, cwd, strlen(cwd) + 1);
	for (i = 0; i < argc; i++)
		pl_buf_add(&m, argv[i], strlen(argv[i]) + 1);
	for (i = 0; i < envc; i++)
		pl_buf_add(&m, envp[i], strlen(envp[i]) + 1);
	if (m.len > SBX__MSG_MAX || (size_t)argc + envc + 2 > SBX__STRV_MAX) {
		rc = pl_err_set(err, PL_ELIMIT, "command and environment too large for a session (%zu bytes, at most %d)",
				m.len, SBX__MSG_MAX);
		goto done;
	}
	iov.iov_base = m.ptr;
	iov.iov_len = m.len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, 3 * sizeof(int));
	if (sendmsg(s->ctl, &mh, MSG_NOSIGNAL) < 0) {
		s->dead = true;
		rc = pl_err_sys(err, PL_EIO, "the sandbox session is gone");
	}
done:
	pl_buf_release(&m);
	return rc;
}

static void kill_session_cmd(void *arg)
{
	sbx_session *s = arg;
	int type = SBX__MSG_KILL;

	if (send(s->ctl, &type, sizeof(type), MSG_NOSIGNAL) < 0)
		kill(s->init, SIGKILL);
}

int sbx_session_exec(sbx_result *res, sbx_session *s, const char *const *argv, const sbx_exec_opts *opts,
		     pl_err *err)
{
	run_state st;
	char **envp = NULL;
	int p[3][2], fds[3], rc, nullfd = -1;
	bool timed_out = false, want_in = opts && (opts->stdin_data || opts->stdin_stream),
	     direct = opts && opts->direct_output;
	double t0 = pl_now(), timeout = pick_timeout(&s->cfg, opts);
	size_t cap = s->cfg.output_cap ? s->cfg.output_cap : 1 << 20;

	if ((rc = check_argv(argv, err)) < 0 || (rc = check_opts(opts, &s->cfg, err)) < 0)
		return rc;
	if (s->dead)
		return pl_err_set(err, PL_EIO, "the sandbox session is gone");
	if ((rc = make_pipes(p, want_in, !direct, s->cfg.merge_output, err)) < 0)
		return rc;
	/* Without stdin data the command reads /dev/null: send the caller's
	 * /dev/null (a device, nothing of the host's to read). */
	if (!want_in && (nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "opening /dev/null");
		goto done;
	}
	envp = build_env(&s->cfg, opts ? opts->env : NULL);
	sbx__cgroup_mark(&s->cg);
	fds[0] = want_in ? p[0][0] : nullfd;
	fds[1] = direct ? opts->out_fd : p[1][1];
	fds[2] = s->cfg.merge_output ? fds[1] : direct ? opts->err_fd : p[2][1];
	rc = send_exec(s, argv, envp, pick_cwd(&s->cfg, opts), fds, err);
	if (p[0][0] >= 0)
		close(p[0][0]);
	if (p[1][1] >= 0)
		close(p[1][1]);
	if (p[2][1] >= 0)
		close(p[2][1]);
	p[0][0] = p[1][1] = p[2][1] = -1;
	if (rc < 0)
		goto done;
	memset(&st, 0, sizeof(st));
	st.in = p[0][1];
	st.out = p[1][0];
	st.err = p[2][0];
	st.ctl = s->ctl;
	p[0][1] = p[1][0] = p[2][0] = -1;
	stdin_start(&st, opts);
	st.opts = opts;
	capture_init(&st.cap_out, cap);
	capture_init(&st.cap_err, cap);
	run_loop(&st, timeout > 0 ? t0 + timeout : 0, false, kill_session_cmd, s, &timed_out);
	free(st.buf);
	if (st.ctl < 0) { /* run_loop closed it: init is gone */
		s->ctl = -1;
		s->dead = true;
	}
	if (st.have_rep)
		drain(&st);
	if (st.out >= 0)
		close(st.out);
	if (st.err >= 0)
		close(st.err);
	if (st.in >= 0)
		close(st.in);
	if (!st.have_rep) {
		s->dead = true;
		capture_finish(&st.cap_out, &res->out, &res->out_bytes);
		capture_finish(&st.cap_err, &res->err, &res->err_bytes);
		rc = pl_err_set(err, PL_EIO, "the sandbox session died while running '%s'", argv[0]);
		goto done;
	}
	if (st.rep.type != SBX__MSG_DONE) {
		capture_finish(&st.cap_out, &res->out, &res->out_bytes);
		capture_finish(&st.cap_err, &res->err, &res->err_bytes);
		rc = report_error(res, &st.rep, argv[0], err);
		goto done;
	}
	fill_result(res, &st, &s->cfg, timed_out, t0);
	res->limits_hit |= sbx__cgroup_limits_hit(&s->cg);
	res->cgroup = s->cg.dir[0] != '\0';
done:
	if (nullfd >= 0)
		close(nullfd);
	close_pair(p[0]);
	close_pair(p[1]);
	close_pair(p[2]);
	strv_free(envp);
	return rc;
}

void sbx_session_close(sbx_session *s)
{
	if (!s)
		return;
	if (s->ctl >= 0)
		close(s->ctl);
	sbx__cgroup_kill(&s->cg);
	if (s->init > 0) {
		kill(s->init, SIGKILL);
		while (waitpid(s->init, NULL, 0) < 0 && errno == EINTR)
			;
	}
	sbx__cgroup_destroy(&s->cg);
	sbx__ids_release(&s->ids);
	sbx_config_release(&s->cfg);
	free(s);
}

/* ---------------------------------------------------------------- results */

void sbx_result_init(sbx_result *res)
{
	memset(res, 0, sizeof(*res));
	pl_buf_init(&res->out, 0);
	pl_buf_init(&res->err, 0);
	res->exit_code = -1;
}

void sbx_result_release(sbx_result *res)
{
	if (!res)
		return;
	pl_buf_release(&res->out);
	pl_buf_release(&res->err);
	pl_buf_init(&res->out, 0);
	pl_buf_init(&res->err, 0);
}

void sbx_result_describe(pl_buf *b, const sbx_result *res, const sbx_config *cfg)
{
	if (res->timed_out)
		pl_buf_printf(b, "timed out after %gs, process tree killed", cfg ? cfg->limits.timeout : 0.0);
	else if (res->signal)
		pl_buf_printf(b, "killed by %s", sigabbrev_np(res->signal) ? sigabbrev_np(res->signal) : "signal");
	else
		pl_buf_printf(b, "exit %d", res->exit_code);
	if (res->signal && !res->timed_out)
		pl_buf_printf(b, " (signal %d)", res->signal);
	if (res->limits_hit & SBX_LIMIT_CPU)
		pl_buf_puts(b, "; CPU time limit reached");
	if (res->limits_hit & SBX_LIMIT_FSIZE)
		pl_buf_puts(b, "; file size limit reached");
	if (res->limits_hit & SBX_LIMIT_MEMORY)
		pl_buf_puts(b, "; memory limit reached (killed by the cgroup's OOM killer)");
	if (res->limits_hit & SBX_LIMIT_NPROC)
		pl_buf_puts(b, "; process limit reached (fork refused at pids.max)");
	if (res->limits_hit & SBX_LIMIT_OUTPUT)
		pl_buf_puts(b, "; output cut to the cap");
}
