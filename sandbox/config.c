/* config.c - sandbox configuration: defaults, setters, checks, profiles. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const default_env_allow[] = { "PATH", "LANG", "LC_*", "TERM", "TZ" };

static void set_str(char **slot, const char *s)
{
	free(*slot);
	*slot = s ? pl_xstrdup(s) : NULL;
}

void sbx_config_init(sbx_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < PL_ARRAY_LEN(default_env_allow); i++)
		sbx_config_allow_env(cfg, default_env_allow[i]);
	sbx_config_set_env(cfg, "HOME=/tmp", NULL);
	/* Nothing unbounded by default (docs/SANDBOX.md, "Limits"); a
	 * profile or the caller raises what a job needs. */
	cfg->limits.nproc = 1024;
	cfg->limits.memory = (uint64_t)4 << 30;
	cfg->limits.nofile = 1024;
	/* each file, and each memfd, which no rlimit counts otherwise */
	cfg->limits.fsize = (uint64_t)4 << 30;
	cfg->output_cap = 1 << 20;
	cfg->protect_git = true;
	cfg->uid = -1;
	cfg->gid = -1;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void sbx_config_release(sbx_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nbinds; i++) {
		free(cfg->binds[i].src);
		free(cfg->binds[i].dst);
	}
	free(cfg->binds);
	free_strv(cfg->env_allow, cfg->nenv_allow);
	free_strv(cfg->env_set, cfg->nenv_set);
	free(cfg->rootfs);
	free(cfg->rootfs_overlay);
	free(cfg->workdir);
	free(cfg->cwd);
	free(cfg->hostname);
	free(cfg->cgroup_parent);
	memset(cfg, 0, sizeof(*cfg));
}

void sbx_config_set_rootfs(sbx_config *cfg, const char *dir) { set_str(&cfg->rootfs, dir); }
void sbx_config_set_rootfs_overlay(sbx_config *cfg, const char *dir, uint32_t ids_base, uint32_t ids_count)
{
	set_str(&cfg->rootfs_overlay, dir);
	cfg->rootfs_ids_base = dir ? ids_base : 0;
	cfg->rootfs_ids_count = dir ? ids_count : 0;
}
void sbx_config_set_workdir(sbx_config *cfg, const char *dir) { set_str(&cfg->workdir, dir); }
void sbx_config_set_cwd(sbx_config *cfg, const char *dir) { set_str(&cfg->cwd, dir); }
void sbx_config_set_hostname(sbx_config *cfg, const char *name) { set_str(&cfg->hostname, name); }
void sbx_config_set_cgroup_parent(sbx_config *cfg, const char *dir) { set_str(&cfg->cgroup_parent, dir); }

int sbx_cgroup_use_parse(sbx_cgroup_use *out, const char *s, pl_err *err)
{
	if (!strcmp(s, "auto"))
		*out = SBX_CGUSE_AUTO;
	else if (!strcmp(s, "off"))
		*out = SBX_CGUSE_OFF;
	else if (!strcmp(s, "require"))
		*out = SBX_CGUSE_REQUIRE;
	else
		return pl_err_set(err, PL_EINVAL, "cgroup use '%s' is not one of auto, off, require", s);
	return 0;
}

void sbx_config_add_bind(sbx_config *cfg, const char *src, const char *dst, bool ro)
{
	sbx_bind *b;

	cfg->binds = pl_xrealloc(cfg->binds, (cfg->nbinds + 1) * sizeof(*cfg->binds));
	b = &cfg->binds[cfg->nbinds++];
	b->src = pl_xstrdup(src);
	b->dst = pl_xstrdup(dst ? dst : src);
	b->ro = ro;
}

void sbx_config_allow_env(sbx_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nenv_allow; i++)
		if (!strcmp(cfg->env_allow[i], name))
			return;
	cfg->env_allow = pl_xrealloc(cfg->env_allow, (cfg->nenv_allow + 1) * sizeof(char *));
	cfg->env_allow[cfg->nenv_allow++] = pl_xstrdup(name);
}

int sbx_config_set_env(sbx_config *cfg, const char *assignment, pl_err *err)
{
	const char *eq = strchr(assignment, '=');
	size_t i, n;

	if (!eq || eq == assignment)
		return pl_err_set(err, PL_EINVAL, "environment setting '%s' is not NAME=VALUE", assignment);
	n = (size_t)(eq - assignment) + 1;
	for (i = 0; i < cfg->nenv_set; i++) {
		if (!strncmp(cfg->env_set[i], assignment, n)) {
			set_str(&cfg->env_set[i], assignment);
			return 0;
		}
	}
	cfg->env_set = pl_xrealloc(cfg->env_set, (cfg->nenv_set + 1) * sizeof(char *));
	cfg->env_set[cfg->nenv_set++] = pl_xstrdup(assignment);
	return 0;
}

static int check_abs(const char *field, const char *path, pl_err *err)
{
	if (!path[0] || path[0] != '/')
		return pl_err_set(err, PL_EINVAL, "%s '%s' is not an absolute path", field, path);
	if (strlen(path) >= PATH_MAX / 2)
		return pl_err_set(err, PL_EINVAL, "%s '%.40s...' is too long", field, path);
	return 0;
}

static int check_dir(const char *field, const char *path, pl_err *err)
{
	struct stat st;
	int rc;

	if ((rc = check_abs(field, path, err)) < 0)
		return rc;
	if (stat(path, &st) < 0)
		return pl_err_sys(err, PL_ENOTFOUND, "%s '%s'", field, path);
	if (!S_ISDIR(st.st_mode))
		return pl_err_set(err, PL_EINVAL, "%s '%s' is not a directory", field, path);
	return 0;
}

char *sbx__path_normalize(const char *path)
{
	pl_buf x = PL_BUF_INIT;
	const char *p = path;

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n && !(n == 1 && p[0] == '.')) {
			pl_buf_putc(&x, '/');
			pl_buf_add(&x, p, n);
		}
		p += n;
	}
	if (!x.len)
		pl_buf_putc(&x, '/');
	return pl_buf_detach(&x, NULL);
}

static bool has_dotdot(const char *path)
{
	const char *p;

	for (p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

/* /, /proc and /dev are the sandbox's own: no bind covers them. */
static int check_destination(const char *field, const char *dst, pl_err *err)
{
	char *n;
	int rc = 0;

	if (has_dotdot(dst))
		return pl_err_set(err, PL_EINVAL, "%s '%s' has a '..' component", field, dst);
	n = sbx__path_normalize(dst);
	if (!strcmp(n, "/") || !strcmp(n, "/proc") || pl_str_starts_with(n, "/proc/") || !strcmp(n, "/dev") ||
	    pl_str_starts_with(n, "/dev/"))
		rc = pl_err_set(err, PL_EINVAL, "%s '%s' is reserved (/, /proc and /dev are the sandbox's own)", field, dst);
	free(n);
	return rc;
}

int sbx_config_check(const sbx_config *cfg, pl_err *err)
{
	size_t i;
	int rc;

	if (cfg->rootfs && (rc = check_dir("rootfs", cfg->rootfs, err)) < 0)
		return rc;
	if (cfg->rootfs_overlay && !cfg->rootfs)
		return pl_err_set(err, PL_EINVAL, "rootfs_overlay '%s' without a rootfs to lay it over",
				  cfg->rootfs_overlay);
	if (cfg->rootfs_overlay && (rc = check_dir("rootfs_overlay", cfg->rootfs_overlay, err)) < 0)
		return rc;
	if (cfg->rootfs_ids_count && (uint64_t)cfg->rootfs_ids_base + cfg->rootfs_ids_count > 0xffffffffull)
		return pl_err_set(err, PL_EINVAL, "rootfs ids %u+%u go beyond the 32-bit id space", cfg->rootfs_ids_base,
				  cfg->rootfs_ids_count);
	if (cfg->workdir &&
	    ((rc = check_dir("workdir", cfg->workdir, err)) < 0 || (rc = check_destination("workdir", cfg->workdir, err)) < 0))
		return rc;
	if (cfg->cwd && (rc = check_abs("cwd", cfg->cwd, err)) < 0)
		return rc;
	if (cfg->cgroup_parent && (rc = check_abs("cgroup_parent", cfg->cgroup_parent, err)) < 0)
		return rc;
	for (i = 0; i < cfg->nbinds; i++) {
		const sbx_bind *b = &cfg->binds[i];

		if ((rc = check_abs("bind source", b->src, err)) < 0 ||
		    (rc = check_abs("bind destination", b->dst, err)) < 0)
			return rc;
		if (access(b->src, F_OK) < 0)
			return pl_err_sys(err, PL_ENOTFOUND, "bind source '%s'", b->src);
		if ((rc = check_destination("bind destination", b->dst, err)) < 0)
			return rc;
	}
	if (cfg->hostname && (strlen(cfg->hostname) == 0 || strlen(cfg->hostname) > 64))
		return pl_err_set(err, PL_EINVAL, "hostname '%s' must have 1 to 64 characters", cfg->hostname);
	if (cfg->limits.timeout < 0)
		return pl_err_set(err, PL_EINVAL, "timeout %g is negative", cfg->limits.timeout);
	if ((cfg->uid != -1 && (cfg->uid < 0 || cfg->uid > 0xfffffffe)) ||
	    (cfg->gid != -1 && (cfg->gid < 0 || cfg->gid > 0xfffffffe)))
		return pl_err_set(err, PL_EINVAL, "uid/gid out of range");
	/* Untrusted code never runs as the host's root: owner permissions
	 * would open root's files of the host root to it, files it leaves in
	 * a bind would be root's, and RLIMIT_NPROC would not bind it. */
	if (cfg->uid == 0 || cfg->gid == 0)
		return pl_err_set(err, PL_EINVAL, "the sandbox never runs as %s 0 (root): give another %s",
				  cfg->uid == 0 ? "uid" : "gid", cfg->uid == 0 ? "uid" : "gid");
	if ((cfg->uid != -1 || cfg->gid != -1) && geteuid() != 0 &&
	    ((cfg->uid != -1 && cfg->uid != (int64_t)getuid()) || (cfg->gid != -1 && cfg->gid != (int64_t)getgid())))
		return pl_err_set(err, PL_EINVAL, "only root may run the sandbox as another user (uid %lld, gid %lld)",
				  (long long)cfg->uid, (long long)cfg->gid);
	return 0;
}

/* ---------------------------------------------------------------- profiles */

/* A size given as a number of bytes or a string like "512M". */
static int json_size(uint64_t *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	const json_t *v = json_object_get(obj, key);
	int rc;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		if ((rc = pl_parse_size(out, json_string_value(v), err)) < 0) {
			pl_err_prefix(err, "%s: '%s'", what, key);
			return rc;
		}
		return 0;
	}
	return pl_err_set(err, PL_EFORMAT, "%s: '%s' must be a byte count or a size string like \"512M\"", what, key);
}

static int json_count(uint64_t *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	int64_t v = -1;
	int rc;

	if ((rc = pl_json_opt_int(&v, obj, key, what, err)) < 0)
		return rc;
	if (!json_object_get(obj, key) || json_is_null(json_object_get(obj, key)))
		return 0;
	if (v < 0)
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' must not be negative", what, key);
	*out = (uint64_t)v;
	return 0;
}

static int check_keys(const json_t *obj, const char *const *allowed, size_t n, const char *what, pl_err *err)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; i < n; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (i == n)
			return pl_err_set(err, PL_EFORMAT, "%s: unknown key '%s'", what, key);
	}
	return 0;
}

static int apply_limits(sbx_config *cfg, const json_t *l, const char *path, pl_err *err)
{
	static const char *const keys[] = { "timeout", "cpu_seconds", "address_space", "memory",
					    "nofile",  "nproc",       "fsize" };
	pl_buf what = PL_BUF_INIT;
	double t = cfg->limits.timeout;
	int rc;

	pl_buf_printf(&what, "%s: limits", path);
	if (!json_is_object(l)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s must be an object", what.ptr);
		goto done;
	}
	if ((rc = check_keys(l, keys, PL_ARRAY_LEN(keys), what.ptr, err)) < 0 ||
	    (rc = pl_json_opt_num(&t, l, "timeout", what.ptr, err)) < 0 ||
	    (rc = json_count(&cfg->limits.cpu_seconds, l, "cpu_seconds", what.ptr, err)) < 0 ||
	    (rc = json_size(&cfg->limits.address_space, l, "address_space", what.ptr, err)) < 0 ||
	    (rc = json_size(&cfg->limits.memory, l, "memory", what.ptr, err)) < 0 ||
	    (rc = json_count(&cfg->limits.nofile, l, "nofile", what.ptr, err)) < 0 ||
	    (rc = json_count(&cfg->limits.nproc, l, "nproc", what.ptr, err)) < 0 ||
	    (rc = json_size(&cfg->limits.fsize, l, "fsize", what.ptr, err)) < 0)
		goto done;
	if (t < 0) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'timeout' must not be negative", what.ptr);
		goto done;
	}
	cfg->limits.timeout = t;
done:
	pl_buf_release(&what);
	return rc;
}

static int str_array(const json_t *a, const char *key, const char *path, pl_err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' must be an array of strings", path, key);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return pl_err_set(err, PL_EFORMAT, "%s: '%s'[%zu] must be a string", path, key, i);
	}
	return 0;
}

static int apply_binds(sbx_config *cfg, const json_t *a, const char *path, pl_err *err)
{
	static const char *const keys[] = { "src", "dst", "ro" };
	char what[512];
	size_t i;
	json_t *b;
	int rc;

	if (!json_is_array(a))
		return pl_err_set(err, PL_EFORMAT, "%s: 'binds' must be an array of objects", path);
	json_array_foreach(a, i, b) {
		const char *src = NULL, *dst = NULL;
		bool ro = false;

		snprintf(what, sizeof(what), "%s: binds[%zu]", path, i);
		if (!json_is_object(b))
			return pl_err_set(err, PL_EFORMAT, "%s must be an object", what);
		if ((rc = check_keys(b, keys, PL_ARRAY_LEN(keys), what, err)) < 0 ||
		    (rc = pl_json_get_str(&src, b, "src", what, err)) < 0 ||
		    (rc = pl_json_opt_str(&dst, b, "dst", what, err)) < 0 ||
		    (rc = pl_json_opt_bool(&ro, b, "ro", what, err)) < 0)
			return rc;
		sbx_config_add_bind(cfg, src, dst, ro);
	}
	return 0;
}

static int apply_profile(sbx_config *cfg, const json_t *p, const char *path, pl_err *err)
{
	static const char *const keys[] = { "description", "rootfs",   "binds",   "workdir",
					    "cwd",         "env_allow", "env",     "network",
					    "hostname",    "limits",    "output_cap", "merge_output",
					    "cgroup",      "cgroup_parent", "protect_git" };
	const char *s = NULL;
	const json_t *v;
	const char *key;
	json_t *val;
	uint64_t cap = cfg->output_cap;
	size_t i;
	int rc;

	if (!json_is_object(p))
		return pl_err_set(err, PL_EFORMAT, "%s: a profile must be a JSON object", path);
	if ((rc = check_keys(p, keys, PL_ARRAY_LEN(keys), path, err)) < 0)
		return rc;
	if ((rc = pl_json_opt_str(&s, p, "description", path, err)) < 0)
		return rc;
	s = NULL;
	if ((rc = pl_json_opt_str(&s, p, "rootfs", path, err)) < 0)
		return rc;
	if (s)
		sbx_config_set_rootfs(cfg, s);
	s = NULL;
	if ((rc = pl_json_opt_str(&s, p, "workdir", path, err)) < 0)
		return rc;
	if (s)
		sbx_config_set_workdir(cfg, s);
	s = NULL;
	if ((rc = pl_json_opt_str(&s, p, "cwd", path, err)) < 0)
		return rc;
	if (s)
		sbx_config_set_cwd(cfg, s);
	s = NULL;
	if ((rc = pl_json_opt_str(&s, p, "hostname", path, err)) < 0)
		return rc;
	if (s)
		sbx_config_set_hostname(cfg, s);
	s = NULL;
	if ((rc = pl_json_opt_str(&s, p, "cgroup_parent", path, err)) < 0)
		return rc;
	if (s)
		sbx_config_set_cgroup_parent(cfg, s);
	s = NULL;
	if ((rc = pl_json_opt_str(&s, p, "cgroup", path, err)) < 0)
		return rc;
	if (s && (rc = sbx_cgroup_use_parse(&cfg->cgroup, s, err)) < 0) {
		pl_err_prefix(err, "%s: 'cgroup'", path);
		return rc;
	}
	if ((rc = pl_json_opt_bool(&cfg->network, p, "network", path, err)) < 0 ||
	    (rc = pl_json_opt_bool(&cfg->merge_output, p, "merge_output", path, err)) < 0 ||
	    (rc = pl_json_opt_bool(&cfg->protect_git, p, "protect_git", path, err)) < 0 ||
	    (rc = json_size(&cap, p, "output_cap", path, err)) < 0)
		return rc;
	cfg->output_cap = (size_t)cap;
	if ((v = json_object_get(p, "binds")) && (rc = apply_binds(cfg, v, path, err)) < 0)
		return rc;
	if ((v = json_object_get(p, "env_allow"))) {
		if ((rc = str_array(v, "env_allow", path, err)) < 0)
			return rc;
		json_array_foreach(v, i, val) sbx_config_allow_env(cfg, json_string_value(val));
	}
	if ((v = json_object_get(p, "env"))) {
		if (!json_is_object(v))
			return pl_err_set(err, PL_EFORMAT, "%s: 'env' must be an object of strings", path);
		json_object_foreach((json_t *)v, key, val) {
			pl_buf a = PL_BUF_INIT;

			if (!json_is_string(val))
				return pl_err_set(err, PL_EFORMAT, "%s: env '%s' must be a string", path, key);
			pl_buf_printf(&a, "%s=%s", key, json_string_value(val));
			rc = sbx_config_set_env(cfg, a.ptr, err);
			pl_buf_release(&a);
			if (rc < 0) {
				pl_err_prefix(err, "%s", path);
				return rc;
			}
		}
	}
	if ((v = json_object_get(p, "limits")) && (rc = apply_limits(cfg, v, path, err)) < 0)
		return rc;
	return 0;
}

/* Where `make install` puts the profiles (the Makefile gives PREFIX's). */
#ifndef SBX_PROFILE_DIR
#define SBX_PROFILE_DIR "/usr/local/share/plait/sandbox"
#endif

/* Directories holding named profiles, in search order, appended to dirs:
 * the ones a user names (the environment), the install's, the system's.
 * Never one found from where the program lies: a plait binary inside a
 * work directory (a repository that ships one, a build the sandbox ran)
 * would read profiles that the sandboxed code could have written there. */
static void profile_dirs(pl_buf *dirs)
{
	const char *e;

	if ((e = getenv("PLAIT_SANDBOX_PROFILES")) && *e)
		pl_buf_printf(dirs, "%s\n", e);
	if ((e = getenv("PLAIT_ROOT")) && *e)
		pl_buf_printf(dirs, "%s/configs/sandbox\n", e);
	pl_buf_puts(dirs, SBX_PROFILE_DIR "\n/etc/plait/sandbox\n");
}

/* A profile decides what the sandbox may reach: it is read only from a
 * file that root or the caller owns and no one else may write, in a
 * directory no one else may write (unless sticky, where others cannot
 * replace it); the bytes checked are the bytes read. */
static int profile_read(pl_buf *text, const char *path, pl_err *err)
{
	char parent[PATH_MAX];
	struct stat st, dst;
	char *slash;
	ssize_t n;
	int fd, rc = 0;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return pl_err_sys(err, errno == ENOENT ? PL_ENOTFOUND : PL_EIO, "sandbox profile '%s'", path);
	if (fstat(fd, &st) < 0 || stat(parent, &dst) < 0) {
		rc = pl_err_sys(err, PL_EIO, "sandbox profile '%s'", path);
	} else if (!S_ISREG(st.st_mode)) {
		rc = pl_err_set(err, PL_EINVAL, "sandbox profile '%s' is not a regular file", path);
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		rc = pl_err_set(err, PL_EINVAL,
				"sandbox profile '%s' is owned by uid %u, neither root nor this user: refused (a profile "
				"decides what the sandbox may reach)",
				path, (unsigned)st.st_uid);
	} else if ((st.st_mode & S_IWOTH) || ((dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX)) ||
		   (dst.st_uid != 0 && dst.st_uid != geteuid())) {
		rc = pl_err_set(err, PL_EINVAL,
				"sandbox profile '%s' may be written by other users (the file, or its directory '%s'): "
				"refused (a profile decides what the sandbox may reach)",
				path, parent);
	}
	while (rc == 0) {
		char buf[8192];

		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = pl_err_sys(err, PL_EIO, "reading sandbox profile '%s'", path);
		if (n <= 0)
			break;
		if (text->len + (size_t)n > (1 << 20))
			rc = pl_err_set(err, PL_ELIMIT, "sandbox profile '%s' is larger than 1 MiB", path);
		else
			pl_buf_add(text, buf, (size_t)n);
	}
	close(fd);
	return rc;
}

static bool valid_profile_name(const char *name)
{
	const char *p;

	if (!name[0])
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_'))
			return false;
	return true;
}

int sbx_profile_load(sbx_config *cfg, const char *name_or_path, pl_err *err)
{
	pl_buf dirs = PL_BUF_INIT, path = PL_BUF_INIT, text = PL_BUF_INIT;
	json_t *p = NULL;
	char *line, *save = NULL;
	int rc = 0;

	if (strchr(name_or_path, '/') || pl_str_ends_with(name_or_path, ".json")) {
		pl_buf_puts(&path, name_or_path);
	} else {
		if (!valid_profile_name(name_or_path)) {
			rc = pl_err_set(err, PL_EINVAL, "profile name '%s' may hold only letters, digits, '-' and '_'",
					name_or_path);
			goto done;
		}
		profile_dirs(&dirs);
		for (line = strtok_r(dirs.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			pl_buf_reset(&path);
			pl_buf_printf(&path, "%s/%s.json", line, name_or_path);
			if (pl_file_exists(path.ptr))
				break;
		}
		if (!line) {
			rc = pl_err_set(err, PL_ENOTFOUND,
					"sandbox profile '%s' not found (looked for %s.json in $PLAIT_SANDBOX_PROFILES, "
					"$PLAIT_ROOT/configs/sandbox, " SBX_PROFILE_DIR ", /etc/plait/sandbox; a "
					"source tree's are found with PLAIT_ROOT set to it)",
					name_or_path, name_or_path);
			goto done;
		}
	}
	if ((rc = profile_read(&text, path.ptr, err)) < 0 || (rc = pl_json_parse(&p, text.ptr, text.len, path.ptr, err)) < 0)
		goto done;
	rc = apply_profile(cfg, p, path.ptr, err);
done:
	json_decref(p);
	pl_buf_release(&text);
	pl_buf_release(&dirs);
	pl_buf_release(&path);
	return rc;
}
