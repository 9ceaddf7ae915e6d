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

// Thrown when a test cannot run its real check here (no network namespaces, no browser installed):
// Run.main prints SKIP with the reason and exits 77, which ctest reports as skipped (SKIP_RETURN_CODE)
// and tests/run_all.sh counts as a failure unless SFU_ALLOW_SKIP=1.
export class Skip extends Error {}
export const SKIP_EXIT = 77;

// Server deadlines for browser tests, shortened so a test sees them fire (and must keep media up across
// them): [ice] consent_timeout_s (a vanished peer, a connection that never comes up). Not the minimum (5):
// today's server also ends a participant whose subscriber connection got nothing for that long (alone in
// its room, or with viewers only) as soon as media starts flowing to it (reported), and on a loaded
// machine a room's second page can take that long to open.
export const TEST_CONSENT_S = 10;
// A steady-media window lasts longer than every server timer that could end a participant who receives
// media but whose feedback the server does not see (consent_timeout_s) with some margin.
export const STEADY_MS = (TEST_CONSENT_S + 2) * 1000;

// Browser flags: fake camera/microphone, no permission prompt, loopback ICE allowed.
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--disable-background-networking'];

// Debian's firefox-esr, headless under puppeteer-core over WebDriver BiDi (../shared notes: without the
// persistent camera/microphone permission Firefox gathers only the default-route address).
export const FIREFOX_BIN = '/usr/bin/firefox-esr';
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.default_address_only': false,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'dom.min_background_timeout_value': 0,
  'dom.timeout.enable_budget_timer_throttling': false,
};

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
    this.firefox = null;
    this.port = null;
    this.serverExits = []; // {pid, exit} of every server started, once stopped
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
    if (err instanceof Skip) {
      console.log(`SKIP ${this.name}: ${err.message}`);
      this.summary.skipped = err.message;
      await Promise.race([this.cleanup(), sleep(15000)]);
      console.log(`E2E_RESULT ${JSON.stringify(this.summary)}`);
      process.exit(SKIP_EXIT);
    }
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
      process.exit(1);
    }, 15000);
    await this.cleanup();
    clearTimeout(hardKill);
    // Every server this run started must have stopped cleanly on SIGTERM: exit 0 (under the sanitizer
    // build LeakSanitizer runs at that exit) and no sanitizer report in SFU_SAN_REPORTS for its pid.
    const bad = this.serverExitProblems();
    if (!err && bad.length) {
      this.summary.ok = false;
      this.summary.error = bad.join('; ');
      console.error(`\nFAIL ${this.name}: ${this.summary.error}`);
      console.error(`\n--- server output (tail) ---\n${this.serverTail.text(80) || '(none)'}`);
    }
    console.log(`E2E_RESULT ${JSON.stringify(this.summary)}`);
    process.exit(err || bad.length ? 1 : 0);
  }

  serverExitProblems() {
    const bad = [];
    for (const { pid, exit } of this.serverExits) {
      if (exit !== 'code 0') bad.push(`server ${pid} stopped with ${exit} (SIGTERM must give exit 0)`);
      const dir = process.env.SFU_SAN_REPORTS;
      if (!dir || !fs.existsSync(dir)) continue;
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(`.${pid}`))) {
        bad.push(`sanitizer report ${f}: ${fs.readFileSync(path.join(dir, f), 'utf8').slice(0, 3000)}`);
      }
    }
    return bad;
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
    for (const key of ['browser', 'firefox']) {
      const b = this[key];
      this[key] = null;
      if (b) await Promise.race([b.close().catch(() => {}), sleep(8000)]);
    }
    await this.stopServer();
  }

  // ---- server ----
  // Starts the server (default config: conf/sfu.conf with the shortened test deadlines, testConfig), keeps
  // its output for the failure dump and in this.serverLines, and waits (10 s at most) until ready(base)
  // resolves: by default, GET / answers. Without a port (the usual way) it takes a free one and tries
  // another when the server lost the race for it ("cannot listen"); conf may be a function of the port.
  // Sets this.port; returns the base URL.
  async startServer(sfuBin, srcDir, port, opts = {}) {
    for (let attempt = 1; ; attempt++) {
      const p = port || await freePort();
      try {
        return await this.startServerOnce(sfuBin, srcDir, p, opts);
      } catch (e) {
        const clash = this.serverLines.some((l) => /cannot listen/.test(l));
        if (port || !clash || attempt >= 5) throw e;
        this.server = null; // lost the race for the port: not a server this test ran
        this.log(`port ${p} was taken meanwhile: another one`);
      }
    }
  }

  async startServerOnce(sfuBin, srcDir, port, { conf, tls = false, ready } = {}) {
    let file = typeof conf === 'function' ? conf(port) : conf;
    if (!file) {
      const c = testConfig(srcDir, {});
      this.extraCleanups.push(() => fs.rmSync(c.dir, { recursive: true, force: true }));
      file = c.file;
    }
    const args = ['--config', file, '--port', String(port)];
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
    const ended = [];
    for (const stream of [proc.stdout, proc.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      ended.push(once(stream, 'end').catch(() => {}));
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
      if (exited) {
        await Promise.race([Promise.all(ended), sleep(1000)]); // its last lines (e.g. "cannot listen")
        throw new Error(`server ${exited} before answering on port ${port}`);
      }
      try {
        await probe(base);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`server did not answer at ${base} within 10 s (${e.message})`);
        await sleep(100);
      }
    }
    this.port = port;
    this.log(`server answers at ${base}`);
    return base;
  }

  // SIGTERM (the server drains, within 5 s as promised; LeakSanitizer runs at exit in the sanitizer build),
  // SIGKILL after 10 s. Returns how it ended ("code 0" is the only good answer; Run.finish checks it).
  async stopServer() {
    const proc = this.server;
    if (!proc) return null;
    const code = () => (proc.signalCode ? `signal ${proc.signalCode}` : `code ${proc.exitCode}`);
    if (proc.exitCode !== null || proc.signalCode !== null) {
      if (!this.serverExits.some((x) => x.pid === proc.pid)) this.serverExits.push({ pid: proc.pid, exit: `${code()} before SIGTERM` });
      return code();
    }
    const exit = once(proc, 'exit');
    proc.kill('SIGTERM');
    const res = await Promise.race([exit.then(() => 'exited'), sleep(10000).then(() => 'timeout')]);
    if (res === 'timeout') {
      this.log('server ignored SIGTERM for 10 s: SIGKILL');
      proc.kill('SIGKILL');
      await Promise.race([exit, sleep(2000)]);
    }
    this.summary.serverExit = res === 'timeout' ? 'no exit within 10 s of SIGTERM' : code();
    this.serverExits.push({ pid: proc.pid, exit: this.summary.serverExit });
    return this.summary.serverExit;
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

  // Debian's firefox-esr, headless, through puppeteer-core over WebDriver BiDi (no downloaded browser).
  // Pages open in it with run.open(name, url, { browser: 'firefox' }) and are driven like Chromium's.
  async launchFirefox(extraPrefs = {}) {
    let puppeteer;
    try {
      puppeteer = require('puppeteer-core');
    } catch (e) {
      throw new Error(`puppeteer-core is not installed (run "npm ci" in tests/e2e): ${e.message}`);
    }
    if (!fs.existsSync(FIREFOX_BIN)) throw new Skip(`${FIREFOX_BIN} not found (conf/deps.sh test installs firefox-esr)`);
    this.firefox = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX_BIN, headless: true, protocol: 'webDriverBiDi',
      extraPrefsFirefox: { ...FIREFOX_PREFS, ...extraPrefs }, timeout: 60000,
    });
    this.firefox.kind = 'firefox';
    this.log(`firefox ${await this.firefox.version()}`);
    return this.firefox;
  }

  // A participant = its own browser context (own permissions, own fake devices) and one page, in
  // Chromium (run.browser) or, with { browser: 'firefox' }, in Firefox (run.firefox); either page has
  // evaluate(), click(), url(), isClosed(). Every page gets captureScript (the test's handle on the
  // page's peer connections) before initScript. setup(context) runs before the page loads (Chromium).
  async open(name, url, { initScript, setup, browser } = {}) {
    const b = browser === 'firefox' ? this.firefox : (typeof browser === 'object' && browser) || this.browser;
    if (!b) throw new Error(`open ${name}: no ${browser === 'firefox' ? 'Firefox' : 'browser'} launched`);
    const ff = b.kind === 'firefox';
    const context = ff ? await b.createBrowserContext() : await b.newContext({ permissions: ['camera', 'microphone'] });
    if (setup) await setup(context);
    const page = await context.newPage();
    const p = { name, page, context, console: new Tail(100), browser: ff ? 'firefox' : 'chromium' };
    this.participants.push(p);
    page.on('console', (msg) => {
      const type = msg.type();
      const text = `[${stamp()}] ${name} console.${type}: ${msg.text()}`;
      p.console.push(text);
      if (['error', 'warning', 'warn'].includes(type) || msg.text().startsWith('[sfu]')) this.consoleTail.push(text);
    });
    page.on('pageerror', (e) => this.consoleTail.push(`[${stamp()}] ${name} pageerror: ${e.message}`));
    if (ff) {
      await page.evaluateOnNewDocument(captureScript);
      if (initScript) await page.evaluateOnNewDocument(initScript);
    } else {
      page.on('crash', () => this.consoleTail.push(`[${stamp()}] ${name} PAGE CRASHED`));
      await page.addInitScript(captureScript);
      if (initScript) await page.addInitScript(initScript);
    }
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15000 });
    return p;
  }

  async closeParticipant(p) {
    await Promise.race([p.page.close().catch(() => {}), sleep(5000)]);
    await Promise.race([p.context.close().catch(() => {}), sleep(5000)]);
  }
}

// Each participant's view, as the tests need it.
export function view(p) {
  return p.page.evaluate(() => ({
    state: window.sfu.state, id: window.sfu.id, ids: window.sfu.remoteIds(), names: window.sfu.names(),
    errors: window.sfu.errors, firstFrameAt: window.sfu.firstFrameAt, t0: window.sfu.t0, marks: window.sfu.marks,
  }));
}

// The page's own per-participant stats (window.sfu.stats()), given up on after 5 s: Firefox's getStats()
// on a connection closed meanwhile never settles.
export const stats = (p) => p.page.evaluate(() => Promise.race([window.sfu.stats(),
  new Promise((_, reject) => setTimeout(() => reject(new Error('getStats did not settle in 5 s')), 5000))]));

// A page that shows an error or is no longer joined will not get better: fail at once.
function mustBeHealthy(p, v) {
  if (v.state !== 'joined' && v.state !== 'joining') throw new Fatal(`${p.name} is in state "${v.state}" (errors: ${JSON.stringify(v.errors)})`);
  if (v.errors.length) throw new Fatal(`${p.name} shows errors: ${JSON.stringify(v.errors)}`);
}

// Wait until p has joined (fails at once on an error); sets p.id.
export async function joined(p, timeout = 15000) {
  const v = await poll(`${p.name} to join`, async () => {
    const s = await view(p);
    if (s.state === 'error') throw new Fatal(`${p.name} failed to join: ${JSON.stringify(s.errors)}`);
    return s.state === 'joined' && s.id ? s : { ok: false, detail: s };
  }, { timeout });
  p.id = v.id;
  return v;
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

// The reason p was given for `who` leaving (the last participant-left about who.id), or null.
export const leftReason = (p, who) => p.page.evaluate((id) => window.sfu.log
  .filter((m) => m.type === 'participant-left' && m.id === id).map((m) => m.reason).at(-1) ?? null, who.id);

// The error codes the server sent p (in the page's message log).
export const errorCodes = (p) => p.page.evaluate(() => window.sfu.log
  .filter((m) => m.dir === 'in' && m.type === 'error').map((m) => m.code));

// Init script for every page (Run.open adds it): keeps each RTCPeerConnection and WebSocket the page makes
// reachable as window.__test.pcs / window.__test.sockets (web/app.js keeps them in module scope).
export function captureScript() {
  const t = { pcs: [], sockets: [] };
  window.__test = t;
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(...a) { super(...a); t.pcs.push(this); }
  };
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...a) { super(...a); t.sockets.push(this); }
  };
}

// What p receives, per publishing participant id, from the receivers' own stats (RTCRtpReceiver.getStats,
// the same in Chromium and Firefox): { video: {frames, bytes, width, height, packets, lost, nacks},
// audio: {bytes, samples, concealed, packets, lost, energy} } (energy: totalAudioEnergy, what is heard). A receiver's owner is the first word of its section's
// msid in the server's offer (the participant id); closed and inactive sections are left out. Each
// getStats is given up on after 3 s (Firefox never settles it on a closed connection).
export function mediaStats(p) {
  return p.page.evaluate(async () => {
    const out = {};
    const within = (pr) => Promise.race([pr, new Promise((resolve) => setTimeout(() => resolve(null), 3000))]);
    for (const pc of window.__test.pcs) {
      const sdp = pc.remoteDescription?.sdp;
      if (!sdp || pc.signalingState === 'closed' || pc.connectionState === 'closed') continue;
      const owner = new Map();
      for (const part of sdp.split(/\r?\n(?=m=)/).slice(1)) {
        const mid = /^a=mid:(\S+)/m.exec(part)?.[1];
        const msid = /^a=msid:(\S+)/m.exec(part)?.[1];
        if (mid != null && msid && !/^m=\w+ 0 /.test(part) && !/^a=inactive/m.test(part)) owner.set(mid, msid);
      }
      for (const tr of pc.getTransceivers()) {
        const pid = owner.get(tr.mid);
        if (!pid || !tr.receiver) continue;
        const rep = await within(tr.receiver.getStats());
        if (!rep) continue;
        const o = out[pid] ?? (out[pid] = {
          video: { frames: 0, bytes: 0, width: 0, height: 0, packets: 0, lost: 0, nacks: 0 },
          audio: { bytes: 0, samples: 0, concealed: 0, packets: 0, lost: 0, energy: 0 },
        });
        rep.forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          const k = s.kind ?? s.mediaType;
          if (k === 'video') {
            o.video.frames += s.framesDecoded || 0;
            o.video.bytes += s.bytesReceived || 0;
            o.video.packets += s.packetsReceived || 0;
            o.video.lost += s.packetsLost || 0;
            o.video.nacks += s.nackCount || 0;
            o.video.width = Math.max(o.video.width, s.frameWidth || 0);
            o.video.height = Math.max(o.video.height, s.frameHeight || 0);
          } else if (k === 'audio') {
            o.audio.bytes += s.bytesReceived || 0;
            o.audio.samples += s.totalSamplesReceived || 0;
            o.audio.concealed += s.concealedSamples || 0;
            o.audio.packets += s.packetsReceived || 0;
            o.audio.lost += s.packetsLost || 0;
            o.audio.energy += s.totalAudioEnergy || 0;
          }
        });
      }
    }
    return out;
  });
}

// What a user perceives, between two mediaStats samples a and b taken dt seconds apart: the video plays at
// >= minFps frames per second with frames at least minWidth x minHeight, and the audio plays (bytes arrive
// and fewer than a fifth of the samples played out are concealment). Returns a list of what is wrong.
export const MEDIA_BAR = { minFps: 10, minWidth: 320, minHeight: 180, maxConcealed: 0.2 };
// Whether p hears `who` now: the audio energy p plays out of who's track grows over about a second.
export async function hears(p, who) {
  const a = (await mediaStats(p))[who.id]?.audio.energy ?? 0;
  await sleep(1200);
  const b = (await mediaStats(p))[who.id]?.audio.energy ?? 0;
  return b - a > 1e-6;
}

export function judgeMedia(name, x, y, dt, { video = true, audio = true, bar = MEDIA_BAR } = {}) {
  const bad = [];
  if (!x || !y) return { bad: [`${name}: nothing received`], rate: null };
  const rate = {
    fps: +((y.video.frames - x.video.frames) / dt).toFixed(1), size: `${y.video.width}x${y.video.height}`,
    videoKbps: +(((y.video.bytes - x.video.bytes) * 8) / dt / 1000).toFixed(1),
    audioKbps: +(((y.audio.bytes - x.audio.bytes) * 8) / dt / 1000).toFixed(1),
  };
  const samples = y.audio.samples - x.audio.samples;
  const concealed = y.audio.concealed - x.audio.concealed;
  rate.concealed = samples > 0 ? +(concealed / samples).toFixed(3) : null;
  if (video) {
    if (!(rate.fps >= bar.minFps)) bad.push(`${name}: video at ${rate.fps} fps (< ${bar.minFps})`);
    if (!(y.video.width >= bar.minWidth && y.video.height >= bar.minHeight)) {
      bad.push(`${name}: video frames ${rate.size} (< ${bar.minWidth}x${bar.minHeight})`);
    }
  }
  if (audio) {
    if (!(y.audio.bytes > x.audio.bytes)) bad.push(`${name}: no audio bytes (${x.audio.bytes} -> ${y.audio.bytes})`);
    else if (!(samples > 0 && concealed < samples * bar.maxConcealed)) {
      bad.push(`${name}: audio ${concealed} of ${samples} samples concealed (>= ${bar.maxConcealed * 100} %)`);
    }
  }
  return { bad, rate };
}

// Wait until p receives what a user would call working media from every participant in `expected`
// (judgeMedia over ~1.5 s). opts: { video, audio } to expect only one kind. Returns per-name rates.
export async function expectMedia(p, expected, timeout = 20000, opts = {}) {
  return poll(`${p.name} to receive ${opts.video === false ? '' : 'video and '}audio from [${expected.map((e) => e.name).join(', ')}]`, async () => {
    mustBeHealthy(p, await view(p));
    const a = await mediaStats(p);
    const t1 = Date.now();
    const missing = expected.filter((e) => !a[e.id] || (opts.video !== false && !(a[e.id].video.frames > 0)));
    if (missing.length) return { ok: false, detail: { nothingYet: missing.map((e) => e.name), stats: a } };
    await sleep(1500);
    const b = await mediaStats(p);
    const dt = (Date.now() - t1) / 1000;
    const rates = {};
    const bad = [];
    for (const e of expected) {
      const j = judgeMedia(e.name, a[e.id], b[e.id], dt, opts);
      rates[e.name] = j.rate ?? null;
      bad.push(...j.bad);
    }
    return bad.length ? { ok: false, detail: bad } : rates;
  }, { timeout, interval: 300 });
}

// Media between every pair of `members` must stay what a user calls working for `ms` (default: longer than
// the server's consent deadline), sampled every second: no second without new frames, and judgeMedia over
// the whole window. Returns per "receiver<-publisher" rates.
export async function steadyMedia(members, ms = STEADY_MS, opts = {}) {
  const pairs = [];
  for (const rx of members) for (const tx of members) if (rx !== tx && (!opts.publishers || opts.publishers.includes(tx))) pairs.push([rx, tx]);
  const first = await Promise.all(members.map((p) => mediaStats(p)));
  const t0 = Date.now();
  const lastFrames = new Map();
  const stall = new Map();
  const snap = (all, now) => pairs.forEach(([rx, tx]) => {
    const key = `${rx.name}<-${tx.name}`;
    const f = all[members.indexOf(rx)][tx.id]?.video.frames ?? 0;
    const prev = lastFrames.get(key);
    if (!prev || f > prev.f) lastFrames.set(key, { f, t: now });
    else stall.set(key, Math.max(stall.get(key) ?? 0, now - prev.t));
  });
  snap(first, t0);
  let last = first;
  while (Date.now() - t0 < ms) {
    await sleep(1000);
    for (const p of members) mustBeHealthy(p, await view(p));
    last = await Promise.all(members.map((p) => mediaStats(p)));
    snap(last, Date.now());
  }
  const dt = (Date.now() - t0) / 1000;
  const bad = [];
  const rates = {};
  for (const [rx, tx] of pairs) {
    const key = `${rx.name}<-${tx.name}`;
    const i = members.indexOf(rx);
    const j = judgeMedia(key, first[i][tx.id], last[i][tx.id], dt, opts);
    rates[key] = { ...(j.rate ?? {}), maxStallMs: stall.get(key) ?? 0 };
    bad.push(...j.bad);
    if (opts.video !== false && (stall.get(key) ?? 0) > 2000) bad.push(`${key}: no new video frame for ${stall.get(key)} ms`);
  }
  if (bad.length) throw new Error(`media over ${dt.toFixed(1)} s: ${bad.join('; ')}`);
  return rates;
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

// conf/sfu.conf with `key = value` lines replaced (keys are unique across groups for what we change),
// written to a new temporary directory: { dir, file }.
export function writeConfig(srcDir, values) {
  let text = fs.readFileSync(path.join(srcDir, 'conf', 'sfu.conf'), 'utf8');
  for (const [key, value] of Object.entries(values)) {
    const re = new RegExp(`^#?${key} =.*$`, 'm');
    if (!re.test(text)) throw new Error(`conf/sfu.conf has no "${key} =" line`);
    text = text.replace(re, `${key} = ${value}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-test-conf-'));
  const file = path.join(dir, 'sfu.conf');
  fs.writeFileSync(file, text);
  return { dir, file };
}

// writeConfig with the shortened test deadlines (TEST_CONSENT_S) under `values`.
export const testConfig = (srcDir, values) => writeConfig(srcDir, { consent_timeout_s: TEST_CONSENT_S, ...values });
