// End-to-end: two rooms in one server, five headless Chromium participants with fake camera and
// microphone: everyone receives the others' video and audio as a user would perceive it, steadily for
// longer than the server's consent deadline; a muted microphone is silence at the others (not only a
// badge) and sound again once unmuted; Leave and a closed tab remove a participant.
// Usage: node tests/e2e/test_rooms.mjs <path-to-sfu-binary> <source-dir>
import {
  Run, assert, expectMedia, expectPeers, hears, joined, leftReason, poll, sleep, steadyMedia, view,
} from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_rooms.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_rooms', 150000);

// Check a whole room: everybody shows exactly the others and receives their audio and video.
async function checkRoom(label, members) {
  await Promise.all(members.map((p) => expectPeers(p, members.filter((o) => o !== p))));
  const rates = await Promise.all(members.map((p) => expectMedia(p, members.filter((o) => o !== p))));
  members.forEach((p, i) => run.log(`${label}: ${p.name} receives ${JSON.stringify(rates[i])}`));
  run.log(`${label}: steady ${JSON.stringify(await steadyMedia(members))}`);
  for (const p of members) {
    const v = await view(p);
    assert(v.state === 'joined', `${p.name}: state ${v.state}, expected joined`);
    assert(v.errors.length === 0, `${p.name}: page shows errors: ${JSON.stringify(v.errors)}`);
  }
  return rates;
}

await run.main(async () => {
  const base = await run.startServer(sfuBin, srcDir);
  const { port } = run;
  await run.launchBrowser();

  // Open order: ann, dan, bob, eve, cid, 500 ms apart (alpha members 1 s apart).
  const plan = [['ann', 'alpha'], ['dan', 'beta'], ['bob', 'alpha'], ['eve', 'beta'], ['cid', 'alpha']];
  const P = {};
  // Each page starts loading 500 ms after the one before, without waiting for it: today's server ends a
  // participant whose sub connection got nothing for consent_timeout_s once media starts flowing to it,
  // and on a loaded machine one page can take that long to open.
  await Promise.all(plan.map(async ([name, room], i) => {
    await sleep(500 * i);
    P[name] = await run.open(name, `${base}/?room=${room}&name=${name}`);
    P[name].room = room;
    run.log(`opened ${name} in ${room}`);
  }));
  for (const [name] of plan) await joined(P[name]);
  run.log(`ids: ${Object.values(P).map((p) => `${p.name}=${p.id}`).join(' ')}`);
  const ids = new Set(Object.values(P).map((p) => p.id));
  assert(ids.size === 5, 'participant ids are not unique');

  const alpha = [P.ann, P.bob, P.cid];
  const beta = [P.dan, P.eve];
  const rates = {};
  [rates.alpha, rates.beta] = await Promise.all([checkRoom('alpha', alpha), checkRoom('beta', beta)]);

  // Time from navigation start (performance.timeOrigin) to the first decoded remote video frame.
  const times = {};
  for (const p of [P.ann, P.bob, P.cid, P.dan, P.eve]) {
    const v = await view(p);
    const per = {};
    for (const o of Object.values(P)) if (v.firstFrameAt[o.id] !== undefined) per[o.name] = Math.round(v.firstFrameAt[o.id]);
    const vals = Object.values(per);
    times[p.name] = { scriptStartMs: Math.round(v.t0), firstRemoteFrameMs: vals.length ? Math.min(...vals) : null,
      perPublisherMs: per, marks: v.marks };
  }
  for (const n of ['bob', 'cid']) {
    assert(times[n].firstRemoteFrameMs !== null, `${n}: no first-frame time recorded`);
    run.log(`${n} (${n === 'bob' ? '2nd' : '3rd'} alpha joiner): page open -> first remote video frame decoded: `
      + `${times[n].firstRemoteFrameMs} ms (per publisher: ${JSON.stringify(times[n].perPublisherMs)}); `
      + `steps (ms since navigation start): ${JSON.stringify(times[n].marks)}`);
  }

  // cid mutes microphone and camera: ann and bob show it, then unmutes.
  const badgesOf = (p, who) => p.page.locator(`.tile.remote[data-id="${who.id}"] .badge`).allInnerTexts();
  await P.cid.page.click('#mic');
  await P.cid.page.click('#cam');
  for (const p of [P.ann, P.bob]) {
    await poll(`${p.name} to show cid muted with camera off`, async () => {
      const b = await badgesOf(p, P.cid);
      return b.includes('muted') && b.includes('camera off') ? b : { ok: false, detail: b };
    }, { timeout: 5000 });
  }
  await P.cid.page.click('#mic');
  await P.cid.page.click('#cam');
  for (const p of [P.ann, P.bob]) {
    await poll(`${p.name} to show cid unmuted`, async () => {
      const b = await badgesOf(p, P.cid);
      return b.length === 0 ? true : { ok: false, detail: b };
    }, { timeout: 5000 });
  }
  run.log('mute/unmute of cid seen by ann and bob');
  // What they hear: silence while cid's microphone is muted, sound again once unmuted.
  await P.cid.page.click('#mic');
  for (const p of [P.ann, P.bob]) await poll(`${p.name} to hear silence from muted cid`, async () => !(await hears(p, P.cid)), { timeout: 8000 });
  await P.cid.page.click('#mic');
  for (const p of [P.ann, P.bob]) await poll(`${p.name} to hear cid again`, () => hears(p, P.cid), { timeout: 8000 });
  run.log('cid muted is silence at ann and bob, unmuted is sound');

  // ann leaves with the button.
  await P.ann.page.click('#leave');
  const annView = await poll('ann to show "You left"', async () => {
    const v = await view(P.ann);
    const shown = await P.ann.page.locator('#ended').isVisible();
    const title = await P.ann.page.locator('#ended-title').innerText();
    return v.state === 'left' && shown && /you left/i.test(title) && v.ids.length === 0 ? v : { ok: false, detail: { ...v, shown, title } };
  }, { timeout: 5000 });
  assert(annView.errors.length === 0, `ann: errors after leaving: ${JSON.stringify(annView.errors)}`);
  const leftAt = Date.now();
  await Promise.all([
    expectPeers(P.bob, [P.cid], 15000),
    expectPeers(P.cid, [P.bob], 15000),
  ]);
  const annDropMs = Date.now() - leftAt;
  await Promise.all([expectPeers(P.dan, [P.eve], 2000), expectPeers(P.eve, [P.dan], 2000)]);
  run.log(`bob and cid dropped ann ${annDropMs} ms after Leave (reason "${await leftReason(P.bob, P.ann)}")`);
  const afterLeave = await Promise.all([expectMedia(P.bob, [P.cid]), expectMedia(P.cid, [P.bob])]);
  run.log(`after ann left: bob <- ${JSON.stringify(afterLeave[0])}, cid <- ${JSON.stringify(afterLeave[1])}`);

  // bob's tab is closed without Leave.
  await run.closeParticipant(P.bob);
  const closedAt = Date.now();
  await expectPeers(P.cid, [], 15000);
  const bobDropMs = Date.now() - closedAt;
  await Promise.all([expectPeers(P.dan, [P.eve], 2000), expectPeers(P.eve, [P.dan], 2000)]);
  run.log(`cid dropped bob ${bobDropMs} ms after his tab closed`);
  const cidView = await view(P.cid);
  assert(cidView.state === 'joined' && cidView.errors.length === 0, `cid: ${JSON.stringify(cidView)}`);

  // beta never noticed.
  rates.betaAfter = await checkRoom('beta (after alpha changes)', beta);

  run.summary = {
    ...run.summary,
    firstRemoteFrameMs: { bob: times.bob.firstRemoteFrameMs, cid: times.cid.firstRemoteFrameMs },
    times,
    annDropMs,
    bobDropMs,
    rates,
  };
});
