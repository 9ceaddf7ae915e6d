// Measurement, not a test (ctest does not run it): time from opening the page to the first decoded
// remote video frame for the 2nd and 3rd joiner of a room, over several runs, and the server's CPU
// over 20 s with 3 participants sending audio and video.
// Usage: node tests/e2e/measure_join.mjs <sfu-binary> <source-dir> [runs=5]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Fatal, Run, expectMedia, freePort, poll, sleep, view } from './harness.mjs';

const [sfuBin, srcDir, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

function cpuSeconds(pid) {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100 on Debian
}

async function firstFrame(p, who) {
  const v = await poll(`${p.name} to decode ${who.name}`, async () => {
    const s = await view(p);
    return s.firstFrameAt && s.firstFrameAt[who.id] !== undefined ? s : null;
  }, { timeout: 20000 });
  return Math.round(v.firstFrameAt[who.id]);
}

// The harness exits the process at the end of a run, so each run is a child process.
if (runsArg !== '--child') {
  const results = { second: [], third: [], thirdBoth: [], cpuPct: [] };
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), sfuBin, srcDir, '--child'],
      { encoding: 'utf8', timeout: 150000 });
    const line = (r.stdout || '').split('\n').find((l) => l.startsWith('MEASURE_RUN '));
    if (!line) { console.error(`run ${i + 1} failed:\n${(r.stdout || '').slice(-2000)}\n${(r.stderr || '').slice(-3000)}`); continue; }
    const m = JSON.parse(line.slice(12));
    results.second.push(m.second); results.third.push(m.third); results.cpuPct.push(m.cpuPct);
    results.thirdBoth.push(m.thirdBoth);
    console.log(`run ${i + 1}: ${line.slice(12)}`);
  }
  console.log(`MEASURE ${JSON.stringify({
    runs: results.second.length,
    secondJoinerFirstFrameMs: { median: median(results.second), all: results.second },
    thirdJoinerFirstFrameMs: { median: median(results.third), all: results.third },
    thirdJoinerBothVideosMs: { median: median(results.thirdBoth), all: results.thirdBoth },
    serverCpuPercentOfOneCore3Participants20s: { median: median(results.cpuPct), all: results.cpuPct },
  })}`);
  process.exit(results.second.length ? 0 : 1);
}

const run = new Run('measure_join', 120000);
await run.main(async () => {
  const base = await run.startServer(sfuBin, srcDir);
  await run.launchBrowser();
  const P = [];
  const m = {};
  for (const name of ['ann', 'bob', 'cid']) {
    const p = await run.open(name, `${base}/?room=m&name=${name}`);
    const v = await poll(`${name} to join`, async () => {
      const s = await view(p);
      if (s.state === 'error') throw new Fatal(JSON.stringify(s.errors));
      return s.state === 'joined' && s.id ? s : null;
    }, { timeout: 10000 });
    p.id = v.id;
    if (P.length === 1) m.second = await firstFrame(p, P[0]);
    if (P.length === 2) {
      const a = await firstFrame(p, P[0]), b = await firstFrame(p, P[1]);
      m.third = Math.min(a, b);
      m.thirdBoth = Math.max(a, b); // both videos shown
      m.thirdMarks = (await view(p)).marks; // its join steps, ms since navigation start
    }
    P.push(p);
    await sleep(1500); // let it publish before the next one opens
  }
  await Promise.all(P.map((p) => expectMedia(p, P.filter((o) => o !== p))));
  const pid = run.server.pid;
  const c0 = cpuSeconds(pid);
  const t0 = Date.now();
  await sleep(20000);
  m.cpuPct = Math.round((1000 * (cpuSeconds(pid) - c0)) / ((Date.now() - t0) / 1000)) / 10;
  console.log(`MEASURE_RUN ${JSON.stringify(m)}`);
});
