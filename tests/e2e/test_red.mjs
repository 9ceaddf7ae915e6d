// Resilient audio (issue 12): RED (RFC 2198, red/48000/2). A Chromium publisher sends a tone with RED.
// Two subscribers sit behind one lossy link: a network namespace whose incoming UDP loses 10 % at random
// (nftables), with its own Chromium. One negotiates RED (it gets the packets as they are), the other does
// not (red cut out of its answers: the server unwraps RED into plain Opus for it). Over one window on the
// same link, the RED subscriber's concealed share (concealedSamples / totalSamplesReceived) of the audio
// stays under a fifth of the other's, which still decodes it (RED it did not negotiate would be dropped
// whole: nearly everything concealed).
// Audio only: the publisher sends a tone and no camera, the subscribers publish nothing.
// Usage: node tests/e2e/test_red.mjs <path-to-sfu-binary> <source-dir>
import { createRequire } from 'node:module';

import { CHROMIUM_ARGS, Fatal, Run, assert, freePort, poll, sleep, view } from './harness.mjs';
import { addUdpLoss, launchBrowserIn, netnsForTest, openWith, udpCounters } from './netns.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_red.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}
const LOSS_PERCENT = 10;
const WINDOW_MS = 12000;

// The publisher: a microphone that never falls silent (a 440 Hz tone: concealment shows in every lost
// packet; Chromium's fake microphone is mostly silence), and no camera.
const TONE_ONLY = () => {
  navigator.mediaDevices.getUserMedia = async () => {
    const ctx = new AudioContext();
    await ctx.resume();
    const tone = ctx.createOscillator();
    tone.frequency.value = 440;
    const gain = ctx.createGain();
    gain.gain.value = 0.3;
    const dst = ctx.createMediaStreamDestination();
    tone.connect(gain).connect(dst);
    tone.start();
    return dst.stream;
  };
};
// A subscriber that publishes nothing.
const NO_MEDIA = () => {
  navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('test: no devices', 'NotFoundError'));
};
// The SDP without red/48000/2 (defined in the page by the init scripts that need it).
const WITHOUT_RED = () => {
  window.withoutRed = (sdp) => {
    let out = sdp;
    for (const [, pt] of sdp.matchAll(/^a=rtpmap:(\d+) red\/48000/gm)) {
      out = out.replace(new RegExp(`^a=(rtpmap|fmtp|rtcp-fb):${pt} .*\\r\\n`, 'gm'), '')
        .replace(/^(m=audio \d+ \S+)((?: \d+)+)/gm, (l, head, list) => head + list.split(' ').filter((x) => x !== pt).join(' '));
    }
    return out;
  };
};
// ... and a subscriber that does not know RED: red is cut out of its answers.
const NO_RED = () => {
  const create = RTCPeerConnection.prototype.createAnswer;
  RTCPeerConnection.prototype.createAnswer = async function answer(...a) {
    const d = await create.apply(this, a);
    return { type: d.type, sdp: withoutRed(d.sdp) };
  };
};
const script = (...fns) => fns.map((f) => `(${f})();`).join('\n');

// In a page: what it receives of `pid`'s audio, and how much of it had to be concealed.
const audioIn = (p, pid) => p.page.evaluate(async (want) => {
  const c = window.sfu.client;
  const pc = c?.pcs.sub;
  if (!pc) return null;
  const mids = new Set([...c.remote.values()].filter((r) => r.pid === want && r.kind === 'audio').map((r) => r.mid));
  const st = await pc.getStats();
  let out = null;
  st.forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'audio' || !mids.has(s.mid)) return;
    out = { concealed: s.concealedSamples || 0, total: s.totalSamplesReceived || 0, lost: s.packetsLost || 0,
      received: s.packetsReceived || 0, bytes: s.bytesReceived || 0 };
  });
  return out;
}, pid);

const run = new Run('test_red', 150000);
await run.main(async () => {
  const held = { browser: null };
  const net = netnsForTest(run, 'red', held);
  if (!net) return;
  addUdpLoss(net, LOSS_PERCENT);
  const port = await freePort();
  const base = await run.startServer(sfuBin, srcDir, port);
  await run.launchBrowser(['--autoplay-policy=no-user-gesture-required']);
  const nsBase = `http://${net.rootIp}:${port}`;
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  held.browser = await launchBrowserIn(net, chromium, [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${nsBase}`]);

  const joined = async (p) => {
    const v = await poll(`${p.name} to join`, async () => {
      const s = await view(p);
      if (s.state === 'error') throw new Fatal(`${p.name}: ${JSON.stringify(s.errors)}`);
      return s.state === 'joined' && s.id ? s : null;
    }, { timeout: 20000 });
    p.id = v.id;
  };
  const pub = await run.open('pub', `${base}/?room=red&name=pub`, { initScript: TONE_ONLY });
  await joined(pub);
  const sub = await openWith(run, held.browser, 'sub', `${nsBase}/?room=red&name=sub`, { initScript: NO_MEDIA });
  const plain = await openWith(run, held.browser, 'plain', `${nsBase}/?room=red&name=plain`,
    { initScript: script(NO_MEDIA, WITHOUT_RED, NO_RED) });
  await Promise.all([joined(sub), joined(plain)]);
  // (Chromium's statistics name the Opus inside RED, not RED, and count its bytes without the copies:
  // the concealment below is what tells the two apart.)
  for (const p of [sub, plain]) {
    await poll(`${p.name} to receive the audio`, async () => {
      const a = await audioIn(p, pub.id);
      return a && a.total > 48000 ? a : { ok: false, detail: a };
    }, { timeout: 20000 });
  }

  await sleep(2000);
  const sample = () => Promise.all([sub, plain].map((p) => audioIn(p, pub.id)));
  const c0 = udpCounters(net);
  const a0 = await sample();
  await sleep(WINDOW_MS);
  const a1 = await sample();
  const c1 = udpCounters(net);
  const share = (i) => +((a1[i].concealed - a0[i].concealed) / Math.max(1, a1[i].total - a0[i].total)).toFixed(4);
  const r = { red: share(0), plain: share(1) };
  const lost = { red: a1[0].lost - a0[0].lost, plain: a1[1].lost - a0[1].lost };
  const link = { udpIn: c1.seen - c0.seen, dropped: c1.dropped - c0.dropped };
  link.rate = +(link.dropped / Math.max(1, link.udpIn)).toFixed(3);
  const pc = (x) => `${(x * 100).toFixed(2)} %`;
  run.log(`link into ${net.ns}: ${link.dropped} of ${link.udpIn} UDP packets dropped (${pc(link.rate)})`);
  run.log(`concealed over ${WINDOW_MS / 1000} s: with RED ${pc(r.red)}, without (unwrapped to Opus) ${pc(r.plain)}; `
    + `RTP packets lost: ${JSON.stringify(lost)}`);
  run.summary = { ...run.summary, lossPercent: LOSS_PERCENT, link, concealedShare: r, lost };
  assert(link.dropped > 0, 'the loss rule dropped nothing');
  assert(r.plain > 0.02, `without RED only ${pc(r.plain)} was concealed: the loss did not reach the audio`);
  assert(r.plain < 0.3, `without RED ${pc(r.plain)} was concealed: is that subscriber getting plain Opus?`);
  assert(r.red < r.plain / 5, `with RED ${pc(r.red)} concealed, not under a fifth of ${pc(r.plain)} without`);
  for (const p of [pub, sub, plain]) {
    const v = await view(p);
    assert(v.state === 'joined' && !v.errors.length, `${p.name}: ${JSON.stringify(v)}`);
  }
});
