/*
 * tools.h - what the agent can do to a codebase: editor, search, code
 * intelligence (tree-sitter), shell (through the sandbox) and git (libgit2).
 *
 * Depends on sandbox/ and common/.  Prefix: tools_.
 *
 * This first part is the language table behind code intelligence and the
 * library facts `plait doctor` reports; the tools themselves and their
 * registry come with the tools issue.
 */
#ifndef PLAIT_TOOLS_H
#define PLAIT_TOOLS_H

#include "common/common.h"

struct TSLanguage;

/* One tree-sitter grammar compiled into plait. */
typedef struct tools_lang {
	const char *name;        /* "python", "tsx", ... */
	const char *package;     /* npm package it came from */
	const char *version;     /* pinned version (deps.txt) */
	const char *const *exts; /* file name endings, NULL-terminated */
	const struct TSLanguage *(*language)(void);
} tools_lang;

/* All compiled-in grammars, in a fixed order. */
const tools_lang *tools_langs(size_t *count);
/* The grammar for a path by its ending ("src/a.tsx" -> tsx), or NULL. */
const tools_lang *tools_lang_for_path(const char *path);
/* The ABI version the grammar was generated with and whether this
 * tree-sitter runtime accepts it (ts_parser_set_language succeeds). */
bool tools_lang_check(const tools_lang *lang, unsigned *abi_out);
/* Tree-sitter runtime's supported ABI range. */
void tools_ts_abi_range(unsigned *min_out, unsigned *max_out);

/* libgit2's version and compiled features ("threads", "https", "ssh"). */
void tools_libgit2_version(int *major, int *minor, int *rev);
json_t *tools_libgit2_features(void);

#endif /* PLAIT_TOOLS_H */
