// End-to-end: /metrics against real browser traffic. Two headless Chromium participants in one
// room; once both decode each other's video, /metrics (Prometheus text format 0.0.4, parsed and
// checked for well-formedness) must show 1 room, 2 participants, 2 publishers, 4 subscriptions
// (each sees the other's audio and video), RTP in and out, a keyframe request sent to the
// publishers, CPU time; counters only grow. Then one leaves and the gauges drop. The server runs with
// [limits] max_bitrate_kbps = 120, below what Chromium's fake camera sends (about 190 kbit/s): the video
// each receives must settle under that cap (docs/deploy.md), still moving.
// Usage: node tests/e2e/test_metrics.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';

import {
  MEDIA_BAR, Run, assert, expectMedia, expectPeers, joined, poll, sleep, steadyMedia, testConfig,
} from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_metrics.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_metrics', 150000);
const CAP_KBPS = 120;

// ---- Prometheus text format 0.0.4 ----
// Returns { families: Map(name -> {type, help, samples: [{name, labels, value}]}), series: Map(key -> value) }.
// Throws on anything a Prometheus server would reject (or that is sloppy: a sample without TYPE,
// a TYPE after its samples, a duplicate series, an unknown type, a bad value).
function parsePrometheus(text) {
  const families = new Map();
  const series = new Map();
  const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('the exposition does not end with a newline');
  const familyOf = (sample) => {
    for (const suffix of ['_bucket', '_sum', '_count', '']) {
      if (!sample.endsWith(suffix)) continue;
      const base = suffix ? sample.slice(0, -suffix.length) : sample;
      const f = families.get(base);
      if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return base;
    }
    return null;
  };
  lines.slice(0, -1).forEach((line, i) => {
    const where = `line ${i + 1} '${line}'`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!nameRe.test(name)) throw new Error(`${where}: bad metric name`);
      const f = families.get(name) || { type: 'untyped', help: null, samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`${where}: bad type`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples`);
        if (f.typed) throw new Error(`${where}: second TYPE`);
        f.type = rest;
        f.typed = true;
      } else {
        if (f.help !== null) throw new Error(`${where}: second HELP`);
        f.help = rest;
      }
      families.set(name, f);
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample line`);
    const [, name, , labelText, valueText] = m;
    const labels = {};
    if (labelText) {
      const lre = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
      let pos = 0;
      while (pos < labelText.length) {
        lre.lastIndex = pos;
        const lm = lre.exec(labelText);
        if (!lm) throw new Error(`${where}: bad labels`);
        if (lm[1] in labels) throw new Error(`${where}: label ${lm[1]} twice`);
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        pos = lre.lastIndex;
      }
    }
    let value;
    if (valueText === 'NaN') value = NaN;
    else if (valueText === '+Inf' || valueText === 'Inf') value = Infinity;
    else if (valueText === '-Inf') value = -Infinity;
    else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(valueText)) value = Number(valueText);
    else throw new Error(`${where}: bad value`);
    const fam = familyOf(name);
    if (!fam) throw new Error(`${where}: sample without a preceding # TYPE`);
    const f = families.get(fam);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`${where}: negative or NaN counter`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) throw new Error(`${where}: duplicate series`);
    series.set(key, value);
    f.samples.push({ name, labels, value });
  });
  for (const [name, f] of families) {
    if (!f.samples.length) throw new Error(`family ${name}: HELP/TYPE without samples`);
    if (f.type === 'histogram') checkHistogram(name, f);
    if (f.type === 'counter' && !name.endsWith('_total') && !name.endsWith('_seconds_total')) {
      throw new Error(`counter ${name} does not end in _total`);
    }
  }
  return { families, series };
}

// A histogram (unlabelled apart from le): buckets in increasing le, cumulative counts that never
// decrease, a +Inf bucket equal to _count, a _sum.
function checkHistogram(name, f) {
  const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
  const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
  if (!buckets.length || les.some((le) => Number.isNaN(le))) throw new Error(`histogram ${name}: missing or bad le labels`);
  for (let i = 1; i < buckets.length; i++) {
    if (!(les[i] > les[i - 1])) throw new Error(`histogram ${name}: le not increasing at ${buckets[i].labels.le}`);
    if (buckets[i].value < buckets[i - 1].value) throw new Error(`histogram ${name}: bucket counts not cumulative`);
  }
  if (les[les.length - 1] !== Infinity) throw new Error(`histogram ${name}: no le="+Inf" bucket`);
  const count = f.samples.find((s) => s.name === `${name}_count`);
  const sum = f.samples.find((s) => s.name === `${name}_sum`);
  if (!count || !sum) throw new Error(`histogram ${name}: no _count or _sum`);
  if (count.value !== buckets[buckets.length - 1].value) throw new Error(`histogram ${name}: _count != +Inf bucket`);
  if (!(sum.value >= 0)) throw new Error(`histogram ${name}: negative _sum`);
}

// One value of an unlabelled metric; throws if absent.
function val(parsed, name) {
  const v = parsed.series.get(`${name}[]`);
  if (v === undefined) throw new Error(`/metrics has no ${name}`);
  return v;
}

async function scrape(base) {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  assert(res.status === 200, `/metrics: HTTP ${res.status}: ${text.slice(0, 200)}`);
  const ctype = res.headers.get('content-type') || '';
  assert(/^text\/plain; version=0\.0\.4(; charset=utf-8)?$/.test(ctype), `/metrics content-type '${ctype}'`);
  const parsed = parsePrometheus(text);
  parsed.text = text;
  return parsed;
}

const COUNTERS = ['sfu_joins_total', 'sfu_leaves_total', 'sfu_rtp_packets_in_total', 'sfu_rtp_bytes_in_total',
  'sfu_rtp_packets_out_total', 'sfu_rtp_bytes_out_total', 'sfu_plis_out_total', 'process_cpu_seconds_total'];
const GAUGES = ['sfu_rooms', 'sfu_participants', 'sfu_publishers', 'sfu_subscriptions'];

function brief(p) {
  const o = {};
  for (const n of [...GAUGES, ...COUNTERS, 'sfu_plis_in_total', 'sfu_nacks_in_total', 'sfu_retransmissions_total',
    'sfu_srtp_errors_total', 'process_resident_memory_bytes']) {
    const v = p.series.get(`${n}[]`);
    if (v !== undefined) o[n] = v;
  }
  return o;
}

function monotonic(before, after, label) {
  for (const n of COUNTERS) {
    assert(val(after, n) >= val(before, n), `${label}: counter ${n} went down: ${val(before, n)} -> ${val(after, n)}`);
  }
}

// Poll /metrics until the gauges are `want` (the server refreshes its snapshot every 500 ms).
async function gauges(base, want, what, timeout = 10000) {
  return poll(what, async () => {
    const p = await scrape(base);
    const got = Object.fromEntries(GAUGES.map((n) => [n, val(p, n)]));
    return GAUGES.every((n) => got[n] === want[n]) ? p : { ok: false, detail: got };
  }, { timeout, interval: 250 });
}

await run.main(async () => {
  const { dir, file } = testConfig(srcDir, { max_bitrate_kbps: CAP_KBPS });
  run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = await run.startServer(sfuBin, srcDir, null, { conf: file });
  const { port } = run;

  // An idle server: well-formed, all zero.
  const idle = await scrape(base);
  for (const n of [...GAUGES, 'sfu_joins_total', 'sfu_rtp_packets_in_total', 'sfu_rtp_packets_out_total']) {
    assert(val(idle, n) === 0, `idle server: ${n} = ${val(idle, n)}, expected 0`);
  }
  for (const [n, t] of [['sfu_rooms', 'gauge'], ['sfu_participants', 'gauge'], ['sfu_publishers', 'gauge'],
    ['sfu_subscriptions', 'gauge'], ['sfu_rtp_packets_in_total', 'counter'], ['sfu_plis_out_total', 'counter'],
    ['process_cpu_seconds_total', 'counter'], ['process_resident_memory_bytes', 'gauge']]) {
    const f = idle.families.get(n);
    assert(f && f.type === t && f.help, `${n}: expected # TYPE ${t} with a # HELP, got ${JSON.stringify(f && { type: f.type, help: f.help })}`);
  }
  assert(val(idle, 'process_resident_memory_bytes') > 1e6, 'process_resident_memory_bytes is implausibly small');
  run.log(`idle /metrics: ${idle.families.size} families, well-formed`);

  await run.launchBrowser();
  const ann = await run.open('ann', `${base}/?room=metrics&name=ann`);
  const bob = await run.open('bob', `${base}/?room=metrics&name=bob`);
  for (const p of [ann, bob]) await joined(p);
  await Promise.all([expectPeers(ann, [bob]), expectPeers(bob, [ann])]);
  // Under a 120 kbit/s cap a simulcast camera (640x360, three layers) sends only its lowest layer, a
  // quarter of its size: that is the size to expect here.
  const bar = { ...MEDIA_BAR, minWidth: 160, minHeight: 90 };
  const rates = await Promise.all([expectMedia(ann, [bob], 20000, { bar }), expectMedia(bob, [ann], 20000, { bar })]);
  // The bitrate cap reaches the publishers: over a steady window (past the first seconds, when the
  // uncapped fake camera runs at about 180-190 kbit/s) each video stays under it, and still plays.
  const steady = await steadyMedia([ann, bob], undefined, { bar });
  for (const [pair, r] of Object.entries(steady)) {
    assert(r.videoKbps <= CAP_KBPS * 1.1, `${pair}: video at ${r.videoKbps} kbit/s with max_bitrate_kbps = ${CAP_KBPS}`);
  }
  run.log(`max_bitrate_kbps ${CAP_KBPS}: ${JSON.stringify(steady)}`);
  run.log(`both decode: ann <- ${JSON.stringify(rates[0])}, bob <- ${JSON.stringify(rates[1])}`);

  // Both decode video: the gauges must say so (within one snapshot period or two).
  const m1 = await gauges(base, { sfu_rooms: 1, sfu_participants: 2, sfu_publishers: 2, sfu_subscriptions: 4 },
    '/metrics to show 1 room, 2 participants, 2 publishers, 4 subscriptions', 5000);
  run.log(`with 2 participants: ${JSON.stringify(brief(m1))}`);
  assert(val(m1, 'sfu_joins_total') === 2, `sfu_joins_total ${val(m1, 'sfu_joins_total')}, expected 2`);
  assert(val(m1, 'sfu_leaves_total') === 0, `sfu_leaves_total ${val(m1, 'sfu_leaves_total')}, expected 0`);
  assert(val(m1, 'sfu_join_errors_total') === 0, 'sfu_join_errors_total is not 0');
  const inP = val(m1, 'sfu_rtp_packets_in_total');
  const outP = val(m1, 'sfu_rtp_packets_out_total');
  assert(inP > 100, `sfu_rtp_packets_in_total ${inP}: expected real traffic (> 100)`);
  assert(outP > 100, `sfu_rtp_packets_out_total ${outP}: expected real traffic (> 100)`);
  assert(val(m1, 'sfu_rtp_bytes_in_total') > inP * 12, 'sfu_rtp_bytes_in_total is not more than 12 bytes per packet');
  assert(val(m1, 'sfu_rtp_bytes_out_total') > outP * 12, 'sfu_rtp_bytes_out_total is not more than 12 bytes per packet');
  // One subscriber per publisher: everything received is forwarded once, except what ann sent
  // before bob's subscription was up (a second or more under load, so no lower bound on the
  // totals); retransmissions add a few. The steady-state ratio is checked on the next interval.
  assert(outP <= 1.2 * inP + 50, `forwarded ${outP} packets for ${inP} received (one subscriber each), too many`);
  assert(val(m1, 'sfu_plis_out_total') >= 1, 'sfu_plis_out_total is 0: no keyframe request was sent to a publisher');
  assert(val(m1, 'process_cpu_seconds_total') > 0, 'process_cpu_seconds_total is 0');
  assert(val(m1, 'sfu_srtp_errors_total') === 0, `sfu_srtp_errors_total ${val(m1, 'sfu_srtp_errors_total')}`);
  // Join latency (join -> subscriber transport connected) and time to the first forwarded packet:
  // one observation per participant once both receive media (when the server has them).
  for (const [h, min] of [['sfu_join_latency_seconds', 2], ['sfu_first_packet_seconds', 2]]) {
    const f = m1.families.get(h);
    assert(f, `/metrics has no ${h} histogram (docs/deploy.md promises it)`);
    assert(f.type === 'histogram', `${h}: # TYPE ${f.type}, expected histogram`);
    const count = val(m1, `${h}_count`);
    const sum = val(m1, `${h}_sum`);
    assert(count >= min, `${h}_count ${count}, expected at least ${min} (one per participant)`);
    assert(sum > 0 && sum / count < 10, `${h}: mean ${sum / count} s for ${count} observations`);
    run.log(`${h}: ${count} observations, mean ${(sum / count * 1000).toFixed(0)} ms`);
  }

  // Traffic keeps flowing: a second scrape later has grown in and out, nothing went down.
  await sleep(1500);
  const m2 = await scrape(base);
  monotonic(m1, m2, 'two scrapes 1.5 s apart');
  const dIn = val(m2, 'sfu_rtp_packets_in_total') - inP;
  const dOut = val(m2, 'sfu_rtp_packets_out_total') - outP;
  assert(dIn > 50 && dOut > 50, `in 1.5 s: ${dIn} packets in, ${dOut} out; expected live media both ways`);
  // Each of the two receives the other's audio and one of its camera's simulcast layers (the server
  // receives all three): between a fifth and all of what comes in goes out again.
  assert(dOut >= 0.2 * dIn && dOut <= 1.2 * dIn + 20, `in 1.5 s: ${dOut} packets forwarded for ${dIn} received`);
  run.log(`in 1.5 s: +${dIn} packets in, +${dOut} out`);

  // bob leaves: 1 participant publishing to nobody.
  await bob.page.click('#leave');
  await expectPeers(ann, [], 15000);
  const m3 = await gauges(base, { sfu_rooms: 1, sfu_participants: 1, sfu_publishers: 1, sfu_subscriptions: 0 },
    '/metrics to show 1 room, 1 participant, 1 publisher, 0 subscriptions after bob left');
  run.log(`after bob left: ${JSON.stringify(brief(m3))}`);
  monotonic(m2, m3, 'after the leave');
  assert(val(m3, 'sfu_leaves_total') === 1, `sfu_leaves_total ${val(m3, 'sfu_leaves_total')}, expected 1`);
  assert(val(m3, 'sfu_joins_total') === 2, `sfu_joins_total ${val(m3, 'sfu_joins_total')}, expected 2`);
  // ann still sends; nobody receives: in grows, out stands still.
  await sleep(1500);
  const m4 = await scrape(base);
  monotonic(m3, m4, 'after the leave, 1.5 s later');
  const dIn4 = val(m4, 'sfu_rtp_packets_in_total') - val(m3, 'sfu_rtp_packets_in_total');
  const dOut4 = val(m4, 'sfu_rtp_packets_out_total') - val(m3, 'sfu_rtp_packets_out_total');
  assert(dIn4 > 20, `ann alone: ${dIn4} packets in over 1.5 s; she still publishes`);
  assert(dOut4 <= 5, `ann alone: ${dOut4} packets forwarded over 1.5 s to nobody`);

  // ann closes her tab: the room is gone.
  await run.closeParticipant(ann);
  const m5 = await gauges(base, { sfu_rooms: 0, sfu_participants: 0, sfu_publishers: 0, sfu_subscriptions: 0 },
    '/metrics to show no room after ann closed her tab', 15000);
  assert(val(m5, 'sfu_leaves_total') === 2, `sfu_leaves_total ${val(m5, 'sfu_leaves_total')}, expected 2`);

  run.summary = { ...run.summary, withTwo: brief(m1), afterLeave: brief(m3), empty: brief(m5) };
});
