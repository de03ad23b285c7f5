/* internal.h - what the sandbox's own files share; not part of the API.
 *
 * Names declared here carry the internal prefix sbx__ (two underscores),
 * so that the library's exported symbols tell the API (sbx_, declared in
 * sandbox.h) from the helpers its files call across each other. */
#ifndef PLAIT_SANDBOX_INTERNAL_H
#define PLAIT_SANDBOX_INTERNAL_H

#include "sandbox/sandbox.h"

#include <limits.h>
#include <linux/filter.h>
#include <sys/types.h>

/* Install the sandbox's seccomp filter on the calling thread (after
 * no_new_privs).  Returns 0 or an errno value; async-signal-safe. */
int sbx__seccomp_install(void);
/* The filter's program, written into out (at most cap instructions; the
 * program needs fewer than SBX__SECCOMP_MAX).  Returns its length, or
 * -EOVERFLOW.  Async-signal-safe; the tests run it through an interpreter. */
#define SBX__SECCOMP_MAX 512
int sbx__seccomp_build(struct sock_filter *out, size_t cap);

/* A sandbox's own cgroup v2 (cgroup.c); dir "" when there is none. */
typedef struct sbx__cgroup {
	char dir[PATH_MAX];
	uint64_t oom_kills, pids_max; /* event counts at sbx__cgroup_mark() */
} sbx__cgroup;

void sbx__cgroup_init(sbx__cgroup *cg);
/* Create <info->parent>/plait-<pid>-<n> with lim's memory (swap 0) and
 * nproc, after moving plait into its leaf or enabling the controllers
 * where info says so. */
int sbx__cgroup_create(sbx__cgroup *cg, const sbx_cgroup_info *info, const sbx_limits *lim, pl_err *err);
/* Move pid (the sandbox's init, before it runs anything) into the cgroup. */
int sbx__cgroup_attach(const sbx__cgroup *cg, pid_t pid, pl_err *err);
/* Remember the event counts; sbx__cgroup_limits_hit() reports the
 * SBX_LIMIT_MEMORY and SBX_LIMIT_NPROC hit since. */
void sbx__cgroup_mark(sbx__cgroup *cg);
unsigned sbx__cgroup_limits_hit(const sbx__cgroup *cg);
/* Kill every process in it (cgroup.kill); no-op without a cgroup. */
void sbx__cgroup_kill(const sbx__cgroup *cg);
/* Whether a cgroup v1 hierarchy holds the memory or pids controller (from
 * /proc/self/cgroup, one small read): then no cgroup v2 can have it, and
 * sbx_cgroup_probe's answer is known without its walk. */
bool sbx__cgroup_v1_holds_limits(void);
/* Kill, wait until empty, remove.  No-op without a cgroup. */
void sbx__cgroup_destroy(sbx__cgroup *cg);

/* ---------------------------------------------------------------- the child
 * Shared by the caller's side (run.c), the child's life (child.c) and the
 * assembly of its root (root.c). */

#include <sys/resource.h>

#define SBX__NOBODY 65534
/* Per-user counts the sandbox is charged to its creator's (docs/SANDBOX.md,
 * "Limits"): POSIX message queue bytes (the host's default for a user is
 * 800 KiB; one queue of the default size takes about 80), pending
 * signals. */
#define SBX__MSGQUEUE_MAX (256 * 1024)
#define SBX__SIGPENDING_MAX 4096
/* Open files times processes stays under this share of fs.file-max (the
 * host's one file table), nofile lowered as needed, never below
 * SBX__NOFILE_MIN. */
#define SBX__FILE_TABLE_SHARE 2
#define SBX__NOFILE_MIN 256
/* Where the new root is assembled before pivot_root makes it "/": the
 * host's /tmp (as the child's private mount namespace sees it), which the
 * new root hides.  Every bind source is opened as a detached tree before
 * that, so a source under /tmp is still found. */
#define SBX__STAGE "/tmp"
#define SBX__MSG_MAX (256 * 1024) /* largest EXEC request: argv + env + cwd */
#define SBX__STRV_MAX 8192        /* most argv + env entries in one request */

enum sbx__msg_type {
	SBX__MSG_READY = 1,
	SBX__MSG_SETUP_FAIL,
	SBX__MSG_EXEC_FAIL,
	SBX__MSG_DONE,
	SBX__MSG_EXEC,
	SBX__MSG_KILL
};

/* init -> caller */
typedef struct sbx__report {
	int type;
	int err;    /* errno of a failed step */
	int status; /* wait status of the worker */
	struct rusage ru;
	char text[200]; /* the failed step, for the message */
} sbx__report;

/* Everything the child needs, prepared by the caller before clone(): the
 * child allocates nothing (the caller may have threads, and the child must
 * not touch malloc's locks). */
typedef struct sbx__spec {
	const sbx_config *cfg;
	bool session;
	bool drop_to; /* root caller: setresuid/setresgid to host_uid/gid */
	uid_t host_uid;
	gid_t host_gid;
	int sync_fd, ctl_fd;
	/* as root, the pool uid's lock (sbx__ids), kept open by init so that
	 * the uid stays taken while anything of the sandbox lives, whatever
	 * becomes of the caller; -1 */
	int lock_fd;
	/* one-shot run: the command */
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int fd_in, fd_out, fd_err; /* -1 = /dev/null (stdin) */
	/* paths built by the caller: destinations inside the sandbox
	 * (normalized: no "//", "." or trailing "/"), sources as given */
	const char *root_src;
	char **bind_dst;
	char *work_dst;
	/* the child's, written while it assembles the root (room made by the
	 * caller): the binds' detached trees (work directory last) and whether
	 * each is a directory; the tmpfs copies made to hold new mount points
	 * (at most one per bind); the st_dev of each tmpfs of its own */
	int *bind_fd;
	bool *bind_dir;
	int *mirror_fd;
	dev_t *own_dev;
	/* the sources, normalized: those inside the work directory or a
	 * writable bind are opened without following symlinks there */
	char **bind_src;
	char *work_src;
	/* descriptors the child keeps when it closes the caller's (room for
	 * its pipes and the trees the caller opened) */
	int *keep_fd;
	char pid_max[32];
	char tmpfs_opts[96]; /* the private places' tmpfs: mode, size, inodes */
	sbx_limits lim;         /* the rlimits: cfg's, less what a cgroup enforces */
	const sbx__cgroup *cg;  /* caller side: the cgroup init goes into, or NULL */
} sbx__spec;

/* A failed step of the child's set-up: what it was doing, on which path
 * (may be NULL); errno says why. */
typedef struct sbx__fail {
	const char *what;
	const char *path;
} sbx__fail;

/* The child: set up the sandbox described by sp and become its init.
 * Never returns; a failed step is reported over sp->ctl_fd. */
PL_NORETURN void sbx__child_main(sbx__spec *sp);

/* In the child, in its new mount namespace: assemble the sandbox's root
 * on SBX__STAGE (root, /proc, /dev, /tmp, the work directory, the binds).
 * Returns 0, or -1 with *f and errno saying which step failed. */
int sbx__root_assemble(const sbx__spec *sp, sbx__fail *f);

/* Write data to an existing file (a /proc file); 0 or -1 with errno.
 * Async-signal-safe. */
int sbx__write_file(const char *path, const char *data);

/* An O_PATH descriptor of the bind source (or work directory) path, a
 * normalized absolute path.  A writable source (writable: a writable bind
 * or the work directory) resolves with no symlink in any component: one
 * may have been left by an earlier run in a directory it could write,
 * wherever that was.  A read-only source resolves with no symlink below
 * the work directory or a writable bind it lies in (sp's, by their paths),
 * for the same reason; elsewhere it is the caller's path and resolves as
 * given.  -1 with errno (ELOOP for a symlink refused).  Async-signal-safe:
 * the child and the caller use it. */
int sbx__source_open(const sbx__spec *sp, const char *path, bool writable);
/* For the message when sbx__source_open refused path (ELOOP): the first
 * component of path that is a symlink, written into out; false when none
 * is found (it changed meanwhile). */
bool sbx__first_symlink(char *out, size_t cap, const char *path);

/* path (absolute) without "//", "/." or a trailing "/"; the caller frees.
 * ".." is kept: sbx_config_check refuses it in destinations. */
char *sbx__path_normalize(const char *path);

/* ---------------------------------------------------------------- ids (ids.c) */

/* The host ids a sandbox runs as (docs/SANDBOX.md, "Identity"). */
typedef struct sbx__ids {
	uid_t uid;
	gid_t gid;
	int lock_fd; /* as root, the pool slot's lock, held while the sandbox
		      * lives; -1 */
} sbx__ids;

void sbx__ids_init(sbx__ids *ids);
/* As root: cfg's uid, else a free uid (and gid) of the pool, locked until
 * sbx__ids_release.  Unprivileged: the caller's (or cfg's, which
 * sbx_config_check allows only when equal). */
int sbx__ids_acquire(sbx__ids *ids, const sbx_config *cfg, pl_err *err);
void sbx__ids_release(sbx__ids *ids);
/* A user namespace mapping from_uid/from_gid to to_uid/to_gid, for an
 * id-mapped mount (*fd_out: its /proc/PID/ns/user, the caller closes).
 * Root only. */
int sbx__idmap_userns(int *fd_out, uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid, pl_err *err);

#endif /* PLAIT_SANDBOX_INTERNAL_H */
