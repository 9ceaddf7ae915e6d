// Chat between browsers (issue 12): a message from a Firefox page reaches a Chromium page and the answer
// comes back, the round trip in under 500 ms (both pages' data channels to the server: DCEP, SCTP over
// DTLS from two different stacks). Firefox answers every "ping" at once from a listener in its page, so
// the round trip is measured in the Chromium page: from its send to the answer's arrival.
// Skipped (exit 77) where Firefox cannot run (no firefox-esr, or no Firefox launcher in the harness).
// Usage: node tests/e2e/test_chat_firefox.mjs <path-to-sfu-binary> <source-dir>
import { Fatal, Run, assert, freePort, poll, view } from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_chat_firefox.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}
const ROUNDS = 5;
const LIMIT_MS = 500;

const run = new Run('test_chat_firefox', 120000);
if (typeof run.launchFirefox !== 'function') {
  console.log('SKIP test_chat_firefox: the harness has no Firefox launcher');
  process.exit(77);
}

await run.main(async () => {
  const port = await freePort();
  const base = await run.startServer(sfuBin, srcDir, port);
  await run.launchBrowser();
  try {
    await run.launchFirefox();
  } catch (e) {
    console.log(`SKIP test_chat_firefox: Firefox does not start here (${e.message})`);
    run.summary.skipped = e.message;
    await run.cleanup();
    process.exit(77);
  }
  const chrome = await run.open('chrome', `${base}/?room=ffchat&name=chrome`);
  const fox = await run.open('fox', `${base}/?room=ffchat&name=fox`, { browser: 'firefox' });
  for (const p of [chrome, fox]) {
    const v = await poll(`${p.name} to join and open the chat`, async () => {
      const s = await view(p);
      if (s.state === 'error') throw new Fatal(`${p.name}: ${JSON.stringify(s.errors)}`);
      const chat = await p.page.evaluate(() => window.sfu.chatState);
      return s.state === 'joined' && chat === 'open' ? s : { ok: false, detail: { state: s.state, chat } };
    }, { timeout: 30000 });
    p.id = v.id;
  }
  // Firefox answers each ping with a pong carrying the same number.
  await fox.page.evaluate(() => {
    window.sfu.client.addEventListener('chat', (e) => {
      const m = /^ping (\d+)$/.exec(e.detail.text);
      if (m && e.detail.from.name === 'chrome') window.sfu.sendChat(`pong ${m[1]}`);
    });
  });
  const rtts = [];
  for (let i = 0; i < ROUNDS; i++) {
    const rtt = await chrome.page.evaluate((n) => new Promise((resolve, reject) => {
      const c = window.sfu.client;
      const t0 = performance.now();
      const on = (e) => {
        if (e.detail.text !== `pong ${n}`) return;
        c.removeEventListener('chat', on);
        resolve(performance.now() - t0);
      };
      c.addEventListener('chat', on);
      setTimeout(() => reject(new Error(`no pong ${n} in 5 s`)), 5000);
      window.sfu.sendChat(`ping ${n}`);
    }), i);
    rtts.push(Math.round(rtt));
  }
  const got = await fox.page.evaluate(() => window.sfu.chat.filter((m) => m.text.startsWith('ping')).length);
  run.log(`Chromium -> Firefox -> Chromium chat round trips: ${rtts.join(', ')} ms (Firefox got ${got} pings)`);
  run.summary = { ...run.summary, rttMs: rtts };
  assert(got === ROUNDS, `Firefox got ${got} of ${ROUNDS} pings`);
  assert(Math.max(...rtts) < LIMIT_MS, `a chat round trip took ${Math.max(...rtts)} ms (limit ${LIMIT_MS} ms)`);
});
