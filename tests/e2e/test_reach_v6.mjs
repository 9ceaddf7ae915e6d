// End-to-end: a room on IPv6 only (issue 13). In a network namespace this test makes, with IPv4 off
// (no IPv4 address at all, not even 127.0.0.1), the server listens on ::1 and offers ICE candidates on
// ::1 only ([server] listen_addr and [ice] addrs); two Chromium pages in that namespace open
// http://[::1]:PORT/, join one room, and send and receive video and audio over ICE pairs whose server
// end is ::1.
// Usage: node tests/e2e/test_reach_v6.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

import { CHROMIUM_ARGS, Fatal, Run, assert, expectMedia, expectPeers, freePort, poll, view } from './harness.mjs';
import { captureScript, launchBrowserIn, netnsForTest, openWith, selectedPairs } from './netns.mjs';
import { writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_reach_v6.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_reach_v6', 120000);

const sh = (cmd, args) => new Promise((resolve, reject) => {
  execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
});

async function joined(p) {
  const v = await poll(`${p.name} to join`, async () => {
    const s = await view(p);
    if (s.state === 'error') throw new Fatal(`${p.name} failed to join: ${JSON.stringify(s.errors)}`);
    return s.state === 'joined' && s.id ? s : null;
  }, { timeout: 20000 });
  p.id = v.id;
}

await run.main(async () => {
  const held = { browser: null };
  const net = netnsForTest(run, 'six', held);
  if (!net) return;
  // IPv4 off: no IPv4 address on any interface of the namespace.
  await sh('ip', ['netns', 'exec', net.ns, 'ip', '-4', 'addr', 'flush', 'dev', 'lo']);
  await sh('ip', ['netns', 'exec', net.ns, 'ip', '-4', 'addr', 'flush', 'dev', net.nsIf]);
  // Chromium gathers IPv6 candidates (::1 included) only on a machine with an IPv6 default route: a
  // unique-local address on the veth and a default route to its root end (which forwards nothing).
  await sh('ip', ['netns', 'exec', net.ns, 'ip', '-6', 'addr', 'add', 'fd13:13::2/64', 'dev', net.nsIf, 'nodad']);
  await sh('ip', ['-6', 'addr', 'add', 'fd13:13::1/64', 'dev', net.rootIf, 'nodad']);
  await sh('ip', ['netns', 'exec', net.ns, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd13:13::1', 'dev', net.nsIf]);
  const v4 = (await sh('ip', ['netns', 'exec', net.ns, 'ip', '-4', '-o', 'addr', 'show'])).trim();
  assert(v4 === '', `IPv4 addresses left in ${net.ns}: ${v4}`);
  run.log(`${net.ns}: IPv4 off; ${(await sh('ip', ['netns', 'exec', net.ns, 'ip', '-6', '-o', 'addr', 'show'])).trim().split('\n').map((l) => l.split(/\s+/).slice(1, 4).join(' ')).join('; ')}`);

  // The server runs inside the namespace.
  const { dir, file } = writeConfig(srcDir, { listen_addr: '::1', addrs: '::1' });
  run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const wrapper = path.join(dir, 'sfu-in-netns.sh');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${net.ns} ${path.resolve(sfuBin)} "$@"\n`, { mode: 0o755 });
  const port = await freePort();
  const base = `http://[::1]:${port}`;
  await run.startServer(wrapper, srcDir, port, {
    conf: file,
    ready: async () => {
      const code = await sh('ip', ['netns', 'exec', net.ns, 'curl', '-sg', '-o', '/dev/null', '-w', '%{http_code}',
        '--max-time', '1', `${base}/healthz`]);
      if (code !== '200') throw new Error(`/healthz answered ${code}`);
    },
  });
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  held.browser = await launchBrowserIn(net, chromium, [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${base}`]);
  const a = await openWith(run, held.browser, 'ann6', `${base}/?room=v6&name=ann6`, { initScript: captureScript });
  const b = await openWith(run, held.browser, 'bob6', `${base}/?room=v6&name=bob6`, { initScript: captureScript });
  await Promise.all([joined(a), joined(b)]);
  await Promise.all([expectPeers(a, [b]), expectPeers(b, [a])]);
  const rates = await Promise.all([expectMedia(a, [b], 25000), expectMedia(b, [a], 25000)]);
  const pairs = [...await selectedPairs(a), ...await selectedPairs(b)];
  run.log(`ann6 <- ${JSON.stringify(rates[0].bob6)}, bob6 <- ${JSON.stringify(rates[1].ann6)}; pairs `
    + `${JSON.stringify(pairs.map((x) => x && `${x.local.address} -> ${x.remote.address}`))}`);
  assert(pairs.length === 4 && pairs.every((x) => x?.remote?.address === '::1'), `pairs not on ::1: ${JSON.stringify(pairs)}`);
  const server = run.serverLines.filter((l) => /ICE pair/.test(l));
  assert(server.length >= 4 && server.every((l) => /udp \[::1\]:\d+ -> udp \[[0-9a-f:]+\]:/.test(l)),
    `server pairs: ${server.join(' | ')}`);
  await run.stopServer(); // before the namespace's cleanup, which kills whatever still runs in it
  assert(run.summary.serverExit === 'code 0', `the server exited with ${run.summary.serverExit}`);
  run.summary = { ...run.summary, rates, pairs: pairs.map((x) => `${x.local.address}->${x.remote.address}`) };
});
