/* mcp.h - plait's tools served over the Model Context Protocol (internal to
 * cli/): the JSON-RPC 2.0 messages MCP is carried in (jsonrpc.c) and the
 * MCP server over a tools_ctx (mcp.c).  Neither reads, writes nor parses
 * argv: cmd_mcp.c reads the lines from standard input and prints the
 * answers, one line each (the stdio transport).
 *
 * Sources: JSON-RPC 2.0 (jsonrpc.org/specification) and the MCP
 * specification, revisions 2024-11-05 to 2025-11-25: basic/lifecycle
 * (initialize, version negotiation), basic/transports (stdio),
 * server/tools (tools/list, tools/call, the two kinds of errors) and
 * schema.ts (an error response whose id cannot be known has none). */
#ifndef PLAIT_CLI_MCP_H
#define PLAIT_CLI_MCP_H

#include "common/common.h"

#include "tools/tools.h"

/* ------------------------------------------------------------ JSON-RPC 2.0 */

/* The error codes JSON-RPC 2.0 reserves. */
enum {
	CLI_RPC_PARSE_ERROR = -32700,      /* not JSON */
	CLI_RPC_INVALID_REQUEST = -32600,  /* JSON, but not a message */
	CLI_RPC_METHOD_NOT_FOUND = -32601,
	CLI_RPC_INVALID_PARAMS = -32602,
	CLI_RPC_INTERNAL_ERROR = -32603
};

typedef enum cli_rpc_kind {
	CLI_RPC_REQUEST,      /* method and id: answer it */
	CLI_RPC_NOTIFICATION, /* method, no id: never answered */
	CLI_RPC_RESPONSE,     /* result or error, no method: a client's answer */
	CLI_RPC_INVALID       /* none of these: answer code and message */
} cli_rpc_kind;

/* One message, its fields borrowed from the parsed value. */
typedef struct cli_rpc_msg {
	cli_rpc_kind kind;
	const json_t *id;     /* a string or an integer; NULL when there is none
			       * (or, for CLI_RPC_INVALID, none that can be echoed) */
	const char *method;   /* requests and notifications */
	const json_t *params; /* an object or an array; NULL when absent */
	int code;             /* CLI_RPC_INVALID: the error to answer */
	char message[200];
} cli_rpc_msg;

/* Reads what kind of message v is (any JSON value: a message must be an
 * object with "jsonrpc": "2.0"). */
void cli__rpc_classify(cli_rpc_msg *m, const json_t *v);
/* {"jsonrpc": "2.0", "id": id, "result": result}; steals result. */
json_t *cli__rpc_result(const json_t *id, json_t *result);
/* {"jsonrpc": "2.0", "id": id, "error": {code, message[, data]}}; id NULL
 * leaves "id" out (MCP's schema has no null id); steals data (may be NULL). */
json_t *cli__rpc_error(const json_t *id, int code, const char *message, json_t *data);

/* What a server does with a request or notification: the answer to a
 * request (a result or an error, new reference), NULL for a notification. */
typedef json_t *(*cli_rpc_handler)(void *self, const cli_rpc_msg *m);

/*
 * One line of input, one JSON-RPC message or a batch (an array of them):
 * not JSON is answered with a parse error, a value that is no message
 * with an invalid-request error, each request with what the handler
 * returns; notifications and responses get nothing (a batch of only those
 * gets nothing).  Returns the answer (an object, or an array for a batch)
 * to print on one line, or NULL when there is none.
 */
json_t *cli__rpc_serve(const char *line, size_t len, cli_rpc_handler handler, void *self);

/* ------------------------------------------------------------ MCP */

/* The protocol revisions the server speaks, newest first; an initialize
 * asking for another is answered with the newest. */
extern const char *const cli__mcp_versions[];

typedef struct cli_mcp cli_mcp;

/*
 * A server over ctx (borrowed: it must outlive the server), exposing the
 * tools named in only, an array of names (NULL: every tool), in the
 * registry's order; a name that is no tool is an error.
 */
int cli__mcp_new(cli_mcp **out, tools_ctx *ctx, const json_t *only, pl_err *err);
void cli__mcp_free(cli_mcp *s);
/* Serves one line of input: the answer to print on one line (new
 * reference), or NULL when there is none. */
json_t *cli__mcp_serve(cli_mcp *s, const char *line, size_t len);

#endif
