// A deliberately broken MCP server for the client tests. Mode (argv[2]):
//   silent   - answers initialize and tools/list, never answers tools/call (nor ping afterwards)
//   flood    - answers tools/call with one endless line of output
//   garbage  - answers tools/call with text that is not JSON
//   exit     - exits in the middle of tools/call
//   crashy   - like a good server, but exits after each call (restart on next use)
// Plain Node, no packages: newline-delimited JSON-RPC on stdin/stdout.
const mode = process.argv[2] || 'silent';
let buffer = '';
let stuck = false;
function send(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
process.stderr.write(`hostile server (${mode}) started\n`);
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    if (stuck) continue;
    if (msg.method === 'initialize') {
      send({jsonrpc: '2.0', id: msg.id, result: {protocolVersion: '2025-06-18', capabilities: {tools: {}},
            serverInfo: {name: 'hostile-' + mode, version: '1'}}});
    } else if (msg.method === 'tools/list') {
      send({jsonrpc: '2.0', id: msg.id, result: {tools: [{name: 'work', description: 'does work',
            inputSchema: {type: 'object', properties: {}}}]}});
    } else if (msg.method === 'ping') {
      send({jsonrpc: '2.0', id: msg.id, result: {}});
    } else if (msg.method === 'tools/call') {
      process.stderr.write(`call ${msg.id}\n`);
      if (mode === 'silent') { stuck = true; }
      else if (mode === 'flood') {
        const block = 'x'.repeat(1 << 16);
        const pump = () => { while (process.stdout.write(block)) {} process.stdout.once('drain', pump); };
        pump();
      } else if (mode === 'garbage') { process.stdout.write('this is not json {{{\n'); }
      else if (mode === 'exit') { process.stderr.write('exiting mid-call\n'); process.exit(3); }
      else if (mode === 'crashy') {
        send({jsonrpc: '2.0', id: msg.id, result: {content: [{type: 'text', text: 'done'}]}});
        setTimeout(() => process.exit(1), 50);
      }
    }
  }
});
