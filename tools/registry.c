/* registry.c - the tool table, argument validation, the tool context and
 * `plait tool`. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adding a tool is one file defining its tools_def and one line here. */
static const tools_def *const table[] = {
	&tools_def_view,
	&tools_def_create,
	&tools_def_str_replace,
	&tools_def_insert,
	&tools_def_undo_edit,
	&tools_def_search,
	&tools_def_find,
	&tools_def_outline,
	&tools_def_definition,
	&tools_def_references,
	&tools_def_repo_map,
	&tools_def_bash,
	&tools_def_status,
	&tools_def_diff,
	&tools_def_submit,
};

const tools_def *const *tools_all(size_t *count)
{
	*count = PL_ARRAY_LEN(table);
	return table;
}

const tools_def *tools_find(const char *name)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(table); i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

json_t *tools_def_schema(const tools_def *def)
{
	json_error_t e;
	json_t *s = json_loads(def->schema, 0, &e);

	if (!s)
		PL_BUG("tool '%s': schema is not JSON: %s (line %d)", def->name, e.text, e.line);
	return s;
}

json_t *tools_list_json(void)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(table); i++) {
		json_t *o = json_object();
		pl_json_set(o, "name", json_string(table[i]->name));
		pl_json_set(o, "description", json_string(table[i]->description));
		pl_json_set(o, "parameters", tools_def_schema(table[i]));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* ------------------------------------------------------------ observations */

void tools_obs_init(tools_obs *obs)
{
	memset(obs, 0, sizeof(*obs));
	pl_buf_init(&obs->text, 0);
	obs->files = json_array();
	obs->data = json_object();
}

void tools_obs_release(tools_obs *obs)
{
	if (!obs)
		return;
	pl_buf_release(&obs->text);
	json_decref(obs->files);
	json_decref(obs->data);
	obs->files = obs->data = NULL;
}

json_t *tools_obs_json(const tools_obs *obs)
{
	json_t *o = json_object();

	pl_json_set(o, "text", json_stringn(obs->text.ptr, obs->text.len));
	pl_json_set(o, "files", json_incref(obs->files));
	pl_json_set(o, "exit_code", json_integer(obs->exit_code));
	pl_json_set(o, "truncated", json_boolean(obs->truncated));
	pl_json_set(o, "is_error", json_boolean(obs->is_error));
	pl_json_set(o, "finished", json_boolean(obs->finished));
	pl_json_set(o, "data", json_incref(obs->data));
	return o;
}

/* ------------------------------------------------------------ validation */

static bool type_ok(const char *type, const json_t *v)
{
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
	if (!strcmp(type, "number"))
		return json_is_number(v);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "array"))
		return json_is_array(v);
	if (!strcmp(type, "object"))
		return json_is_object(v);
	return false;
}

static int check_value(const json_t *schema, const json_t *v, const char *name, pl_err *err)
{
	const char *type = json_string_value(json_object_get(schema, "type"));
	const json_t *en = json_object_get(schema, "enum"), *x;
	size_t i;

	if (type && !type_ok(type, v))
		return pl_err_set(err, PL_EINVAL, "argument '%s' must be %s%s, got %s", name,
				  !strcmp(type, "integer") || !strcmp(type, "array") || !strcmp(type, "object") ? "an " : "a ",
				  type, pl_json_type_name(v));
	if (en) {
		pl_buf allowed = PL_BUF_INIT;
		json_array_foreach(en, i, x) {
			if (json_equal(x, v)) {
				pl_buf_release(&allowed);
				return 0;
			}
			pl_buf_printf(&allowed, "%s%s", i ? ", " : "", json_string_value(x) ? json_string_value(x) : "?");
		}
		pl_err_set(err, PL_EINVAL, "argument '%s' must be one of: %s", name, allowed.ptr);
		pl_buf_release(&allowed);
		return PL_EINVAL;
	}
	if ((x = json_object_get(schema, "minimum")) && json_is_number(v) && json_number_value(v) < json_number_value(x))
		return pl_err_set(err, PL_EINVAL, "argument '%s' must be at least %lld, got %g", name,
				  (long long)json_number_value(x), json_number_value(v));
	if (json_is_array(v)) {
		const json_t *items = json_object_get(schema, "items");
		if ((x = json_object_get(schema, "minItems")) && json_array_size(v) < (size_t)json_integer_value(x))
			return pl_err_set(err, PL_EINVAL, "argument '%s' must have at least %lld items, got %zu", name,
					  (long long)json_integer_value(x), json_array_size(v));
		if ((x = json_object_get(schema, "maxItems")) && json_array_size(v) > (size_t)json_integer_value(x))
			return pl_err_set(err, PL_EINVAL, "argument '%s' must have at most %lld items, got %zu", name,
					  (long long)json_integer_value(x), json_array_size(v));
		if (items) {
			json_array_foreach(v, i, x) {
				char sub[160];
				int rc;
				snprintf(sub, sizeof(sub), "%s[%zu]", name, i);
				if ((rc = check_value(items, x, sub, err)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

int tools_validate(const json_t *schema, const json_t *args, pl_err *err)
{
	const json_t *props = json_object_get(schema, "properties"), *req = json_object_get(schema, "required"), *v;
	const char *key;
	size_t i;
	int rc;

	if (!json_is_object(args))
		return pl_err_set(err, PL_EINVAL, "arguments must be a JSON object, got %s", pl_json_type_name(args));
	json_array_foreach(req, i, v) {
		const json_t *a = json_object_get(args, json_string_value(v));
		if (!a || json_is_null(a))
			return pl_err_set(err, PL_EINVAL, "missing required argument '%s'", json_string_value(v));
	}
	json_object_foreach((json_t *)args, key, v) {
		const json_t *ps = json_object_get(props, key);
		if (!ps) {
			pl_buf allowed = PL_BUF_INIT;
			const char *k;
			const json_t *p;
			json_object_foreach((json_t *)props, k, p)
				pl_buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", k);
			pl_err_set(err, PL_EINVAL, "unknown argument '%s'; this tool takes: %s", key, allowed.ptr);
			pl_buf_release(&allowed);
			return PL_EINVAL;
		}
		if (json_is_null(v))
			continue; /* an explicit null means "not given" */
		if ((rc = check_value(ps, v, key, err)) < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ context */

int tools_ctx_new(tools_ctx **out, const char *root, const tools_ctx_opts *opts, pl_err *err)
{
	tools_ctx *c;
	char real[PATH_MAX];
	int rc = 0;

	if (!realpath(root, real))
		return pl_err_sys(err, PL_ENOTFOUND, "repository root '%s'", root);
	if (!pl_dir_exists(real))
		return pl_err_set(err, PL_EINVAL, "repository root '%s' is not a directory", root);
	if ((rc = tools_git2_init(err)) < 0)
		return rc;
	c = pl_xcalloc(1, sizeof(*c));
	c->root = pl_xstrdup(real);
	c->max_output = opts && opts->max_output ? opts->max_output : 16000;
	c->log = opts ? opts->log : NULL;
	if (opts && opts->sandbox_profile)
		c->shell_profile = pl_xstrdup(opts->sandbox_profile);
	c->schemas = json_object();
	if (git_repository_open_ext(&c->repo, real, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		git_object *obj = NULL;
		const char *base = opts && opts->base ? opts->base : "HEAD";
		if (git_revparse_single(&obj, c->repo, base) == 0) {
			git_object *commit = NULL;
			if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0) {
				git_oid_tostr(c->base, sizeof(c->base), git_object_id(commit));
				git_object_free(commit);
			}
			git_object_free(obj);
		} else if (opts && opts->base) {
			rc = tools_git_error(err, PL_ENOTFOUND, opts->base);
			goto done;
		}
		if (opts && opts->cache_dir)
			c->cache_dir = pl_xstrdup(opts->cache_dir);
		else {
			pl_buf b = PL_BUF_INIT;
			pl_path_join(&b, git_repository_path(c->repo), "plait-cache");
			c->cache_dir = pl_buf_detach(&b, NULL);
		}
	} else {
		c->repo = NULL;
		if (opts && opts->cache_dir)
			c->cache_dir = pl_xstrdup(opts->cache_dir);
	}
done:
	if (rc < 0) {
		tools_ctx_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void tools_ctx_free(tools_ctx *ctx)
{
	tools_undo *u, *n;

	if (!ctx)
		return;
	for (u = ctx->undo; u; u = n) {
		n = u->next;
		free(u->path);
		free(u->data);
		free(u);
	}
	tools_shell_close(ctx);
	tools_rmap_release(ctx);
	free(ctx->shell_profile);
	tools_queries_release(ctx);
	git_repository_free(ctx->repo);
	git_libgit2_shutdown();
	json_decref(ctx->schemas);
	free(ctx->cache_dir);
	free(ctx->root);
	free(ctx);
}

const char *tools_ctx_root(const tools_ctx *ctx)
{
	return ctx->root;
}

int tools_git_error(pl_err *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	return pl_err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int tools_resolve(pl_buf *abs, pl_buf *rel, const tools_ctx *ctx, const char *path, pl_err *err)
{
	pl_buf full = PL_BUF_INIT, norm = PL_BUF_INIT;
	const char *p, *seg;
	size_t rootlen = strlen(ctx->root);
	char real[PATH_MAX];
	int rc = 0;

	if (!*path)
		return pl_err_set(err, PL_EINVAL, "argument 'path' is empty; give a path relative to the repository root");
	if (path[0] == '/')
		pl_buf_puts(&full, path);
	else
		pl_path_join(&full, ctx->root, path);
	/* Normalise lexically: "." and ".." segments, repeated slashes. */
	for (p = full.ptr; *p;) {
		size_t n;
		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (!n || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *slash = strrchr(norm.ptr, '/');
			pl_buf_setlen(&norm, slash ? (size_t)(slash - norm.ptr) : 0);
			continue;
		}
		pl_buf_putc(&norm, '/');
		pl_buf_add(&norm, seg, n);
	}
	if (!norm.len)
		pl_buf_putc(&norm, '/');
	if (strncmp(norm.ptr, ctx->root, rootlen) || (norm.ptr[rootlen] && norm.ptr[rootlen] != '/')) {
		rc = pl_err_set(err, PL_EINVAL, "path '%s' is outside the repository (%s)", path, ctx->root);
		goto done;
	}
	/* The longest existing prefix must resolve inside the root too, so a
	 * symlink cannot carry an edit out of the repository. */
	{
		pl_buf probe = PL_BUF_INIT;
		pl_buf_add(&probe, norm.ptr, norm.len);
		for (;;) {
			if (realpath(probe.ptr, real)) {
				if (strncmp(real, ctx->root, rootlen) || (real[rootlen] && real[rootlen] != '/'))
					rc = pl_err_set(err, PL_EINVAL, "path '%s' leads outside the repository through a symlink", path);
				break;
			}
			char *slash = strrchr(probe.ptr, '/');
			if (!slash || (size_t)(slash - probe.ptr) <= rootlen)
				break;
			pl_buf_setlen(&probe, (size_t)(slash - probe.ptr));
		}
		pl_buf_release(&probe);
		if (rc < 0)
			goto done;
	}
	if (abs)
		pl_buf_add(abs, norm.ptr, norm.len);
	if (rel)
		pl_buf_puts(rel, norm.len > rootlen ? norm.ptr + rootlen + 1 : ".");
done:
	pl_buf_release(&full);
	pl_buf_release(&norm);
	return rc;
}

void tools_add_text(pl_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0;

	while (i < n) {
		unsigned char c = u[i];
		size_t len = 0;
		if (c < 0x80)
			len = c ? 1 : 0;
		else if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4;
		if (len > 1) {
			size_t k;
			if (i + len > n)
				len = 0;
			for (k = 1; len && k < len; k++)
				if ((u[i + k] & 0xC0) != 0x80)
					len = 0;
			if (len == 3 && ((c == 0xE0 && u[i + 1] < 0xA0) || (c == 0xED && u[i + 1] > 0x9F)))
				len = 0;
			if (len == 4 && ((c == 0xF0 && u[i + 1] < 0x90) || (c == 0xF4 && u[i + 1] > 0x8F)))
				len = 0;
		}
		if (!len) {
			pl_buf_add(b, s + start, i - start);
			pl_buf_printf(b, "\\x%02X", c);
			i++;
			start = i;
		} else
			i += len;
	}
	pl_buf_add(b, s + start, n - start);
}

bool tools_is_binary(const char *s, size_t n)
{
	return memchr(s, 0, n < 8192 ? n : 8192) != NULL;
}

bool tools_is_ignored(const tools_ctx *ctx, const char *rel)
{
	int ign = 0;

	if (!ctx->repo)
		return false;
	if (!strcmp(rel, ".git") || pl_str_starts_with(rel, ".git/"))
		return true;
	if (git_ignore_path_is_ignored(&ign, ctx->repo, rel) < 0)
		return false;
	return ign != 0;
}

/* The matcher proper: pat against the whole of path.  Every construct but
 * '**' stays inside one path segment. */
static bool glob_here(const char *pat, const char *path)
{
	for (;;) {
		char c = *pat;
		if (!c)
			return !*path;
		if (c == '*') {
			bool dbl = pat[1] == '*';
			pat += dbl ? 2 : 1;
			if (dbl && *pat == '/') {
				/* "**" + "/" also matches zero directories */
				if (glob_here(pat + 1, path))
					return true;
			}
			for (;;) {
				if (glob_here(pat, path))
					return true;
				if (!*path || (!dbl && *path == '/'))
					return false;
				path++;
			}
		}
		if (!*path)
			return false;
		if (c == '?') {
			if (*path == '/')
				return false;
		} else if (c == '[') {
			const char *q = pat + 1;
			bool neg = *q == '!' || *q == '^', hit = false;
			if (neg)
				q++;
			/* the first member may be ']' */
			do {
				if (q[1] == '-' && q[2] && q[2] != ']') {
					if (*path >= q[0] && *path <= q[2])
						hit = true;
					q += 3;
				} else {
					if (*path == *q)
						hit = true;
					q++;
				}
			} while (*q && *q != ']');
			/* a set never matches '/', negated or not, as fnmatch's
			 * FNM_PATHNAME; an unclosed set matches nothing */
			if (!*q || hit == neg || *path == '/')
				return false;
			pat = q;
		} else if (c == '{') {
			/* {a,b}: try each alternative followed by the rest */
			const char *end = strchr(pat, '}'), *alt = pat + 1;
			if (!end)
				return *path == '{' && glob_here(pat + 1, path + 1);
			while (alt <= end) {
				const char *comma = memchr(alt, ',', (size_t)(end - alt));
				const char *stop = comma ? comma : end;
				pl_buf t = PL_BUF_INIT;
				bool ok;
				pl_buf_add(&t, alt, (size_t)(stop - alt));
				pl_buf_puts(&t, end + 1);
				ok = glob_here(t.ptr, path);
				pl_buf_release(&t);
				if (ok)
					return true;
				alt = stop + 1;
			}
			return false;
		} else if (c != *path)
			return false;
		pat++;
		path++;
	}
}

bool tools_glob_match(const char *pat, const char *path)
{
	/* Decided once for the whole pattern: deciding it again in each
	 * recursive step let "a/" "*c" match "a/b/c" (the rest after the
	 * star, "c", has no slash and was matched against the base name). */
	if (!strchr(pat, '/')) {
		const char *base = strrchr(path, '/');
		path = base ? base + 1 : path;
	}
	return glob_here(pat, path);
}

/* ------------------------------------------------------------ calls */

int tools_call(tools_obs *obs, tools_ctx *ctx, const char *name, const json_t *args, pl_err *err)
{
	const tools_def *def = tools_find(name);
	json_t *schema;
	pl_err local = { 0 };
	int rc;

	if (!err)
		err = &local;
	if (!def) {
		size_t i;
		pl_buf names = PL_BUF_INIT;
		for (i = 0; i < PL_ARRAY_LEN(table); i++)
			pl_buf_printf(&names, "%s%s", i ? ", " : "", table[i]->name);
		pl_err_set(err, PL_ENOTFOUND, "unknown tool '%s'; the tools are: %s", name, names.ptr);
		pl_buf_release(&names);
		rc = PL_ENOTFOUND;
		goto fail;
	}
	schema = json_object_get(ctx->schemas, name);
	if (!schema) {
		schema = tools_def_schema(def);
		json_object_set_new(ctx->schemas, name, schema);
	}
	if ((rc = tools_validate(schema, args, err)) < 0) {
		pl_err_prefix(err, "%s", name);
		goto fail;
	}
	if ((rc = def->run(obs, ctx, args, err)) < 0)
		goto fail;
	return 0;
fail:
	pl_buf_reset(&obs->text);
	pl_buf_printf(&obs->text, "error: %s", err->msg);
	obs->is_error = true;
	return rc;
}
