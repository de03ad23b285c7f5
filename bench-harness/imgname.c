/* imgname.c - the name of an instance's image, as the official harness
 * names the prebuilt images it pulls (v4.1's TestSpec.instance_image_key:
 * "{namespace}/sweb.eval.{arch}.{instance_id.lower()}:{tag}" with "__"
 * replaced by "_1776_", because Docker Hub refuses double underscores). */
#include "bench-harness/internal.h"

#include <ctype.h>
#include <string.h>

/* the id lower-cased, "__" as "_1776_" */
static void safe_id(pl_buf *out, const char *id)
{
	for (; *id; id++) {
		if (id[0] == '_' && id[1] == '_') {
			pl_buf_puts(out, "_1776_");
			id++;
		} else {
			pl_buf_putc(out, (char)tolower((unsigned char)*id));
		}
	}
}

int bench_image_name(pl_buf *out, const char *spec, const char *instance_id, pl_err *err)
{
	pl_buf b = PL_BUF_INIT;
	const char *p;

	if (!spec || !*spec)
		spec = BENCH_IMAGE_NAMESPACE;
	if (!strchr(spec, '{')) {
		/* a namespace: the official key under it; "__" anywhere is
		 * replaced, as the official code replaces it in the whole
		 * name */
		pl_buf_printf(&b, "%s/sweb.eval.x86_64.", spec);
		safe_id(&b, instance_id);
		pl_buf_puts(&b, ":latest");
		for (p = b.ptr; *p; p++) {
			if (p[0] == '_' && p[1] == '_') {
				pl_buf_puts(out, "_1776_");
				p++;
			} else {
				pl_buf_putc(out, *p);
			}
		}
		pl_buf_release(&b);
		return 0;
	}
	for (p = spec; *p; p++) {
		if (!strncmp(p, "{id}", 4)) {
			safe_id(&b, instance_id);
			p += 3;
		} else if (!strncmp(p, "{instance_id}", 13)) {
			pl_buf_puts(&b, instance_id);
			p += 12;
		} else if (*p == '{') {
			pl_buf_release(&b);
			return pl_err_set(err, PL_EINVAL,
					  "image name template '%s': unknown field at '%s' (expected {id} or "
					  "{instance_id})",
					  spec, p);
		} else {
			pl_buf_putc(&b, *p);
		}
	}
	pl_buf_add(out, b.ptr, b.len);
	pl_buf_release(&b);
	return 0;
}
