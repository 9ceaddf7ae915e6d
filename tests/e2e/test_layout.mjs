// The meeting page's layout, as a user sees it: in a 1280x720 window, 4 participants' tiles cover at
// least 70 % of the window; 9 still fit (no scrolling, nothing cut off or overlapping, all 16:9);
// 26 spill onto a second page behind an arrow; the speaker view shows one large tile; a phone-sized
// window keeps everything on screen. The other participants are signaling-only clients (no media:
// their tiles show avatars), so the test costs one page.
// Usage: node tests/e2e/test_layout.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import { Run, assert, expectPeers, poll } from './harness.mjs';
import { joinRoom, reexecIfNeeded, startServerWithConfig, testConfig } from './wsclient.mjs';

if (reexecIfNeeded()) process.exitCode = 0;
else {
  const [sfuBin, srcDir] = process.argv.slice(2);
  if (!sfuBin || !srcDir) {
    console.error('usage: node test_layout.mjs <sfu-binary> <source-dir>');
    process.exit(2);
  }
  const run = new Run('test_layout', 120000);
  await run.main(async () => {
    const conf = testConfig(srcDir, { joins_per_sec_per_ip: '500' });
    run.extraCleanups.push(() => fs.rmSync(conf.dir, { recursive: true, force: true }));
    const base = await startServerWithConfig(run, sfuBin, srcDir, null, conf.file);
    const { port } = run;
    await run.launchBrowser();
    const ws = `ws://127.0.0.1:${port}/ws`;
    const ann = await run.open('ann', `${base}/?room=lay&name=ann`);
    await ann.page.setViewportSize({ width: 1280, height: 720 });
    const others = [];
    const addOthers = async (n) => {
      for (let i = 0; i < n; i++) {
        const name = `w${others.length + 1}`;
        const { c, joined } = await joinRoom(ws, name, 'lay');
        others.push({ c, id: joined.id, name });
      }
      await expectPeers(ann, others, 10000);
    };

    // The tiles once they stopped moving (they glide for 0.2 s after a change).
    const settled = (what, check) => poll(what, async () => {
      const a = await ann.page.evaluate(() => window.sfu.layout());
      await new Promise((r) => setTimeout(r, 300));
      const b = await ann.page.evaluate(() => window.sfu.layout());
      if (JSON.stringify(a.tiles) !== JSON.stringify(b.tiles)) return { ok: false, detail: 'moving' };
      const bad = check(b);
      return bad ? { ok: false, detail: bad } : b;
    }, { timeout: 8000, interval: 100 });

    // Every visible tile inside the window, 16:9, none overlapping another, no scrolling.
    const sane = (L, wantVisible) => {
      const vis = L.tiles.filter((t) => t.visible);
      if (vis.length !== wantVisible) return `${vis.length} tiles visible, want ${wantVisible}`;
      if (L.scrolls) return 'the page scrolls';
      for (const t of vis) {
        if (t.x < 0 || t.y < 0 || t.x + t.w > L.window.w + 0.5 || t.y + t.h > L.window.h + 0.5) return `${t.key} off screen`;
        if (Math.abs(t.w / t.h - 16 / 9) > 0.03 && t.source !== 'screen' && !t.main) return `${t.key} is ${t.w}x${t.h}`;
      }
      for (const a of vis) {
        for (const b of vis) {
          if (a !== b && a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5) {
            return `${a.key} overlaps ${b.key}`;
          }
        }
      }
      return null;
    };
    const coverage = (L) => L.tiles.filter((t) => t.visible).reduce((s, t) => s + t.w * t.h, 0) / (L.window.w * L.window.h);

    await addOthers(3);
    const four = await settled('4 tiles to cover 70 % of 1280x720', (L) => sane(L, 4)
      || (coverage(L) < 0.7 ? `coverage ${coverage(L).toFixed(3)}` : null));
    run.log(`4 participants, 1280x720: tiles cover ${(coverage(four) * 100).toFixed(1)} % of the window `
      + `(tile ${Math.round(four.tiles[0].w)}x${Math.round(four.tiles[0].h)})`);

    await addOthers(5);
    const nine = await settled('9 tiles to fit without scrolling', (L) => sane(L, 9));
    run.log(`9 participants: all on screen, ${(coverage(nine) * 100).toFixed(1)} % covered, no scrolling`);

    // Speaker view: one tile much larger than the rest, all on screen.
    await ann.page.evaluate(() => window.sfu.setLayout('speaker'));
    const spk = await settled('the speaker view', (L) => {
      const main = L.tiles.filter((t) => t.main && t.visible);
      if (L.mode !== 'speaker' || main.length !== 1) return `mode ${L.mode}, ${main.length} main tiles`;
      const small = L.tiles.filter((t) => t.visible && !t.main);
      if (!small.length || small.some((t) => t.w * t.h * 4 > main[0].w * main[0].h)) return 'main tile not large';
      return sane(L, L.tiles.filter((t) => t.visible).length);
    });
    run.log(`speaker view: main ${Math.round(spk.tiles.find((t) => t.main).w)} px wide, `
      + `${spk.tiles.filter((t) => t.visible && !t.main).length} in the strip`);
    await ann.page.evaluate(() => window.sfu.setLayout('grid'));

    // A phone: 390x844, everything still on screen.
    await ann.page.setViewportSize({ width: 390, height: 844 });
    await settled('9 tiles on a phone', (L) => sane(L, 9));
    const bar = await ann.page.evaluate(() => {
      const r = document.getElementById('controls').getBoundingClientRect();
      const b = [...document.querySelectorAll('#controls .buttons button')].filter((x) => x.offsetParent);
      return { bottom: r.bottom, h: innerHeight, buttons: b.length,
        inside: b.every((x) => { const q = x.getBoundingClientRect(); return q.left >= 0 && q.right <= innerWidth; }) };
    });
    assert(bar.bottom <= bar.h + 0.5 && bar.inside && bar.buttons >= 5, `phone control bar: ${JSON.stringify(bar)}`);
    run.log(`phone 390x844: 9 tiles on screen, ${bar.buttons} control buttons inside the window`);
    await ann.page.setViewportSize({ width: 1280, height: 720 });

    // 26 participants: 25 on the first page, the rest behind the arrow.
    await addOthers(17);
    await settled('25 tiles on page 1 of 2', (L) => sane(L, 25) || (L.page !== 0 ? `page ${L.page}` : null));
    assert(await ann.page.locator('#page-next').isVisible(), 'no arrow to the next page');
    await ann.page.click('#page-next');
    await settled('1 tile on page 2', (L) => sane(L, 1) || (L.page !== 1 ? `page ${L.page}` : null));
    run.log('26 participants: 25 on page 1, 1 on page 2');
    for (const o of others) o.c.close();
    run.summary = { ...run.summary, coverage4: +coverage(four).toFixed(3), coverage9: +coverage(nine).toFixed(3) };
  });
}
