// A DTLS failure is reported as what it is. Two headless Chromium participants: ann, and mallory whose
// page announces a certificate fingerprint that is not its own (one hex digit changed in the SDP it
// sends: its publish offer and its sub answers). ICE connects, the DTLS handshake completes, and the
// server's fingerprint check fails: mallory is removed and ann is told participant-left with reason
// "dtls-failed" (not "ice-failed"), mallory gets error transport_failed, and ann, alone again, stays
// joined with no error. A clean participant that joins afterwards meets ann with media both ways.
// Usage: node tests/e2e/test_dtls_failed.mjs <path-to-sfu-binary> <source-dir>
import {
  Run, assert, errorCodes, expectMedia, expectPeers, joined, leftReason, poll, view,
} from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_dtls_failed.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

// Runs in mallory's page before its scripts: every SDP it sends carries a wrong sha-256 fingerprint.
function wrongFingerprint() {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function patched(data) {
    try {
      const m = JSON.parse(data);
      if (typeof m.sdp === 'string' && (m.type === 'publish' || m.type === 'answer')) {
        m.sdp = m.sdp.replace(/(a=fingerprint:sha-256 )([0-9A-Fa-f])/g,
          (_, head, c) => head + (c.toUpperCase() === 'A' ? 'B' : 'A'));
        window.__mungedSdps = (window.__mungedSdps || 0) + 1;
        data = JSON.stringify(m);
      }
    } catch { /* not JSON: leave it */ }
    return send.call(this, data);
  };
}

const run = new Run('test_dtls_failed', 120000);

await run.main(async () => {
  const base = await run.startServer(sfuBin, srcDir);
  await run.launchBrowser();
  const ann = await run.open('ann', `${base}/?room=dtls&name=ann`);
  await joined(ann);
  const mallory = await run.open('mallory', `${base}/?room=dtls&name=mallory`, { initScript: wrongFingerprint });
  // (Her page shows the error as soon as it joins: wait for its id, not for a healthy page.)
  const mid = await poll('mallory to get an id', async () => (await mallory.page.evaluate(() => window.sfu?.id)) || null,
    { timeout: 15000 });
  run.log(`ann=${ann.id} mallory=${mid}`);

  // ann learns of mallory, then of her departure, with the reason.
  const reason = await poll('ann to be told mallory left', async () => {
    const r = await leftReason(ann, { id: mid });
    return r ? { r } : { ok: false, detail: await view(ann) };
  }, { timeout: 30000 });
  const munged = await mallory.page.evaluate(() => window.__mungedSdps || 0);
  run.log(`mallory sent ${munged} SDP(s) with a wrong fingerprint; ann was told: participant-left "${reason.r}"`);
  assert(munged > 0, 'the page sent no SDP to munge');
  assert(reason.r === 'dtls-failed', `participant-left reason "${reason.r}" (want "dtls-failed")`);
  const lines = run.serverLines.filter((l) => /fingerprint mismatch/.test(l));
  assert(lines.length > 0, 'the server log does not name the fingerprint mismatch');
  run.log(`server: ${lines[0].replace(/^.*\] /, '')}`);
  const codes = await poll('mallory to be told transport_failed', async () => {
    const c = await errorCodes(mallory);
    return c.includes('transport_failed') ? c : { ok: false, detail: c };
  }, { timeout: 10000 });
  run.log(`mallory's page got error(s): ${codes.join(', ')}`);

  const v = await view(ann);
  assert(v.state === 'joined' && v.errors.length === 0, `ann: ${JSON.stringify(v)}`);
  await run.closeParticipant(mallory);

  // The room still works: a clean participant and ann see and hear each other.
  const bob = await run.open('bob', `${base}/?room=dtls&name=bob`);
  await joined(bob);
  await expectPeers(ann, [{ id: bob.id, name: 'bob' }]);
  await expectPeers(bob, [{ id: ann.id, name: 'ann' }]);
  const rates = await Promise.all([expectMedia(ann, [{ id: bob.id, name: 'bob' }]),
    expectMedia(bob, [{ id: ann.id, name: 'ann' }])]);
  run.log(`ann <- ${JSON.stringify(rates[0])}; bob <- ${JSON.stringify(rates[1])}`);
  run.summary.reason = reason.r;
});
