/* nesting.c - how deep a source nests its brackets, checked before
 * tree-sitter parses it. */
#include "tools/internal.h"

/* Debian's libtree-sitter 0.20.7 aborts the process ("munmap_chunk():
 * invalid pointer", in ts_tree_delete) on JavaScript nested 70,000
 * parentheses deep, and its error recovery is quadratic in the depth
 * (20,000 took 6.5 s, 50,000 32 s); every grammar parses 100,000 valid
 * levels, and real code stays far below a thousand. */
bool tools__too_deep(const char *src, size_t len)
{
	size_t depth = 0, i;

	/* a file shorter than the limit cannot nest deeper than it */
	if (len <= TOOLS__MAX_NESTING)
		return false;
	for (i = 0; i < len; i++) {
		switch (src[i]) {
		case '(':
		case '[':
		case '{':
			if (++depth > TOOLS__MAX_NESTING)
				return true;
			break;
		case ')':
		case ']':
		case '}':
			if (depth)
				depth--;
			break;
		default:
			break;
		}
	}
	return false;
}
