/*
 * sandbox.h - running untrusted commands isolated from the host.
 *
 * Depends on common/ only.  Prefix: sbx_.
 *
 * This first part answers what the kernel lets plait use; the runner,
 * sessions and profiles come with the sandbox issue.
 */
#ifndef PLAIT_SANDBOX_H
#define PLAIT_SANDBOX_H

#include "common/common.h"

typedef enum sbx_cgroup_kind {
	SBX_CGROUP_NONE = 0, /* no cgroup filesystem mounted */
	SBX_CGROUP_V1,       /* legacy hierarchy: plait falls back to rlimits */
	SBX_CGROUP_V2        /* unified hierarchy */
} sbx_cgroup_kind;

typedef struct sbx_caps {
	bool is_root;           /* effective uid 0 */
	bool userns;            /* a user namespace could be created here */
	bool all_namespaces;    /* user+mount+pid+net+ipc+uts in one unshare */
	char userns_error[128]; /* strerror of the failed unshare, if any */
	bool seccomp;           /* seccomp filters are available */
	sbx_cgroup_kind cgroup;
	bool cgroup_writable;   /* we may create a child cgroup (v2 only) */
	char cgroup_path[256];  /* our own cgroup v2 directory, when known */
} sbx_caps;

/* Probe the kernel by trying, in a short-lived child, what the sandbox
 * needs.  Fails only when the probe itself cannot run (fork fails). */
int sbx_caps_probe(sbx_caps *out, pl_err *err);

const char *sbx_cgroup_kind_name(sbx_cgroup_kind k);

#endif /* PLAIT_SANDBOX_H */
