/* run.c - building a sandbox and running commands in it: one-shot runs and
 * long-lived sessions.
 *
 * Process layout.  The caller clone()s a child into new user, mount, PID,
 * IPC, UTS (and network) namespaces; it writes the child's uid/gid maps
 * while the child brings its loopback up, then lets it go.  The child
 * assembles the root from detached trees (open_tree of the host root or an
 * image root, made read-only recursively, attached on /tmp, with a fresh
 * /proc, a minimal /dev, private /tmp and the binds), enters it with one
 * pivot_root, drops every capability, sets no_new_privs, installs the
 * seccomp filter and becomes the PID namespace's init.  Init starts one
 * worker per command (its own session and process group), reaps
 * everything, and reports each worker's wait status and rusage over a
 * SOCK_SEQPACKET control socket.  When init exits the kernel kills every
 * process left in the namespace, which is what tears a sandbox down,
 * daemons included; a one-shot init kills them itself before reporting.
 *
 * Everything the child does between clone() and execve() uses only system
 * calls and memory prepared by the caller beforehand: the caller may have
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
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define NOBODY 65534
/* Where the new root is assembled before pivot_root makes it "/": the
 * host's /tmp (as this private mount namespace sees it), which the new root
 * hides.  Every bind source is opened as a detached tree before that, so a
 * source under /tmp is still found. */
#define STAGE "/tmp"
#define INNER(staged) ((staged) + strlen(STAGE))
#define MSG_MAX (256 * 1024) /* largest EXEC request: argv + env + cwd */
#define STRV_MAX 8192        /* most argv + env entries in one request */

enum msg_type { MSG_READY = 1, MSG_SETUP_FAIL, MSG_EXEC_FAIL, MSG_DONE, MSG_EXEC, MSG_KILL };

/* init -> caller */
typedef struct report {
	int type;
	int err;    /* errno of a failed step */
	int status; /* wait status of the worker */
	struct rusage ru;
	char text[200]; /* the failed step, for the message */
} report;

/* Everything the child needs, prepared before clone(). */
typedef struct spec {
	const sbx_config *cfg;
	bool session;
	bool drop_to; /* root caller: setresuid/setresgid to host_uid/gid */
	uid_t host_uid;
	gid_t host_gid;
	int sync_fd, ctl_fd;
	/* one-shot run: the command */
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int fd_in, fd_out, fd_err; /* -1 = /dev/null (stdin) */
	/* paths built by the caller: STAGE + dst inside, src as given */
	const char *root_src;
	char **bind_dst;
	char *work_dst;
	int *bind_fd; /* the child's: the binds' detached trees, work dir last */
	bool *bind_dir;
	char pid_max[32];
	sbx_limits lim;       /* the rlimits: cfg's, less what a cgroup enforces */
	const sbx__cgroup *cg; /* caller side: the cgroup init goes into, or NULL */
} spec;

/* ---------------------------------------------------------------- child side */

static void send_report(int fd, const report *r)
{
	ssize_t n;

	do
		n = send(fd, r, sizeof(*r), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

PL_NORETURN static void setup_fail(const spec *sp, const char *what, const char *path)
{
	report r;

	memset(&r, 0, sizeof(r));
	r.type = MSG_SETUP_FAIL;
	r.err = errno;
	snprintf(r.text, sizeof(r.text), "%s%s%s%s", what, path ? " '" : "", path ? path : "", path ? "'" : "");
	send_report(sp->ctl_fd, &r);
	_exit(127);
}

static int write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* mkdir -p of the directory part (and the last part when dir). */
static int make_path(const char *path, bool last_is_dir)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i] == '\0' && !last_is_dir)
			break;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		buf[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* Make sure a mount point of the right kind exists at dst. */
static int mount_point(const char *dst, bool dir)
{
	struct stat st;
	int fd;

	if (stat(dst, &st) == 0)
		return 0;
	if (make_path(dst, dir) < 0)
		return -1;
	if (dir)
		return 0;
	fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Flags set on the tree at dfd/path (recursively), made private. */
static int set_attr_at(int dfd, const char *path, unsigned int at_flags, unsigned long set)
{
	struct mount_attr a;

	memset(&a, 0, sizeof(a));
	a.attr_set = set;
	a.propagation = MS_PRIVATE;
	return mount_setattr(dfd, path, at_flags | AT_RECURSIVE, &a, sizeof(a));
}

static int set_attr(const char *path, unsigned long set)
{
	return set_attr_at(AT_FDCWD, path, 0, set);
}

/* A detached copy of the tree at src with flags set (recursively), not
 * yet attached anywhere; *dir says whether its root is a directory. */
static int detached_tree(const char *src, unsigned long set, bool *dir)
{
	struct stat st;
	int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return -1;
	if (set_attr_at(fd, "", AT_EMPTY_PATH, set) < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (dir)
		*dir = S_ISDIR(st.st_mode);
	return fd;
}

static void open_bind(const spec *sp, size_t k, const char *src, bool ro)
{
	sp->bind_fd[k] = detached_tree(src, (ro ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				       &sp->bind_dir[k]);
	if (sp->bind_fd[k] < 0)
		setup_fail(sp, "bind source", src);
}

static void attach_bind(const spec *sp, size_t k, const char *dst)
{
	if (mount_point(dst, sp->bind_dir[k]) < 0)
		setup_fail(sp, "creating the bind destination (it must exist in a read-only root)", INNER(dst));
	if (move_mount(sp->bind_fd[k], "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		setup_fail(sp, "bind mounting", INNER(dst));
	close(sp->bind_fd[k]);
}

static void make_dev(const spec *sp)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = { { "pts/ptmx", STAGE "/dev/ptmx" },
						{ "/proc/self/fd", STAGE "/dev/fd" },
						{ "/proc/self/fd/0", STAGE "/dev/stdin" },
						{ "/proc/self/fd/1", STAGE "/dev/stdout" },
						{ "/proc/self/fd/2", STAGE "/dev/stderr" } };
	char src[64], dst[64];
	size_t i;
	int fd;

	if (mount("tmpfs", STAGE "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		setup_fail(sp, "mounting tmpfs on", "/dev");
	/* The host's nodes, bound onto empty files of the fresh tmpfs. */
	for (i = 0; i < PL_ARRAY_LEN(nodes); i++) {
		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(dst, sizeof(dst), STAGE "/dev/%s", nodes[i]);
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			setup_fail(sp, "creating", src);
		close(fd);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			setup_fail(sp, "binding", src);
	}
	for (i = 0; i < PL_ARRAY_LEN(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			setup_fail(sp, "creating", INNER(links[i][1]));
	if (mkdir(STAGE "/dev/pts", 0755) < 0 || mkdir(STAGE "/dev/shm", 01777) < 0)
		setup_fail(sp, "creating /dev/pts and /dev/shm", NULL);
	if (mount("devpts", STAGE "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") <
	    0)
		setup_fail(sp, "mounting devpts on", "/dev/pts");
	if (mount("tmpfs", STAGE "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		setup_fail(sp, "mounting tmpfs on", "/dev/shm");
	if (set_attr(STAGE "/dev", MOUNT_ATTR_NOSUID) < 0)
		setup_fail(sp, "setting flags on", "/dev");
}

static void make_proc(const spec *sp)
{
	static const char *const ro[] = { STAGE "/proc/sys", STAGE "/proc/sysrq-trigger", STAGE "/proc/irq",
					  STAGE "/proc/bus" };
	size_t i;

	if (mount("proc", STAGE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		setup_fail(sp, "mounting", "/proc");
	/* The PID namespace's own pid_max (Linux 6.14+) bounds the number of
	 * processes whatever the uid; older kernels refuse and the rlimit
	 * alone applies. */
	if (sp->pid_max[0])
		(void)write_file(STAGE "/proc/sys/kernel/pid_max", sp->pid_max);
	/* Kernel tunables stay read-only even for a root-mapped sandbox. */
	for (i = 0; i < PL_ARRAY_LEN(ro); i++) {
		if (access(ro[i], F_OK) < 0)
			continue;
		if (mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    set_attr(ro[i], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) < 0)
			setup_fail(sp, "making read-only", INNER(ro[i]));
	}
}

static void loopback_up(const spec *sp)
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

static void drop_privileges(const spec *sp)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int cap;

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
	if (sp->drop_to) {
		if (setgroups(0, NULL) < 0)
			setup_fail(sp, "clearing supplementary groups", NULL);
		if (setresgid(sp->host_gid, sp->host_gid, sp->host_gid) < 0)
			setup_fail(sp, "switching group", NULL);
		if (setresuid(sp->host_uid, sp->host_uid, sp->host_uid) < 0)
			setup_fail(sp, "switching user", NULL);
	}
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
static void self_maps(const spec *sp)
{
	char m[64];

	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		setup_fail(sp, "setting the dumpable flag", NULL);
	snprintf(m, sizeof(m), "%u %u 1\n", sp->host_uid, sp->host_uid);
	if (write_file("/proc/self/uid_map", m) < 0)
		setup_fail(sp, "writing", "/proc/self/uid_map");
	if (write_file("/proc/self/setgroups", "deny") < 0)
		setup_fail(sp, "writing", "/proc/self/setgroups");
	snprintf(m, sizeof(m), "%u %u 1\n", sp->host_gid, sp->host_gid);
	if (write_file("/proc/self/gid_map", m) < 0)
		setup_fail(sp, "writing", "/proc/self/gid_map");
}

static void setup(const spec *sp)
{
	const sbx_config *cfg = sp->cfg;
	char c;
	size_t i;
	int root;

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
	/* Every tree the sandbox shows, copied and flagged while detached;
	 * then the root is attached on STAGE and the rest assembled on it. */
	root = detached_tree(sp->root_src, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, NULL);
	if (root < 0)
		setup_fail(sp, "copying the root", sp->root_src);
	for (i = 0; i < cfg->nbinds; i++)
		open_bind(sp, i, cfg->binds[i].src, cfg->binds[i].ro);
	if (sp->work_dst)
		open_bind(sp, cfg->nbinds, cfg->workdir, false);
	if (move_mount(root, "", AT_FDCWD, STAGE, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		setup_fail(sp, "attaching the root on", STAGE);
	close(root);
	make_proc(sp);
	make_dev(sp);
	if (mount("tmpfs", STAGE "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		setup_fail(sp, "mounting tmpfs on", "/tmp");
	if (access(STAGE "/var/tmp", F_OK) == 0 &&
	    mount("tmpfs", STAGE "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		setup_fail(sp, "mounting tmpfs on", "/var/tmp");
	if (sp->work_dst)
		attach_bind(sp, cfg->nbinds, sp->work_dst);
	for (i = 0; i < cfg->nbinds; i++)
		attach_bind(sp, i, sp->bind_dst[i]);
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
static char *worker_stack(const spec *sp)
{
	char *stack = mmap(NULL, WORKER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED)
		setup_fail(sp, "mapping the workers' stack", NULL);
	return stack;
}

/* ---------------------------------------------------------------- init */

PL_NORETURN static void init_oneshot(const spec *sp)
{
	command c = { sp->argv, sp->envp, sp->cwd, { sp->fd_in, sp->fd_out, sp->fd_err }, &sp->lim };
	report r;
	int st, e;
	pid_t pid, w;
	struct rusage ru;

	memset(&r, 0, sizeof(r));
	pid = start_worker(&c, worker_stack(sp), &e);
	if (pid < 0 || e) {
		r.type = MSG_EXEC_FAIL;
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
	for (;;) {
		w = wait4(-1, &st, 0, &ru);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(127);
		if (w == pid)
			break;
	}
	/* What the command left behind (daemons, background jobs) goes before
	 * the report: once the caller hears DONE, nothing in the sandbox runs
	 * any more, and it need not wait for the namespaces to be dismantled. */
	kill(-1, SIGKILL);
	while (wait4(-1, NULL, 0, NULL) >= 0 || errno == EINTR)
		;
	r.type = MSG_DONE;
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
	if (argc == 0 || (size_t)argc + envc + 2 > STRV_MAX)
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

PL_NORETURN static void init_session(const spec *sp)
{
	char *buf = mmap(NULL, MSG_MAX + STRV_MAX * sizeof(char *), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char **strv = (char **)(buf + MSG_MAX);
	char *stack = worker_stack(sp);
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct pollfd pf[2];
	sigset_t chld;
	pid_t cur = 0;
	report r;
	int sfd;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (buf == MAP_FAILED || sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC)) < 0)
		setup_fail(sp, "starting the session's init", NULL);
	memset(&r, 0, sizeof(r));
	r.type = MSG_READY;
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
				r.type = MSG_DONE;
				r.status = st;
				r.ru = ru;
				send_report(sp->ctl_fd, &r);
				cur = 0;
			}
		}
		if (pf[0].revents) {
			struct iovec iov = { buf, MSG_MAX };
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
				_exit(0); /* the caller closed the session or died */
			for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
				    cm->cmsg_len == CMSG_LEN(3 * sizeof(int)))
					memcpy(fds, CMSG_DATA(cm), sizeof(fds));
			memcpy(&type, buf, sizeof(type));
			if (type == MSG_KILL) {
				if (cur > 0)
					kill(-cur, SIGKILL);
				continue;
			}
			memset(&r, 0, sizeof(r));
			if (type != MSG_EXEC || cur > 0 || fds[1] < 0 ||
			    parse_exec(buf + sizeof(int), (size_t)n - sizeof(int), strv, &argv, &envp, &c.cwd) < 0) {
				r.type = MSG_EXEC_FAIL;
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
					r.type = MSG_EXEC_FAIL;
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

PL_NORETURN static void child_main(spec *sp)
{
	int keep[5] = { sp->sync_fd, sp->ctl_fd, sp->fd_in, sp->fd_out, sp->fd_err };

	/* Nothing the caller had open crosses into the sandbox. */
	close_others(keep, PL_ARRAY_LEN(keep));
	reset_signals();
	if (!sp->session && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		setup_fail(sp, "setting the parent-death signal", NULL);
	setup(sp);
	if (sp->session)
		init_session(sp);
	init_oneshot(sp);
}

/* ---------------------------------------------------------------- caller side */

static char *strcat2(const char *a, const char *b)
{
	pl_buf x = PL_BUF_INIT;

	pl_buf_puts(&x, a);
	pl_buf_puts(&x, strcmp(b, "/") ? b : "");
	return pl_buf_detach(&x, NULL);
}

static void spec_release(spec *sp)
{
	size_t i;

	for (i = 0; sp->bind_dst && i < sp->cfg->nbinds; i++)
		free(sp->bind_dst[i]);
	free(sp->bind_dst);
	free(sp->bind_fd);
	free(sp->bind_dir);
	free(sp->work_dst);
}

/* cg: the sandbox's cgroup, when it has one: memory and processes are then
 * its limits, not RLIMIT_AS (which breaks programs reserving large virtual
 * ranges: Go, the JVM, AddressSanitizer), RLIMIT_NPROC and pid_max. */
static void spec_prepare(spec *sp, const sbx_config *cfg, const sbx__cgroup *cg)
{
	size_t i;

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
	if (cfg->workdir)
		sp->work_dst = strcat2(STAGE, cfg->workdir);
	sp->bind_dst = pl_xcalloc(cfg->nbinds + 1, sizeof(char *));
	sp->bind_fd = pl_xcalloc(cfg->nbinds + 1, sizeof(int));
	sp->bind_dir = pl_xcalloc(cfg->nbinds + 1, sizeof(bool));
	for (i = 0; i < cfg->nbinds; i++)
		sp->bind_dst[i] = strcat2(STAGE, cfg->binds[i].dst);
	if (sp->lim.nproc)
		snprintf(sp->pid_max, sizeof(sp->pid_max), "%llu",
			 (unsigned long long)(sp->lim.nproc + 1 < 301 ? 301 : sp->lim.nproc + 1));
	if (geteuid() == 0) {
		sp->host_uid = cfg->uid >= 0 ? (uid_t)cfg->uid : NOBODY;
		sp->host_gid = cfg->gid >= 0 ? (gid_t)cfg->gid : NOBODY;
		sp->drop_to = true;
	} else {
		sp->host_uid = geteuid();
		sp->host_gid = getegid();
	}
}

static int write_proc(pid_t pid, const char *file, const char *data, pl_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (write_file(path, data) < 0)
		return pl_err_sys(err, PL_ESYS, "writing %s for the sandbox", file);
	return 0;
}

/* Root maps inner 0 to host 0 only while the root is assembled (files on
 * the staging tmpfs need a mapped owner), then the child switches to the
 * target ids.  An unprivileged caller's child writes its own maps. */
static int write_maps(pid_t pid, const spec *sp, pl_err *err)
{
	char m[96];
	int rc;

	if (!sp->drop_to)
		return 0;
	if (sp->host_uid == 0)
		snprintf(m, sizeof(m), "0 0 1\n");
	else
		snprintf(m, sizeof(m), "0 0 1\n%u %u 1\n", sp->host_uid, sp->host_uid);
	if ((rc = write_proc(pid, "uid_map", m, err)) < 0)
		return rc;
	if (sp->host_gid == 0)
		snprintf(m, sizeof(m), "0 0 1\n");
	else
		snprintf(m, sizeof(m), "0 0 1\n%u %u 1\n", sp->host_gid, sp->host_gid);
	return write_proc(pid, "gid_map", m, err);
}

/* Clone the sandbox's init.  On success *pid_out is its pid and *ctl the
 * caller's end of the control socket. */
static int start_sandbox(pid_t *pid_out, int *ctl, spec *sp, pl_err *err)
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
		rc = pl_err_set(err, e == EPERM || e == EINVAL || e == ENOSPC ? PL_EUNSUPPORTED : PL_ESYS,
				"cannot create the sandbox's namespaces: %s (see 'plait doctor')", strerror(e));
		goto done;
	}
	if (pid == 0)
		child_main(sp);
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

static int report_error(const report *r, const char *cmd, pl_err *err)
{
	if (r->type == MSG_SETUP_FAIL)
		return pl_err_set(err, PL_ESYS, "setting up the sandbox: %s: %s", r->text, strerror(r->err));
	if (r->type == MSG_EXEC_FAIL && !strcmp(r->text, "exec"))
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
	const char *stdin_data;
	size_t stdin_len, stdin_off;
	capture cap_out, cap_err;
	const sbx_exec_opts *opts;
	report rep;
	bool have_rep;
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

/* Poll until the report arrives and, when wait_eof, the streams close.
 * on_timeout is called once when the deadline passes. */
static void run_loop(run_state *st, double deadline, bool wait_eof, void (*on_timeout)(void *), void *arg,
		     bool *timed_out)
{
	struct pollfd pf[4];
	int n, ms, i;

	for (;;) {
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
		if (st->in >= 0)
			pf[n++] = (struct pollfd){ st->in, POLLOUT, 0 };
		ms = -1;
		if (deadline > 0 && !*timed_out) {
			double left = deadline - pl_now();

			ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
		}
		if (poll(pf, (nfds_t)n, ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (deadline > 0 && !*timed_out && pl_now() >= deadline) {
			*timed_out = true;
			on_timeout(arg);
		}
		for (i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == st->out)
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
			} else if (pf[i].fd == st->in) {
				ssize_t w = send(st->in, st->stdin_data + st->stdin_off, st->stdin_len - st->stdin_off,
						 MSG_NOSIGNAL);

				if (w > 0)
					st->stdin_off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || st->stdin_off >= st->stdin_len) {
					close(st->in);
					st->in = -1;
				}
			}
		}
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
	if (timed_out)
		res->limits_hit |= SBX_LIMIT_TIMEOUT;
	if (st->have_rep && st->rep.type == MSG_DONE) {
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
	spec sp;
	sbx__cgroup cg;
	char **envp = NULL;
	int p[3][2], rc, i;
	unsigned cg_hit = 0;
	pid_t pid = -1;
	bool timed_out = false, want_in = opts && opts->stdin_data, direct = opts && opts->direct_output;
	double t0 = pl_now(), timeout = pick_timeout(cfg, opts);
	size_t cap = cfg->output_cap ? cfg->output_cap : 1 << 20;

	if ((rc = check_argv(argv, err)) < 0 || (rc = sbx_config_check(cfg, err)) < 0 ||
	    (rc = check_opts(opts, cfg, err)) < 0)
		return rc;
	if ((rc = cgroup_open(&cg, cfg, err)) < 0)
		return rc;
	if ((rc = make_pipes(p, want_in, !direct, cfg->merge_output, err)) < 0) {
		sbx__cgroup_destroy(&cg);
		return rc;
	}
	envp = build_env(cfg, opts ? opts->env : NULL);
	spec_prepare(&sp, cfg, &cg);
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
	st.stdin_data = want_in ? opts->stdin_data : NULL;
	st.stdin_len = want_in ? opts->stdin_len : 0;
	st.opts = opts;
	capture_init(&st.cap_out, cap);
	capture_init(&st.cap_err, cap);
	run_loop(&st, timeout > 0 ? t0 + timeout : 0, true, kill_pid, &pid, &timed_out);
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
	if (st.have_rep && st.rep.type != MSG_DONE) {
		capture_finish(&st.cap_out, &res->out, &res->out_bytes);
		capture_finish(&st.cap_err, &res->err, &res->err_bytes);
		rc = report_error(&st.rep, argv[0], err);
		goto done;
	}
	fill_result(res, &st, cfg, timed_out, t0);
	res->limits_hit |= cg_hit;
	res->cgroup = cg.dir[0] != '\0';
done:
	sbx__cgroup_destroy(&cg);
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
};

static void config_copy(sbx_config *dst, const sbx_config *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->rootfs = src->rootfs ? pl_xstrdup(src->rootfs) : NULL;
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
	dst->uid = src->uid;
	dst->gid = src->gid;
	dst->cgroup = src->cgroup;
	dst->cgroup_parent = src->cgroup_parent ? pl_xstrdup(src->cgroup_parent) : NULL;
}

int sbx_session_open(sbx_session **out, const sbx_config *cfg, pl_err *err)
{
	sbx_session *s;
	report r;
	spec sp;
	ssize_t n;
	int rc;

	if ((rc = sbx_config_check(cfg, err)) < 0)
		return rc;
	s = pl_xcalloc(1, sizeof(*s));
	s->ctl = -1;
	sbx__cgroup_init(&s->cg);
	config_copy(&s->cfg, cfg);
	if ((rc = cgroup_open(&s->cg, &s->cfg, err)) < 0)
		goto fail;
	spec_prepare(&sp, &s->cfg, &s->cg);
	sp.session = true;
	rc = start_sandbox(&s->init, &s->ctl, &sp, err);
	spec_release(&sp);
	if (rc < 0)
		goto fail;
	do
		n = recv(s->ctl, &r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(r) || r.type != MSG_READY) {
		if (n == sizeof(r))
			rc = report_error(&r, "session", err);
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
	int type = MSG_EXEC, rc = 0;
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
	if (m.len > MSG_MAX || (size_t)argc + envc + 2 > STRV_MAX) {
		rc = pl_err_set(err, PL_ELIMIT, "command and environment too large for a session (%zu bytes, at most %d)",
				m.len, MSG_MAX);
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
	int type = MSG_KILL;

	if (send(s->ctl, &type, sizeof(type), MSG_NOSIGNAL) < 0)
		kill(s->init, SIGKILL);
}

int sbx_session_exec(sbx_result *res, sbx_session *s, const char *const *argv, const sbx_exec_opts *opts,
		     pl_err *err)
{
	run_state st;
	char **envp = NULL;
	int p[3][2], fds[3], rc, nullfd = -1;
	bool timed_out = false, want_in = opts && opts->stdin_data, direct = opts && opts->direct_output;
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
	st.stdin_data = want_in ? opts->stdin_data : NULL;
	st.stdin_len = want_in ? opts->stdin_len : 0;
	st.opts = opts;
	capture_init(&st.cap_out, cap);
	capture_init(&st.cap_err, cap);
	run_loop(&st, timeout > 0 ? t0 + timeout : 0, false, kill_session_cmd, s, &timed_out);
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
	if (st.rep.type != MSG_DONE) {
		capture_finish(&st.cap_out, &res->out, &res->out_bytes);
		capture_finish(&st.cap_err, &res->err, &res->err_bytes);
		rc = report_error(&st.rep, argv[0], err);
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
