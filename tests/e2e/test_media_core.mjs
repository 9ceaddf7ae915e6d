// The media core as a client sees it (docs/protocol.md, "Tracks"):
//  1. publish offers the server must refuse, each with its error code, the connection staying open and
//     the room undisturbed: more tracks than the limit, a section without a mid, a duplicate rid, a
//     simulcast layer without its rid, an unknown source, a source for a mid the offer does not have;
//     and offers it must take: a bundle-only section (RFC 8843, as Firefox sends with max-bundle), a
//     screen source, mute by track;
//  2. an offer whose sections carry their own ICE credentials, video first in BUNDLE (RFC 8843 7.3.1:
//     the tagged section's transport counts): Chromium's own offer rewritten on its way to the server,
//     and its media reaches another page;
//  3. a participant that sends leave and closes at once is seen by the others as "left" and gets no
//     error back, several times in a row;
//  4. one subscriber stays while 200 tracks are published and removed around it (100 publishers of
//     two tracks each): its offers stay as large as the live tracks, and it keeps receiving the live
//     publisher's video.
// Usage: node tests/e2e/test_media_core.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import path from 'node:path';
import { Run, assert, expectMedia, freePort, poll, sleep, stats, view } from './harness.mjs';
import { WsClient, fakeAnswer, joinRoom, openJoined, reexecIfNeeded, startServerWithConfig, writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_media_core.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const CHROME_OFFER = fs.readFileSync(path.join(srcDir, 'tests/fuzz/corpus/sdp/chrome_publish_offer.sdp'), 'utf8')
  .replace(/\r?\n/g, '\r\n');
const sections = (sdp) => sdp.split(/\r\n(?=m=)/);
// The fixture with its video section changed by fn (section text -> section text).
const withVideo = (fn, sdp = CHROME_OFFER) => sections(sdp).map((s) => (s.startsWith('m=video') ? fn(s) : s)).join('\r\n');
const countSections = (sdp) => (sdp.match(/^m=/gm) || []).length;

async function badPublishes(run, url) {
  const { c: obs, offer: first } = await joinRoom(url, 'obs', 'core');
  obs.send({ type: 'answer', pc: 'sub', sdp: fakeAnswer(first.sdp) }); /* so the next offer can come */
  const { c: bad } = await joinRoom(url, 'bad', 'core');
  await obs.nextType('participant-joined');
  const third = sections(CHROME_OFFER)[2].replace(/a=mid:1/, 'a=mid:2').replace(/a=ssrc[^\r]*\r\n/g, '');
  const cases = [
    ['three tracks (limit 2)', { sdp: `${CHROME_OFFER.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 2').trimEnd()}\r\n${third}` }, 'too_many_tracks'],
    ['a section without a mid', { sdp: withVideo((s) => s.replace(/a=mid:1\r\n/, '')) }, 'bad_sdp'],
    ['a duplicate rid', { sdp: withVideo((s) => `${s.trimEnd()}\r\na=rid:q send\r\na=rid:q send\r\n`) }, 'bad_sdp'],
    ['simulcast naming an unknown rid', { sdp: withVideo((s) => `${s.trimEnd()}\r\na=rid:q send\r\na=simulcast:send q;x\r\n`) }, 'bad_sdp'],
    ['an unknown source', { sdp: CHROME_OFFER, tracks: [{ mid: '1', source: 'hologram' }] }, 'bad_message'],
    ['a source for a mid not in the offer', { sdp: CHROME_OFFER, tracks: [{ mid: '7', source: 'camera' }] }, 'bad_message'],
    ['an audio source for a video section', { sdp: CHROME_OFFER, tracks: [{ mid: '1', source: 'microphone' }] }, 'bad_message'],
  ];
  for (const [what, msg, code] of cases) {
    bad.send({ type: 'publish', ...msg });
    const e = await bad.error(code);
    assert(bad.isOpen, `bad: closed after ${what}`);
    run.log(`ok  publish with ${what.padEnd(36)} -> ${code}: ${e.message}`);
  }
  const quiet = await obs.drain(200);
  assert(quiet.length === 0, `obs saw something from refused publishes: ${JSON.stringify(quiet.map((m) => m.type))}`);

  // Accepted: video as Firefox sends it with max-bundle (port 0, bundle-only), as a screen share.
  const ff = withVideo((s) => s.replace(/^m=video 9 /, 'm=video 0 ').replace(/a=mid:1\r\n/, 'a=mid:1\r\na=bundle-only\r\n'));
  bad.send({ type: 'publish', sdp: ff, tracks: [{ mid: '0', source: 'microphone' }, { mid: '1', source: 'screen' }] });
  const ans = await bad.next((m) => m.type === 'answer' && m.pc === 'pub', 5000, 'pub answer');
  assert(/^m=video 9 /m.test(ans.sdp), `bundle-only video section not accepted:\n${ans.sdp}`);
  const tr = await obs.nextType('tracks');
  const list = tr.tracks.map((t) => `${t.kind}:${t.source}`).sort().join(',');
  assert(list === 'audio:microphone,video:screen', `obs: tracks ${JSON.stringify(tr.tracks)}`);
  const offer = await obs.next((m) => m.type === 'offer' && m.pc === 'sub', 5000, 'sub offer with the tracks');
  for (const t of tr.tracks) assert(offer.sdp.includes(`a=msid:${tr.id} ${t.id}`), `offer lacks msid of ${t.id}`);
  const screen = tr.tracks.find((t) => t.source === 'screen');
  bad.send({ type: 'mute', track: screen.id, muted: true });
  const mu = await obs.nextType('muted');
  assert(mu.track === screen.id && mu.source === 'screen' && mu.muted === true, `obs: ${JSON.stringify(mu)}`);
  bad.send({ type: 'mute', track: 'p999-9', muted: true });
  await bad.error('bad_message');
  run.log('ok  bundle-only video accepted as a screen share; mute by track reaches the others');
  bad.close();
  const left = await obs.nextType('participant-left');
  assert(left.reason === 'disconnected', `obs: ${JSON.stringify(left)}`);
  obs.close();
}

// Rewrites the page's publish offer on its way to the server: the audio section gets ICE credentials
// of its own (that nothing answers to), and BUNDLE names video first; the answer's BUNDLE order is
// put back before Chromium sees it (its own offer tagged audio).
const PER_SECTION_CREDENTIALS = () => {
  const srd = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function back(d) {
    if (d?.type === 'answer' && /a=group:BUNDLE 1 0/.test(d.sdp)) {
      window.sfuAnswerTag = '1';
      return srd.call(this, { type: 'answer', sdp: d.sdp.replace('a=group:BUNDLE 1 0', 'a=group:BUNDLE 0 1') });
    }
    return srd.call(this, d);
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function munged(data) {
    try {
      const m = JSON.parse(data);
      if (m.type === 'publish') {
        const parts = m.sdp.split(/\r\n(?=m=)/);
        m.sdp = parts.map((s) => (s.startsWith('m=audio')
          ? s.replace(/a=ice-ufrag:\S+/, 'a=ice-ufrag:wXyZ').replace(/a=ice-pwd:\S+/, 'a=ice-pwd:notthisoneandneverused0')
          : s)).join('\r\n').replace(/a=group:BUNDLE (\S+) (\S+)/, 'a=group:BUNDLE $2 $1');
        window.sfuMunged = m.sdp;
        return send.call(this, JSON.stringify(m));
      }
    } catch { /* not ours */ }
    return send.call(this, data);
  };
};

async function perSectionCredentials(run, base) {
  const url = `${base}/?room=bundle&name=`;
  const p = await run.open('munged', `${url}munged`, { initScript: PER_SECTION_CREDENTIALS });
  await poll('munged to join', async () => (await view(p)).state === 'joined');
  const munged = await poll('the rewritten offer', () => p.page.evaluate(() => window.sfuMunged));
  assert(/a=group:BUNDLE 1 0/.test(munged) && /a=ice-ufrag:wXyZ/.test(munged), 'offer not rewritten');
  await poll('the answer to tag video (RFC 8843: the offerer-tagged section)', () => p.page.evaluate(() => window.sfuAnswerTag));
  const { p: sub } = await openJoined(run, 'watcher', `${url}watcher`);
  const id = (await view(p)).id;
  const rates = await expectMedia(sub, [{ id, name: 'munged' }], 25000);
  run.log(`ok  per-section credentials, video first in BUNDLE: media flows ${JSON.stringify(rates)}`);
  for (const q of [p, sub]) {
    await run.closeParticipant(q);
    run.participants.splice(run.participants.indexOf(q), 1);
  }
}

async function leaveAndClose(run, base) {
  const url = `${base}/?room=leaving&name=`;
  const { p: stay } = await openJoined(run, 'stay', `${url}stay`);
  for (let i = 0; i < 3; i++) {
    const { p: go } = await openJoined(run, `go${i}`, `${url}go${i}`);
    const gid = (await view(go)).id;
    await expectMedia(stay, [{ id: gid, name: `go${i}` }], 25000);
    await go.page.evaluate(() => document.getElementById('leave').click()); // sends leave, closes everything
    const left = await poll(`stay to hear that go${i} left`, () => stay.page.evaluate(
      (pid) => window.sfu.log.find((m) => m.type === 'participant-left' && m.id === pid), gid));
    assert(left.reason === 'left', `go${i} left with reason "${left.reason}", not "left"`);
    const errs = await go.page.evaluate(() => ({ errors: window.sfu.errors, state: window.sfu.state,
      inErrors: window.sfu.log.filter((m) => m.dir === 'in' && m.type === 'error') }));
    assert(errs.state === 'left' && !errs.errors.length && !errs.inErrors.length, `go${i}: ${JSON.stringify(errs)}`);
    await run.closeParticipant(go);
    run.participants.splice(run.participants.indexOf(go), 1);
  }
  run.log('ok  leave then close at once: the others see "left", the leaver gets no error (3 times)');
  await run.closeParticipant(stay);
  run.participants.splice(run.participants.indexOf(stay), 1);
}

// Keeps the last remote descriptions the page applied, and the one it refused, for the failure report.
const SDP_HISTORY = () => {
  window.sdpHistory = [];
  const srd = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = async function kept(d) {
    const local = this.localDescription?.sdp;
    try {
      const r = await srd.call(this, d);
      window.sdpHistory.push({ remote: d.sdp, local });
      if (window.sdpHistory.length > 3) window.sdpHistory.shift();
      return r;
    } catch (e) {
      window.sdpRefused = { error: e.message, remote: d.sdp, local, before: window.sdpHistory.slice() };
      throw e;
    }
  };
};
const mlines = (sdp) => (sdp || '').replace(/\r/g, '').split(/\n(?=m=)/).slice(1)
  .map((s) => `${/^m=(\w+) (\d+)/.exec(s).slice(1).join(':')}/${/a=mid:(\S+)/.exec(s)?.[1]}`).join(' ');

async function refusedReport(p) {
  const r = await p.page.evaluate(() => window.sdpRefused);
  if (!r) return '';
  return `\n${p.name} refused an offer: ${r.error}\n  before: ${r.before.map((h) => `remote ${mlines(h.remote)} | local ${mlines(h.local)}`).join('\n          ')}`
    + `\n  local:  ${mlines(r.local)}\n  new:    ${mlines(r.remote)}`;
}

async function trackChurn(run, base, url) {
  const page = `${base}/?room=churn&name=`;
  const sub = await run.open('sub', `${page}sub`, { initScript: SDP_HISTORY });
  await poll('sub to join', async () => (await view(sub)).state === 'joined');
  const { p: live } = await openJoined(run, 'live', `${page}live`);
  const liveId = (await view(live)).id;
  await expectMedia(sub, [{ id: liveId, name: 'live' }], 25000);
  const PUBLISHERS = 100;
  const CONCURRENT = 4;
  let maxSections = 0;
  let done = 0;
  const one = async (i) => {
    const { c } = await joinRoom(url, `ghost${i}`, 'churn');
    c.send({ type: 'publish', sdp: CHROME_OFFER });
    await c.next((m) => m.type === 'answer' && m.pc === 'pub', 10000, 'pub answer');
    await sleep(150);
    c.send({ type: 'leave' });
    await c.expectClosed(5000);
    done++;
  };
  const t0 = Date.now();
  for (let i = 0; i < PUBLISHERS; i += CONCURRENT) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENT, PUBLISHERS - i) }, (_, k) => one(i + k)));
    const last = await sub.page.evaluate(() => [...window.sfu.log].reverse().find((m) => m.type === 'offer')?.sdp || '');
    maxSections = Math.max(maxSections, countSections(last));
  }
  run.log(`${done} publishers of 2 tracks came and went in ${Date.now() - t0} ms; largest offer ${maxSections} sections`);
  const early = await view(sub);
  assert(!early.errors.length, `sub shows errors: ${JSON.stringify(early.errors.slice(0, 2))}${await refusedReport(sub)}`);
  // Bounded by what can be live or in transition at once, not by the 200 tracks that came and went
  // (without recycling the offer would reach 204 sections): the probe, the data section, the live publisher's 2, and for
  // the 2 tracks of each concurrent ghost a few generations (the joining batch, the leaving one, and
  // sections closed in an offer not yet answered, so not yet reusable).
  const bound = 1 + 1 + 2 + 4 * 2 * CONCURRENT; // the probe and the data section never close
  assert(maxSections <= bound, `offers grew to ${maxSections} sections (bound ${bound}) while 200 tracks churned`);
  const final = await poll('the churn to settle in the last offer', async () => {
    const sdp = await sub.page.evaluate(() => [...window.sfu.log].reverse().find((m) => m.type === 'offer')?.sdp || '');
    const open = (sdp.match(/^m=\w+ [1-9]/gm) || []).length;
    const n = countSections(sdp);
    return open === 4 && n <= bound ? { sections: n, open } : { ok: false, detail: { open, sections: n } };
  }, { timeout: 15000 });
  const a = await stats(sub);
  await sleep(1500);
  const b = await stats(sub);
  assert(b[liveId]?.framesDecoded > a[liveId]?.framesDecoded, `sub stopped decoding live: ${a[liveId]?.framesDecoded} -> ${b[liveId]?.framesDecoded}`);
  const v = await view(sub);
  assert(!v.errors.length, `sub shows errors: ${JSON.stringify(v.errors.slice(0, 2))}${await refusedReport(sub)}`);
  run.log(`ok  200 tracks churned around one subscriber: ${JSON.stringify(final)}, still decoding the live publisher`);
}

if (!reexecIfNeeded()) {
  const run = new Run('test_media_core', 240000);
  await run.main(async () => {
    const port = await freePort();
    const conf = writeConfig(srcDir, { max_tracks_per_participant: 2, joins_per_sec_per_ip: 1000, messages_per_sec: 1000 });
    run.extraCleanups.push(() => fs.rmSync(conf.dir, { recursive: true, force: true }));
    const base = await startServerWithConfig(run, sfuBin, srcDir, port, conf.file);
    const url = `ws://127.0.0.1:${port}/ws`;
    await badPublishes(run, url);
    await run.launchBrowser();
    await perSectionCredentials(run, base);
    await leaveAndClose(run, base);
    await trackChurn(run, base, url);
  });
}
