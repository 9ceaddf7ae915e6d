// End-to-end: reaching everyone (issue 13), real Chromium pages in network namespaces this test makes,
// one server (with [turn] pointing at Debian's coturn started here, and the default resume grace
// period) shared by every case. Two rooms run side by side:
//
// room "relay" (ann in the root namespace; pages in namespace R, one browser process there):
//   1. a page whose RTCPeerConnections may only use relay candidates joins through coturn (TURN; it has
//      the UDP and the TCP url) with the credentials the server handed out, and sends and receives;
//   2. then R's firewall drops every UDP datagram: a relay-only page gets through with TURN over TCP;
//   3. and a plain page (no relay policy) joins over ICE-TCP (the server's passive TCP candidates).
// room "main" (bob in the root namespace, cut in namespace C, lossy in namespace L with 5 % loss):
//   4. cut's link is cut for 5 s (nftables drops everything in C) and restored: media between cut and
//      bob flows again within 5 s after the restore, and nobody sees cut leave;
//   5. bob's WebSocket is closed by the test and may reopen only 5 s later: bob keeps its id and its
//      media, and nobody sees bob leave;
//   6. bob's WebSocket is closed for good and cut's browser is killed at the same moment: the others see
//      both leave, bob no sooner than the grace period, cut (vanished: no WebSocket, no media) within it;
//      lossy, on its 5 % loss link the whole time, is never removed.
// Usage: node tests/e2e/test_reach.mjs <path-to-sfu-binary> <source-dir>
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';

import {
  CHROMIUM_ARGS, Fatal, MEDIA_BAR, Run, assert, expectMedia as expectMediaAt, expectPeers, poll, sleep, stats, view,
} from './harness.mjs';
import {
  addUdpLoss, blackhole, dropUdp, inboundVideo, killNetnsProcesses, launchBrowserIn, netnsForTest,
  openWith, restoreLink, selectedPairs, udpCounters, udpDropped,
} from './netns.mjs';
import { relayOnlyScript, startCoturn } from './coturn.mjs';
import { startServerWithConfig, writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_reach.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const GRACE_S = 15; // [signaling] resume_grace_s default
const RESTORE_LIMIT_MS = 5000;
const CUT_MS = 5000;
const WS_DOWN_MS = 5000;

const run = new Run('test_reach', 240000);

// This test is about reaching the server at all (relays, TCP, restarts, resume), not about quality on a
// machine that also runs four browsers: media must flow (3 fps or more; the quality tests ask for 10).
const REACH_BAR = { ...MEDIA_BAR, minFps: 3 };
const expectMedia = (p, expected, timeout) => expectMediaAt(p, expected, timeout, { bar: REACH_BAR });

// Init script, after the harness's captureScript (window.__test.pcs and .sockets): every participant
// event the page receives recorded, and a switch that makes new WebSockets fail (a server out of reach).
function pageHooks() {
  const t = window.__test;
  t.events = [];
  t.blockWs = false;
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(url, ...a) {
      super(t.blockWs ? 'ws://127.0.0.1:9/' : url, ...a);
      this.addEventListener('message', (ev) => {
        try {
          const m = JSON.parse(ev.data);
          if (/^participant-|^joined$/.test(m.type)) t.events.push({ at: Date.now(), type: m.type, id: m.id, resumed: m.resumed });
        } catch { /* not JSON */ }
      });
    }
  };
}
const hooksAndRelay = { content: `(${pageHooks})(); (${relayOnlyScript})();` };

async function joined(p, timeout = 20000) {
  const v = await poll(`${p.name} to join`, async () => {
    const s = await view(p);
    if (s.state === 'error') throw new Fatal(`${p.name} failed to join: ${JSON.stringify(s.errors)}`);
    return s.state === 'joined' && s.id ? s : null;
  }, { timeout });
  p.id = v.id;
  return v;
}

const events = (p) => p.page.evaluate(() => window.__test.events);
const leftSeen = async (p, who) => (await events(p)).filter((e) => e.type === 'participant-left' && e.id === who.id);

// Frames of `from`'s video decoded at `at`, or -1 when none is known yet.
async function frames(at, from) {
  const s = await inboundVideo(at, from.id).catch(() => null);
  return s ? s.framesDecoded : -1;
}

// Waits until audio and video from `from` reach `at` again (bytes received grow), then until its video
// is decoded again (framesDecoded grows: after a keyframe); ms each took from t0.
async function mediaFlows(at, from, t0, timeout) {
  const bytes = async () => {
    const s = (await stats(at))[from.id] || {};
    return { a: s.audioBytesReceived || 0, v: s.videoBytesReceived || 0 };
  };
  const b0 = await bytes();
  const f0 = await frames(at, from);
  await poll(`${at.name} to receive audio and video from ${from.name} again`, async () => {
    const b = await bytes();
    return b.a > b0.a && b.v > b0.v;
  }, { timeout, interval: 100 });
  const packetsMs = Date.now() - t0;
  await poll(`${at.name} to decode video from ${from.name} again`, async () => (await frames(at, from)) > f0,
    { timeout, interval: 100 });
  return { packetsMs, framesMs: Date.now() - t0 };
}

// ---- room "relay": TURN over UDP, TURN over TCP, ICE-TCP ----
async function relayRoom(ctx) {
  const { net, base, nsBase, nsBrowser } = ctx;
  const ann = await run.open('ann', `${base}/?room=relay&name=ann`, { initScript: pageHooks });
  await joined(ann);
  const out = {};
  const one = async (name, init, want) => {
    const p = await openWith(run, nsBrowser, name, `${nsBase}/?room=relay&name=${name}`, { initScript: init });
    await joined(p);
    await Promise.all([expectPeers(ann, [p]), expectPeers(p, [ann])]);
    const rates = await Promise.all([expectMedia(ann, [p], 30000), expectMedia(p, [ann], 30000)]);
    const pairs = await selectedPairs(p);
    run.log(`${name}: ann <- ${JSON.stringify(rates[0][name])}, ${name} <- ${JSON.stringify(rates[1].ann)}; `
      + `pairs ${JSON.stringify(pairs.map((x) => x && `${x.local.candidateType}/${x.local.relayProtocol || x.local.protocol}`))}`);
    assert(pairs.length === 2 && pairs.every(want), `${name}: selected pairs ${JSON.stringify(pairs)}`);
    out[name] = { ann: rates[0][name], [name]: rates[1].ann, pair: pairs[0] };
    await run.closeParticipant(p);
    await poll(`ann to see ${name} leave`, async () => ((await view(ann)).ids.includes(p.id) ? null : true), { timeout: 5000 });
  };
  // UDP open: Chromium may pick its UDP or its TCP allocation (it was given both TURN urls).
  await one('turnudp', hooksAndRelay, (x) => x?.local?.candidateType === 'relay');
  dropUdp(net);
  await one('turntcp', hooksAndRelay, (x) => x?.local?.candidateType === 'relay' && x.local.relayProtocol === 'tcp');
  await one('icetcp', pageHooks, (x) => x?.local?.protocol === 'tcp' && x.local.candidateType !== 'relay');
  out.udpDroppedInR = udpDropped(net);
  run.log(`room relay done; UDP dropped in ${net.ns}: ${out.udpDroppedInR}`);
  return out;
}

// ---- room "main": link cut, WebSocket drop and resume, grace period, vanished browser, lossy link ----
async function mainRoom(ctx) {
  const { base, netC, netL, port } = ctx;
  const P = {};
  P.bob = await run.open('bob', `${base}/?room=main&name=bob`, { initScript: pageHooks });
  P.cut = await openWith(run, ctx.browserC, 'cut', `http://${netC.rootIp}:${port}/?room=main&name=cut`, { initScript: pageHooks });
  P.lossy = await openWith(run, ctx.browserL, 'lossy', `http://${netL.rootIp}:${port}/?room=main&name=lossy`, { initScript: pageHooks });
  await Promise.all(Object.values(P).map((p) => joined(p)));
  const all = Object.values(P);
  await Promise.all(all.map((p) => expectPeers(p, all.filter((o) => o !== p), 25000)));
  await Promise.all(all.map((p) => expectMedia(p, all.filter((o) => o !== p), 45000)));
  run.log(`room main: ${all.map((p) => `${p.name}=${p.id}`).join(' ')}, everyone receives everyone`);
  const res = {};

  // 4a. ICE restart on both of bob's connections, as the page does on a lasting "disconnected": new
  // credentials on both sides, the same DTLS association (no new handshake), media keeps flowing.
  const ufrags = () => P.bob.page.evaluate(() => window.__test.pcs.filter((pc) => pc.signalingState !== 'closed')
    .map((pc) => [pc.localDescription?.sdp, pc.remoteDescription?.sdp].map((x) => /a=ice-ufrag:(\S+)/.exec(x || '')?.[1]).join('|')));
  const handshakes = () => run.serverLines.filter((l) => l.includes(`main/${P.bob.id}/`) && /DTLS handshake done/.test(l)).length;
  const u0 = await ufrags();
  const h0 = handshakes();
  await P.bob.page.evaluate(() => { window.sfu.restartIce('sub'); window.sfu.restartIce('pub'); });
  // (Joined with "|": an ICE ufrag may contain "/", RFC 8839 ice-char.)
  const u1 = await poll('both of bob\'s connections to change ICE credentials', async () => {
    const u = await ufrags();
    const changed = u.length === u0.length && u.every((x, i) => x.split('|').every((f, k) => f && f !== u0[i].split('|')[k]));
    return changed ? u : { ok: false, detail: { before: u0, now: u } };
  }, { timeout: 10000 });
  await poll('the server to finish both ICE restarts', async () => run.serverLines
    .filter((l) => l.includes(`main/${P.bob.id}/`) && /ICE restart done/.test(l)).length >= 2 || null, { timeout: 10000 });
  await Promise.all([expectMedia(P.bob, [P.cut, P.lossy], 15000), expectMedia(P.cut, [P.bob], 15000)]);
  res.iceRestart = { before: u0, after: u1, dtlsHandshakes: [h0, handshakes()] };
  run.log(`bob's ICE restart: ufrags (local/remote per pc) ${u0.join(' ')} -> ${u1.join(' ')}; DTLS handshakes ${h0} -> ${handshakes()}`);
  assert(handshakes() === h0, 'the ICE restart redid the DTLS handshake');

  // 4. cut's link down for 5 s, then back.
  blackhole(netC);
  const tCut = Date.now();
  await sleep(CUT_MS);
  restoreLink(netC);
  const tRestore = Date.now();
  run.log(`cut's link was down for ${tRestore - tCut} ms; waiting for media both ways`);
  const [toBob, toCut] = await Promise.all([
    mediaFlows(P.bob, P.cut, tRestore, 20000), mediaFlows(P.cut, P.bob, tRestore, 20000)]);
  res.cut = { downMs: tRestore - tCut, bobFromCut: toBob, cutFromBob: toCut };
  run.log(`after the restore: bob gets cut's audio+video after ${toBob.packetsMs} ms (video decoded after `
    + `${toBob.framesMs} ms), cut gets bob's after ${toCut.packetsMs} ms (decoded after ${toCut.framesMs} ms)`);
  const flows = Math.max(toBob.packetsMs, toCut.packetsMs);
  assert(flows <= RESTORE_LIMIT_MS, `media after the restore took ${flows} ms (limit ${RESTORE_LIMIT_MS})`);
  const decoded = Math.max(toBob.framesMs, toCut.framesMs);
  assert(decoded <= 2 * RESTORE_LIMIT_MS, `video decoded only ${decoded} ms after the restore`);
  for (const p of [P.bob, P.lossy]) {
    const l = await leftSeen(p, P.cut);
    assert(!l.length, `${p.name} saw cut leave: ${JSON.stringify(l)}`);
  }
  assert((await view(P.cut)).state === 'joined', `cut is in state ${(await view(P.cut)).state} after the cut`);

  // 5. bob's WebSocket closed, reopening blocked for 5 s.
  const idBefore = P.bob.id;
  await P.bob.page.evaluate(() => { window.__test.blockWs = true; window.__test.sockets.at(-1).close(); });
  const tDrop = Date.now();
  await sleep(WS_DOWN_MS);
  await P.bob.page.evaluate(() => { window.__test.blockWs = false; });
  const back = await poll('bob to resume', async () => {
    const ev = (await events(P.bob)).filter((e) => e.type === 'joined' && e.resumed);
    return ev.length ? ev.at(-1) : null;
  }, { timeout: 10000, interval: 100 });
  res.ws = { downMs: WS_DOWN_MS, resumedAfterMs: back.at - tDrop, sameId: back.id === idBefore };
  run.log(`bob's WebSocket: closed, back ${back.at - tDrop} ms later as ${back.id} (was ${idBefore})`);
  assert(back.id === idBefore, `bob came back as ${back.id}, not ${idBefore}`);
  await Promise.all([expectPeers(P.bob, [P.cut, P.lossy], 10000),
    expectMedia(P.bob, [P.cut, P.lossy], 15000), expectMedia(P.cut, [P.bob], 15000), expectMedia(P.lossy, [P.bob], 15000)]);
  for (const p of [P.cut, P.lossy]) {
    const seen = (await events(p)).filter((e) => /participant-(left|joined)/.test(e.type) && e.id === idBefore);
    assert(!seen.length, `${p.name} saw ${JSON.stringify(seen)} across bob's reconnection`);
  }

  // 6. bob gone for good (no return) and cut's browser killed, at the same moment.
  await P.bob.page.evaluate(() => { window.__test.blockWs = true; window.__test.sockets.at(-1).close(); });
  const killed = killNetnsProcesses(netC);
  const tGone = Date.now();
  run.log(`bob's WebSocket closed for good, cut's browser killed (${killed} processes)`);
  const gone = async (who) => {
    await poll(`lossy to see ${who.name} leave`, async () => ((await leftSeen(P.lossy, who)).length ? true : null),
      { timeout: (GRACE_S + 10) * 1000, interval: 200 });
    return (await leftSeen(P.lossy, who))[0].at - tGone;
  };
  const [bobMs, cutMs] = await Promise.all([gone(P.bob), gone(P.cut)]);
  res.gone = { bobMs, cutMs };
  run.log(`lossy saw bob leave after ${bobMs} ms and cut after ${cutMs} ms (grace ${GRACE_S} s)`);
  assert(bobMs >= GRACE_S * 1000 - 1000, `bob removed after ${bobMs} ms, before the grace period`);
  assert(bobMs <= (GRACE_S + 3) * 1000, `bob removed only after ${bobMs} ms`);
  assert(cutMs <= (GRACE_S + 2) * 1000, `the vanished cut was removed only after ${cutMs} ms (grace ${GRACE_S} s)`);

  // lossy was on 5 % loss all along and is still in, with no error.
  const lv = await view(P.lossy);
  const lc = udpCounters(netL);
  res.lossy = { state: lv.state, errors: lv.errors, udpSeen: lc.seen, udpDropped: lc.dropped };
  run.log(`lossy: ${JSON.stringify(res.lossy)}`);
  assert(lv.state === 'joined' && !lv.errors.length, `lossy: ${JSON.stringify(lv)}`);
  assert(lc.dropped > 0 && lc.dropped / lc.seen > 0.02, `the loss rule dropped ${lc.dropped} of ${lc.seen}`);
  return res;
}

await run.main(async () => {
  const held = { browser: null };
  const ctx = {};
  const net = netnsForTest(run, 'rch', held);
  if (!net) return;
  const heldC = { browser: null };
  const heldL = { browser: null };
  ctx.netC = netnsForTest(run, 'cut', heldC);
  ctx.netL = netnsForTest(run, 'los', heldL);
  addUdpLoss(ctx.netL, 5);

  const secret = crypto.randomBytes(24).toString('hex');
  ctx.turn = await startCoturn(run, { ip: net.rootIp, secret });
  const { dir, file } = writeConfig(srcDir, { urls: `${ctx.turn.urls.udp}, ${ctx.turn.urls.tcp}`, secret });
  run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  ctx.base = await startServerWithConfig(run, sfuBin, srcDir, undefined, file);
  const { port } = run;
  ctx.port = port;
  ctx.net = net;
  ctx.nsBase = `http://${net.rootIp}:${port}`;
  await run.launchBrowser();
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  const launch = (n) => launchBrowserIn(n, chromium,
    [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=http://${n.rootIp}:${port}`]);
  [held.browser, heldC.browser, heldL.browser] = await Promise.all([launch(net), launch(ctx.netC), launch(ctx.netL)]);
  ctx.nsBrowser = held.browser;
  ctx.browserC = heldC.browser;
  ctx.browserL = heldL.browser;

  const [relay, main] = await Promise.all([relayRoom(ctx), mainRoom(ctx)]);
  if (process.env.SFU_REACH_SERVER_LOG) {
    fs.writeFileSync(process.env.SFU_REACH_SERVER_LOG, run.serverLines.join('\n'));
    fs.writeFileSync(`${process.env.SFU_REACH_SERVER_LOG}.coturn`, ctx.turn.lines.join('\n'));
  }
  run.summary = { ...run.summary, relay, main };
});
