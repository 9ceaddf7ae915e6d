// Hostile HTTP, without a login, over raw TCP (no browser): every answer must be a well-formed
// HTTP/1.1 response, in order, exactly one per request, and nothing may leak.
// - Pipelined requests (several in one segment) are answered in order; PUT/PATCH/DELETE and POST
//   where an endpoint does not take them get 405 with Allow, once, even with a body; a body
//   larger than 64 KiB gets 413; POST without a length is answered and the connection closed.
// - 10,000 pipelined requests and 10,000 PUTs with a body (2,500 connections each) leave the
//   server's resident memory within 5 MB of where it was, and every answer is well formed.
// - An oversized request line gets 414, an oversized header field 431 (also on a WebSocket
//   upgrade), and the server keeps serving.
// - The web root does not follow symlinks out of itself (absolute, relative, directory links);
//   a symlink that stays inside still works.
// - A client address may hold at most max_websockets_per_ip WebSockets: one more is closed with
//   1008 and a reason; once one closes, a new one is accepted.
// Usage: node tests/e2e/test_http_hostile.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Run, assert, freePort, poll, sleep } from './harness.mjs';
import { WsClient, reexecIfNeeded, startServerWithConfig, writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_http_hostile.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}
const TOKEN = 'admin-token-0123456789abcdef';
const WS_CAP = 3;
const CONNS = 2500; // pipelined phase: 4 requests each
const PUTS = 10000; // PUT phase: one PUT with a body answered per connection (then it closes)
const RSS_SLACK_KB = 5 * 1024;

// ---- a strict HTTP/1.1 response reader ----

// Parses every complete response at the start of buf. Throws on anything malformed.
function parseResponses(buf, eof) {
  const out = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) {
      if (eof && at < buf.length) throw new Error(`truncated or malformed response: ${JSON.stringify(buf.subarray(at, at + 120).toString('latin1'))}`);
      return { out, rest: at };
    }
    const head = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(head[0]);
    if (!m) throw new Error(`malformed status line ${JSON.stringify(head[0].slice(0, 120))}`);
    const headers = {};
    for (const line of head.slice(1)) {
      const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!h) throw new Error(`malformed header line ${JSON.stringify(line.slice(0, 120))}`);
      const k = h[1].toLowerCase();
      if (k in headers && k === 'content-length') throw new Error('two content-length headers');
      headers[k] = h[2];
    }
    let bodyEnd;
    if ('content-length' in headers) {
      if (!/^\d+$/.test(headers['content-length'])) throw new Error(`bad content-length ${headers['content-length']}`);
      bodyEnd = end + 4 + Number(headers['content-length']);
      if (bodyEnd > buf.length) {
        if (eof) throw new Error('connection closed inside a body');
        return { out, rest: at };
      }
    } else if ((headers.connection || '').toLowerCase() === 'close') {
      if (!eof) return { out, rest: at };
      bodyEnd = buf.length;
    } else {
      throw new Error(`response ${m[1]} has neither content-length nor connection: close`);
    }
    out.push({ status: Number(m[1]), headers, body: buf.subarray(end + 4, bodyEnd).toString('utf8') });
    at = bodyEnd;
  }
}

// Sends data on a new connection and reads until the server closes it (or timeout).
// raw: resolve with the bytes instead of parsed responses.
function exchange(port, data, { timeout = 10000, host = '127.0.0.1', raw = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      const buf = Buffer.concat(chunks);
      let parsed = [];
      try { parsed = parseResponses(buf, false).out; } catch { /* report below */ }
      reject(new Error(`no close within ${timeout} ms; got ${parsed.length} response(s): ${parsed.map((r) => r.status).join(',')}`));
    }, timeout);
    sock.on('connect', () => sock.write(data));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(raw ? Buffer.concat(chunks).toString('latin1') : parseResponses(Buffer.concat(chunks), true).out);
      } catch (e) {
        reject(e);
      }
    });
  });
}

const req = (method, p, { headers = {}, body = '', last = false } = {}) => {
  const h = { Host: 'sfu.test', ...headers };
  if (body) h['Content-Length'] = String(Buffer.byteLength(body));
  if (last) h.Connection = 'close';
  return `${method} ${p} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
};

function expectStatuses(got, want, what) {
  const g = got.map((r) => r.status);
  assert(g.length === want.length && g.every((s, i) => s === want[i]),
    `${what}: expected statuses [${want}] then a close, got [${g}]`);
}

function rssKb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

// Runs n connections, `parallel` at a time; each sends `data` and must get `want`.
async function load(port, n, parallel, data, want, what) {
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (next < n && !failure) {
      next += 1;
      try {
        expectStatuses(await exchange(port, data), want, what);
      } catch (e) {
        failure = failure || new Error(`${what}, connection ${next}: ${e.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (failure) throw failure;
}

// ---- the web root with symlinks ----

function makeWebRoot() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-i14-web-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>inside\n');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'page.html'), 'sub page\n');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'SECRET outside the web root\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'abs-link.txt')); // absolute, out
  fs.symlinkSync('../outside/secret.txt', path.join(root, 'rel-link.txt')); // relative, out
  fs.symlinkSync('../outside', path.join(root, 'dir-link')); // a directory out
  fs.symlinkSync('/etc', path.join(root, 'etc'));
  fs.symlinkSync('sub/page.html', path.join(root, 'inside-link.html')); // stays inside: served
  return { base, root };
}

// ---- the checks ----

async function pipelining(run, port) {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  let r = await exchange(port, req('GET', '/healthz') + req('GET', '/metrics') + req('GET', '/nope.html')
    + req('POST', '/metrics', { headers: { 'Content-Length': '0' } }) + req('GET', '/healthz', { last: true }));
  expectStatuses(r, [200, 200, 404, 405, 200], 'five pipelined requests');
  assert(r[0].body === 'ok\n' && r[4].body === 'ok\n', 'the /healthz bodies are not "ok"');
  assert(r[1].body.startsWith('# HELP ') && /\nsfu_rooms \d+\n/.test(r[1].body), 'the /metrics body is not the exposition');
  run.log('ok  five pipelined requests answered in order, one answer each');

  // A request with a body is answered, then the connection closes (what follows is not answered);
  // one without is answered and the next pipelined request too.
  for (const m of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const withBody = m === 'PUT' || m === 'PATCH';
    const after = withBody ? [405] : [405, 200];
    for (const p of ['/healthz', '/metrics']) {
      r = await exchange(port, req(m, p, { body: withBody ? 'x' : '' }) + req('GET', '/healthz', { last: true }));
      expectStatuses(r, after, `${m} ${p} then GET`);
      assert(r[0].headers.allow === 'GET, HEAD', `${m} ${p}: Allow is ${r[0].headers.allow}`);
    }
    r = await exchange(port, req(m, '/admin/rooms', { headers: auth, body: withBody ? 'x' : '' }) + req('GET', '/healthz', { last: true }));
    expectStatuses(r, after, `${m} /admin/rooms (with the token) then GET`);
    assert(r[0].headers.allow === 'GET, HEAD, POST', `${m} /admin/rooms: Allow is ${r[0].headers.allow}`);
  }
  r = await exchange(port, req('DELETE', '/admin/rooms', { headers: auth }) + req('GET', '/admin/rooms', { headers: auth, last: true }));
  expectStatuses(r, [405, 200], 'DELETE /admin/rooms then GET /admin/rooms');
  assert(r[1].body.startsWith('{"rooms":'), `GET /admin/rooms body: ${r[1].body.slice(0, 80)}`);
  r = await exchange(port, req('POST', '/healthz', { body: 'x' }) + req('GET', '/healthz', { last: true }));
  expectStatuses(r, [405], 'POST /healthz with a body');
  run.log('ok  PUT/PATCH/DELETE/OPTIONS/POST where not taken: 405 + Allow, answered once, the next request answered');

  const head = await exchange(port, req('HEAD', '/healthz', { last: true }), { raw: true });
  assert(/^HTTP\/1\.1 200 [^\r\n]*\r\n([^\r\n]+\r\n)*content-length: 3\r\n([^\r\n]+\r\n)*\r\n$/i.test(head),
    `HEAD /healthz: ${JSON.stringify(head)}`);
  r = await exchange(port, `POST /admin/rooms/x/close HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n`);
  expectStatuses(r, [413], 'a 100 MB body announced');
  r = await exchange(port, `POST /admin/rooms/nowhere/close HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  expectStatuses(r, [404], 'POST without a length');
  r = await exchange(port, req('POST', '/admin/rooms/nowhere/close', { headers: auth, body: '{}' }) + req('GET', '/healthz', { last: true }));
  expectStatuses(r, [404], 'POST with a body, then GET');
  run.log('ok  HEAD has no body; 413 for a body over 64 KiB; POST without a length answered then closed');
}

async function memory(run, port, pid) {
  const pipelined = req('GET', '/metrics') + req('GET', '/healthz') + req('GET', '/metrics') + req('GET', '/healthz', { last: true });
  // What follows a request with a body is not answered: the connection closes after the first.
  const puts = req('PUT', '/metrics', { body: 'x' }) + req('PATCH', '/healthz', { body: 'y' }) + req('GET', '/healthz');
  await load(port, 300, 20, pipelined, [200, 200, 200, 200], 'warm-up'); // allocator pools, lws's buffers
  await load(port, 300, 20, puts, [405], 'warm-up');
  const rss0 = rssKb(pid);
  let t0 = Date.now();
  await load(port, CONNS, 20, pipelined, [200, 200, 200, 200], 'pipelined GETs');
  run.log(`ok  ${CONNS * 4} pipelined requests on ${CONNS} connections, all well formed, in ${Date.now() - t0} ms`);
  t0 = Date.now();
  await load(port, PUTS, 20, puts, [405], 'PUT with a body');
  run.log(`ok  ${PUTS} PUTs with a body (each followed by two pipelined requests): one 405 each, then closed, in ${Date.now() - t0} ms`);
  await sleep(500);
  const rss1 = rssKb(pid);
  run.summary.rssKb = { before: rss0, after: rss1 };
  assert(rss1 - rss0 <= RSS_SLACK_KB, `resident memory grew by ${rss1 - rss0} kB (${rss0} -> ${rss1} kB), more than 5 MB`);
  run.log(`ok  resident memory ${rss0} -> ${rss1} kB (${rss1 - rss0 >= 0 ? '+' : ''}${rss1 - rss0} kB)`);
}

async function sizes(run, port) {
  const long = 'a'.repeat(20000);
  let r = await exchange(port, `GET /${long} HTTP/1.1\r\nHost: t\r\n\r\n`);
  expectStatuses(r, [414], 'a 20 kB request line');
  r = await exchange(port, `GET /metrics?x=${long} HTTP/1.1\r\nHost: t\r\n\r\n`);
  expectStatuses(r, [414], 'a 20 kB query argument');
  r = await exchange(port, `GET / HTTP/1.1\r\nHost: t\r\nCookie: ${long}\r\n\r\n`);
  expectStatuses(r, [431], 'a 20 kB Cookie header');
  r = await exchange(port, `GET /healthz HTTP/1.1\r\nHost: t\r\nUser-Agent: ${'b'.repeat(100000)}\r\n\r\n`);
  expectStatuses(r, [431], 'a 100 kB User-Agent header');
  r = await exchange(port, `GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${long}\r\n\r\n`);
  expectStatuses(r, [431], 'a WebSocket upgrade with a 20 kB header');
  r = await exchange(port, `GET /${'c'.repeat(4000)} HTTP/1.1\r\nHost: t\r\nCookie: ${'d'.repeat(4000)}\r\nConnection: close\r\n\r\n`);
  expectStatuses(r, [404], 'a 4 kB path with a 4 kB cookie (within the limits)');
  r = await exchange(port, req('GET', '/healthz', { last: true }));
  expectStatuses(r, [200], '/healthz afterwards');
  run.log('ok  414 for a long request line or query, 431 for a long header (also on /ws); within the limits still served');
}

async function webRoot(run, port) {
  const get = async (p) => (await exchange(port, req('GET', p, { last: true })))[0];
  for (const p of ['/abs-link.txt', '/rel-link.txt', '/dir-link/secret.txt', '/etc/hostname', '/etc/passwd',
    '/%2e%2e/outside/secret.txt', '/../outside/secret.txt', '/sub/../../outside/secret.txt']) {
    const r = await get(p);
    assert(r.status === 404 || r.status === 403, `${p}: status ${r.status}`);
    assert(!r.body.includes('SECRET') && !r.body.includes('root:'), `${p}: served a file outside the web root`);
  }
  let r = await get('/inside-link.html');
  assert(r.status === 200 && r.body === 'sub page\n', `a symlink inside the root: ${r.status} ${r.body}`);
  r = await get('/');
  assert(r.status === 200 && r.body.includes('inside'), `GET /: ${r.status}`);
  r = await get('/sub/page.html');
  assert(r.status === 200, `GET /sub/page.html: ${r.status}`);
  run.log('ok  symlinks out of the web root (absolute, relative, directory, /etc) are 404; one inside is served');
}

async function wsCap(run, port) {
  const url = `ws://127.0.0.1:${port}/ws`;
  const open = [];
  for (let i = 0; i < WS_CAP; i++) open.push(await WsClient.open(url, `cap${i}`));
  await sleep(300);
  assert(open.every((c) => !c.closeInfo), 'a WebSocket within the cap was closed');
  const extra = await WsClient.open(url, 'over-cap');
  const cl = await Promise.race([extra.closed, sleep(5000).then(() => null)]);
  assert(cl, 'the WebSocket over the cap was not closed');
  assert(cl.code === 1008 && /too many WebSockets/.test(cl.reason), `over the cap: closed ${cl.code} "${cl.reason}"`);
  run.log(`ok  WebSocket ${WS_CAP + 1} from one address closed: ${cl.code} "${cl.reason}"`);
  open[0].ws.close();
  await open[0].closed;
  const again = await poll('a WebSocket to be accepted again once one closed', async () => {
    const c = await WsClient.open(url, 'again');
    const closed = await Promise.race([c.closed, sleep(500).then(() => null)]);
    if (closed) return { ok: false, detail: closed };
    return c;
  }, { timeout: 5000, interval: 200 });
  for (const c of [...open.slice(1), again]) c.ws.close();
  run.log('ok  after one closes, a new WebSocket from that address is accepted');
}

if (!reexecIfNeeded()) {
  const run = new Run('test_http_hostile', 240000);
  await run.main(async () => {
    const web = makeWebRoot();
    const { dir, file } = writeConfig(srcDir, {
      admin_token: TOKEN, max_websockets_per_ip: WS_CAP, level: 'warning',
    });
    // web_root is commented out in the sample: set it in [server].
    const text = fs.readFileSync(file, 'utf8').replace(/^#web_root = .*$/m, `web_root = ${web.root}`);
    fs.writeFileSync(file, text);
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    run.extraCleanups.push(() => fs.rmSync(web.base, { recursive: true, force: true }));
    // Under ASan a small quarantine, so resident memory shows leaks rather than the quarantine.
    process.env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}quarantine_size_mb=1`;
    const port = await freePort();
    await startServerWithConfig(run, sfuBin, srcDir, port, file);
    await pipelining(run, port);
    await sizes(run, port);
    await webRoot(run, port);
    await wsCap(run, port);
    await memory(run, port, run.server.pid);
  });
}
