// Helpers for the signaling tests that talk to the server directly (no browser): a WebSocket client
// with a message queue, a server started with a config of the test's own (copied from conf/sfu.conf
// with some values changed; plain HTTP or HTTPS), token minting through `sfu token`, and a minimal
// hand-made answer to the server's sub offer. Not a test itself (ctest runs test_*.mjs).
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { sleep } from './harness.mjs';

// Node 20 has a global WebSocket only with --experimental-websocket: re-run this script with the
// flag (and extra environment) when needed. Returns true in the parent, which must then do nothing
// else: it exits with the child's status.
export function reexecIfNeeded(extraEnv = {}) {
  const envOk = Object.entries(extraEnv).every(([k, v]) => process.env[k] === v);
  if (typeof WebSocket !== 'undefined' && envOk) return false;
  if (process.env.SFU_TEST_REEXEC) {
    console.error('no global WebSocket even with --experimental-websocket (Node >= 20 needed)');
    process.exit(1);
  }
  const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', process.argv[1],
    ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, ...extraEnv, SFU_TEST_REEXEC: '1' } });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
  return true;
}

// One signaling connection. Every message received is kept in `all`; `next()` takes (consumes) the
// first not-yet-taken message matching a predicate, waiting for it if needed.
export class WsClient {
  constructor(url, name, opts = {}) {
    this.name = name;
    this.url = url;
    this.queue = [];
    this.all = [];
    this.waiters = [];
    this.closeInfo = null;
    // headers (e.g. Origin): an extension of Node's (undici's) WebSocket, not in browsers.
    this.ws = opts.headers ? new WebSocket(url, { protocols: opts.protocols, headers: opts.headers })
      : new WebSocket(url, opts.protocols);
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve(this);
      this.ws.onerror = (e) => reject(new Error(`${name}: cannot open ${url}: ${e.message || e.type}`));
    });
    this.closed = new Promise((resolve) => {
      this.ws.onclose = (ev) => {
        this.closeInfo = { code: ev.code, reason: ev.reason };
        resolve(this.closeInfo);
        this.wake();
      };
    });
    this.ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        msg = { type: '<not json>', raw: String(ev.data).slice(0, 200) };
      }
      this.all.push(msg);
      this.queue.push(msg);
      this.wake();
    };
  }

  static async open(url, name, opts) {
    const c = new WsClient(url, name, opts);
    await Promise.race([c.opened, sleep(5000).then(() => { throw new Error(`${name}: open timed out`); })]);
    return c;
  }

  wake() {
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

  send(msg) {
    this.ws.send(typeof msg === 'string' || msg instanceof Uint8Array ? msg : JSON.stringify(msg));
  }

  // The first queued message matching pred (removed from the queue), or an error after timeout ms.
  async next(pred = () => true, timeout = 5000, what = 'a message') {
    const deadline = Date.now() + timeout;
    for (;;) {
      const i = this.queue.findIndex(pred);
      if (i >= 0) return this.queue.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closeInfo) {
        if (this.closeInfo) {
          const j = this.queue.findIndex(pred);
          if (j >= 0) return this.queue.splice(j, 1)[0];
        }
        throw new Error(`${this.name}: no ${what} within ${timeout} ms${this.closeInfo ? ` (socket closed, code ${this.closeInfo.code})` : ''};`
          + ` queued: ${JSON.stringify(this.queue.map(brief))}`);
      }
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 200));
      });
    }
  }

  nextType(type, timeout) { return this.next((m) => m.type === type, timeout, `"${type}"`); }

  // The next error event; checks its code.
  async error(code, timeout = 5000) {
    const m = await this.next((x) => x.type === 'error', timeout, `error "${code}"`);
    if (m.code !== code) throw new Error(`${this.name}: expected error "${code}", got ${JSON.stringify(m)}`);
    return m;
  }

  // Resolves with the close info, or throws if the socket is still open after timeout ms.
  async expectClosed(timeout = 3000) {
    const r = await Promise.race([this.closed, sleep(timeout).then(() => null)]);
    if (!r) throw new Error(`${this.name}: expected the server to close the connection within ${timeout} ms`);
    return r;
  }

  // Everything the server sent before it answered a probe sent now (taken from the queue), without waiting
  // a fixed time: the server answers one connection in order, so once the probe's answer (unknown_type) is
  // here, every reply and event it queued earlier is too; the connection is open. A probe dropped by the
  // rate limit is sent again (every 300 ms) until one is answered. Throws if none is within `timeout`.
  async sync(timeout = 5000) {
    const deadline = Date.now() + timeout;
    const tag = `sync-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    for (;;) {
      if (this.closeInfo) throw new Error(`${this.name}: closed (code ${this.closeInfo.code}) instead of answering a probe`);
      this.send({ type: tag });
      const until = Math.min(deadline, Date.now() + 300);
      for (;;) {
        const i = this.queue.findIndex((m) => m.type === 'error' && m.code === 'unknown_type' && String(m.message).includes(tag));
        if (i >= 0) {
          const before = this.queue.splice(0, i + 1).slice(0, -1);
          return before.filter((m) => !(m.type === 'error' && m.code === 'unknown_type' && String(m.message).includes('sync-')));
        }
        if (Date.now() >= until || this.closeInfo) break;
        await new Promise((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 50); });
      }
      if (Date.now() >= deadline) throw new Error(`${this.name}: no answer to a probe within ${timeout} ms`);
    }
  }

  // Takes and returns whatever arrives within ms.
  async drain(ms) {
    await sleep(ms);
    return this.queue.splice(0);
  }

  close() {
    try { this.ws.close(); } catch { /* closed */ }
  }
}

export const brief = (m) => (m.type === 'error' ? `error ${m.code}: ${m.message}` : m.type)
  + (m.sdp ? ` sdp(${m.sdp.length}B)` : '');

// Joins and takes `joined` and the first sub `offer`.
export async function joinRoom(url, name, room, extra = {}, opts = {}) {
  const c = await WsClient.open(url, name, opts);
  c.send({ type: 'join', room, name, ...extra });
  const joined = await c.nextType('joined');
  const offer = await c.next((m) => m.type === 'offer' && m.pc === 'sub', 5000, 'sub offer');
  c.id = joined.id;
  return { c, joined, offer };
}

// A browser-like answer to a server sub offer: every section accepted recvonly with its first
// codec, a=setup:active and a sha-256 fingerprint. No candidates: enough for signaling tests.
export function fakeAnswer(offerSdp) {
  const fp = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 255).toString(16).padStart(2, '0').toUpperCase()).join(':');
  const lines = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
  const sections = offerSdp.split(/\r?\n(?=m=)/).slice(1);
  const mids = sections.map((s) => /a=mid:(\S+)/.exec(s)?.[1]);
  lines.push(`a=group:BUNDLE ${mids.join(' ')}`);
  for (const s of sections) {
    if (/^m=application /.test(s)) { // the data channels' section: accepted, no SCTP ever runs
      lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
        `a=mid:${/a=mid:(\S+)/.exec(s)[1]}`, 'a=ice-ufrag:fAkE', 'a=ice-pwd:fakepasswordfakepassword',
        `a=fingerprint:sha-256 ${fp}`, 'a=setup:active', 'a=sctp-port:5000', 'a=max-message-size:65536');
      continue;
    }
    const m = /^m=(\w+) \d+ (\S+) (\d+)/.exec(s);
    const pt = m[3];
    const rtpmap = new RegExp(`a=rtpmap:${pt} (\\S+)`).exec(s)?.[1];
    lines.push(`m=${m[1]} 9 ${m[2]} ${pt}`, 'c=IN IP4 0.0.0.0', `a=mid:${/a=mid:(\S+)/.exec(s)[1]}`,
      'a=ice-ufrag:fAkE', 'a=ice-pwd:fakepasswordfakepassword', `a=fingerprint:sha-256 ${fp}`, 'a=setup:active',
      'a=rtcp-mux', /a=inactive/.test(s) ? 'a=inactive' : 'a=recvonly');
    if (rtpmap) lines.push(`a=rtpmap:${pt} ${rtpmap}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

// ---- a server with a config of the test's own ----

// The config writers live in the harness (one copy).
export { testConfig, writeConfig } from './harness.mjs';

function get(url, timeoutMs) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
export { get as httpGet };

// Starts the server with its own config file (harness startServer; port null = any free one, retried; the
// file may be a function of the port), ready once /healthz is 200 (over https, certificate unchecked, with
// tls). Returns the base URL; the port is run.port.
export function startServerWithConfig(run, sfuBin, srcDir, port, confFile, { tls = false } = {}) {
  return run.startServer(sfuBin, srcDir, port, {
    conf: confFile,
    tls,
    ready: async (base) => {
      const r = await get(`${base}/healthz`, 1000);
      if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
    },
  });
}

// `sfu --config file token ARGS...`: {code, stdout, stderr}.
export function sfuToken(sfuBin, confFile, args) {
  return new Promise((resolve) => {
    execFile(sfuBin, ['--config', confFile, 'token', ...args], { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// Opens a page in run's browser and waits until it has joined. Chromium aborts connections when the
// machine's interfaces change (net::ERR_NETWORK_CHANGED, e.g. another test adding a network namespace
// and veth): that attempt is retried with a fresh page after a pause, up to `tries` times; any other
// error fails.
export async function openJoined(run, name, url, { tries = 6, timeout = 15000 } = {}) {
  for (let attempt = 1; ; attempt++) {
    const p = await run.open(name, url);
    let last;
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      // (window.sfu is there once the page's module ran: a loaded machine may take a while.)
      last = await p.page.evaluate(() => ({ state: window.sfu?.state, id: window.sfu?.id, errors: window.sfu?.errors ?? [] }));
      if (last.state === 'joined' && last.id) return { p, view: last };
      if (last.state === 'error' || last.errors.length) break;
      await sleep(200);
    }
    const changed = /ERR_NETWORK_CHANGED/.test(p.console.text());
    if (!changed || attempt >= tries) {
      throw new Error(`${name} did not join ${url}: ${JSON.stringify(last)}${changed ? ' (network changed every time)' : ''}`);
    }
    run.log(`${name}: the network changed under Chromium (ERR_NETWORK_CHANGED); retrying`);
    run.participants.splice(run.participants.indexOf(p), 1);
    await run.closeParticipant(p);
    await sleep(1000 * attempt);
  }
}
