// End-to-end: the page's fallback paths. A participant whose getUserMedia is refused joins as a
// viewer and still receives; a URL without room shows the join form; a dead signaling endpoint, a
// media connection that never comes up and a server that goes away all show a clear banner. The media
// connection that never comes up is ended by the server's own deadline (test config: [ice]
// consent_timeout_s = TEST_CONSENT_S, before the page's 15 s timer): the page gets error
// transport_failed, and another participant of its room sees it leave with reason "ice-failed". The
// server going away is a drain: the page is told shutting_down.
// Usage: node tests/e2e/test_viewer.mjs <path-to-sfu-binary> <source-dir>
import path from 'node:path';
import {
  Run, TEST_CONSENT_S, assert, deadSignalingServer, errorCodes, expectMedia, expectPeers, joined, leftReason, poll, view,
} from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_viewer.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_viewer', 120000);

// No ICE candidates at all (relay-only policy and no TURN server): as if UDP to the server were blocked.
const BLOCK_ICE = () => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function RTCPeerConnection(config) {
    return new Native({ ...config, iceTransportPolicy: 'relay' });
  };
  window.RTCPeerConnection.prototype = Native.prototype;
};

// Every getUserMedia call is refused, as when the user clicks "Block".
const REFUSE_MEDIA = () => {
  const refuse = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  Object.defineProperty(navigator.mediaDevices, 'getUserMedia', { value: refuse, configurable: true });
};

const bannerText = (p) => p.page.evaluate(() => {
  const b = document.getElementById('banner');
  return b.hidden ? '' : [...b.querySelectorAll('.row span')].map((x) => x.textContent).join(' | ');
});

await run.main(async () => {
  const base = await run.startServer(sfuBin, srcDir);
  const { port } = run;
  await run.launchBrowser();

  // 0. A participant whose media connections cannot be established (checked at the end), and oli, who
  // sees it go.
  const oli = await run.open('oli', `${base}/?room=omega&name=oli`);
  await joined(oli);
  const ida = await run.open('ida', `${base}/?room=omega&name=ida`, { initScript: BLOCK_ICE });
  const idaOpened = Date.now();
  await joined(ida);

  // 2. A publisher, pia, and fay, whose URL has no room: the form, a default name, join on submit, URL
  // updated. (fay joins before the viewer: today's server removes a publisher whose sub connection got
  // nothing for consent_timeout_s, as pia with only a viewer would, as consent-expired as soon as media
  // starts flowing to it; reported to the lead.)
  const pia = await run.open('pia', `${base}/?room=gamma&name=pia`);
  await joined(pia);
  const fay = await run.open('fay', `${base}/`);
  const form = await fay.page.evaluate(() => ({
    formShown: !document.getElementById('join-form').hidden,
    name: document.getElementById('form-name').value,
    state: window.sfu.state,
  }));
  assert(form.formShown && form.state === 'idle', `fay: form not shown: ${JSON.stringify(form)}`);
  assert(/^guest-\d+$/.test(form.name), `fay: default name is "${form.name}"`);
  await fay.page.fill('#form-room', 'gamma');
  await fay.page.fill('#form-name', 'fay');
  await fay.page.click('#form-submit');
  await joined(fay);
  const url = new URL(fay.page.url());
  assert(url.searchParams.get('room') === 'gamma' && url.searchParams.get('name') === 'fay',
    `fay: URL not updated: ${url}`);
  await expectPeers(fay, [pia]);
  await expectPeers(pia, [fay]);
  await expectMedia(fay, [pia]);
  await expectMedia(pia, [fay]);


  // 1. A viewer whose camera/microphone are refused joins pia and fay.
  const vic = await run.open('vic', `${base}/?room=gamma&name=vic`, { initScript: REFUSE_MEDIA });
  await joined(vic);
  await poll('vic to show the viewer notice', async () => {
    const n = await vic.page.evaluate(() => {
      const el = document.getElementById('notice');
      return el.hidden ? '' : [...el.querySelectorAll('.row span')].map((x) => x.textContent).join(' | ');
    });
    return /joined as a viewer/i.test(n) ? n : { ok: false, detail: n };
  }, { timeout: 5000 });
  await expectPeers(vic, [pia, fay]);
  await expectPeers(pia, [fay, vic]);
  const rates = await expectMedia(vic, [pia]);
  run.log(`viewer vic receives ${JSON.stringify(rates)}`);
  const vv = await view(vic);
  assert(vv.firstFrameAt[pia.id] !== undefined, 'vic: no first frame time for pia');
  assert(vv.errors.length === 0, `vic: errors ${JSON.stringify(vv.errors)}`);
  run.log(`vic: page open -> first frame of pia: ${Math.round(vv.firstFrameAt[pia.id])} ms`);

  // An invalid room in the URL shows the form with an error instead of joining.
  const bad = await run.open('bad', `${base}/?room=no%20spaces!&name=x`);
  const badState = await bad.page.evaluate(() => ({
    formShown: !document.getElementById('join-form').hidden,
    err: document.getElementById('form-error').innerText,
    state: window.sfu.state,
  }));
  assert(badState.formShown && badState.state === 'idle' && /invalid room/i.test(badState.err),
    `bad room: ${JSON.stringify(badState)}`);
  await run.closeParticipant(bad);

  // 3. Signaling unreachable: the page loads from elsewhere, /ws is dead.
  const dead = await deadSignalingServer(path.resolve(srcDir, 'web'));
  run.extraCleanups.push(dead.close);
  const gus = await run.open('gus', `${dead.url}/?room=gamma&name=gus`);
  const gusBanner = await poll('gus to show "server unreachable"', async () => {
    const [b, v] = await Promise.all([bannerText(gus), view(gus)]);
    return /server unreachable/i.test(b) && v.state === 'error' ? b : { ok: false, detail: { b, v } };
  }, { timeout: 10000 });
  run.log(`gus banner: ${JSON.stringify(gusBanner)}`);
  await run.closeParticipant(gus);

  // 0 (end). The server ended ida's media connection that never came up: ida was told transport_failed
  // (the page's own 15 s timer had not fired), oli saw ida leave with reason ice-failed.
  const idaBanner = await poll('ida to report that media could not connect', async () => {
    const [b, v] = await Promise.all([bannerText(ida), view(ida)]);
    return /media connection .*(not established|failed)|transport_failed/i.test(b) ? b : { ok: false, detail: { b, v } };
  }, { timeout: 30000 });
  const idaSecs = (Date.now() - idaOpened) / 1000;
  run.log(`ida banner ${Math.round(idaSecs)} s after opening: ${JSON.stringify(idaBanner)}`);
  const idaCodes = await errorCodes(ida);
  assert(idaCodes.includes('transport_failed'), `ida was not told transport_failed by the server: errors ${JSON.stringify(idaCodes)}, banner ${idaBanner}`);
  assert(!/not established/i.test(idaBanner), `the page's own timer fired before the server's ${TEST_CONSENT_S} s deadline: ${idaBanner}`);
  const idaReason = await poll('oli to see ida leave', async () => (await leftReason(oli, ida)) || null, { timeout: 5000 });
  assert(idaReason === 'ice-failed', `oli saw ida leave with reason "${idaReason}" (want "ice-failed")`);
  run.log(`ok  ida: transport_failed from the server; oli saw reason ${idaReason}`);
  await run.closeParticipant(ida);

  // 4. The server goes away under connected participants.
  await run.stopServer();
  const piaBanner = await poll('pia to show that the connection was lost', async () => {
    const [b, v] = await Promise.all([bannerText(pia), view(pia)]);
    return /shutting.down/i.test(b) && v.state === 'error' ? b : { ok: false, detail: { b, v } };
  }, { timeout: 10000 });
  assert((await errorCodes(pia)).includes('shutting_down'), 'pia was not told shutting_down');
  run.log(`pia banner after server stop: ${JSON.stringify(piaBanner)}`);

  run.summary = { ...run.summary, viewerFirstFrameMs: Math.round(vv.firstFrameAt[pia.id]), viewerRates: rates };
});
