/* run.c - a run's view of an image: its root under an overlay of the run's
 * own (mounted by the sandbox), and the image's Env, WorkingDir, User and
 * Entrypoint/Cmd turned into a sandbox configuration and an argv. */
#define _GNU_SOURCE
#include "image/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct img_run {
	char *root;	/* the image's rootfs directory (shared, read-only) */
	char *dir;	/* DIR/runs/run-XXXXXX: the overlay's upper and work */
	char *changes;	/* dir/upper */
	json_t *config; /* the image's config object */
	bool shift;
	bool keep;	  /* img_run_keep: the changes stay */
	int64_t uid, gid; /* the image user's ids (before the shift) */
	char *home;
	char *ref;	  /* the image, for messages */
};

/* A file of the image (/etc/passwd), read with symlinks resolved inside
 * its root; empty when absent. */
static void read_image_file(pl_buf *out, const char *root, const char *rel)
{
	struct open_how how;
	char buf[65536];
	int rfd, fd;
	ssize_t n;

	if ((rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	fd = (int)syscall(SYS_openat2, rfd, rel, &how, sizeof(how));
	close(rfd);
	if (fd < 0)
		return;
	while (out->len < (4u << 20) && (n = read(fd, buf, sizeof(buf))) > 0)
		pl_buf_add(out, buf, (size_t)n);
	close(fd);
}

/* In an /etc/passwd or /etc/group text: the line whose first field is name
 * (or, numeric, whose third is); fields split into f[0..6]. */
static bool find_entry(char *text, const char *name, bool numeric, char **f, int nf)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line;
		int k;

		for (k = 0; k < nf; k++) {
			f[k] = p;
			p = p ? strchr(p, ':') : NULL;
			if (p)
				*p++ = '\0';
		}
		if (!f[0] || !f[2])
			continue;
		if (numeric ? !strcmp(f[2], name) : !strcmp(f[0], name))
			return true;
	}
	return false;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* User "name", "uid", "name:group", "uid:gid" of the image, Docker's way:
 * names looked up in the image's /etc/passwd and /etc/group; the group
 * defaults to the user's primary one (0 when unknown). */
static int resolve_user(img_run *r, const char *user, const char *ref, pl_err *err)
{
	pl_buf passwd = PL_BUF_INIT, group = PL_BUF_INIT, u = PL_BUF_INIT;
	char *g = NULL, *f[7];
	int rc = 0;

	r->uid = 0;
	r->gid = 0;
	if (!user || !*user)
		user = "root";
	pl_buf_puts(&u, user);
	if ((g = strchr(u.ptr, ':')))
		*g++ = '\0';
	read_image_file(&passwd, r->root, "etc/passwd");
	memset(f, 0, sizeof(f));
	if (find_entry(passwd.ptr, u.ptr, all_digits(u.ptr), f, 7)) {
		r->uid = strtoll(f[2], NULL, 10);
		r->gid = f[3] ? strtoll(f[3], NULL, 10) : 0;
		if (f[5] && *f[5])
			r->home = pl_xstrdup(f[5]);
	} else if (all_digits(u.ptr)) {
		r->uid = strtoll(u.ptr, NULL, 10);
	} else if (!strcmp(u.ptr, "root")) {
		r->uid = 0; /* an image without /etc/passwd (scratch, distroless) */
	} else {
		rc = pl_err_set(err, PL_ENOTFOUND,
				"image '%s': its user '%s' is not in the image's /etc/passwd", ref, u.ptr);
		goto done;
	}
	if (g && *g) {
		read_image_file(&group, r->root, "etc/group");
		if (find_entry(group.ptr, g, all_digits(g), f, 4)) {
			r->gid = strtoll(f[2], NULL, 10);
		} else if (all_digits(g)) {
			r->gid = strtoll(g, NULL, 10);
		} else {
			rc = pl_err_set(err, PL_ENOTFOUND,
					"image '%s': its group '%s' is not in the image's /etc/group", ref,
					g);
			goto done;
		}
	}
	if (r->uid < 0 || r->uid >= (int64_t)IMG_IDS_COUNT || r->gid < 0 ||
	    r->gid >= (int64_t)IMG_IDS_COUNT) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"image '%s': user %lld:%lld is beyond the %u ids an image may use", ref,
				(long long)r->uid, (long long)r->gid, IMG_IDS_COUNT);
		goto done;
	}
	if (!r->home)
		r->home = pl_xstrdup(r->uid == 0 ? "/root" : "/");
done:
	pl_buf_release(&passwd);
	pl_buf_release(&group);
	pl_buf_release(&u);
	return rc;
}

/* The upper layer starts with the root's owner and mode (they are the
 * merged root's) and the mount points the sandbox needs when the image
 * lacks them. */
static int make_upper(const img_run *r, pl_err *err)
{
	static const struct {
		const char *name;
		mode_t mode;
	} points[] = { { "proc", 0555 }, { "dev", 0755 }, { "tmp", 01777 } };
	struct stat st;
	pl_buf p = PL_BUF_INIT;
	size_t i;
	int rc = 0;

	if (stat(r->root, &st) < 0)
		return pl_err_sys(err, PL_ESYS, "image root '%s'", r->root);
	if (mkdir(r->changes, 0700) < 0 || (r->shift && chown(r->changes, st.st_uid, st.st_gid) < 0) ||
	    chmod(r->changes, st.st_mode & 07777) < 0)
		return pl_err_sys(err, PL_ESYS, "creating '%s'", r->changes);
	for (i = 0; i < PL_ARRAY_LEN(points); i++) {
		struct stat pst;

		pl_buf_reset(&p);
		pl_path_join(&p, r->root, points[i].name);
		if (lstat(p.ptr, &pst) == 0)
			continue;
		pl_buf_reset(&p);
		pl_path_join(&p, r->changes, points[i].name);
		if (mkdir(p.ptr, 0700) < 0 || (r->shift && chown(p.ptr, IMG_IDS_BASE, IMG_IDS_BASE) < 0) ||
		    chmod(p.ptr, points[i].mode) < 0) {
			rc = pl_err_sys(err, PL_ESYS, "creating '%s'", p.ptr);
			break;
		}
	}
	pl_buf_release(&p);
	return rc;
}

int img__run_open(img_run **out, img_store *s, const img_image *im, const char *root, pl_err *err)
{
	img_run *r = pl_xcalloc(1, sizeof(*r));
	const char *user = json_string_value(json_object_get(im->config, "User"));
	pl_buf p = PL_BUF_INIT;
	int rc;

	r->root = pl_xstrdup(root);
	r->ref = pl_xstrdup(im->ref);
	r->shift = s->shift;
	r->config = json_deep_copy(im->config);
	if ((rc = resolve_user(r, user, im->ref, err)) < 0)
		goto done;
	img__path(&p, s, "runs/run-XXXXXX");
	if (!mkdtemp(p.ptr)) {
		rc = pl_err_sys(err, PL_ESYS, "creating a run directory in '%s/runs'", s->dir);
		goto done;
	}
	r->dir = pl_buf_detach(&p, NULL);
	pl_path_join(&p, r->dir, "upper");
	r->changes = pl_buf_detach(&p, NULL);
	if ((rc = make_upper(r, err)) < 0)
		goto done;
	*out = r;
	r = NULL;
done:
	img_run_close(r);
	pl_buf_release(&p);
	return rc;
}

int img_run_configure(sbx_config *cfg, const img_run *r, pl_err *err)
{
	const json_t *env = json_object_get(r->config, "Env"), *v;
	const char *wd = json_string_value(json_object_get(r->config, "WorkingDir"));
	bool has_path = false, has_home = false;
	pl_buf b = PL_BUF_INIT;
	size_t i;
	int rc = 0;

	sbx_config_set_rootfs(cfg, r->root);
	sbx_config_set_rootfs_overlay(cfg, r->dir, r->shift ? IMG_IDS_BASE : 0, r->shift ? IMG_IDS_COUNT : 0);
	json_array_foreach(env, i, v)
	{
		const char *kv = json_string_value(v);

		if (!kv || !strchr(kv, '=') || kv[0] == '=')
			continue;
		has_path |= !strncmp(kv, "PATH=", 5);
		has_home |= !strncmp(kv, "HOME=", 5);
		if ((rc = sbx_config_set_env(cfg, kv, err)) < 0)
			goto done;
	}
	if (!has_path && (rc = sbx_config_set_env(cfg, "PATH=" DEFAULT_PATH, err)) < 0)
		goto done;
	if (!has_home) {
		pl_buf_printf(&b, "HOME=%s", r->home ? r->home : "/");
		if ((rc = sbx_config_set_env(cfg, b.ptr, err)) < 0)
			goto done;
	}
	sbx_config_set_cwd(cfg, wd && *wd ? wd : "/");
	if (r->shift) {
		cfg->uid = (int64_t)IMG_IDS_BASE + r->uid;
		cfg->gid = (int64_t)IMG_IDS_BASE + r->gid;
	}
done:
	pl_buf_release(&b);
	return rc;
}

int img_run_set_user(img_run *r, const char *user, pl_err *err)
{
	int64_t uid = r->uid, gid = r->gid;
	char *home = r->home;
	int rc;

	r->home = NULL;
	if ((rc = resolve_user(r, user, r->ref, err)) < 0) {
		free(r->home);
		r->uid = uid;
		r->gid = gid;
		r->home = home;
		return rc;
	}
	free(home);
	return 0;
}

const char *img_run_changes(const img_run *r)
{
	return r->changes;
}

void img_run_keep(img_run *r)
{
	r->keep = true;
}

void img_run_close(img_run *r)
{
	if (!r)
		return;
	if (r->dir && !r->keep)
		img__rm_tree(r->dir, NULL);
	free(r->root);
	free(r->dir);
	free(r->changes);
	free(r->home);
	free(r->ref);
	json_decref(r->config);
	free(r);
}

static void push_strings(char ***v, size_t *n, const json_t *a)
{
	const json_t *x;
	size_t i;

	if (json_is_string(a)) {
		/* the shell form, as some builders leave it */
		*v = pl_xrealloc(*v, (*n + 4) * sizeof(char *));
		(*v)[(*n)++] = pl_xstrdup("/bin/sh");
		(*v)[(*n)++] = pl_xstrdup("-c");
		(*v)[(*n)++] = pl_xstrdup(json_string_value(a));
		return;
	}
	json_array_foreach(a, i, x)
	{
		if (!json_is_string(x))
			continue;
		*v = pl_xrealloc(*v, (*n + 2) * sizeof(char *));
		(*v)[(*n)++] = pl_xstrdup(json_string_value(x));
	}
}

int img_image_argv(char ***out, const img_image *im, const char *const *args, size_t nargs, pl_err *err)
{
	char **v = pl_xcalloc(1, sizeof(char *));
	size_t n = 0, i;

	push_strings(&v, &n, json_object_get(im->config, "Entrypoint"));
	if (nargs) {
		v = pl_xrealloc(v, (n + nargs + 1) * sizeof(char *));
		for (i = 0; i < nargs; i++)
			v[n++] = pl_xstrdup(args[i]);
	} else {
		push_strings(&v, &n, json_object_get(im->config, "Cmd"));
	}
	if (!n) {
		free(v);
		return pl_err_set(err, PL_EINVAL,
				  "image '%s' has neither Entrypoint nor Cmd: give the command to run",
				  im->ref);
	}
	v = pl_xrealloc(v, (n + 1) * sizeof(char *));
	v[n] = NULL;
	*out = v;
	return 0;
}

void img_argv_free(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}
