/* state.c - the state tools keep on a context between calls, by kind, so
 * that the context frees what it does not know. */
#include "tools/internal.h"

void *tools__state_get(const tools_ctx *ctx, const tools__state_kind *kind)
{
	size_t i;

	for (i = 0; i < ctx->nstates; i++)
		if (ctx->states[i].kind == kind)
			return ctx->states[i].ptr;
	return NULL;
}

void tools__state_set(tools_ctx *ctx, const tools__state_kind *kind, void *ptr)
{
	size_t i;

	for (i = 0; i < ctx->nstates; i++)
		if (ctx->states[i].kind == kind) {
			ctx->states[i].ptr = ptr;
			return;
		}
	/* One slot per kind, and the kinds are a fixed set of static
	 * definitions: running out is a bug, not an input. */
	if (ctx->nstates == TOOLS__MAX_STATES)
		PL_BUG("tools: more than %d kinds of tool state (raise TOOLS__MAX_STATES for '%s')", TOOLS__MAX_STATES,
		       kind->name);
	ctx->states[ctx->nstates].kind = kind;
	ctx->states[ctx->nstates].ptr = ptr;
	ctx->nstates++;
}

void tools__state_release_all(tools_ctx *ctx)
{
	while (ctx->nstates) {
		ctx->nstates--;
		if (ctx->states[ctx->nstates].ptr && ctx->states[ctx->nstates].kind->release)
			ctx->states[ctx->nstates].kind->release(ctx->states[ctx->nstates].ptr);
		ctx->states[ctx->nstates].ptr = NULL;
	}
}
