/* child.c - the sandbox's side: from clone() to the command.
 *
 * The child closes what the caller had open, resets signals, brings its
 * private loopback up and sets the host name while the caller writes its
 * id maps and moves it into its cgroup; then it assembles its root
 * (root.c), enters it with one pivot_root, drops every capability, sets
 * no_new_privs, installs the seccomp filter and becomes the PID
 * namespace's init.  Init starts one worker per command (its own session
 * and process group), reaps everything, and reports each worker's wait
 * status and rusage over a SOCK_SEQPACKET control socket.  When init exits
 * the kernel kills every process left in the namespace, which is what tears
 * a sandbox down, daemons included; a one-shot init kills them itself
 * before reporting.
 *
 * Everything here, between clone() and execve(), uses only system calls
 * and memory prepared by the caller beforehand: the caller may have
 * threads, and the child must not touch malloc's locks. */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STAGE SBX__STAGE
/* The signal a one-shot init gets when the caller's thread dies
 * (PR_SET_PDEATHSIG).  Blocked and read from a signalfd, not SIGKILL: init
 * then kills and reaps every process of the sandbox before it exits, so
 * that the uid lock it holds is released only once none is left.  A
 * process inside may send it too; only one sent from outside the PID
 * namespace (si_pid 0) counts.  A real-time signal, queued once per
 * sending: with a standard one, a process inside could keep one of its
 * own pending, and the kernel's would be dropped as a duplicate. */
#define PDEATH_SIG SIGRTMAX

/* ---------------------------------------------------------------- set-up */

static void send_report(int fd, const sbx__report *r)
{
	ssize_t n;

	do
		n = send(fd, r, sizeof(*r), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

PL_NORETURN static void setup_fail(const sbx__spec *sp, const char *what, const char *path)
{
	sbx__report r;

	memset(&r, 0, sizeof(r));
	r.type = SBX__MSG_SETUP_FAIL;
	r.err = errno;
	snprintf(r.text, sizeof(r.text), "%s%s%s%s", what, path ? " '" : "", path ? path : "", path ? "'" : "");
	send_report(sp->ctl_fd, &r);
	_exit(127);
}

static void loopback_up(const sbx__spec *sp)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		setup_fail(sp, "opening a socket for the loopback interface", NULL);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		setup_fail(sp, "reading the loopback interface flags", NULL);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		setup_fail(sp, "bringing the loopback interface up", NULL);
	close(fd);
}

/* A root caller's namespace maps the host's root (inner 0 = host 0): the
 * set-up needs it (owner checks on the host's files it opens, owners for
 * the files of the new /dev and mount points it makes).  The command gets
 * a namespace of its own that maps only its own ids: nothing it can see or
 * become is uid 0 of anything, and the host's root files show as nobody.
 * The process writes that map itself, which it may for its own ids once it
 * has them; a process that changed uid is not dumpable, and only a dumpable
 * process's /proc files are its own. */
static void own_user_namespace(const sbx__spec *sp)
{
	char m[64];

	/* Raw system calls, not glibc's wrappers: those change every thread
	 * of the process (POSIX's per-process ids) by signalling each thread
	 * on glibc's list, and this child of a raw clone() has the parent's
	 * list; a thread the parent was creating at that moment is waited
	 * for forever (the benchmark harness's workers opened two sandboxes
	 * at once and one hung in setgroups).  The child has one thread. */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		setup_fail(sp, "clearing supplementary groups", NULL);
	if (syscall(SYS_setresgid, sp->host_gid, sp->host_gid, sp->host_gid) < 0)
		setup_fail(sp, "switching group", NULL);
	if (syscall(SYS_setresuid, sp->host_uid, sp->host_uid, sp->host_uid) < 0)
		setup_fail(sp, "switching user", NULL);
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		setup_fail(sp, "setting the dumpable flag", NULL);
	if (unshare(CLONE_NEWUSER) < 0)
		setup_fail(sp, "entering a user namespace that maps the sandbox's ids only", NULL);
	snprintf(m, sizeof(m), "%u %u 1\n", sp->host_uid, sp->host_uid);
	if (sbx__write_file("/proc/self/uid_map", m) < 0)
		setup_fail(sp, "writing", "/proc/self/uid_map");
	if (sbx__write_file("/proc/self/setgroups", "deny") < 0)
		setup_fail(sp, "writing", "/proc/self/setgroups");
	snprintf(m, sizeof(m), "%u %u 1\n", sp->host_gid, sp->host_gid);
	if (sbx__write_file("/proc/self/gid_map", m) < 0)
		setup_fail(sp, "writing", "/proc/self/gid_map");
}

/* Whether the caller's end of the control socket is closed: the caller is
 * gone (the init's parent is outside its PID namespace, so getppid() says
 * 0 whatever happened). */
static bool caller_gone(const sbx__spec *sp)
{
	struct pollfd pf = { sp->ctl_fd, 0, 0 };

	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR));
}

/* The kernel clears the parent-death signal on every change of the
 * effective ids (and of the capabilities beyond a subset): set it again
 * after one, then look whether the caller died before it was set. */
static void arm_parent_death(const sbx__spec *sp)
{
	if (sp->session)
		return; /* a session outlives the thread that opened it: its
			 * init watches the control socket alone */
	if (prctl(PR_SET_PDEATHSIG, PDEATH_SIG, 0, 0, 0) < 0)
		setup_fail(sp, "setting the parent-death signal", NULL);
	if (caller_gone(sp))
		_exit(127); /* nothing of the command runs yet */
}

static void drop_privileges(const sbx__spec *sp)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int cap;

	if (sp->drop_to) {
		own_user_namespace(sp);
		arm_parent_death(sp);
	}
	/* Capabilities are numbered 0..CAP_LAST_CAP with no gaps: the first
	 * EINVAL is past the kernel's last. */
	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			setup_fail(sp, "dropping capabilities from the bounding set", NULL);
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		setup_fail(sp, "clearing ambient capabilities", NULL);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		setup_fail(sp, "dropping capabilities", NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		setup_fail(sp, "setting no_new_privs", NULL);
	/* Init is not dumpable: workers can neither ptrace it nor read its
	 * /proc entries (its /proc/1/root, its memory). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		setup_fail(sp, "clearing the dumpable flag", NULL);
	if ((errno = sbx__seccomp_install()) != 0)
		setup_fail(sp, "installing the seccomp filter", NULL);
}

/* Parse the hex mask after key ("SigIgn:") in a /proc/PID/status text. */
static bool status_mask(const char *text, const char *key, uint64_t *mask)
{
	const char *p = strstr(text, key);
	int digits = 0;

	if (!p)
		return false;
	for (p += strlen(key), *mask = 0; *p == '\t' || *p == ' '; p++)
		;
	for (; digits < 16; p++, digits++) {
		int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (v < 0)
			break;
		*mask = *mask << 4 | (uint64_t)v;
	}
	return digits > 0;
}

/* The kernel's struct sigaction for rt_sigaction on x86_64. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

/* sig back to SIG_DFL through the system call: glibc's wrappers refuse
 * signals 32 and 33 (its own), which a caller's ancestors may still have
 * left ignored. */
static void default_action(int sig)
{
	struct kernel_sigaction ksa = { SIG_DFL, 0, NULL, 0 };

	(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
}

/* Put back to default every signal the caller ignores or handles: init
 * must not run the caller's handlers (a process inside may signal it), and
 * the commands must not inherit SIG_IGN.  The two masks in /proc/self/status
 * say which signals those are, saving a system call for each of the other
 * sixty; all are reset when it cannot be read.  Workers inherit the result,
 * so none of them repeats it. */
static void reset_signals(void)
{
	char text[4096];
	uint64_t ign = 0, cgt = 0, mask = ~0ULL;
	ssize_t n = -1;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC), i;

	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n > 0) {
		text[n] = '\0';
		if (status_mask(text, "SigIgn:", &ign) && status_mask(text, "SigCgt:", &cgt))
			mask = ign | cgt;
	}
	for (i = 1; i <= 64; i++)
		if ((mask >> (i - 1) & 1) && i != SIGKILL && i != SIGSTOP)
			default_action(i);
}

/* Close every descriptor but the listed ones. */
static void close_others(const int *keep, size_t n)
{
	unsigned int lo = 0;
	int best;
	size_t i;

	for (;;) {
		best = -1;
		for (i = 0; i < n; i++)
			if (keep[i] >= (int)lo && (best < 0 || keep[i] < best))
				best = keep[i];
		if (best < 0) {
			close_range(lo, ~0u, 0);
			return;
		}
		if ((unsigned)best > lo)
			close_range(lo, (unsigned)best - 1, 0);
		lo = (unsigned)best + 1;
	}
}

/* An unprivileged caller may map only its own ids, and only a dumpable
 * process's /proc files are its own: the child makes itself dumpable (a
 * caller that changed uid is not) and writes its own maps. */
static void self_maps(const sbx__spec *sp)
{
	char m[64];

	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		setup_fail(sp, "setting the dumpable flag", NULL);
	snprintf(m, sizeof(m), "%u %u 1\n", sp->host_uid, sp->host_uid);
	if (sbx__write_file("/proc/self/uid_map", m) < 0)
		setup_fail(sp, "writing", "/proc/self/uid_map");
	if (sbx__write_file("/proc/self/setgroups", "deny") < 0)
		setup_fail(sp, "writing", "/proc/self/setgroups");
	snprintf(m, sizeof(m), "%u %u 1\n", sp->host_gid, sp->host_gid);
	if (sbx__write_file("/proc/self/gid_map", m) < 0)
		setup_fail(sp, "writing", "/proc/self/gid_map");
}

static void setup(const sbx__spec *sp)
{
	const sbx_config *cfg = sp->cfg;
	sbx__fail f;
	char c;

	/* What needs the namespaces' capabilities but neither mapped ids nor
	 * access to host paths comes first, while the caller writes the id
	 * maps and attaches the cgroup: bringing the loopback up is a good
	 * part of the set-up. */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		setup_fail(sp, "making the mount tree private", NULL);
	if (sethostname(cfg->hostname ? cfg->hostname : "sandbox", strlen(cfg->hostname ? cfg->hostname : "sandbox")) <
	    0)
		setup_fail(sp, "setting the hostname", NULL);
	if (!cfg->network)
		loopback_up(sp);
	if (read(sp->sync_fd, &c, 1) != 1)
		_exit(127); /* the caller gave up before letting us go */
	close(sp->sync_fd);
	if (!sp->drop_to)
		self_maps(sp);
	if (sbx__root_assemble(sp, &f) < 0)
		setup_fail(sp, f.what, f.path);
	/* The new root becomes "/" with the host's tree stacked on it, which
	 * one detach then removes whole. */
	if (chdir(STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		setup_fail(sp, "pivot_root into the sandbox root", NULL);
	drop_privileges(sp);
}

/* ---------------------------------------------------------------- worker */

typedef struct command {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int fd[3]; /* -1 = /dev/null */
	const sbx_limits *lim;
} command;

static void set_limit(int res, uint64_t soft, uint64_t hard)
{
	struct rlimit r = { (rlim_t)soft, (rlim_t)hard };

	(void)setrlimit(res, &r);
}

static void apply_limits(const sbx_limits *l)
{
	uint64_t as = l->address_space;

	if (l->cpu_seconds)
		set_limit(RLIMIT_CPU, l->cpu_seconds, l->cpu_seconds + 1);
	if (l->memory && (!as || l->memory < as))
		as = l->memory;
	if (as)
		set_limit(RLIMIT_AS, as, as);
	if (l->nofile)
		set_limit(RLIMIT_NOFILE, l->nofile, l->nofile);
	if (l->nproc)
		set_limit(RLIMIT_NPROC, l->nproc, l->nproc);
	if (l->fsize)
		set_limit(RLIMIT_FSIZE, l->fsize, l->fsize);
	set_limit(RLIMIT_CORE, 0, 0);
	/* Counted per user and charged up to the user who made the user
	 * namespace (root, for a root caller), whose own limit on the host is
	 * one count for everything it runs: a sandbox takes a bounded part. */
	set_limit(RLIMIT_MSGQUEUE, SBX__MSGQUEUE_MAX, SBX__MSGQUEUE_MAX);
	set_limit(RLIMIT_SIGPENDING, SBX__SIGPENDING_MAX, SBX__SIGPENDING_MAX);
}

static const char *env_path(char *const *envp)
{
	for (; *envp; envp++)
		if (!strncmp(*envp, "PATH=", 5))
			return *envp + 5;
	return "/usr/local/bin:/usr/bin:/bin";
}

/* execve argv[0], searched in the command's own PATH (execvpe would
 * search the caller's). Returns the most telling errno. */
static int exec_path(char *const *argv, char *const *envp)
{
	char buf[PATH_MAX];
	const char *p, *end;
	int best = ENOENT, e;
	size_t dl, nl = strlen(argv[0]);

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return errno;
	}
	for (p = env_path(envp); ; p = end + 1) {
		end = strchrnul(p, ':');
		dl = (size_t)(end - p);
		if (dl + nl + 2 <= sizeof(buf)) {
			memcpy(buf, dl ? p : ".", dl ? dl : 1);
			dl = dl ? dl : 1;
			buf[dl] = '/';
			memcpy(buf + dl + 1, argv[0], nl + 1);
			execve(buf, argv, envp);
			/* EACCES also comes from PATH directories we may not
			 * search: it counts only for a file that exists. */
			e = errno;
			if ((e == EACCES || e == ENOEXEC || e == ETXTBSY) && access(buf, F_OK) == 0)
				best = e;
		}
		if (!*end)
			break;
	}
	return best;
}

typedef struct worker_args {
	const command *c;
	volatile int err; /* set by a worker whose exec failed, before it exits */
} worker_args;

#define WORKER_STACK (256 * 1024)

PL_NORETURN static void worker(worker_args *w)
{
	const command *c = w->c;
	sigset_t none;
	int fd[3], i;

	/* Dispositions are init's, all default (reset_signals); the mask is
	 * the session init's, with SIGCHLD blocked. */
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* init runs with 0-2 closed, so any descriptor may sit there: move
	 * all three above 9 first, so that no dup2 overwrites one still
	 * needed. */
	for (i = 0; i < 3; i++) {
		int src = c->fd[i] >= 0 ? c->fd[i] : open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);

		if (src < 0 || (fd[i] = fcntl(src, F_DUPFD, 10)) < 0)
			goto fail;
	}
	for (i = 0; i < 3; i++)
		if (dup2(fd[i], i) < 0)
			goto fail;
	close_range(3, ~0u, 0);
	if (chdir(c->cwd) < 0)
		goto fail;
	apply_limits(c->lim);
	errno = exec_path(c->argv, c->envp);
fail:
	w->err = errno ? errno : EINVAL;
	_exit(127);
}

static int worker_main(void *arg)
{
	worker(arg);
}

/* Start a worker on stack (WORKER_STACK bytes, init's, reused for every
 * worker); returns its pid, or -errno when it could not start (clone
 * failed), with *exec_err the errno of a failed exec.  The worker shares
 * init's memory until it execs (CLONE_VM | CLONE_VFORK, like posix_spawn):
 * no page tables are copied, and clone returns only once the worker has
 * exec'd or exited, so a failed exec's errno is simply read back from
 * memory.  Before execve the worker touches only its own descriptors,
 * signal mask, stack and that errno. */
static pid_t start_worker(const command *c, char *stack, int *exec_err)
{
	worker_args w = { c, 0 };
	pid_t pid = clone(worker_main, stack + WORKER_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &w);

	if (pid < 0)
		return -errno;
	*exec_err = w.err;
	return pid;
}

/* The workers' stack, mapped once per sandbox. */
static char *worker_stack(const sbx__spec *sp)
{
	char *stack = mmap(NULL, WORKER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED)
		setup_fail(sp, "mapping the workers' stack", NULL);
	return stack;
}

/* ---------------------------------------------------------------- init */

/* Kill and reap every other process of the sandbox; init is then alone. */
static void kill_all(void)
{
	kill(-1, SIGKILL);
	while (wait4(-1, NULL, 0, NULL) >= 0 || errno == EINTR)
		;
}

/* The caller is gone (its end of the control socket closed, or its thread
 * died): nobody would enforce the timeout or read the result, so nothing
 * of the sandbox may go on.  Everything is killed and reaped before init
 * exits, and with init the uid lock it holds goes: the uid is free again
 * only once no process runs as it. */
PL_NORETURN static void orphaned(void)
{
	kill_all();
	_exit(0);
}

PL_NORETURN static void init_oneshot(const sbx__spec *sp)
{
	command c = { sp->argv, sp->envp, sp->cwd, { sp->fd_in, sp->fd_out, sp->fd_err }, &sp->lim };
	sbx__report r;
	int st = 0, e, sfd;
	pid_t pid, w;
	struct rusage ru;
	struct pollfd pf[2];
	sigset_t set;
	bool done = false;

	memset(&r, 0, sizeof(r));
	memset(&ru, 0, sizeof(ru));
	/* SIGCHLD and the parent-death signal come through a signalfd (both
	 * blocked since sbx__child_main; workers unblock them) */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, PDEATH_SIG);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		setup_fail(sp, "starting the sandbox's init", NULL);
	pid = start_worker(&c, worker_stack(sp), &e);
	if (pid < 0 || e) {
		r.type = SBX__MSG_EXEC_FAIL;
		r.err = pid < 0 ? (int)-pid : e;
		snprintf(r.text, sizeof(r.text), "%s", pid < 0 ? "fork" : "exec");
		send_report(sp->ctl_fd, &r);
		_exit(127);
	}
	if (sp->fd_in >= 0)
		close(sp->fd_in);
	close(sp->fd_out);
	if (sp->fd_err >= 0)
		close(sp->fd_err);
	/* The command's end, or the caller's: the caller never writes on the
	 * control socket in a one-shot run, so anything readable there is its
	 * end. */
	pf[0] = (struct pollfd){ sp->ctl_fd, POLLIN, 0 };
	pf[1] = (struct pollfd){ sfd, POLLIN, 0 };
	while (!done) {
		struct signalfd_siginfo si;
		int s2;
		struct rusage ru2;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			orphaned();
		}
		if (pf[0].revents)
			orphaned();
		if (!pf[1].revents)
			continue;
		if (read(sfd, &si, sizeof(si)) == sizeof(si) && (int)si.ssi_signo == PDEATH_SIG && si.ssi_pid == 0)
			orphaned();
		while ((w = wait4(-1, &s2, WNOHANG, &ru2)) > 0)
			if (w == pid) {
				st = s2;
				ru = ru2;
				done = true;
			}
		if (w < 0 && errno == ECHILD && !done)
			orphaned(); /* cannot happen: the worker is ours */
	}
	/* What the command left behind (daemons, background jobs) goes before
	 * the report: once the caller hears DONE, nothing in the sandbox runs
	 * any more, and it need not wait for the namespaces to be dismantled. */
	kill_all();
	r.type = SBX__MSG_DONE;
	r.status = st;
	r.ru = ru;
	send_report(sp->ctl_fd, &r);
	_exit(0);
}

/* Parse an EXEC request: u32 argc, u32 envc, then cwd, argv and env as
 * NUL-terminated strings.  Pointers go into strv (argv, NULL, env, NULL). */
static int parse_exec(char *buf, size_t len, char **strv, char ***argv, char ***envp, const char **cwd)
{
	uint32_t argc, envc, i;
	char *p = buf + 8, *end = buf + len;

	if (len < 8)
		return -1;
	memcpy(&argc, buf, 4);
	memcpy(&envc, buf + 4, 4);
	if (argc == 0 || (size_t)argc + envc + 2 > SBX__STRV_MAX)
		return -1;
	for (i = 0; i < argc + envc + 1; i++) {
		char *z = memchr(p, '\0', (size_t)(end - p));

		if (!z)
			return -1;
		if (i == 0)
			*cwd = p;
		else if (i <= argc)
			strv[i - 1] = p;
		else
			strv[i] = p;
		p = z + 1;
	}
	strv[argc] = NULL;
	strv[argc + envc + 1] = NULL;
	*argv = strv;
	*envp = strv + argc + 1;
	return 0;
}

PL_NORETURN static void init_session(const sbx__spec *sp)
{
	char *buf = mmap(NULL, SBX__MSG_MAX + SBX__STRV_MAX * sizeof(char *), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char **strv = (char **)(buf + SBX__MSG_MAX);
	char *stack = worker_stack(sp);
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct pollfd pf[2];
	sigset_t chld;
	pid_t cur = 0;
	sbx__report r;
	int sfd;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (buf == MAP_FAILED || sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC)) < 0)
		setup_fail(sp, "starting the session's init", NULL);
	memset(&r, 0, sizeof(r));
	r.type = SBX__MSG_READY;
	send_report(sp->ctl_fd, &r);
	pf[0] = (struct pollfd){ sp->ctl_fd, POLLIN, 0 };
	pf[1] = (struct pollfd){ sfd, POLLIN, 0 };
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(127);
		}
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			struct rusage ru;
			int st;
			pid_t w;

			(void)!read(sfd, &si, sizeof(si));
			while ((w = wait4(-1, &st, WNOHANG, &ru)) > 0) {
				if (w != cur)
					continue;
				memset(&r, 0, sizeof(r));
				r.type = SBX__MSG_DONE;
				r.status = st;
				r.ru = ru;
				send_report(sp->ctl_fd, &r);
				cur = 0;
			}
		}
		if (pf[0].revents) {
			struct iovec iov = { buf, SBX__MSG_MAX };
			struct msghdr mh = { 0 };
			struct cmsghdr *cm;
			int fds[3] = { -1, -1, -1 }, type, e, i;
			ssize_t n;
			command c;
			char **argv, **envp;

			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			n = recvmsg(sp->ctl_fd, &mh, MSG_CMSG_CLOEXEC);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				orphaned(); /* the caller closed the session or died */
			for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
				    cm->cmsg_len == CMSG_LEN(3 * sizeof(int)))
					memcpy(fds, CMSG_DATA(cm), sizeof(fds));
			memcpy(&type, buf, sizeof(type));
			if (type == SBX__MSG_KILL) {
				if (cur > 0)
					kill(-cur, SIGKILL);
				continue;
			}
			memset(&r, 0, sizeof(r));
			if (type != SBX__MSG_EXEC || cur > 0 || fds[1] < 0 ||
			    parse_exec(buf + sizeof(int), (size_t)n - sizeof(int), strv, &argv, &envp, &c.cwd) < 0) {
				r.type = SBX__MSG_EXEC_FAIL;
				r.err = EINVAL;
				snprintf(r.text, sizeof(r.text), "malformed request");
			} else {
				c.argv = argv;
				c.envp = envp;
				c.lim = &sp->lim;
				for (i = 0; i < 3; i++)
					c.fd[i] = fds[i];
				cur = start_worker(&c, stack, &e);
				if (cur < 0 || e) {
					r.type = SBX__MSG_EXEC_FAIL;
					r.err = cur < 0 ? (int)-cur : e;
					snprintf(r.text, sizeof(r.text), "%s", cur < 0 ? "fork" : "exec");
					cur = 0; /* the failed worker is reaped on SIGCHLD */
				}
			}
			for (i = 0; i < 3; i++)
				if (fds[i] >= 0)
					close(fds[i]);
			if (r.type)
				send_report(sp->ctl_fd, &r);
		}
	}
}

PL_NORETURN void sbx__child_main(sbx__spec *sp)
{
	size_t n = 0, i;

	/* Nothing the caller had open crosses into the sandbox but its pipes
	 * and the trees it opened for the binds. */
	sp->keep_fd[n++] = sp->sync_fd;
	sp->keep_fd[n++] = sp->ctl_fd;
	sp->keep_fd[n++] = sp->fd_in;
	sp->keep_fd[n++] = sp->fd_out;
	sp->keep_fd[n++] = sp->fd_err;
	sp->keep_fd[n++] = sp->lock_fd;
	for (i = 0; i <= sp->cfg->nbinds; i++)
		if (sp->bind_fd[i] >= 0)
			sp->keep_fd[n++] = sp->bind_fd[i];
	close_others(sp->keep_fd, n);
	reset_signals();
	if (!sp->session) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, PDEATH_SIG);
		if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
			setup_fail(sp, "blocking signals", NULL);
	}
	arm_parent_death(sp);
	setup(sp);
	if (sp->session)
		init_session(sp);
	init_oneshot(sp);
}
