/* seccomp.c - the system-call filter every sandboxed process runs under.
 *
 * A deny list, not an allow list: test suites use nearly every ordinary
 * system call, and what the kernel already refuses to an unprivileged user
 * in a user namespace needs no second refusal.  What is listed is what no
 * test suite needs and what past container escapes went through (mount
 * API, keyrings, bpf, perf, userfaultfd, ptrace, terminal injection,
 * nested user namespaces, io_uring).  x86_64 only: other architectures are
 * refused outright and the x32 ABI is killed.
 *
 * Shape.  The listed calls are sorted by number and the filter is a
 * balanced binary search over them, not a chain of comparisons: a call
 * passes through about log2(n) + 6 instructions instead of n + 6.  That is
 * cheaper for every system call the sandbox makes and, above all, for
 * installing the filter, because the kernel runs the program once per
 * system call number to build its "always allowed" cache: with the chain
 * that took about 200 us per sandbox (docs/PERFORMANCE.md). */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __x86_64__
#error "the sandbox's seccomp filter is written for x86_64"
#endif

#define X32_SYSCALL_BIT 0x40000000u
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))

#define NS_FLAGS \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

enum rule_kind {
	R_ERRNO,   /* refused with err */
	R_IOCTL,   /* TIOCSTI and TIOCLINUX refused, any other request allowed */
	R_NSFLAGS, /* refused when the flags (argument 0) ask for a namespace */
};

typedef struct rule {
	int nr;
	enum rule_kind kind;
	int err;
} rule;

static const rule rules[] = {
	/* ioctl: TIOCSTI and TIOCLINUX compared on the low 32 bits of the
	 * request, which is all the kernel looks at: the "TIOCSTI | 1 << 32"
	 * variant is refused too. */
	{ SYS_ioctl, R_IOCTL, EPERM },
	/* No new namespaces of any kind.  clone3 passes its flags in memory a
	 * filter cannot read: ENOSYS makes glibc fall back to clone. */
	{ SYS_clone, R_NSFLAGS, EPERM },
	{ SYS_unshare, R_NSFLAGS, EPERM },
	{ SYS_clone3, R_ERRNO, ENOSYS },
	{ SYS_setns, R_ERRNO, EPERM },
	{ SYS_ptrace, R_ERRNO, EPERM },
	{ SYS_process_vm_readv, R_ERRNO, EPERM },
	{ SYS_process_vm_writev, R_ERRNO, EPERM },
	{ SYS_mount, R_ERRNO, EPERM },
	{ SYS_umount2, R_ERRNO, EPERM },
	{ SYS_pivot_root, R_ERRNO, EPERM },
	{ SYS_chroot, R_ERRNO, EPERM },
	{ SYS_open_tree, R_ERRNO, EPERM },
	{ SYS_move_mount, R_ERRNO, EPERM },
	{ SYS_fsopen, R_ERRNO, EPERM },
	{ SYS_fsconfig, R_ERRNO, EPERM },
	{ SYS_fsmount, R_ERRNO, EPERM },
	{ SYS_fspick, R_ERRNO, EPERM },
	{ SYS_mount_setattr, R_ERRNO, EPERM },
	{ SYS_keyctl, R_ERRNO, EPERM },
	{ SYS_add_key, R_ERRNO, EPERM },
	{ SYS_request_key, R_ERRNO, EPERM },
	{ SYS_bpf, R_ERRNO, EPERM },
	{ SYS_perf_event_open, R_ERRNO, EPERM },
	{ SYS_userfaultfd, R_ERRNO, EPERM },
	{ SYS_kexec_load, R_ERRNO, EPERM },
	{ SYS_kexec_file_load, R_ERRNO, EPERM },
	{ SYS_init_module, R_ERRNO, EPERM },
	{ SYS_finit_module, R_ERRNO, EPERM },
	{ SYS_delete_module, R_ERRNO, EPERM },
	{ SYS_open_by_handle_at, R_ERRNO, EPERM },
	{ SYS_name_to_handle_at, R_ERRNO, EPERM },
	{ SYS_iopl, R_ERRNO, EPERM },
	{ SYS_ioperm, R_ERRNO, EPERM },
	{ SYS_syslog, R_ERRNO, EPERM },
	{ SYS_acct, R_ERRNO, EPERM },
	{ SYS_swapon, R_ERRNO, EPERM },
	{ SYS_swapoff, R_ERRNO, EPERM },
	{ SYS_reboot, R_ERRNO, EPERM },
	{ SYS_quotactl, R_ERRNO, EPERM },
	{ SYS_io_uring_setup, R_ERRNO, ENOSYS },
	{ SYS_io_uring_enter, R_ERRNO, ENOSYS },
	{ SYS_io_uring_register, R_ERRNO, ENOSYS },
};

#define NRULES PL_ARRAY_LEN(rules)

/* The emitter writes into a caller's array and never allocates: it runs
 * in the sandbox's child, between clone() and execve(). */
typedef struct emitter {
	struct sock_filter *f;
	size_t n, cap;
	bool overflow;
} emitter;

static void emit(emitter *e, uint16_t code, uint32_t k, size_t jt, size_t jf)
{
	if (e->n >= e->cap || jt > 255 || jf > 255) {
		e->overflow = true;
		return;
	}
	e->f[e->n++] = (struct sock_filter){ code, (uint8_t)jt, (uint8_t)jf, k };
}

/* The instructions after "nr == r->nr" matched; every path returns. */
static size_t action_len(const rule *r)
{
	return r->kind == R_IOCTL ? 5 : r->kind == R_NSFLAGS ? 4 : 1;
}

static void emit_action(emitter *e, const rule *r)
{
	uint32_t deny = SECCOMP_RET_ERRNO | (uint32_t)r->err;

	switch (r->kind) {
	case R_IOCTL:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), 0, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	case R_NSFLAGS:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
		emit(e, BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	case R_ERRNO:
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	}
}

/* Length of the search over sorted[lo, hi): an inner node is one "nr >=
 * pivot" jump; a leaf is "nr == rule" with its action, else allow. */
static size_t tree_len(const rule *const *sorted, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (hi - lo == 1)
		return 2 + action_len(sorted[lo]);
	return 1 + tree_len(sorted, lo, mid) + tree_len(sorted, mid, hi);
}

static void emit_tree(emitter *e, const rule *const *sorted, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (hi - lo == 1) {
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sorted[lo]->nr, 0, action_len(sorted[lo]));
		emit_action(e, sorted[lo]);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		return;
	}
	emit(e, BPF_JMP | BPF_JGE | BPF_K, (uint32_t)sorted[mid]->nr, tree_len(sorted, lo, mid), 0);
	emit_tree(e, sorted, lo, mid);
	emit_tree(e, sorted, mid, hi);
}

int sbx__seccomp_build(struct sock_filter *out, size_t cap)
{
	const rule *sorted[NRULES];
	emitter e = { out, 0, cap, false };
	size_t i, j;

	/* Insertion sort: a few dozen entries, and no libc in the child. */
	for (i = 0; i < NRULES; i++) {
		const rule *r = &rules[i];

		for (j = i; j > 0 && sorted[j - 1]->nr > r->nr; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = r;
	}
	emit(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	emit(&e, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(&e, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	emit(&e, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit_tree(&e, sorted, 0, NRULES);
	return e.overflow ? -EOVERFLOW : (int)e.n;
}

int sbx__seccomp_install(void)
{
	struct sock_filter f[SBX__SECCOMP_MAX];
	struct sock_fprog prog;
	int n = sbx__seccomp_build(f, PL_ARRAY_LEN(f));

	if (n < 0)
		return -n;
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return errno;
	return 0;
}
