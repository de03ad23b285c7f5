// mcp_client.mjs - the reference MCP client (the TypeScript SDK, pinned in
// deps.txt and unpacked under .deps/node by `make deps`) driving `plait mcp`
// over stdio as Claude Code or Codex CLI would: connect, list the tools,
// call several with state kept between calls, then the error cases.
// tests/cli/test_mcp.c runs it under Debian's node and checks what it
// prints and what it leaves in the repository.
//
// Environment: PLAIT_BIN (the program), MCP_SDK (the SDK's package
// directory), MCP_REPO (the fixture repository), MCP_MARKER (a number that
// names the background process this session leaves behind), MCP_PATCH (where
// to write the patch submit returned).  Prints "ok N - what" per step;
// exits 1 with the failed assertion on standard error.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const env = name => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
};
const sdk = env('MCP_SDK'), repo = env('MCP_REPO'), marker = env('MCP_MARKER');
const load = path => import(pathToFileURL(`${sdk}/dist/esm/${path}`).href);
const { Client } = await load('client/index.js');
const { StdioClientTransport } = await load('client/stdio.js');
const { McpError, ListResourcesResultSchema } = await load('types.js');

let n = 0;
const ok = what => console.log(`ok ${++n} - ${what}`);
// a promise that fails after ms instead of hanging the test
const deadline = (p, ms, what) =>
    Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref())]);

const transport = new StdioClientTransport({
    command: env('PLAIT_BIN'),
    args: ['mcp', '--repo', repo],
    env: { ...process.env },
    stderr: 'pipe'
});
let stderr = '';
transport.stderr.on('data', d => { stderr += d; });
// every message the server sends, as the transport hands it to the client
const seen = [];
const start = transport.start.bind(transport);
transport.start = async () => {
    const inner = transport.onmessage;
    transport.onmessage = (m, extra) => { seen.push(m); inner(m, extra); };
    return start();
};
const client = new Client({ name: 'plait-test', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
const errors = [];
client.onerror = e => errors.push(e);
const text = r => r.content.map(c => { assert.equal(c.type, 'text'); return c.text; }).join('');
// generous limits: a loaded machine, a sanitizer build (the SDK's default is 60 s)
const slow = { timeout: 120000 };
const call = (name, args) => deadline(client.callTool({ name, arguments: args }, undefined, slow), 150000, name);

try {
    await deadline(client.connect(transport, slow), 150000, 'initialize');
    assert.equal(seen[0].result.protocolVersion, '2025-11-25');
    assert.deepEqual(client.getServerVersion().name, 'plait');
    assert.ok(client.getServerCapabilities().tools, 'the tools capability');
    assert.match(client.getInstructions(), /plait's tools work on the repository at \//);
    ok('initialize: the newest revision, the tools capability, serverInfo, instructions');

    const { tools } = await client.listTools(undefined, slow);
    assert.deepEqual(tools.map(t => t.name), ['view', 'create', 'str_replace', 'insert', 'undo_edit', 'search', 'find',
        'outline', 'definition', 'references', 'repo_map', 'bash', 'status', 'diff', 'submit']);
    for (const t of tools) {
        assert.equal(t.inputSchema.type, 'object', t.name);
        assert.ok(t.description.length > 20, t.name);
    }
    const byName = Object.fromEntries(tools.map(t => [t.name, t]));
    assert.deepEqual(byName.str_replace.inputSchema.required, ['path', 'old_str']);
    assert.equal(byName.view.annotations.readOnlyHint, true);
    assert.equal(byName.bash.annotations.readOnlyHint, false);
    ok('tools/list: 15 tools with their JSON schemas and hints');

    let r = await call('view', { path: 'calc.py' });
    assert.equal(r.isError, false);
    assert.equal(text(r), "Here's the result of running `cat -n` on calc.py:\n     1\tdef add(a, b):\n     2\t    return a + b\n");
    ok('view');

    r = await call('str_replace', { path: 'calc.py', old_str: 'return a + b', new_str: 'return b + a' });
    assert.equal(r.isError, false, text(r));
    assert.match(text(r), /The file calc.py has been edited/);
    assert.deepEqual(r._meta['plait/observation'].files, ['calc.py']);
    ok('str_replace');

    r = await call('str_replace', { path: 'calc.py', old_str: 'return b + a', new_str: 'return (b + a' });
    assert.equal(r.isError, true);
    assert.match(text(r), /the edit was NOT applied/);
    ok('a str_replace that breaks the syntax: a tool result with isError');

    r = await call('bash', { command: 'mkdir -p sub && cd sub && export GREETING=hello' });
    if (/bash is not available/.test(text(r))) {
        console.log(`skip - ${text(r).split('\n')[0]}`);
    } else {
        assert.equal(r.isError, false, text(r));
        r = await call('bash', { command: 'echo "$GREETING from $(basename "$PWD")"' });
        assert.equal(text(r), 'hello from sub\n[exit code 0]\n');
        r = await call('bash', { command: `sleep 3000.${marker} >/dev/null 2>&1 & echo started` });
        assert.match(text(r), /started/);
        r = await call('bash', { command: 'exit 3' });
        assert.equal(r._meta['plait/observation'].exit_code, 3);
        ok('bash: the directory and exported variables kept between calls');
    }

    r = await call('view', { path: 5 });
    assert.equal(r.isError, true);
    assert.match(text(r), /^error: view: argument 'path' must be a string/);
    r = await call('view', {});
    assert.equal(r.isError, true);
    assert.match(text(r), /'path'/);
    r = await call('insert', { path: 'calc.py', insert_line: 1, new_str: 'x', bogus: 1 });
    assert.equal(r.isError, true);
    assert.match(text(r), /bogus/);
    ok('bad arguments: tool results with isError naming the argument');

    await assert.rejects(call('frobnicate', {}), e => e instanceof McpError && e.code === -32602 && /Unknown tool: frobnicate/.test(e.message));
    ok('an unknown tool: JSON-RPC error -32602');

    await assert.rejects(client.request({ method: 'resources/list', params: {} }, ListResourcesResultSchema, slow),
        e => e instanceof McpError && e.code === -32601 && /Method not found: resources\/list/.test(e.message));
    ok('an unknown method: JSON-RPC error -32601');

    const before = seen.length;
    await client.notification({ method: 'notifications/roots/list_changed' });
    await client.notification({ method: 'notifications/whatever', params: { x: 1 } });
    await client.ping(slow);
    assert.equal(seen.length, before + 1, 'one answer, to the ping');
    assert.deepEqual(seen.at(-1).result, {});
    ok('notifications: never answered; ping');

    // not JSON, and JSON that is no message, written as a broken client would
    assert.equal(errors.length, 0, String(errors));
    transport._process.stdin.write('{"jsonrpc": "2.0", "id": 99, "method": \n');
    await transport.send({ jsonrpc: '2.0', id: 'x', method: 7 });
    await client.ping(slow); // answered after both: the server read them
    assert.equal(errors.length, 2, String(errors));
    assert.match(String(errors[0]), /"code":-32700/);
    assert.match(String(errors[0]), /Parse error/);
    assert.doesNotMatch(String(errors[0]), /"id"/); // no id can be known
    assert.match(String(errors[1]), /"id":"x".*"code":-32600/);
    ok('a malformed message: -32700 without id; an invalid one: -32600; the session goes on');

    r = await call('view', { path: 'calc.py', view_range: [2, 2] });
    assert.equal(text(r), "Here's the result of running `cat -n` on calc.py:\n     2\t    return b + a\n");
    r = await call('submit', {});
    assert.equal(r.isError, false, text(r));
    assert.match(text(r), /^Submitted: the patch below is the final answer/);
    const obs = r._meta['plait/observation'];
    assert.equal(obs.finished, true);
    assert.match(obs.data.patch, /\+    return b \+ a\n/);
    writeFileSync(env('MCP_PATCH'), obs.data.patch);
    ok('submit: the patch');

    // the client closes standard input with a call still unanswered: the
    // call is answered, then plait exits by itself with status 0
    const proc = transport._process;
    const exited = new Promise(resolve => proc.once('exit', (code, signal) => resolve({ code, signal })));
    const late = call('bash', { command: 'sleep 0.2; echo late' });
    proc.stdin.end();
    r = await late;
    assert.match(text(r), /late|bash is not available/);
    assert.deepEqual(await deadline(exited, 60000, 'plait exiting'), { code: 0, signal: null });
    await client.close();
    await assert.rejects(client.callTool({ name: 'view', arguments: { path: 'calc.py' } }), /Not connected/);
    ok('closing: the last call answered, plait exits 0, a call after it fails');

    assert.equal(errors.length, 2, String(errors));
    assert.equal(stderr, '');
} catch (e) {
    console.error(`not ok ${n + 1}: ${e.stack || e}`);
    if (stderr) console.error(`plait's stderr:\n${stderr}`);
    process.exit(1);
}
