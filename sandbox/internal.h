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
/* Kill, wait until empty, remove.  No-op without a cgroup. */
void sbx__cgroup_destroy(sbx__cgroup *cg);

#endif /* PLAIT_SANDBOX_INTERNAL_H */
