// End-to-end: vanished peers (issue 5, "Vanished peers and churn"; docs/protocol.md "Leaving and vanished
// peers").
//
// 1. ghost runs in a second Chromium inside a network namespace (veth to the root namespace); ann and bob
//    run in the root namespace; all three publish and receive. Then ghost's network disappears at once
//    (the root end of the veth goes down): no WebSocket close, no DTLS close, its TCP connection just goes
//    silent. The server must notice (its media and RTCP stop) and remove ghost after its own deadline,
//    shortened by the test config ([ice] consent_timeout_s = TEST_CONSENT_S): ann and bob drop it with
//    reason "consent-expired" within that deadline plus 4 s, their media to each other never stalls, and
//    /metrics shows 2 participants.
// 2. cal (root namespace) has its WebSocket closed from the page while its media connections stay up
//    (the page's own close handler is detached first, so the page does not tear its connections down):
//    the rule is immediate removal, so ann and bob drop cal at once (within 3 s), reason "disconnected".
// Usage: node tests/e2e/test_vanish.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import { createRequire } from 'node:module';

import {
  CHROMIUM_ARGS, Fatal, Run, TEST_CONSENT_S, assert, testConfig, expectMedia, expectPeers, joined, leftReason, poll, sleep, view,
  scrapeMetrics,
} from './harness.mjs';
import {
  blackhole, cutLink, inboundVideo,
  launchBrowserIn, openWith,
  netnsForTest,
} from './netns.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_vanish.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const GHOST_LIMIT_MS = TEST_CONSENT_S * 1000 + 4000; // the server's deadline (test config) and its 1 s timer, with margin
const WS_CLOSE_LIMIT_MS = 3000; // protocol.md: the WebSocket closing removes the participant at once
const MAX_STALL_MS = 2000;

const run = new Run('test_vanish', 150000);


// Wait until p no longer shows `who`; the time it took from t0 and the reason the server gave.
async function waitGone(p, who, t0, timeout) {
  await poll(`${p.name} to drop ${who.name}`, async () => {
    const v = await view(p);
    if (v.state !== 'joined') throw new Fatal(`${p.name} is in state "${v.state}" (errors: ${JSON.stringify(v.errors)})`);
    return v.ids.includes(who.id) ? { ok: false, detail: v.ids } : true;
  }, { timeout, interval: 100 });
  const ms = Date.now() - t0;
  return { ms, reason: await leftReason(p, who) };
}

// Sample, every 500 ms until stopped, the video frames each of `pairs` ([receiver, publisher]) decodes;
// report per pair the frame rate and the longest time without a new frame.
function watchVideo(pairs) {
  const state = { stop: false, rows: pairs.map(() => []) };
  const done = (async () => {
    while (!state.stop) {
      const now = Date.now();
      const got = await Promise.all(pairs.map(([rx, tx]) => inboundVideo(rx, tx.id).catch(() => null)));
      got.forEach((s, i) => state.rows[i].push({ t: now, f: s?.framesDecoded ?? 0 }));
      await sleep(500);
    }
  })();
  return async () => {
    state.stop = true;
    await done;
    return Object.fromEntries(pairs.map(([rx, tx], i) => {
      const r = state.rows[i];
      let stall = 0;
      let since = r[0].t;
      for (let j = 1; j < r.length; j++) {
        if (r[j].f > r[j - 1].f) since = r[j].t;
        else stall = Math.max(stall, r[j].t - since);
      }
      const secs = (r.at(-1).t - r[0].t) / 1000;
      return [`${rx.name}<-${tx.name}`, { fps: +((r.at(-1).f - r[0].f) / secs).toFixed(1), maxStallMs: stall, secs: +secs.toFixed(1) }];
    }));
  };
}

await run.main(async () => {
  const held = { browser: null };
  const net = netnsForTest(run, 'van', held);
  if (!net) return;

  // Session resume off: this test is about noticing vanished peers and closed sockets at once (with
  // resume, a closed socket is kept for [signaling] resume_grace_s: test_reach covers that).
  const { dir, file } = testConfig(srcDir, { resume_grace_s: 0 });
  run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = await run.startServer(sfuBin, srcDir, undefined, { conf: file });
  const { port } = run;
  await run.launchBrowser();
  const nsBase = `http://${net.rootIp}:${port}`;
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  held.browser = await launchBrowserIn(net, chromium,
    [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${nsBase}`]);

  const P = {};
  // All at once: today's server ends a participant whose sub connection got nothing for consent_timeout_s
  // once media starts flowing to it, and on a loaded machine one page can take that long to open.
  [P.ann, P.bob, P.ghost] = await Promise.all([run.open('ann', `${base}/?room=vanish&name=ann`),
    run.open('bob', `${base}/?room=vanish&name=bob`),
    openWith(run, held.browser, 'ghost', `${nsBase}/?room=vanish&name=ghost`)]);
  await Promise.all([P.ann, P.bob, P.ghost].map((p) => joined(p)));
  run.log(`ids: ${Object.values(P).map((p) => `${p.name}=${p.id}`).join(' ')}`);
  const all = [P.ann, P.bob, P.ghost];
  await Promise.all(all.map((p) => expectPeers(p, all.filter((o) => o !== p), 25000)));
  const rates = await Promise.all(all.map((p) => expectMedia(p, all.filter((o) => o !== p), 25000)));
  all.forEach((p, i) => run.log(`${p.name} receives ${JSON.stringify(rates[i])}`));
  const m0 = await scrapeMetrics(port);
  assert(m0.sfu_participants === 3, `/metrics sfu_participants = ${m0.sfu_participants} with ann, bob and ghost in`);

  // ---- 1. ghost's network vanishes ----
  const stopWatch = watchVideo([[P.ann, P.bob], [P.bob, P.ann]]);
  await sleep(1000);
  const ghostLine = new RegExp(`\\b${P.ghost.id}\\b`);
  const tCut = Date.now();
  // SFU_VANISH_CUT=blackhole: drop everything in the namespace instead (the server's veth end stays up).
  const how = process.env.SFU_VANISH_CUT === 'blackhole' ? 'blackhole' : 'link-down';
  if (how === 'blackhole') blackhole(net);
  else cutLink(net);
  run.log(`ghost's network cut (${how === 'blackhole' ? `all traffic of ${net.ns} dropped` : `${net.rootIf} down`}); `
    + 'waiting for the server to notice (ICE consent)');
  const [annSaw, bobSaw] = await Promise.all([
    waitGone(P.ann, P.ghost, tCut, GHOST_LIMIT_MS + 10000),
    waitGone(P.bob, P.ghost, tCut, GHOST_LIMIT_MS + 10000),
  ]).catch((e) => {
    throw new Error(`ghost was never removed: ${e.message} (server lines on ${P.ghost.id}: `
      + `${JSON.stringify(run.serverTail.lines.filter((l) => ghostLine.test(l)).slice(-8))})`);
  });
  run.log(`ann dropped ghost ${annSaw.ms} ms after the cut (reason "${annSaw.reason}"), bob ${bobSaw.ms} ms (reason "${bobSaw.reason}")`);
  const serverLines = run.serverTail.lines.filter((l) => ghostLine.test(l) || /consent|ICE failed/i.test(l)).slice(-6);
  run.log(`server lines about ghost:\n  ${serverLines.join('\n  ')}`);
  await sleep(2000); // media between ann and bob keeps flowing after the removal too
  const ghostVideo = await stopWatch();
  run.log(`ann/bob video across the cut and the removal: ${JSON.stringify(ghostVideo)}`);
  const m1 = await scrapeMetrics(port);
  const ghostPage = await view(P.ghost).catch((e) => ({ evalError: e.message }));
  run.log(`ghost's own page meanwhile: state ${ghostPage.state}, errors ${JSON.stringify(ghostPage.errors)}`);
  await Promise.all([expectPeers(P.ann, [P.bob], 5000), expectPeers(P.bob, [P.ann], 5000)]);
  const ghostMedia = await Promise.all([expectMedia(P.ann, [P.bob], 5000), expectMedia(P.bob, [P.ann], 5000)]);

  run.summary = {
    ...run.summary,
    ghostRemovedMs: { ann: annSaw.ms, bob: bobSaw.ms },
    ghostReason: annSaw.reason,
    cut: how,
    participantsAfterGhost: m1.sfu_participants,
    videoAcrossGhostCut: ghostVideo,
  };
  const failures = [];
  const check = (cond, msg) => { if (!cond) failures.push(msg); };
  check(Math.max(annSaw.ms, bobSaw.ms) <= GHOST_LIMIT_MS,
    `ghost removed only after ${Math.max(annSaw.ms, bobSaw.ms)} ms (limit ${GHOST_LIMIT_MS} ms)`);
  check(Math.max(annSaw.ms, bobSaw.ms) >= TEST_CONSENT_S * 1000 - 1000,
    `ghost removed after ${Math.max(annSaw.ms, bobSaw.ms)} ms, before the server's ${TEST_CONSENT_S} s deadline`);
  check(annSaw.reason === 'consent-expired' && bobSaw.reason === 'consent-expired',
    `ghost's leave reason: ann saw "${annSaw.reason}", bob "${bobSaw.reason}" (want "consent-expired")`);
  check(m1.sfu_participants === 2, `/metrics sfu_participants = ${m1.sfu_participants} after ghost's removal (want 2)`);
  for (const [k, v] of Object.entries(ghostVideo)) {
    check(v.maxStallMs <= MAX_STALL_MS && v.fps >= 10, `video ${k} across ghost's removal: ${v.fps} fps, stall ${v.maxStallMs} ms`);
  }
  run.log(`after ghost's removal: ann <- ${JSON.stringify(ghostMedia[0])}, bob <- ${JSON.stringify(ghostMedia[1])}`);

  // ---- 2. cal's WebSocket closes while its media flows ----
  P.cal = await run.open('cal', `${base}/?room=vanish&name=cal`);
  await joined(P.cal);
  const room = [P.ann, P.bob, P.cal];
  await Promise.all(room.map((p) => expectPeers(p, room.filter((o) => o !== p), 15000)));
  await Promise.all(room.map((p) => expectMedia(p, room.filter((o) => o !== p), 20000)));
  const closed = await P.cal.page.evaluate(() => {
    const ws = window.__test.sockets.at(-1);
    if (!ws || ws.readyState !== WebSocket.OPEN) return `no open socket (${ws?.readyState})`;
    ws.onclose = null; // the page would otherwise end its session and close its peer connections too
    ws.onmessage = null;
    ws.close(1000, 'test: socket closed while media flows');
    return `closed; peer connections: ${window.__test.pcs.map((pc) => pc.connectionState).join(', ')}`;
  });
  const tClose = Date.now();
  run.log(`cal's WebSocket ${closed}`);
  const stopWatch2 = watchVideo([[P.ann, P.bob], [P.bob, P.ann]]);
  const [annSawCal, bobSawCal] = await Promise.all([
    waitGone(P.ann, P.cal, tClose, 15000),
    waitGone(P.bob, P.cal, tClose, 15000),
  ]);
  const calPcs = await P.cal.page.evaluate(() => window.__test.pcs.map((pc) => pc.connectionState));
  run.log(`ann dropped cal ${annSawCal.ms} ms after its socket closed (reason "${annSawCal.reason}"), `
    + `bob ${bobSawCal.ms} ms (reason "${bobSawCal.reason}"); cal's peer connections then: ${calPcs.join(', ')}`);
  await sleep(2000);
  const calVideo = await stopWatch2();
  const m2 = await scrapeMetrics(port);
  const calMedia = await Promise.all([expectMedia(P.ann, [P.bob], 5000), expectMedia(P.bob, [P.ann], 5000)]);
  run.log(`after cal's removal: ann <- ${JSON.stringify(calMedia[0])}, bob <- ${JSON.stringify(calMedia[1])}; `
    + `sfu_participants ${m2.sfu_participants}`);
  check(annSawCal.reason === 'disconnected' && bobSawCal.reason === 'disconnected',
    `cal's leave reason: ann saw "${annSawCal.reason}", bob "${bobSawCal.reason}" (want "disconnected")`);
  check(Math.max(annSawCal.ms, bobSawCal.ms) <= WS_CLOSE_LIMIT_MS,
    `cal removed ${Math.max(annSawCal.ms, bobSawCal.ms)} ms after its WebSocket closed (limit ${WS_CLOSE_LIMIT_MS} ms)`);
  check(m2.sfu_participants === 2, `/metrics sfu_participants = ${m2.sfu_participants} after cal's removal (want 2)`);
  for (const [k, v] of Object.entries(calVideo)) {
    check(v.maxStallMs <= MAX_STALL_MS && v.fps >= 10, `video ${k} across cal's removal: ${v.fps} fps, stall ${v.maxStallMs} ms`);
  }
  run.summary = {
    ...run.summary,
    calRemovedMs: { ann: annSawCal.ms, bob: bobSawCal.ms },
    calReason: annSawCal.reason,
    participantsAfterCal: m2.sfu_participants,
    videoAcrossCalClose: calVideo,
  };
  assert(failures.length === 0, failures.join('; '));
});
