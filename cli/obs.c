/* obs.c - a tool's observation as JSON for the front-ends that hand it to
 * a program: `plait tool --json`, `plait tool --stdio` and `plait mcp`. */
#include "cli/cli.h"

#include "tools/tools.h"

static void base64(pl_buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		pl_buf_putc(b, tab[s[i] >> 2]);
		pl_buf_putc(b, tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		pl_buf_putc(b, tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)]);
		pl_buf_putc(b, tab[s[i + 2] & 63]);
	}
	if (n - i == 1) {
		pl_buf_putc(b, tab[s[i] >> 2]);
		pl_buf_putc(b, tab[(s[i] & 3) << 4]);
		pl_buf_puts(b, "==");
	} else if (n - i == 2) {
		pl_buf_putc(b, tab[s[i] >> 2]);
		pl_buf_putc(b, tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		pl_buf_putc(b, tab[(s[i + 1] & 15) << 2]);
		pl_buf_putc(b, '=');
	}
}

/* JSON text must be UTF-8: a data string that is not (the exact bytes of
 * a patch touching a Latin-1 file) becomes KEY_base64. */
static void make_printable(json_t *data)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(data, tmp, key, v) {
		json_t *check;
		pl_buf b = PL_BUF_INIT, k = PL_BUF_INIT;
		if (!json_is_string(v))
			continue;
		if ((check = json_stringn(json_string_value(v), json_string_length(v)))) {
			json_decref(check);
			continue;
		}
		base64(&b, (const unsigned char *)json_string_value(v), json_string_length(v));
		pl_buf_printf(&k, "%s_base64", key);
		pl_json_set(data, k.ptr, json_stringn(b.ptr, b.len));
		json_object_del(data, key);
		pl_buf_release(&b);
		pl_buf_release(&k);
	}
}

json_t *cli_obs_json(const tools_obs *obs)
{
	json_t *o = tools_obs_json(obs), *data = json_deep_copy(json_object_get(o, "data"));

	make_printable(data);
	pl_json_set(o, "data", data);
	return o;
}
