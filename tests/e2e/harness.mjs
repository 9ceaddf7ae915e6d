// Small helpers shared by the browser end-to-end tests (not a test itself: ctest runs test_*.mjs).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Browser flags: fake camera/microphone, no permission prompt, loopback ICE allowed.
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--disable-background-networking'];

function stamp() { return new Date().toISOString().slice(11, 23); }

class Tail {
  constructor(max) { this.max = max; this.lines = []; }
  push(line) {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(n = this.max) { return this.lines.slice(-n).join('\n'); }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpGet(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// Thrown from a poll callback: stop polling at once (waiting longer cannot help).
export class Fatal extends Error {}

// Poll fn() until it returns a truthy value; throw with `what` (and the last value/error) on timeout.
export async function poll(what, fn, { timeout = 20000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last && last.ok !== false) return last;
    } catch (e) {
      if (e instanceof Fatal) throw new Error(`while waiting for ${what}: ${e.message}`);
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr.message}`
        : `last state: ${JSON.stringify(last?.detail ?? last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (${detail})`);
    }
    await sleep(interval);
  }
}

export class Run {
  constructor(name, hardTimeoutMs) {
    this.name = name;
    this.hardTimeoutMs = hardTimeoutMs;
    this.server = null;
    this.browser = null;
    this.participants = [];
    this.extraCleanups = [];
    this.serverTail = new Tail(200);
    this.consoleTail = new Tail(200);
    this.summary = { test: name, ok: false };
    this.finished = false;
    process.on('exit', () => {
      if (this.server && this.server.exitCode === null && this.server.signalCode === null) {
        try { this.server.kill('SIGKILL'); } catch { /* gone */ }
      }
    });
  }

  log(...args) { console.log(`[${stamp()}] ${this.name}:`, ...args); }

  // Run the test body with a global hard timeout; always clean up; exit with the right status.
  async main(body) {
    const timer = setTimeout(() => {
      this.finish(new Error(`global hard timeout of ${this.hardTimeoutMs / 1000} s reached`));
    }, this.hardTimeoutMs);
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.on(sig, () => this.finish(new Error(`interrupted by ${sig}`)));
    }
    try {
      await body(this);
      clearTimeout(timer);
      await this.finish(null);
    } catch (e) {
      clearTimeout(timer);
      await this.finish(e);
    }
  }

  async finish(err) {
    if (this.finished) return;
    this.finished = true;
    if (err) {
      this.summary.ok = false;
      this.summary.error = err.message;
      console.error(`\nFAIL ${this.name}: ${err.message}`);
      if (err.stack) console.error(err.stack.split('\n').slice(1, 6).join('\n'));
      await this.dumpPages().catch(() => {});
      console.error(`\n--- browser console (errors/warnings/sfu lines, tail) ---\n${this.consoleTail.text(80) || '(none)'}`);
      console.error(`\n--- server output (tail) ---\n${this.serverTail.text(80) || '(none)'}`);
    } else {
      this.summary.ok = true;
    }
    const hardKill = setTimeout(() => {
      console.error('cleanup took too long; exiting');
      process.exit(err ? 1 : 0);
    }, 15000);
    await this.cleanup();
    clearTimeout(hardKill);
    console.log(`E2E_RESULT ${JSON.stringify(this.summary)}`);
    process.exit(err ? 1 : 0);
  }

  async dumpPages() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sfu-e2e-${this.name}-`));
    for (const p of this.participants) {
      if (p.page.isClosed()) continue;
      const info = await Promise.race([
        p.page.evaluate(async () => {
          const s = window.sfu;
          if (!s) return { missing: true };
          let stats = null;
          try { stats = await s.stats(); } catch (e) { stats = String(e); }
          return { state: s.state, id: s.id, errors: s.errors, marks: s.marks, remoteIds: s.remoteIds(), names: s.names(),
            firstFrameAt: s.firstFrameAt, stats, banner: document.getElementById('banner')?.innerText, log: s.log };
        }),
        sleep(3000).then(() => ({ timeout: true })),
      ]).catch((e) => ({ evalError: e.message }));
      fs.writeFileSync(path.join(dir, `${p.name}.json`), JSON.stringify(info, null, 2));
      const brief = { ...info };
      if (Array.isArray(brief.log)) {
        brief.log = brief.log.slice(-25).map((m) => `${m.t} ${m.dir} ${m.type}${m.pc ? ' ' + m.pc : ''}`
          + `${m.code ? ' ' + m.code : ''}${m.id ? ' id=' + m.id : ''}${m.sdp ? ` sdp(${m.sdp.length}B)` : ''}`
          + `${m.type === 'candidate' ? ' ' + String(m.candidate).slice(0, 60) : ''}`);
      }
      console.error(`\n--- page ${p.name} ---\n${JSON.stringify(brief, null, 1).slice(0, 4000)}`);
    }
    console.error(`\n(full page dumps incl. SDPs in ${dir})`);
  }

  async cleanup() {
    for (const fn of this.extraCleanups.splice(0)) {
      try { await fn(); } catch { /* best effort */ }
    }
    if (this.browser) {
      const b = this.browser;
      this.browser = null;
      await Promise.race([b.close().catch(() => {}), sleep(8000)]);
    }
    await this.stopServer();
  }

  // ---- server ----
  // Starts the server (default: conf/sfu.conf), keeps its output for the failure dump and in
  // this.serverLines, and waits (10 s at most) until ready(base) resolves: by default, GET / answers.
  async startServer(sfuBin, srcDir, port, { conf, tls = false, ready } = {}) {
    const args = ['--config', conf || path.join(srcDir, 'conf', 'sfu.conf'), '--port', String(port)];
    this.log(`starting ${sfuBin} ${args.join(' ')} (cwd ${srcDir})`);
    const proc = spawn(sfuBin, args, { cwd: srcDir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.server = proc;
    this.serverLines = [];
    let exited = null;
    proc.on('error', (e) => { exited = `spawn error: ${e.message}`; });
    proc.on('exit', (code, sig) => {
      exited = `exited with ${sig ? 'signal ' + sig : 'code ' + code}`;
      this.serverTail.push(`[${stamp()}] <server ${exited}>`);
    });
    for (const stream of [proc.stdout, proc.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          this.serverTail.push(`[${stamp()}] ${line}`);
          this.serverLines.push(line);
          buf = buf.slice(i + 1);
        }
      });
    }
    const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    const probe = ready || ((b) => httpGet(`${b}/`, 1000));
    const deadline = Date.now() + 10000;
    for (;;) {
      if (exited) throw new Error(`server ${exited} before answering on port ${port}`);
      try {
        await probe(base);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`server did not answer at ${base} within 10 s (${e.message})`);
        await sleep(100);
      }
    }
    this.log(`server answers at ${base}`);
    return base;
  }

  async stopServer() {
    const proc = this.server;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exit = once(proc, 'exit');
    proc.kill('SIGTERM');
    const res = await Promise.race([exit.then(() => 'exited'), sleep(5000).then(() => 'timeout')]);
    if (res === 'timeout') {
      this.log('server ignored SIGTERM for 5 s: SIGKILL');
      proc.kill('SIGKILL');
      await Promise.race([exit, sleep(2000)]);
    }
    this.summary.serverExit = proc.signalCode ? `signal ${proc.signalCode}` : `code ${proc.exitCode}`;
  }

  // ---- browser ----
  async launchBrowser(extraArgs = []) {
    let chromium;
    try {
      ({ chromium } = require('playwright-core'));
    } catch (e) {
      throw new Error(`playwright-core is not installed (run "npm ci" in tests/e2e): ${e.message}`);
    }
    if (!fs.existsSync('/usr/bin/chromium')) throw new Error('/usr/bin/chromium not found (apt-get install chromium)');
    this.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 30000 });
    this.log(`browser ${this.browser.version()}`);
    return this.browser;
  }

  // A participant = its own browser context (own permissions, own fake devices) and one page.
  // setup(context) runs before the page loads (e.g. to route requests).
  async open(name, url, { initScript, setup } = {}) {
    const context = await this.browser.newContext({ permissions: ['camera', 'microphone'] });
    if (setup) await setup(context);
    const page = await context.newPage();
    const p = { name, page, context, console: new Tail(100) };
    this.participants.push(p);
    page.on('console', (msg) => {
      const text = `[${stamp()}] ${name} console.${msg.type()}: ${msg.text()}`;
      p.console.push(text);
      if (['error', 'warning'].includes(msg.type()) || msg.text().startsWith('[sfu]')) this.consoleTail.push(text);
    });
    page.on('pageerror', (e) => this.consoleTail.push(`[${stamp()}] ${name} pageerror: ${e.message}`));
    page.on('crash', () => this.consoleTail.push(`[${stamp()}] ${name} PAGE CRASHED`));
    if (initScript) await page.addInitScript(initScript);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15000 });
    return p;
  }

  async closeParticipant(p) {
    await p.page.close();
    await p.context.close().catch(() => {});
  }
}

// Each participant's view, as the tests need it.
export function view(p) {
  return p.page.evaluate(() => ({
    state: window.sfu.state, id: window.sfu.id, ids: window.sfu.remoteIds(), names: window.sfu.names(),
    errors: window.sfu.errors, firstFrameAt: window.sfu.firstFrameAt, t0: window.sfu.t0, marks: window.sfu.marks,
  }));
}

export const stats = (p) => p.page.evaluate(() => window.sfu.stats());

// A page that shows an error or is no longer joined will not get better: fail at once.
function mustBeHealthy(p, v) {
  if (v.state !== 'joined' && v.state !== 'joining') throw new Fatal(`${p.name} is in state "${v.state}" (errors: ${JSON.stringify(v.errors)})`);
  if (v.errors.length) throw new Fatal(`${p.name} shows errors: ${JSON.stringify(v.errors)}`);
}

// Wait until p shows exactly the participants `expected` ([{id, name}]), nobody else.
export async function expectPeers(p, expected, timeout = 20000) {
  const want = expected.map((e) => `${e.id}:${e.name}`).sort();
  return poll(`${p.name} to show exactly [${expected.map((e) => e.name).join(', ')}]`, async () => {
    const v = await view(p);
    mustBeHealthy(p, v);
    const got = v.ids.map((id, i) => `${id}:${v.names[i]}`).sort();
    const ok = got.length === want.length && got.every((g, i) => g === want[i]);
    return ok ? v : { ok: false, detail: { shows: got, want } };
  }, { timeout });
}

// Wait until p receives live media from every participant in `expected`: framesDecoded and audio
// (bytes or samples) both grow between two samples >= 1 s apart. Returns per-participant rates.
export async function expectMedia(p, expected, timeout = 20000) {
  return poll(`${p.name} to receive video and audio from [${expected.map((e) => e.name).join(', ')}]`, async () => {
    mustBeHealthy(p, await view(p));
    const a = await stats(p);
    const t1 = Date.now();
    const missing = expected.filter((e) => !(a[e.id]?.framesDecoded > 0));
    if (missing.length) return { ok: false, detail: { noFramesYet: missing.map((e) => e.name), stats: a } };
    await sleep(1100);
    const b = await stats(p);
    const dt = (Date.now() - t1) / 1000;
    const rates = {};
    const bad = [];
    for (const e of expected) {
      const x = a[e.id];
      const y = b[e.id] || {};
      const frames = (y.framesDecoded || 0) - x.framesDecoded;
      const audioBytes = (y.audioBytesReceived || 0) - x.audioBytesReceived;
      const samples = (y.totalSamplesReceived || 0) - x.totalSamplesReceived;
      rates[e.name] = { fps: +(frames / dt).toFixed(1), audioKbps: +((audioBytes * 8) / dt / 1000).toFixed(1),
        videoKbps: +((((y.videoBytesReceived || 0) - x.videoBytesReceived) * 8) / dt / 1000).toFixed(1),
        size: `${y.frameWidth}x${y.frameHeight}` };
      if (!(frames > 0)) bad.push(`${e.name}: framesDecoded ${x.framesDecoded} -> ${y.framesDecoded}`);
      if (!(audioBytes > 0 || samples > 0)) bad.push(`${e.name}: audio bytes ${x.audioBytesReceived} -> ${y.audioBytesReceived}, samples ${x.totalSamplesReceived} -> ${y.totalSamplesReceived}`);
    }
    return bad.length ? { ok: false, detail: bad } : rates;
  }, { timeout, interval: 300 });
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// A static file server for web/ that refuses WebSocket upgrades: the page loads but /ws is dead,
// which is what the page sees when the SFU is down.
export async function deadSignalingServer(webDir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const srv = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(webDir, rel === '/' ? 'index.html' : rel);
    if (!file.startsWith(webDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  srv.on('upgrade', (req, socket) => socket.destroy());
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

// The server's /metrics as { name: number } (unlabelled samples only).
export function scrapeMetrics(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${host}:${port}/metrics`, { timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`/metrics answered ${res.statusCode}`));
        const m = {};
        for (const line of body.split('\n')) {
          const r = /^(\w+)\s+(\S+)$/.exec(line);
          if (r) m[r[1]] = Number(r[2]);
        }
        return resolve(m);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
