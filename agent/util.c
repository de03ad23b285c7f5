/* util.c - what the agent's files share: the environment, where plait's
 * data files live, ids, time stamps, cancellable sleep, UTF-8-safe cuts. */
#define _GNU_SOURCE
#include "agent/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *agent__env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		envp = environ;
	for (; *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

char *agent__expand_home(const char *p, char *const *envp)
{
	const char *home;
	pl_buf b = PL_BUF_INIT;

	if (p[0] != '~' || (p[1] != '/' && p[1] != '\0'))
		return pl_xstrdup(p);
	home = agent__env_get(envp, "HOME");
	pl_buf_puts(&b, home && *home ? home : "/");
	pl_buf_puts(&b, p + 1);
	return pl_buf_detach(&b, NULL);
}

void agent__data_dirs(pl_buf *dirs, const char *sub, char *const *envp)
{
	const char *root = agent__env_get(envp, "PLAIT_ROOT"), *last = strrchr(sub, '/');

	last = last ? last + 1 : sub;
	if (root && *root)
		pl_buf_printf(dirs, "%s/%s\n", root, sub);
	pl_buf_printf(dirs, "%s/%s\n/etc/plait/%s\n", AGENT_DATA_DIR, last, last);
}

int agent__data_find(pl_buf *path, const char *sub, const char *name, const char *ext, const char *what,
		     char *const *envp, pl_err *err)
{
	pl_buf dirs = PL_BUF_INIT;
	char *line, *save = NULL;
	const char *p;
	int rc = 0;

	if (strchr(name, '/') || pl_str_ends_with(name, ext)) {
		if (!pl_file_exists(name))
			return pl_err_set(err, PL_ENOTFOUND, "%s file '%s' does not exist", what, name);
		pl_buf_puts(path, name);
		return 0;
	}
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return pl_err_set(err, PL_EINVAL, "%s name '%s' may hold only letters, digits, '-' and '_'", what,
					  name);
	if (!*name)
		return pl_err_set(err, PL_EINVAL, "%s name is empty", what);
	agent__data_dirs(&dirs, sub, envp);
	for (line = strtok_r(dirs.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t mark = path->len;

		pl_buf_printf(path, "%s/%s%s", line, name, ext);
		if (pl_file_exists(path->ptr + mark)) {
			if (mark) {
				memmove(path->ptr, path->ptr + mark, path->len - mark);
				pl_buf_setlen(path, path->len - mark);
			}
			goto done;
		}
		pl_buf_setlen(path, mark);
	}
	rc = pl_err_set(err, PL_ENOTFOUND,
			"%s '%s' not found (looked for %s%s in $PLAIT_ROOT/%s, %s/%s, /etc/plait/%s; a source tree's "
			"are found with PLAIT_ROOT set to it)",
			what, name, name, ext, sub, AGENT_DATA_DIR, strrchr(sub, '/') ? strrchr(sub, '/') + 1 : sub,
			strrchr(sub, '/') ? strrchr(sub, '/') + 1 : sub);
done:
	pl_buf_release(&dirs);
	return rc;
}

void agent__new_id(char out[32])
{
	unsigned char r[3] = { 0, 0, 0 };
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	localtime_r(&now, &tm);
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
			r[0] = (unsigned char)getpid();
		close(fd);
	}
	strftime(out, 32, "%Y%m%d-%H%M%S", &tm);
	snprintf(out + strlen(out), 32 - strlen(out), "-%02x%02x%02x", r[0] & 0xFFu, r[1] & 0xFFu, r[2] & 0xFFu);
}

void agent__iso_time(char out[40])
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 40 - strlen(out), ".%03uZ", (unsigned)(tv.tv_usec / 1000) % 1000u);
}

int agent__sleep(double seconds, const atomic_int *cancel)
{
	double end = pl_now() + seconds;

	for (;;) {
		double left = end - pl_now();
		struct timespec ts;

		if (cancel && atomic_load(cancel))
			return PL_ECANCELED;
		if (left <= 0)
			return 0;
		/* a signal handler sets *cancel and interrupts nanosleep; a
		 * thread does not, so wake at least every 50 ms */
		if (left > 0.05)
			left = 0.05;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* Moves a cut position back to the start of a UTF-8 character. */
static size_t char_start(const char *s, size_t n, size_t i)
{
	while (i > 0 && i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

bool agent__cut_middle(pl_buf *out, const char *s, size_t n, size_t max)
{
	size_t head, tail, lines = 0, i;

	if (n <= max) {
		pl_buf_add(out, s, n);
		return false;
	}
	head = char_start(s, n, max / 2);
	tail = char_start(s, n, n - (max - max / 2));
	for (i = head; i < tail; i++)
		lines += s[i] == '\n';
	pl_buf_add(out, s, head);
	pl_buf_printf(out, "\n[... %zu characters and %zu lines cut from the middle of this output ...]\n",
		      tail - head, lines);
	pl_buf_add(out, s + tail, n - tail);
	return true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++)
		if ((s[k] & 0xC0) != 0x80)
			return 0;
	if (len == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F)))
		return 0;
	if (len == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F)))
		return 0;
	return len;
}

json_t *agent__json_text(const char *p, size_t n)
{
	pl_buf b = PL_BUF_INIT;
	size_t i = 0, start = 0;
	json_t *j;

	while (i < n) {
		size_t l = p[i] ? utf8_len((const unsigned char *)p + i, n - i) : 0;

		if (!l) {
			pl_buf_add(&b, p + start, i - start);
			pl_buf_puts(&b, "\xEF\xBF\xBD");
			start = ++i;
		} else
			i += l;
	}
	if (!b.len && !start)
		return json_stringn(p, n);
	pl_buf_add(&b, p + start, n - start);
	j = json_stringn(b.ptr, b.len);
	pl_buf_release(&b);
	return j;
}

json_t *agent__json_bytes(const char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	pl_buf b = PL_BUF_INIT;
	json_t *j;
	size_t i;

	for (i = 0; i < n;) {
		size_t l = p[i] ? utf8_len((const unsigned char *)p + i, n - i) : 0;

		if (!l)
			break;
		i += l;
	}
	if (i == n)
		return json_stringn(p, n);
	for (i = 0; i + 2 < n + 2; i += 3) {
		unsigned v = (unsigned)(unsigned char)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)(unsigned char)p[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)p[i + 2];
		pl_buf_putc(&b, tab[(v >> 18) & 63]);
		pl_buf_putc(&b, tab[(v >> 12) & 63]);
		pl_buf_putc(&b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		pl_buf_putc(&b, i + 2 < n ? tab[v & 63] : '=');
		if (i + 3 >= n)
			break;
	}
	j = json_pack("{s:s, s:s%}", "encoding", "base64", "data", b.ptr, b.len);
	pl_buf_release(&b);
	return j;
}

static int b64(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void agent__bytes_from_json(pl_buf *out, const json_t *v)
{
	const char *d;
	unsigned acc = 0;
	int bits = 0;

	if (json_is_string(v)) {
		pl_buf_add(out, json_string_value(v), json_string_length(v));
		return;
	}
	d = json_string_value(json_object_get(v, "data"));
	for (; d && *d; d++) {
		int x = b64(*d);

		if (x < 0)
			continue;
		acc = (acc << 6) | (unsigned)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			pl_buf_putc(out, (char)((acc >> bits) & 0xFF));
		}
	}
}

void agent__url_safe(pl_buf *out, const char *url)
{
	const char *scheme = strstr(url, "://"), *host, *at, *q;
	size_t start = out->len;

	if (!scheme) {
		pl_buf_puts(out, url);
	} else {
		host = scheme + 3;
		at = host + strcspn(host, "@/?#");
		if (*at != '@') {
			pl_buf_puts(out, url);
		} else {
			pl_buf_add(out, url, (size_t)(host - url));
			pl_buf_puts(out, "***");
			pl_buf_puts(out, at);
		}
	}
	/* a query or a fragment may be a key (?key=...): never shown */
	if ((q = strpbrk(out->ptr + start, "?#"))) {
		pl_buf_setlen(out, (size_t)(q - out->ptr) + 1);
		pl_buf_puts(out, "***");
	}
}

int64_t agent__count(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}
