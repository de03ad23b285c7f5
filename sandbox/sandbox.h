/*
 * sandbox.h - running untrusted commands isolated from the host.
 *
 * Depends on common/ only.  Prefix: sbx_.
 *
 * A sandbox is a tree of processes in fresh user, mount, PID, IPC, UTS and
 * (unless the network is shared) network namespaces, rooted in the host's
 * root mounted read-only (or an unpacked image root filesystem), with a
 * private /tmp, a fresh /proc, a minimal /dev, every capability dropped,
 * no_new_privs, a seccomp filter, rlimits, and captured, capped output.
 * Memory and process limits go through a cgroup v2 of the sandbox's own
 * (memory.max, pids.max) when the machine offers a writable one with the
 * memory and pids controllers, else through rlimits (RLIMIT_AS per process,
 * RLIMIT_NPROC, the PID namespace's pid_max); sbx_cgroup_probe() says which.
 * docs/SANDBOX.md describes what is and is not contained.
 *
 * Two ways to run:
 *  - sbx_run(): one command in a fresh sandbox, torn down when it ends
 *    (every process left behind is killed with the PID namespace).
 *  - sbx_session_open() + sbx_session_exec(): a long-lived sandbox in which
 *    many commands run one after another with the same root, binds and
 *    environment; set-up is paid once.  sbx_session_close() kills all.
 *
 * Nothing here is thread-safe per object; distinct sessions may be used from
 * distinct threads.
 */
#ifndef PLAIT_SANDBOX_H
#define PLAIT_SANDBOX_H

#include <stdatomic.h>

#include "common/common.h"

typedef enum sbx_cgroup_kind {
	SBX_CGROUP_NONE = 0, /* no cgroup filesystem mounted */
	SBX_CGROUP_V1,       /* legacy hierarchies only: plait falls back to rlimits */
	SBX_CGROUP_V2,       /* the unified hierarchy alone, at /sys/fs/cgroup */
	SBX_CGROUP_HYBRID    /* v1 hierarchies plus a cgroup2 mount (usually
			      * /sys/fs/cgroup/unified) */
} sbx_cgroup_kind;

/* Where the sandboxes' cgroups go (docs/SANDBOX.md, "cgroups"). */
typedef enum sbx_cgroup_mode {
	SBX_CGMODE_NONE = 0, /* no usable cgroup v2: rlimits */
	SBX_CGMODE_PARENT,   /* children of the configured parent directory */
	SBX_CGMODE_OWN,      /* children of plait's own cgroup, the hierarchy's
			      * root (a container's private cgroup namespace
			      * with nothing else in it, or the host's root) */
	SBX_CGMODE_LEAF,     /* plait is alone in its cgroup: it moves itself
			      * into the leaf plait-<pid> and the sandboxes go
			      * beside it (systemd-run --scope -p Delegate=yes) */
	SBX_CGMODE_ANCESTOR  /* children of the nearest ancestor of plait's
			      * cgroup that already enables memory and pids for
			      * its children and that plait may write */
} sbx_cgroup_mode;

typedef struct sbx_cgroup_info {
	sbx_cgroup_kind kind;
	sbx_cgroup_mode mode;
	char mount[256];  /* the cgroup2 mount point; "" when none */
	char own[512];    /* plait's own cgroup directory; "" when unknown */
	char parent[512]; /* where sandbox cgroups are created (mode != NONE) */
	bool enable;      /* memory and pids must first be enabled in the
			   * parent's cgroup.subtree_control */
	char why[640];    /* mode NONE: the file or controller that is missing,
			   * and what would enable cgroups */
} sbx_cgroup_info;

/*
 * Find where sandbox cgroups can be created, without changing anything.
 * root prefixes every path read (/proc/self/mountinfo, /proc/self/cgroup,
 * the cgroup directories): NULL or "" for the real system, a fixture tree
 * in tests; the paths in info include it.  parent: a configured parent
 * directory (given without root), or NULL to choose one.
 */
void sbx_cgroup_probe(sbx_cgroup_info *out, const char *root, const char *parent);
const char *sbx_cgroup_mode_name(sbx_cgroup_mode m);

typedef struct sbx_caps {
	bool is_root;           /* effective uid 0 */
	bool userns;            /* a user namespace could be created here */
	bool all_namespaces;    /* user+mount+pid+net+ipc+uts in one unshare */
	char userns_error[128]; /* strerror of the failed unshare, if any */
	bool seccomp;           /* seccomp filters are available */
	sbx_cgroup_kind cgroup;
	bool cgroup_writable;   /* sandbox cgroups with memory and pids can be
				 * created (cginfo.mode != SBX_CGMODE_NONE) */
	char cgroup_path[512];  /* our own cgroup v2 directory, when known */
	sbx_cgroup_info cginfo; /* sbx_cgroup_probe() with no configured parent */
} sbx_caps;

/* Probe the kernel by trying, in a short-lived child, what the sandbox
 * needs.  Fails only when the probe itself cannot run (fork fails). */
int sbx_caps_probe(sbx_caps *out, pl_err *err);

const char *sbx_cgroup_kind_name(sbx_cgroup_kind k);

/* ---------------------------------------------------------------- config */

/* A host path made visible inside the sandbox. */
typedef struct sbx_bind {
	char *src; /* host path (must exist) */
	char *dst; /* absolute path inside the sandbox */
	bool ro;   /* read-only */
} sbx_bind;

/* Resource limits; 0 means "no limit" for every field. */
typedef struct sbx_limits {
	double timeout;         /* wall-clock seconds; the whole tree is killed */
	uint64_t cpu_seconds;   /* RLIMIT_CPU per process */
	uint64_t address_space; /* RLIMIT_AS per process, bytes */
	uint64_t memory;        /* bytes of the whole tree: the cgroup's
				 * memory.max (swap off); without a cgroup,
				 * folded into RLIMIT_AS (the smaller wins) */
	uint64_t nofile;        /* RLIMIT_NOFILE; lowered at run time so that
				 * nofile x nproc stays within half of the
				 * host's fs.file-max (never below 256) */
	uint64_t nproc;         /* processes of the whole tree, init included:
				 * the cgroup's pids.max; without a cgroup,
				 * RLIMIT_NPROC and the PID namespace's pid_max
				 * (Linux 6.14+) */
	uint64_t fsize;         /* RLIMIT_FSIZE, bytes: each file, each memfd */
} sbx_limits;

/* Whether memory and nproc limits may use a cgroup v2. */
typedef enum sbx_cgroup_use {
	SBX_CGUSE_AUTO = 0, /* when memory or nproc is limited and a usable
			     * cgroup v2 exists; rlimits otherwise */
	SBX_CGUSE_OFF,      /* rlimits only */
	SBX_CGUSE_REQUIRE   /* always a cgroup; fail when none is usable */
} sbx_cgroup_use;

/*
 * What a sandbox looks like.  Fill with sbx_config_init() and/or
 * sbx_profile_load(); the strings and arrays belong to the config and are
 * freed by sbx_config_release().  Change them through the setters below.
 */
typedef struct sbx_config {
	char *rootfs;         /* image root directory; NULL = host root, read-only */
	char *rootfs_overlay; /* with rootfs: a host directory for this
			       * sandbox's changes to it; the root is then an
			       * overlay, writable, of rootfs (never written)
			       * and DIR/upper, with DIR/work its work
			       * directory (both created when missing); NULL =
			       * rootfs read-only */
	uint32_t rootfs_ids_base, rootfs_ids_count; /* root callers: the host
			       * ids owning rootfs's files, mapped while the
			       * overlay is mounted so that files copied up
			       * keep their owners (an image store's shifted
			       * range); 0 = none */
	sbx_bind *binds;      /* in mount order */
	size_t nbinds;
	char *workdir;        /* host directory bound read-write at the same
			       * path and the default cwd; NULL = none */
	char *cwd;            /* start directory inside; NULL = workdir or / */
	char **env_allow;     /* names kept from the caller's environment; a
			       * trailing '*' matches a prefix */
	size_t nenv_allow;
	char **env_set;       /* "NAME=VALUE", set after the allowlist */
	size_t nenv_set;
	char *hostname;       /* UTS name inside; NULL = "sandbox" */
	bool network;         /* share the host's network; default: private lo */
	sbx_limits limits;
	size_t output_cap;    /* bytes kept per stream (head and tail); 0 = 1 MiB */
	bool merge_output;    /* stdout and stderr into one stream, in order */
	bool protect_git;     /* the work directory's .git (a directory or a
			       * gitfile) read-only inside: nothing the sandbox
			       * runs can plant configuration or hooks that git
			       * on the host would later execute
			       * (core.fsmonitor, hooks/, commondir); default
			       * true */
	int64_t uid, gid;     /* host ids to run as; -1 = the caller's, or
			       * 65534 (nobody) when the caller is root */
	sbx_cgroup_use cgroup;
	char *cgroup_parent;  /* cgroup v2 directory for the sandboxes'
			       * cgroups; NULL = chosen by sbx_cgroup_probe */
} sbx_config;

/* Defaults: host root read-only, no binds, env allowlist PATH LANG LC_*
 * TERM TZ, HOME=/tmp, network off, limits nproc 1024, memory 4 GiB (also
 * the size of the private tmpfs: /tmp, /dev/shm, /run, and of System V
 * shared memory), nofile 1024, fsize 4 GiB (each file, each memfd), core
 * 0, no timeout, output cap 1 MiB per stream, uid/gid -1, the work
 * directory's .git read-only.  Allocates the defaults.  (At run time,
 * nofile is lowered so that nofile x nproc stays within half of the host's
 * fs.file-max; docs/SANDBOX.md, "Limits".) */
void sbx_config_init(sbx_config *cfg);
void sbx_config_release(sbx_config *cfg);
/* Setters copy their arguments. */
void sbx_config_set_rootfs(sbx_config *cfg, const char *dir);
/* The root becomes an overlay of rootfs and dir's upper layer (see
 * rootfs_overlay); ids_base/ids_count: the owners of rootfs's files (root
 * callers; 0, 0 = none).  NULL dir: rootfs read-only again.  Each sandbox
 * needs a directory of its own: two mounted over one upper layer at once
 * is undefined (overlayfs refuses or corrupts). */
void sbx_config_set_rootfs_overlay(sbx_config *cfg, const char *dir, uint32_t ids_base, uint32_t ids_count);
void sbx_config_set_workdir(sbx_config *cfg, const char *dir);
void sbx_config_set_cwd(sbx_config *cfg, const char *dir);
void sbx_config_set_hostname(sbx_config *cfg, const char *name);
void sbx_config_set_cgroup_parent(sbx_config *cfg, const char *dir);
/* "auto", "off", "require"; fails on anything else. */
int sbx_cgroup_use_parse(sbx_cgroup_use *out, const char *s, pl_err *err);
/* How cfg's memory and process limits will be enforced here: true when by
 * a cgroup (info->mode says where), false for rlimits.  When false and cfg
 * limits memory or processes, info->why says why (empty when cfg->cgroup is
 * "off").  info may be NULL. */
bool sbx_config_uses_cgroup(const sbx_config *cfg, sbx_cgroup_info *info);
/* dst NULL = same path as src. */
void sbx_config_add_bind(sbx_config *cfg, const char *src, const char *dst, bool ro);
void sbx_config_allow_env(sbx_config *cfg, const char *name);
/* "NAME=VALUE"; replaces an earlier setting of NAME.  Fails on a string
 * without '=' or with an empty name. */
int sbx_config_set_env(sbx_config *cfg, const char *assignment, pl_err *err);
/* Checks what can be checked before starting: absolute paths, sources that
 * exist, a rootfs that is a directory.  Messages name the field. */
int sbx_config_check(const sbx_config *cfg, pl_err *err);

/*
 * Apply a profile on top of cfg.  name_or_path is a file path when it
 * contains '/' or ends in ".json", else a profile name looked up as
 * NAME.json in $PLAIT_SANDBOX_PROFILES, $PLAIT_ROOT/configs/sandbox,
 * PREFIX/share/plait/sandbox and /etc/plait/sandbox; never beside the
 * program (a binary in a work directory would read what the sandbox wrote
 * there).  The file must be owned by root or the caller and writable by no
 * one else, nor may its directory be (unless sticky).  Keys: see
 * docs/SANDBOX.md; unknown keys are errors naming the file and key.  On
 * failure cfg may hold part of the profile only when its JSON was read.
 */
int sbx_profile_load(sbx_config *cfg, const char *name_or_path, pl_err *err);

/* ---------------------------------------------------------------- results */

enum sbx_limit_flag {
	SBX_LIMIT_TIMEOUT = 1 << 0, /* wall clock: tree killed */
	SBX_LIMIT_CPU = 1 << 1,     /* RLIMIT_CPU: SIGXCPU or SIGKILL past it */
	SBX_LIMIT_FSIZE = 1 << 2,   /* RLIMIT_FSIZE: SIGXFSZ */
	SBX_LIMIT_OUTPUT = 1 << 3,  /* an output stream was cut */
	SBX_LIMIT_MEMORY = 1 << 4,  /* the cgroup's OOM killer killed a process
				     * (memory.events oom_kill) */
	SBX_LIMIT_NPROC = 1 << 5    /* fork refused at the cgroup's pids.max
				     * (pids.events max) */
};

typedef struct sbx_result {
	int exit_code;       /* when exited normally, else -1 */
	int signal;          /* the killing signal, else 0 */
	bool timed_out;      /* wall-clock limit reached */
	bool cancelled;      /* sbx_exec_opts.cancel was set: killed for it */
	unsigned limits_hit; /* SBX_LIMIT_* flags */
	double wall_time;    /* seconds */
	double cpu_time;     /* user + system seconds of the command and the
			      * descendants it waited for */
	uint64_t peak_rss;   /* bytes, largest resident set (rusage) */
	bool cgroup;         /* memory and process limits were a cgroup's */
	int exec_error;      /* the command could not be started, and the call
			      * failed: its errno (ENOENT not found; EACCES,
			      * ENOEXEC... not executable); else 0 */
	pl_buf out;          /* stdout, or the merged stream */
	pl_buf err;          /* stderr; empty when merged */
	bool out_truncated, err_truncated;
	uint64_t out_bytes, err_bytes; /* bytes produced, before the cap */
} sbx_result;

void sbx_result_init(sbx_result *res);
void sbx_result_release(sbx_result *res);
/* "exit 3", "killed by SEGV (signal 11)", "timed out after 2s, process
 * tree killed", with the limits hit; appended to b.  cfg may be NULL. */
void sbx_result_describe(pl_buf *b, const sbx_result *res, const sbx_config *cfg);

/* Called with output as it arrives (stream 1 = stdout or merged, 2 =
 * stderr), before the cap applies. */
typedef void (*sbx_output_fn)(void *ctx, int stream, const char *data, size_t n);

/* Per-command options; a zeroed struct (or NULL) means "none". */
typedef struct sbx_exec_opts {
	const char *cwd;             /* NULL = the config's */
	double timeout;              /* seconds; 0 = the config's */
	const char *const *env;      /* extra "NAME=VALUE", NULL-terminated */
	const char *stdin_data;      /* NULL = /dev/null */
	size_t stdin_len;
	/* Or, with stdin_stream, what the caller's descriptor stdin_fd holds,
	 * read as the command takes it (one read of 64 KiB in memory at a
	 * time), until its end or until the command stops reading; the
	 * command gets a socket of the sandbox's own, never the descriptor. */
	bool stdin_stream;
	int stdin_fd;
	sbx_output_fn on_output;
	void *on_output_ctx;
	/* The command's stdout and stderr are pipes whose other ends the
	 * caller reads (capture, the cap, on_output), unless direct_output
	 * asks for descriptors of the caller's own: the command then gets
	 * out_fd as its stdout and err_fd as its stderr (out_fd for both when
	 * the config merges them), nothing is captured, the cap does not apply
	 * and on_output is not called.
	 *
	 * What a caller gains: no copy through it, for output it would only
	 * store (a run's log written straight to a file made for it, however
	 * large).  What it hands over: the open file description itself, so
	 * the command can do all that description allows, and the caller sees
	 * the result: truncate a file or read back what it held (ftruncate,
	 * pread), move its offset, set O_NONBLOCK or O_APPEND on a description
	 * the caller shares with others.  Safe only with descriptors opened for
	 * this command alone: a file created for its output, the write end of a
	 * pipe the caller reads.  Never the caller's own stdout or stderr, and
	 * never a terminal (TIOCSTI is filtered, other ioctls are not).
	 *
	 * Nothing caps that output: output_cap applies to the pipes only.  A
	 * file grows as far as RLIMIT_FSIZE (fsize) and its file system let
	 * it, a pipe as fast as the caller reads; a caller handing over
	 * descriptors bounds them itself. */
	bool direct_output;
	int out_fd, err_fd;
	/* When *cancel becomes non-zero (a Ctrl-C handler sets it) the command
	 * is killed as a timeout kills it (its process group in a session,
	 * the whole tree otherwise) and the result says cancelled; NULL =
	 * none.  Looked at every 50 ms and whenever a signal interrupts the
	 * wait.  The agent's flag; cancel_fd below is the signal-safe pipe of
	 * a front-end's own handler.  Either stops the command. */
	const atomic_int *cancel;
	/* > 0: a descriptor (the reading end of a pipe a signal handler
	 * writes to) that stops the run once it is readable: sbx_run kills the
	 * whole sandbox, a session the command's process group, as a timeout
	 * would (the result says SIGKILL, not timed_out).  What a front-end
	 * needs to tear its sandbox down on SIGTERM, SIGINT or SIGHUP, or when
	 * its own output is gone, and still reap it before exiting.  (A caller
	 * that is simply killed takes its sandbox with it: the sandbox's init
	 * sees the control socket close, or the caller's thread die, and kills
	 * everything.) */
	int cancel_fd;
} sbx_exec_opts;

/* ---------------------------------------------------------------- running */

/*
 * Run argv (argv[0] looked up in the sandbox's PATH) in a fresh sandbox and
 * wait for it.  res must have been sbx_result_init()ed; it is filled even
 * when the command fails, times out or is killed: those are results, not
 * errors.  Errors (negative return) are set-up failures: a kernel that
 * refuses namespaces, a missing bind source, a command not found or not
 * executable in the sandbox (PL_ENOTFOUND).
 */
int sbx_run(sbx_result *res, const sbx_config *cfg, const char *const *argv, pl_err *err);
int sbx_run_opts(sbx_result *res, const sbx_config *cfg, const char *const *argv,
		 const sbx_exec_opts *opts, pl_err *err);

typedef struct sbx_session sbx_session;

/* Start a long-lived sandbox.  The config is copied. */
int sbx_session_open(sbx_session **out, const sbx_config *cfg, pl_err *err);
/* Run one command in the session and wait for it, as sbx_run does.  One at a
 * time per session.  A timeout kills the command's process group; processes
 * it put in the background keep running until sbx_session_close().  Fails
 * with PL_EIO once the session has died. */
int sbx_session_exec(sbx_result *res, sbx_session *s, const char *const *argv, const sbx_exec_opts *opts,
		     pl_err *err);
/* Kill every process in the session and free it.  NULL is a no-op. */
void sbx_session_close(sbx_session *s);

#endif /* PLAIT_SANDBOX_H */
