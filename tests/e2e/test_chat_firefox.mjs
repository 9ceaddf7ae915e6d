// Chat between browsers (issue 12): a message from a Firefox page reaches a Chromium page and the answer
// comes back, the round trip in under 500 ms (both pages' data channels to the server: DCEP, SCTP over
// DTLS from two different stacks). Chromium answers every "ping" at once from a listener in its page, so
// the round trip is measured in the Firefox page, from its send to the answer's arrival (the median of 5,
// after one round that warms both up).
// Skipped (exit 77) where firefox-esr is not installed.
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
await run.main(async () => {
  const port = await freePort();
  const base = await run.startServer(sfuBin, srcDir, port);
  await run.launchBrowser();
  await run.launchFirefox(); // Skip (exit 77) where firefox-esr is missing
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
  // Chromium answers each ping with a pong carrying the same number.
  await chrome.page.evaluate(() => {
    window.sfu.client.addEventListener('chat', (e) => {
      const m = /^ping (\d+)$/.exec(e.detail.text);
      if (m && e.detail.from.name === 'fox') window.sfu.sendChat(`pong ${m[1]}`);
    });
  });
  // Firefox pings and times the answer; the first round warms both up and is not counted.
  const rtts = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const rtt = await fox.page.evaluate((n) => new Promise((resolve, reject) => {
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
    if (i > 0) rtts.push(Math.round(rtt));
  }
  const got = await chrome.page.evaluate(() => window.sfu.chat.filter((m) => m.text.startsWith('ping')).length);
  const median = [...rtts].sort((a, b) => a - b)[Math.floor(rtts.length / 2)];
  run.log(`Firefox -> Chromium -> Firefox chat round trips: ${rtts.join(', ')} ms (median ${median} ms; `
    + `Chromium got ${got} pings)`);
  run.summary = { ...run.summary, rttMs: rtts, medianMs: median };
  assert(got === ROUNDS + 1, `Chromium got ${got} of ${ROUNDS + 1} pings`);
  assert(median < LIMIT_MS, `the chat round trip takes ${median} ms (median of ${ROUNDS}; limit ${LIMIT_MS} ms)`);
});
