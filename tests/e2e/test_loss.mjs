// End-to-end: NACK retransmission under packet loss (issue 5, "Loss test").
//
// A network namespace whose only link to the server is a veth pair, with nftables dropping 5 % of the
// UDP entering it and 5 % of the UDP leaving it at random (TCP, i.e. the page and the WebSocket, stays
// lossless). ann and bob run in
// the root namespace, lossy runs in a second Chromium started inside the namespace and reaches the
// server at the veth address. Over 15 s of steady state, longer than the server's consent deadline (test
// config: TEST_CONSENT_S): lossy stays in the room (lost packets are not a vanished peer) and keeps decoding
// ann's video (>= 10 fps, no stall over 2 s) and playing her audio (under a fifth concealed), ann and bob
// keep playing lossy's; lossy NACKs and the server retransmits (sfu_nacks_in_total, sfu_retransmissions_total),
// the loss left after retransmission is a small part of what the link dropped, and bob, on a clean link,
// loses nothing and NACKs nothing.
// Usage: node tests/e2e/test_loss.mjs <path-to-sfu-binary> <source-dir>
import { createRequire } from 'node:module';

import {
  CHROMIUM_ARGS, Run, TEST_CONSENT_S, assert, expectMedia, expectPeers, joined, judgeMedia, mediaStats, sleep, view,
  scrapeMetrics,
} from './harness.mjs';
import {
  addUdpLoss, inboundVideo,
  launchBrowserIn, openWith, udpCounters,
  netnsForTest,
} from './netns.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_loss.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const LOSS_PERCENT = 5;
const WINDOW_MS = 15000;
const SAMPLE_MS = 500;
const MIN_FPS = 10;
const MAX_STALL_MS = 2000;
const MAX_RESIDUAL_LOSS = 0.01; // fraction of ann's video packets still missing after retransmission

const run = new Run('test_loss', 150000);


// A subscriber's connection to ann's video is gone in the middle of the window: say who and why (the page's
// errors, the server's lines about it), and fail.
async function lostParticipant(list, tStart) {
  const why = [];
  for (const p of list) {
    const v = await view(p).catch((e) => ({ state: `unknown (${e.message})`, errors: [] }));
    if (v.state === 'joined' && !v.errors.length) continue;
    const mine = new RegExp(`\\b${p.id}\\b|consent|ICE failed`);
    const lines = run.serverTail.lines.filter((l) => mine.test(l)).slice(-4).map((l) => l.replace(/^\[[^\]]*\] /, ''));
    why.push(`${p.name} is "${v.state}" ${((Date.now() - tStart) / 1000).toFixed(1)} s into the window, page errors `
      + `${JSON.stringify(v.errors)}; server: ${JSON.stringify(lines)}`);
  }
  throw new Error(`a subscriber lost ann's video during the loss window: ${why.join('; ') || 'no inbound video stats'}`);
}

await run.main(async () => {
  const held = { browser: null };
  const net = netnsForTest(run, 'loss', held);
  if (!net) return;
  try {
    addUdpLoss(net, LOSS_PERCENT);
  } catch (e) {
    throw new Error(`cannot install the nftables loss rule (is the nftables package installed?): ${e.message}`);
  }
  run.log(`nftables in ${net.ns}: ${LOSS_PERCENT} % of incoming and of outgoing UDP dropped`);

  const base = await run.startServer(sfuBin, srcDir);
  const { port } = run;
  await run.launchBrowser();
  const nsBase = `http://${net.rootIp}:${port}`;
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  // The page at http://10.201.X.1 is not a secure context: allow getUserMedia there so lossy publishes too.
  held.browser = await launchBrowserIn(net, chromium,
    [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${nsBase}`]);
  run.log(`second browser (in ${net.ns}) ${held.browser.version()}`);

  const P = {};
  // All at once: today's server ends a participant whose sub connection got nothing for consent_timeout_s
  // once media starts flowing to it, and on a loaded machine one page can take that long to open.
  [P.ann, P.bob, P.lossy] = await Promise.all([run.open('ann', `${base}/?room=loss&name=ann`),
    run.open('bob', `${base}/?room=loss&name=bob`),
    openWith(run, held.browser, 'lossy', `${nsBase}/?room=loss&name=lossy`)]);
  await Promise.all([P.ann, P.bob, P.lossy].map((p) => joined(p)));
  run.log(`ids: ${Object.values(P).map((p) => `${p.name}=${p.id}`).join(' ')}`);
  const all = [P.ann, P.bob, P.lossy];
  await Promise.all(all.map((p) => expectPeers(p, all.filter((o) => o !== p), 25000)));
  const rates = await Promise.all(all.map((p) => expectMedia(p, all.filter((o) => o !== p), 25000)));
  all.forEach((p, i) => run.log(`${p.name} receives ${JSON.stringify(rates[i])}`));

  // Let the bitrate ramp up a little, then measure a steady window.
  await sleep(2000);
  const m0 = await scrapeMetrics(port);
  const c0 = udpCounters(net);
  const l0 = await inboundVideo(P.lossy, P.ann.id);
  const b0 = await inboundVideo(P.bob, P.ann.id);
  const media0 = await Promise.all(all.map((p) => mediaStats(p)));
  assert(l0 && b0, `no inbound video stats for ann's video (lossy: ${JSON.stringify(l0)}, bob: ${JSON.stringify(b0)})`);

  const samples = [{ t: Date.now(), lossy: l0.framesDecoded, bob: b0.framesDecoded }];
  const tStart = Date.now();
  const tEnd = tStart + WINDOW_MS;
  let l1;
  let b1;
  while (Date.now() < tEnd) {
    await sleep(SAMPLE_MS);
    [l1, b1] = await Promise.all([inboundVideo(P.lossy, P.ann.id), inboundVideo(P.bob, P.ann.id)]);
    if (!l1 || !b1) await lostParticipant([P.lossy, P.bob], tStart);
    samples.push({ t: Date.now(), lossy: l1.framesDecoded, bob: b1.framesDecoded });
  }
  const m1 = await scrapeMetrics(port);
  const c1 = udpCounters(net);
  const media1 = await Promise.all(all.map((p) => mediaStats(p)));
  const secs = (Date.now() - tStart) / 1000;
  // Audio both ways across the lossy link, and lossy's video at ann and bob, as a user hears and sees it.
  const audio = [];
  const judged = {};
  for (const [rx, tx, opts] of [[P.lossy, P.ann, { video: false }], [P.lossy, P.bob, { video: false }],
    [P.ann, P.lossy, {}], [P.bob, P.lossy, {}]]) {
    const i = all.indexOf(rx);
    const j = judgeMedia(`${rx.name}<-${tx.name}`, media0[i][tx.id], media1[i][tx.id], secs, opts);
    judged[`${rx.name}<-${tx.name}`] = j.rate;
    audio.push(...j.bad);
  }
  run.log(`across the lossy link: ${JSON.stringify(judged)}`);

  // Decoding: average rate and the longest time framesDecoded stood still.
  const flow = (key) => {
    const secs = (samples.at(-1).t - samples[0].t) / 1000;
    let stall = 0;
    let since = samples[0].t;
    for (let i = 1; i < samples.length; i++) {
      if (samples[i][key] > samples[i - 1][key]) since = samples[i].t;
      else stall = Math.max(stall, samples[i].t - since);
    }
    return { fps: +((samples.at(-1)[key] - samples[0][key]) / secs).toFixed(1), maxStallMs: stall, secs: +secs.toFixed(1) };
  };
  const d = (a, b, k) => b[k] - a[k];
  const lossy = {
    ...flow('lossy'),
    packetsReceived: d(l0, l1, 'packetsReceived'), packetsLost: d(l0, l1, 'packetsLost'),
    nackCount: d(l0, l1, 'nackCount'), pliCount: d(l0, l1, 'pliCount'), framesDropped: d(l0, l1, 'framesDropped'),
    freezeCount: d(l0, l1, 'freezeCount'), totals: l1,
    retransmitted: d(l0, l1, 'retransmittedPacketsReceived'),
  };
  // With RFC 4588 RTX a repaired packet arrives on the RTX stream: the browser counts the original as lost
  // and the repair in retransmittedPacketsReceived (without RTX, the repair simply arrives: not lost).
  lossy.residualLoss = +(Math.max(0, lossy.packetsLost - lossy.retransmitted)
    / Math.max(1, lossy.packetsReceived + lossy.packetsLost)).toFixed(4);
  const bob = {
    ...flow('bob'),
    packetsReceived: d(b0, b1, 'packetsReceived'), packetsLost: d(b0, b1, 'packetsLost'),
    nackCount: d(b0, b1, 'nackCount'), totals: b1,
  };
  const link = { udpIn: c1.seen - c0.seen, udpDropped: c1.dropped - c0.dropped,
    udpOut: c1.outSeen - c0.outSeen, udpOutDropped: c1.outDropped - c0.outDropped };
  link.dropRate = +(link.udpDropped / Math.max(1, link.udpIn)).toFixed(4);
  const server = {
    nacksIn: m1.sfu_nacks_in_total - m0.sfu_nacks_in_total,
    retransmissions: m1.sfu_retransmissions_total - m0.sfu_retransmissions_total,
    plisIn: m1.sfu_plis_in_total - m0.sfu_plis_in_total,
    nacksInTotal: m1.sfu_nacks_in_total, retransmissionsTotal: m1.sfu_retransmissions_total,
  };

  run.log(`link into ${net.ns} over ${lossy.secs} s: ${link.udpDropped} of ${link.udpIn} UDP packets dropped `
    + `(${(link.dropRate * 100).toFixed(2)} %, loss before retransmission)`);
  run.log(`lossy <- ann video: ${lossy.fps} fps, longest stall ${lossy.maxStallMs} ms, `
    + `${lossy.packetsReceived} packets received, ${lossy.packetsLost} lost, ${lossy.retransmitted} repaired `
    + `(left: ${(lossy.residualLoss * 100).toFixed(2)} %), nackCount +${lossy.nackCount}, pliCount +${lossy.pliCount}, `
    + `framesDropped +${lossy.framesDropped}, freezes +${lossy.freezeCount}`);
  run.log(`bob   <- ann video: ${bob.fps} fps, longest stall ${bob.maxStallMs} ms, `
    + `${bob.packetsReceived} packets, packetsLost ${bob.totals.packetsLost} (total), nackCount ${bob.totals.nackCount} (total)`);
  run.log(`server /metrics over the window: sfu_nacks_in_total +${server.nacksIn}, `
    + `sfu_retransmissions_total +${server.retransmissions}, sfu_plis_in_total +${server.plisIn}`);
  run.summary = { ...run.summary, lossPercent: LOSS_PERCENT, link, lossy, bob, server, joinRates: rates, judged };

  const failures = [];
  const check = (cond, msg) => { if (!cond) failures.push(msg); };
  check(link.udpDropped > 0 && link.udpOutDropped > 0, `nftables dropped nothing one way (${JSON.stringify(link)}): the loss rules are not in effect`);
  check(WINDOW_MS > TEST_CONSENT_S * 1000, 'the window is shorter than the server\'s consent deadline');
  for (const a of audio) check(false, a);
  check(lossy.fps >= MIN_FPS, `lossy decodes ann's video at ${lossy.fps} fps (< ${MIN_FPS}; bob, lossless: ${bob.fps} fps)`);
  check(lossy.maxStallMs <= MAX_STALL_MS, `lossy's video from ann stalled for ${lossy.maxStallMs} ms (> ${MAX_STALL_MS})`);
  check(lossy.nackCount > 0, `lossy sent no NACK for ann's video (nackCount +${lossy.nackCount})`);
  check(server.nacksIn > 0, `server counted no NACKed packet (sfu_nacks_in_total +${server.nacksIn})`);
  check(server.retransmissions > 0, `server retransmitted nothing (sfu_retransmissions_total +${server.retransmissions})`);
  check(lossy.residualLoss <= MAX_RESIDUAL_LOSS,
    `lossy still misses ${(lossy.residualLoss * 100).toFixed(2)} % of ann's video packets after retransmission `
    + `(link dropped ${(link.dropRate * 100).toFixed(2)} %; allowed ${MAX_RESIDUAL_LOSS * 100} %)`);
  check(bob.totals.packetsLost <= 2, `bob (clean link) lost ${bob.totals.packetsLost} of ann's video packets`);
  check(bob.totals.nackCount === 0, `bob (clean link) sent ${bob.totals.nackCount} NACKs for ann's video`);
  check(bob.fps >= MIN_FPS && bob.maxStallMs <= MAX_STALL_MS, `bob's video from ann: ${bob.fps} fps, stall ${bob.maxStallMs} ms`);
  for (const p of all) {
    const v = await view(p);
    check(v.state === 'joined' && v.errors.length === 0, `${p.name}: state ${v.state}, errors ${JSON.stringify(v.errors)}`);
  }
  assert(failures.length === 0, failures.join('; '));
});
