/* prompt.c - prompts/ files: plain text with {{name}} placeholders. */
#include "agent/internal.h"

#include <string.h>

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int agent__template(pl_buf *out, const char *text, const agent__var *vars, const char *what, pl_err *err)
{
	size_t start = out->len;
	const char *p = text, *o;

	while ((o = strstr(p, "{{"))) {
		const char *name = o + 2, *e = name;
		const agent__var *v;

		while (ident_char(*e))
			e++;
		if (e == name || strncmp(e, "}}", 2)) {
			/* not a placeholder: literal braces */
			pl_buf_add(out, p, (size_t)(o - p) + 2);
			p = o + 2;
			continue;
		}
		for (v = vars; v && v->name; v++)
			if (strlen(v->name) == (size_t)(e - name) && !strncmp(v->name, name, (size_t)(e - name)))
				break;
		if (!v || !v->name) {
			pl_buf known = PL_BUF_INIT;

			for (v = vars; v && v->name; v++)
				pl_buf_printf(&known, "%s{{%s}}", known.len ? ", " : "", v->name);
			pl_err_set(err, PL_EINVAL, "%s: unknown placeholder '{{%.*s}}' (this prompt may use: %s)", what,
				   (int)(e - name), name, known.len ? known.ptr : "none");
			pl_buf_release(&known);
			pl_buf_setlen(out, start);
			return PL_EINVAL;
		}
		pl_buf_add(out, p, (size_t)(o - p));
		pl_buf_puts(out, v->value ? v->value : "");
		p = e + 2;
	}
	pl_buf_puts(out, p);
	return 0;
}

int agent__prompt_load(pl_buf *text, pl_buf *path_out, const char *name, char *const *envp, pl_err *err)
{
	pl_buf path = PL_BUF_INIT;
	int rc;

	if ((rc = agent__data_find(&path, "prompts", name, ".txt", "prompt", envp, err)) < 0)
		goto done;
	if ((rc = pl_file_read(text, path.ptr, 1 << 20, err)) < 0)
		goto done;
	/* a file ends with a newline; the prompt does not */
	while (text->len && text->ptr[text->len - 1] == '\n')
		pl_buf_setlen(text, text->len - 1);
	if (path_out)
		pl_buf_puts(path_out, path.ptr);
done:
	pl_buf_release(&path);
	return rc;
}
