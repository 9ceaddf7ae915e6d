// Network namespaces for the browser tests (not a test itself: ctest runs test_*.mjs).
//
// createNetns() makes a namespace joined to the root namespace by a veth pair
//   root side 10.201.X.1/24  <->  namespace side 10.201.X.2/24   (lo up in the namespace, no default route)
// so a browser started in it (chromiumWrapper) reaches the server only at 10.201.X.1. Optional nftables
// loss on the UDP entering the namespace (TCP, i.e. HTTP and the WebSocket, stays lossless).
// Everything is removed by cleanup(), which also runs from a process 'exit' handler, so a test that dies
// (hard timeout, exception, signal) does not leave a namespace or a veth behind.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Skip, sleep } from './harness.mjs';

// `ip netns add` itself is not allowed here (not root, no CAP_SYS_ADMIN): the caller skips.
export class NetnsUnavailable extends Error {}

function run(cmd, args, { input } = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input, timeout: 10000 });
  } catch (e) {
    const why = (e.stderr || '').trim() || e.message;
    const err = new Error(`${cmd} ${args.join(' ')}: ${why}`);
    err.stderrText = why;
    throw err;
  }
}

const quiet = (cmd, args) => { try { run(cmd, args); } catch { /* best effort */ } };

// A /24 in 10.201.0.0/16 that no interface of the root namespace uses yet.
function freeSubnet() {
  const used = run('ip', ['-4', '-o', 'addr', 'show']);
  const start = (process.pid % 200) + 20;
  for (let i = 0; i < 230; i++) {
    const x = ((start + i) % 230) + 20;
    if (!used.includes(` 10.201.${x}.`)) return x;
  }
  throw new Error('no free 10.201.X.0/24 subnet');
}

// tag: a short word (letters) naming the test; name of the namespace: sfu-<tag>-<pid>.
export function createNetns(tag) {
  const ns = `sfu-${tag}-${process.pid}`;
  // Interface names are limited to 15 characters.
  const short = `${tag.slice(0, 2)}${process.pid}`;
  const rootIf = `${short}r`;
  const nsIf = `${short}n`;
  const x = freeSubnet();
  const net = {
    ns, rootIf, nsIf, rootIp: `10.201.${x}.1`, nsIp: `10.201.${x}.2`, tmpDir: null, done: false,
    steps: [],
  };

  try {
    run('ip', ['netns', 'add', ns]);
  } catch (e) {
    if (/not permitted|permission denied/i.test(e.stderrText || '')) throw new NetnsUnavailable(e.message);
    throw e;
  }
  const sync = () => cleanupSync(net);
  process.on('exit', sync);
  net.removeExitHandler = () => process.removeListener('exit', sync);
  try {
    run('ip', ['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf]);
    run('ip', ['link', 'set', nsIf, 'netns', ns]);
    run('ip', ['addr', 'add', `${net.rootIp}/24`, 'dev', rootIf]);
    run('ip', ['link', 'set', rootIf, 'up']);
    run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${net.nsIp}/24`, 'dev', nsIf]);
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up']);
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    cleanupSync(net);
    throw e;
  }
  return net;
}

// Random loss of `percent` % of the UDP entering the namespace (server -> browser) and, as much, of the UDP
// leaving it (browser -> server), with counters: all UDP seen each way, and the part dropped.
export function addUdpLoss(net, percent) {
  const rules = [
    'table inet sfuloss {',
    '  counter udp_in { }',
    '  counter udp_dropped { }',
    '  counter udp_out { }',
    '  counter udp_out_dropped { }',
    '  chain in {',
    '    type filter hook input priority 0; policy accept;',
    '    meta l4proto udp counter name udp_in',
    `    meta l4proto udp numgen random mod 100 < ${percent} counter name udp_dropped drop`,
    '  }',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    '    meta l4proto udp counter name udp_out',
    `    meta l4proto udp numgen random mod 100 < ${percent} counter name udp_out_dropped drop`,
    '  }',
    '}',
  ].join('\n');
  run('ip', ['netns', 'exec', net.ns, 'nft', '-f', '-'], { input: rules });
}

// {seen, dropped} packets of UDP entering the namespace so far, and {outSeen, outDropped} leaving it.
export function udpCounters(net) {
  const out = JSON.parse(run('ip', ['netns', 'exec', net.ns, 'nft', '-j', 'list', 'counters', 'table', 'inet', 'sfuloss']));
  const res = {};
  for (const item of out.nftables || []) {
    if (item.counter) res[item.counter.name] = item.counter.packets;
  }
  return { seen: res.udp_in ?? 0, dropped: res.udp_dropped ?? 0, outSeen: res.udp_out ?? 0, outDropped: res.udp_out_dropped ?? 0 };
}

// The network of the namespace goes away at once (no FIN, no RST, nothing): the root end of the veth down.
export function cutLink(net) {
  run('ip', ['link', 'set', net.rootIf, 'down']);
}

// The same seen from the server, with its own interface untouched: everything into and out of the
// namespace is silently dropped (nftables in the namespace), the veth stays up.
export function blackhole(net) {
  const rules = [
    'table inet sfublackhole {',
    '  chain in { type filter hook input priority -10; policy drop; }',
    '  chain out { type filter hook output priority -10; policy drop; }',
    '}',
  ].join('\n');
  run('ip', ['netns', 'exec', net.ns, 'nft', '-f', '-'], { input: rules });
}

// An executable that starts Chromium inside the namespace, for playwright's executablePath.
export function chromiumWrapper(net) {
  if (!net.tmpDir) net.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `${net.ns}-`));
  const file = path.join(net.tmpDir, 'chromium-in-netns.sh');
  fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${net.ns} /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  return file;
}

function cleanupSync(net) {
  if (net.done) return;
  net.done = true;
  // Processes still in the namespace are the browser this test started there.
  let pids = '';
  try { pids = run('ip', ['netns', 'pids', net.ns]); } catch { /* no namespace */ }
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
  }
  quiet('ip', ['link', 'del', net.rootIf]);
  quiet('ip', ['netns', 'del', net.ns]);
  if (net.tmpDir) fs.rmSync(net.tmpDir, { recursive: true, force: true });
}

export function cleanupNetns(net) {
  cleanupSync(net);
  if (net.removeExitHandler) net.removeExitHandler();
}

// A second browser, started in the namespace; flags as the harness's plus `extraArgs`.
export async function launchBrowserIn(net, chromium, args) {
  return chromium.launch({ executablePath: chromiumWrapper(net), args, timeout: 30000 });
}

// Open a participant page in `browser` (not run.browser) with the harness's bookkeeping (console tail,
// page dump on failure): Run.open on a view of `run` whose browser is the other one.
export function openWith(run, browser, name, url, opts) {
  const other = Object.create(run);
  other.browser = browser;
  return other.open(name, url, opts);
}

// Close a browser, giving up after `ms`.
export async function closeBrowser(browser, ms = 8000) {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(ms)]);
}

// Does this namespace still exist (for the tests' own cleanup check)?
export function netnsExists(name) {
  try { return run('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name); } catch { return false; }
}

// Every page gets the harness's captureScript; kept here under its old name for the tests' imports.
export { captureScript } from './harness.mjs';

// In the page: inbound video stats of publisher `pid` on the subscribing connection (the pc whose remote
// offer has a section with msid `pid`): {framesDecoded, packetsReceived, packetsLost, nackCount, ...}.
export function inboundVideo(p, pid) {
  return p.page.evaluate(async (want) => {
    for (const pc of window.__test.pcs) {
      const sdp = pc.remoteDescription?.sdp;
      if (!sdp || pc.signalingState === 'closed') continue;
      const mids = new Set();
      for (const part of sdp.split(/\r?\n(?=m=)/).slice(1)) {
        const mid = /^a=mid:(\S+)/m.exec(part)?.[1];
        const msid = /^a=msid:(\S+)/m.exec(part)?.[1];
        if (/^m=video /.test(part) && msid === want && mid != null) mids.add(mid);
      }
      if (!mids.size) continue;
      const out = { framesDecoded: 0, framesReceived: 0, framesDropped: 0, packetsReceived: 0, packetsLost: 0,
        nackCount: 0, pliCount: 0, firCount: 0, freezeCount: 0, totalFreezesDuration: 0, bytesReceived: 0,
        jitterBufferDelay: 0, jitterBufferEmittedCount: 0, retransmittedPacketsReceived: 0 };
      let found = false;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !mids.has(s.mid)) return;
        found = true;
        for (const k of Object.keys(out)) out[k] += s[k] || 0;
      });
      if (found) return out;
    }
    return null;
  }, pid);
}

// A namespace for one test; when namespaces are not permitted here the test is skipped (Skip: exit 77,
// never a silent pass). Its teardown (the browser in held.browser, then the namespace) joins run's cleanup.
export function netnsForTest(run, tag, held) {
  let net;
  try {
    net = createNetns(tag);
  } catch (e) {
    if (e instanceof NetnsUnavailable) throw new Skip(`cannot create a network namespace here (${e.message})`);
    throw e;
  }
  run.extraCleanups.push(async () => {
    await closeBrowser(held.browser);
    cleanupNetns(net);
    if (netnsExists(net.ns)) console.error(`cleanup: namespace ${net.ns} is still there`);
  });
  run.log(`namespace ${net.ns}: ${net.rootIf} ${net.rootIp}/24 <-> ${net.nsIf} ${net.nsIp}/24`);
  return net;
}

// ---- issue 13 (reaching everyone): firewalls, link cuts, IPv6-only namespaces, coturn ----

function nft(net, rules) {
  run('ip', ['netns', 'exec', net.ns, 'nft', '-f', '-'], { input: rules });
}

// Every UDP datagram into or out of the namespace is dropped (a firewall that only lets TCP through),
// with a counter of what was dropped. loopback inside the namespace stays open.
export function dropUdp(net) {
  nft(net, [
    'table inet sfunoudp {',
    '  counter dropped { }',
    '  chain in { type filter hook input priority -5; policy accept; iif "lo" accept; meta l4proto udp counter name dropped drop; }',
    '  chain out { type filter hook output priority -5; policy accept; oif "lo" accept; meta l4proto udp counter name dropped drop; }',
    '}',
  ].join('\n'));
}

export function udpDropped(net) {
  const out = JSON.parse(run('ip', ['netns', 'exec', net.ns, 'nft', '-j', 'list', 'counter', 'inet', 'sfunoudp', 'dropped']));
  for (const item of out.nftables || []) if (item.counter) return item.counter.packets;
  return 0;
}

export function allowUdp(net) {
  quiet('ip', ['netns', 'exec', net.ns, 'nft', 'delete', 'table', 'inet', 'sfunoudp']);
}

// blackhole() undone: the namespace's traffic flows again (the same TCP connections, if they survived).
export function restoreLink(net) {
  run('ip', ['netns', 'exec', net.ns, 'nft', 'delete', 'table', 'inet', 'sfublackhole']);
}

// Every process of the namespace (the browser this test started there) killed at once: its sockets
// are closed by the kernel, as when a browser crashes.
export function killNetnsProcesses(net) {
  let pids = '';
  try { pids = run('ip', ['netns', 'pids', net.ns]); } catch { /* no namespace */ }
  const list = pids.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of list) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  return list.length;
}

// In the page: the selected ICE candidate pair of each open RTCPeerConnection, as
// [{local: {protocol, candidateType, relayProtocol, address, port}, remote: {...}}] (null where none).
export function selectedPairs(p) {
  return p.page.evaluate(async () => {
    const out = [];
    for (const pc of window.__test.pcs) {
      if (pc.signalingState === 'closed') continue;
      const st = await pc.getStats();
      let pair = null;
      st.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = st.get(s.selectedCandidatePairId);
      });
      const cand = (id) => {
        const c = id && st.get(id);
        return c ? { protocol: c.protocol, candidateType: c.candidateType, relayProtocol: c.relayProtocol,
          address: c.address, port: c.port } : null;
      };
      out.push(pair ? { local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId) } : null);
    }
    return out;
  });
}
