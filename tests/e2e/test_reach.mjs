// End-to-end: reaching everyone (issue 13), in network namespaces this test makes.
// 1. ICE over TCP: a page in a namespace whose firewall (nftables) drops every UDP datagram joins
//    the room over the server's passive TCP candidates, and sends and receives video and audio.
// Usage: node tests/e2e/test_reach.mjs <path-to-sfu-binary> <source-dir>
import { createRequire } from 'node:module';

import {
  CHROMIUM_ARGS, Fatal, Run, assert, expectMedia, expectPeers, poll, view,
} from './harness.mjs';
import {
  dropUdp, launchBrowserIn, netnsForTest, openWith, selectedPairs, udpDropped,
} from './netns.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_reach.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_reach', 150000);

async function joined(p) {
  const v = await poll(`${p.name} to join`, async () => {
    const s = await view(p);
    if (s.state === 'error') throw new Fatal(`${p.name} failed to join: ${JSON.stringify(s.errors)}`);
    return s.state === 'joined' && s.id ? s : null;
  }, { timeout: 15000 });
  p.id = v.id;
}

await run.main(async () => {
  const held = { browser: null };
  const net = netnsForTest(run, 'rch', held);
  dropUdp(net);

  const base = await run.startServer(sfuBin, srcDir);
  const { port } = run;
  await run.launchBrowser();
  const nsBase = `http://${net.rootIp}:${port}`;
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  held.browser = await launchBrowserIn(net, chromium,
    [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${nsBase}`]);

  const ann = await run.open('ann', `${base}/?room=reach&name=ann`);
  await joined(ann);
  const tcp = await openWith(run, held.browser, 'tcp', `${nsBase}/?room=reach&name=tcp`);
  await joined(tcp);
  await Promise.all([expectPeers(ann, [tcp]), expectPeers(tcp, [ann])]);
  const rates = await Promise.all([expectMedia(ann, [tcp], 25000), expectMedia(tcp, [ann], 25000)]);
  const pairs = await selectedPairs(tcp);
  run.log(`ICE-TCP: ann <- ${JSON.stringify(rates[0])}, tcp <- ${JSON.stringify(rates[1])}; tcp's pairs ${JSON.stringify(pairs)}; `
    + `UDP dropped in ${net.ns}: ${udpDropped(net)}`);
  assert(pairs.length === 2 && pairs.every((x) => x?.local?.protocol === 'tcp'),
    `tcp's connections are not both on TCP: ${JSON.stringify(pairs)}`);
  run.summary.iceTcp = { rates: { ann: rates[0], tcp: rates[1] }, pairs };
});
