/* err.c - error values and the few ways plait is allowed to abort. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void err_vset(pl_err *err, int code, const char *suffix, const char *fmt, va_list ap)
{
	size_t n;

	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	n = strlen(err->msg);
	while (n > 0 && err->msg[n - 1] == '\n')
		err->msg[--n] = '\0';
	if (suffix)
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", suffix);
}

int pl_err_set(pl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	err_vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int pl_err_sys(pl_err *err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	err_vset(err, code, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return code;
}

void pl_err_prefix(pl_err *err, const char *fmt, ...)
{
	char prefix[PL_ERR_MSG_MAX];
	size_t plen, mlen, room;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	if (plen + 3 >= sizeof(err->msg))
		plen = sizeof(err->msg) - 3;
	/* Shift the old message right, keeping its start (the useful part). */
	room = sizeof(err->msg) - plen - 3;
	mlen = strnlen(err->msg, sizeof(err->msg));
	if (mlen > room)
		mlen = room;
	memmove(err->msg + plen + 2, err->msg, mlen);
	err->msg[plen + 2 + mlen] = '\0';
	memcpy(err->msg, prefix, plen);
	err->msg[plen] = ':';
	err->msg[plen + 1] = ' ';
}

void pl_err_clear(pl_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

const char *pl_code_name(int code)
{
	switch (code) {
	case PL_OK: return "ok";
	case PL_EINVAL: return "invalid";
	case PL_ENOMEM: return "out-of-memory";
	case PL_EIO: return "io";
	case PL_ENOTFOUND: return "not-found";
	case PL_EFORMAT: return "format";
	case PL_EUNSUPPORTED: return "unsupported";
	case PL_ETIMEOUT: return "timeout";
	case PL_ECANCELED: return "canceled";
	case PL_ESYS: return "system";
	case PL_ELIMIT: return "limit";
	case PL_EEXISTS: return "exists";
	case PL_EINTERNAL: return "internal";
	}
	return "unknown";
}

void pl_die(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plait: fatal: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s:%d)\n", file, line);
	abort();
}

/* ------------------------------------------------------------ allocation */

void *pl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		pl_die(__FILE__, __LINE__, "out of memory allocating %zu bytes", n);
	return p;
}

void *pl_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (!p)
		pl_die(__FILE__, __LINE__, "out of memory allocating %zu x %zu bytes", count, size);
	return p;
}

void *pl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		pl_die(__FILE__, __LINE__, "out of memory reallocating to %zu bytes", n);
	return q;
}

char *pl_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = pl_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *pl_xstrdup(const char *s)
{
	return pl_xstrndup(s, strlen(s));
}
