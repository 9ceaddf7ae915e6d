// End-to-end: a page alone in its room for longer than the consent deadline, then joined by a publisher,
// keeps its connection. The server watches a subscriber's RTCP only while it sends it media; before the
// publisher came there was nothing to answer, so that silence must not count once media starts
// (docs/protocol.md "Leaving and vanished peers"). Both see each other's video and stay past another
// deadline; nobody is told "consent-expired".
// Usage: node tests/e2e/test_late_media.mjs <path-to-sfu-binary> <source-dir>
import {
  Run, TEST_CONSENT_S, assert, errorCodes, expectMedia, expectPeers, joined, leftReason, sleep, view,
} from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_late_media.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_late_media', 120000);

await run.main(async () => {
  const base = await run.startServer(sfuBin, srcDir);
  await run.launchBrowser();
  const ann = await run.open('ann', `${base}/?room=late&name=ann`);
  await joined(ann);
  const alone = (TEST_CONSENT_S + 4) * 1000;
  run.log(`ann joined; alone for ${alone} ms (consent deadline ${TEST_CONSENT_S} s)`);
  await sleep(alone);
  const bob = await run.open('bob', `${base}/?room=late&name=bob`);
  await joined(bob);
  await Promise.all([expectPeers(ann, [bob]), expectPeers(bob, [ann])]);
  await Promise.all([expectMedia(ann, [bob], 25000), expectMedia(bob, [ann], 25000)]);
  run.log('media both ways; both stay past another deadline');
  await sleep((TEST_CONSENT_S + 3) * 1000);
  for (const [p, other] of [[ann, bob], [bob, ann]]) {
    const v = await view(p);
    assert(v.state === 'joined', `${p.name} is in state ${v.state} (errors ${JSON.stringify(v.errors)})`);
    const why = await leftReason(p, other);
    assert(!why, `${p.name} saw ${other.name} leave: ${why}`);
    const codes = await errorCodes(p);
    assert(!codes.length, `${p.name} got errors ${codes.join(', ')}`);
  }
  const expired = run.serverLines.filter((l) => /consent/i.test(l) && /expired|silent|removed/i.test(l));
  assert(!expired.length, `the server ended someone for silence: ${expired.slice(0, 3).join(' | ')}`);
  await expectMedia(ann, [bob], 10000);
});
