/* The seccomp program itself, run through a small classic-BPF interpreter
 * for every system call number and the arguments that matter: it must
 * refuse exactly the listed calls, with the listed errno, allow all others,
 * and kill foreign architectures and the x32 ABI.  The escape suite checks
 * the same filter live, one probe per refusal; this checks every number,
 * which the binary-search shape of the program makes worth checking. */
#include "sbx_test.h"

#include "sandbox/internal.h"

#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

/* Runs prog on d; returns the action, or 0xdead on a malformed program
 * (a jump or load out of range, an instruction this filter never uses). */
static uint32_t interpret(const struct sock_filter *prog, int len, const struct seccomp_data *d, int *nsteps)
{
	uint32_t a = 0;
	int pc = 0, steps = 0;

	while (pc >= 0 && pc < len && steps++ < 4096) {
		if (nsteps)
			*nsteps = steps;
		const struct sock_filter *f = &prog[pc];
		bool cond;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k + 4 > sizeof(*d) || f->k % 4)
				return 0xdead;
			memcpy(&a, (const char *)d + f->k, 4);
			pc++;
			continue;
		case BPF_RET | BPF_K:
			return f->k;
		case BPF_JMP | BPF_JEQ | BPF_K:
			cond = a == f->k;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			cond = a >= f->k;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			cond = (a & f->k) != 0;
			break;
		default:
			return 0xdead;
		}
		pc += 1 + (cond ? f->jt : f->jf);
	}
	return 0xdead;
}

typedef struct denied {
	int nr;
	int err;
} denied;

/* What the filter must refuse outright (docs/SANDBOX.md), written out
 * again here rather than read from the filter's own table. */
static const denied refused[] = {
	{ SYS_clone3, ENOSYS },		  { SYS_setns, EPERM },		  { SYS_ptrace, EPERM },
	{ SYS_process_vm_readv, EPERM },  { SYS_process_vm_writev, EPERM }, { SYS_mount, EPERM },
	{ SYS_umount2, EPERM },		  { SYS_pivot_root, EPERM },	  { SYS_chroot, EPERM },
	{ SYS_open_tree, EPERM },	  { SYS_move_mount, EPERM },	  { SYS_fsopen, EPERM },
	{ SYS_fsconfig, EPERM },	  { SYS_fsmount, EPERM },	  { SYS_fspick, EPERM },
	{ SYS_mount_setattr, EPERM },	  { SYS_keyctl, EPERM },	  { SYS_add_key, EPERM },
	{ SYS_request_key, EPERM },	  { SYS_bpf, EPERM },		  { SYS_perf_event_open, EPERM },
	{ SYS_userfaultfd, EPERM },	  { SYS_kexec_load, EPERM },	  { SYS_kexec_file_load, EPERM },
	{ SYS_init_module, EPERM },	  { SYS_finit_module, EPERM },	  { SYS_delete_module, EPERM },
	{ SYS_open_by_handle_at, EPERM }, { SYS_name_to_handle_at, EPERM }, { SYS_iopl, EPERM },
	{ SYS_ioperm, EPERM },		  { SYS_syslog, EPERM },	  { SYS_acct, EPERM },
	{ SYS_swapon, EPERM },		  { SYS_swapoff, EPERM },	  { SYS_reboot, EPERM },
	{ SYS_quotactl, EPERM },	  { SYS_io_uring_setup, ENOSYS }, { SYS_io_uring_enter, ENOSYS },
	{ SYS_io_uring_register, ENOSYS },
};

static struct sock_filter prog[SBX__SECCOMP_MAX];
static int prog_len;

static void build(void)
{
	prog_len = sbx__seccomp_build(prog, PL_ARRAY_LEN(prog));
	cr_assert_gt(prog_len, 0, "sbx__seccomp_build: %d", prog_len);
}

TestSuite(seccomp, .init = build);

static uint32_t run_args(int nr, uint64_t arg0, uint64_t arg1, int *steps)
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.arch = AUDIT_ARCH_X86_64;
	d.nr = nr;
	d.args[0] = arg0;
	d.args[1] = arg1;
	return interpret(prog, prog_len, &d, steps);
}

static uint32_t run(int nr, uint64_t arg0, uint64_t arg1)
{
	return run_args(nr, arg0, arg1, NULL);
}

static uint32_t run_steps(int nr, int *steps)
{
	return run_args(nr, 0, 0, steps);
}

static int refused_errno(int nr)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(refused); i++)
		if (refused[i].nr == nr)
			return refused[i].err;
	return 0;
}

Test(seccomp, every_call_number_gets_the_listed_action)
{
	int nr, allowed = 0;

	/* 0..599 covers every x86_64 number and the gaps between them. */
	for (nr = 0; nr < 600; nr++) {
		uint32_t act = run(nr, 0, 0);
		int e = refused_errno(nr);

		if (e)
			cr_assert_eq(act, SECCOMP_RET_ERRNO | (uint32_t)e, "nr %d: action %#x, want errno %d", nr, act,
				     e);
		else {
			cr_assert_eq(act, SECCOMP_RET_ALLOW, "nr %d: action %#x, want allow", nr, act);
			allowed++;
		}
	}
	cr_assert_eq(allowed, 600 - (int)PL_ARRAY_LEN(refused));
}

Test(seccomp, ioctl_refuses_terminal_injection_only)
{
	cr_assert_eq(run(SYS_ioctl, 0, TIOCSTI), SECCOMP_RET_ERRNO | EPERM);
	cr_assert_eq(run(SYS_ioctl, 0, TIOCLINUX), SECCOMP_RET_ERRNO | EPERM);
	/* the kernel reads the request as 32 bits: high bits change nothing */
	cr_assert_eq(run(SYS_ioctl, 0, TIOCSTI | (1ULL << 32)), SECCOMP_RET_ERRNO | EPERM);
	cr_assert_eq(run(SYS_ioctl, 0, TCGETS), SECCOMP_RET_ALLOW);
	cr_assert_eq(run(SYS_ioctl, 0, FIONREAD), SECCOMP_RET_ALLOW);
}

Test(seccomp, clone_and_unshare_refuse_namespace_flags_only)
{
	static const uint64_t ns[] = { CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,    CLONE_NEWNET,
				       CLONE_NEWUTS,  CLONE_NEWIPC, CLONE_NEWCGROUP, CLONE_NEWTIME };
	const int calls[] = { SYS_clone, SYS_unshare };
	size_t i, c;

	for (c = 0; c < PL_ARRAY_LEN(calls); c++) {
		cr_assert_eq(run(calls[c], SIGCHLD, 0), SECCOMP_RET_ALLOW);
		cr_assert_eq(run(calls[c], CLONE_VM | CLONE_VFORK | SIGCHLD, 0), SECCOMP_RET_ALLOW);
		for (i = 0; i < PL_ARRAY_LEN(ns); i++)
			cr_assert_eq(run(calls[c], ns[i] | SIGCHLD, 0), SECCOMP_RET_ERRNO | EPERM,
				     "call %d flags %#llx", calls[c], (unsigned long long)ns[i]);
	}
}

Test(seccomp, foreign_architectures_and_x32_are_killed)
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.arch = AUDIT_ARCH_I386;
	d.nr = SYS_getpid;
	cr_assert_eq(interpret(prog, prog_len, &d, NULL), SECCOMP_RET_KILL_PROCESS);
	d.arch = AUDIT_ARCH_X86_64;
	d.nr = 0x40000000 | SYS_getpid;
	cr_assert_eq(interpret(prog, prog_len, &d, NULL), SECCOMP_RET_KILL_PROCESS);
}

Test(seccomp, a_too_small_buffer_is_refused)
{
	struct sock_filter small[8];

	cr_assert_eq(sbx__seccomp_build(small, PL_ARRAY_LEN(small)), -EOVERFLOW);
}

Test(seccomp, allowed_calls_take_a_short_path)
{
	int nr, steps, worst = 0;

	/* The prologue (6), a balanced search over the 43 rules (at most 6
	 * compares), the leaf's compare and its return. */
	for (nr = 0; nr < 600; nr++) {
		if (refused_errno(nr) || nr == SYS_ioctl || nr == SYS_clone || nr == SYS_unshare)
			continue;
		cr_assert_eq(run_steps(nr, &steps), SECCOMP_RET_ALLOW);
		worst = steps > worst ? steps : worst;
	}
	cr_assert_leq(worst, 6 + 6 + 2, "an allowed call takes %d instructions", worst);
}
