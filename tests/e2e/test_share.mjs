// Screen sharing on the page (issue 12): ann clicks "Share screen"; her screen is published as a track of
// its own (source "screen") and every other page shows it as the main stage, larger than any camera tile;
// she clicks again and it is gone for everyone (the track removed, the grid back).
// Usage: node tests/e2e/test_share.mjs <path-to-sfu-binary> <source-dir>
import { Fatal, Run, assert, freePort, poll, view } from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_share.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_share', 90000);
await run.main(async () => {
  const port = await freePort();
  const base = await run.startServer(sfuBin, srcDir, port);
  // getDisplayMedia picks the (fake) screen without asking.
  await run.launchBrowser(['--auto-select-desktop-capture-source=Entire screen']);
  const P = [];
  for (const name of ['ann', 'bob', 'cid']) P.push(await run.open(name, `${base}/?room=share&name=${name}`));
  for (const p of P) {
    const v = await poll(`${p.name} to join`, async () => {
      const s = await view(p);
      if (s.state === 'error') throw new Fatal(`${p.name}: ${JSON.stringify(s.errors)}`);
      return s.state === 'joined' && s.id ? s : null;
    });
    p.id = v.id;
  }
  const [ann, bob, cid] = P;
  const layoutOf = (p) => p.page.evaluate(() => window.sfu.layout());

  await ann.page.click('#share');
  for (const p of [bob, cid]) {
    const L = await poll(`${p.name} to show ann's screen as the stage`, async () => {
      const l = await layoutOf(p);
      const screen = l.tiles.find((t) => t.source === 'screen' && t.id === ann.id);
      const frames = await p.page.evaluate((id) => {
        const v = document.querySelector(`.tile.screen[data-id="${id}"] video`);
        return v ? v.videoWidth : 0;
      }, ann.id);
      if (!screen?.main || !screen.visible || !frames || l.mode !== 'speaker') return { ok: false, detail: { l, frames } };
      const cams = l.tiles.filter((t) => t.source === 'camera' && t.visible);
      return cams.every((t) => t.w * t.h * 2 < screen.w * screen.h) ? l : { ok: false, detail: 'not larger' };
    }, { timeout: 20000 });
    const screen = L.tiles.find((t) => t.source === 'screen');
    run.log(`${p.name} shows ann's screen as the stage: ${Math.round(screen.w)}x${Math.round(screen.h)}, `
      + `camera tiles ${L.tiles.filter((t) => t.source === 'camera').map((t) => `${Math.round(t.w)}x${Math.round(t.h)}`).join(', ')}`);
  }
  const list = await bob.page.evaluate((id) => window.sfu.client.participants.get(id)?.tracks.map((t) => t.source), ann.id);
  assert(list?.includes('screen'), `bob's track list of ann: ${JSON.stringify(list)}`);

  await ann.page.click('#share');
  for (const p of [bob, cid]) {
    await poll(`${p.name} to drop ann's screen`, async () => {
      const l = await layoutOf(p);
      const tracks = await p.page.evaluate((id) => window.sfu.client.participants.get(id)?.tracks.map((t) => t.source), ann.id);
      return !l.tiles.some((t) => t.source === 'screen') && l.mode === 'grid' && !tracks.includes('screen')
        ? true : { ok: false, detail: { l, tracks } };
    }, { timeout: 15000 });
  }
  run.log('ann stopped sharing: gone for bob and cid, grid again');
  for (const p of P) {
    const v = await view(p);
    assert(v.state === 'joined' && !v.errors.length, `${p.name}: ${JSON.stringify(v)}`);
  }
});
