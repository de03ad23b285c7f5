/* glob.c - the glob `find` takes as its pattern and `search` as its glob
 * argument: shell-like, with '**' across directories and {a,b}. */
#include "tools/internal.h"

#include <string.h>

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

bool tools__glob_match(const char *pat, const char *path)
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
