// Chat over the data channel (issue 12), in Chromium: a message reaches the others with the sender's
// name and the server's time, whatever the sender claimed; a flood of 1,000 messages in 10 s from one
// participant is rate-limited with an error while everyone's video and the chat of the others go on; a
// message over the size limit is refused with an error, and one over the channel's maximum size by the
// browser itself; binary, non-JSON, unknown-type and over-long messages each get their error and close
// nothing. (Firefox <-> Chromium: test_chat_firefox.)
// Usage: node tests/e2e/test_chat.mjs <path-to-sfu-binary> <source-dir>
import { Fatal, Run, assert, expectMedia, freePort, poll, sleep, stats, view } from './harness.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_chat.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run = new Run('test_chat', 120000);
await run.main(async () => {
  const port = await freePort();
  const base = await run.startServer(sfuBin, srcDir, port);
  await run.launchBrowser();
  const P = {};
  for (const name of ['ann', 'bob', 'cid']) P[name] = await run.open(name, `${base}/?room=chat&name=${name}`);
  for (const p of Object.values(P)) {
    const v = await poll(`${p.name} to join and open the chat`, async () => {
      const s = await view(p);
      if (s.state === 'error') throw new Fatal(`${p.name}: ${JSON.stringify(s.errors)}`);
      const chat = await p.page.evaluate(() => window.sfu.chatState);
      return s.state === 'joined' && chat === 'open' ? s : { ok: false, detail: { state: s.state, chat } };
    }, { timeout: 20000 });
    p.id = v.id;
  }
  const { ann, bob, cid } = P;
  await expectMedia(bob, [ann, cid]);
  const chatOf = (p) => p.page.evaluate(() => window.sfu.chat.map((m) => ({ from: m.from, text: m.text, time: m.time })));
  const errorsOf = (p) => p.page.evaluate(() => window.sfu.chatErrors.map((e) => e.code));

  // 1. A message, with a forged sender: everyone (the sender too) gets it from ann, at the server's time.
  const t0 = Date.now();
  await ann.page.evaluate(() => window.sfu.sendRaw(JSON.stringify({ type: 'chat', text: 'hello \u00e9\u{1F600}',
    from: { id: 'p999', name: 'the boss' }, time: 1 })));
  for (const p of [ann, bob, cid]) {
    const m = await poll(`${p.name} to get ann's message`, async () => (await chatOf(p)).find((x) => x.text.startsWith('hello')));
    assert(m.from.id === ann.id && m.from.name === 'ann', `${p.name} got it from ${JSON.stringify(m.from)}`);
    assert(m.time >= t0 - 5000 && m.time <= Date.now() + 5000, `${p.name}: time ${m.time} is not the server's`);
    assert(m.text === 'hello \u00e9\u{1F600}', `${p.name}: text ${JSON.stringify(m.text)}`);
  }
  const shown = await bob.page.evaluate(() => document.querySelector('#chat-list li .text')?.textContent);
  assert(shown === 'hello \u00e9\u{1F600}', `bob's chat panel shows ${JSON.stringify(shown)}`);
  run.log('a message with a forged sender reaches all three from ann, at the server\'s time, in the panel');

  // 2. Bad messages: each answered with its error, nothing closes.
  const bad = [
    ['binary', () => window.sfu.sendRaw(new Uint8Array([123, 125])), 'bad_message'],
    ['not JSON', () => window.sfu.sendRaw('hello?'), 'bad_message'],
    ['unknown type', () => window.sfu.sendRaw('{"type":"shout","text":"x"}'), 'unknown_type'],
    ['text over 2000 bytes', () => window.sfu.sendChat('x'.repeat(2001)), 'too_large'],
    ['message over 4096 bytes', () => window.sfu.sendRaw(`{"type":"chat","text":"y","pad":"${'z'.repeat(5000)}"}`), 'too_large'],
  ];
  for (const [what, fn, code] of bad) {
    const before = (await errorsOf(cid)).length;
    assert(await cid.page.evaluate(fn), `cid could not send the ${what}`);
    const errs = await poll(`cid to be told off for the ${what}`, async () => {
      const e = await errorsOf(cid);
      return e.length > before ? e : null;
    }, { timeout: 5000 });
    assert(errs.at(-1) === code, `${what}: error ${errs.at(-1)}, want ${code}`);
  }
  // Over the channel's a=max-message-size (64 KiB): the browser refuses to send it.
  assert(!(await cid.page.evaluate(() => window.sfu.sendChat('w'.repeat(70000)))), 'a 70 KB message was sent');
  await cid.page.evaluate(() => window.sfu.sendChat('still here'));
  await poll('bob to get cid\'s message after its errors', async () => (await chatOf(bob)).some((m) => m.text === 'still here'));
  const cidView = await view(cid);
  assert(cidView.state === 'joined' && !cidView.errors.length, `cid after bad messages: ${JSON.stringify(cidView)}`);
  run.log(`bad messages each refused with their error (${bad.map((b) => b[2]).join(', ')}), a 70 KB one refused by `
    + 'the browser, the channel still works');

  // 3. ann floods 1,000 messages in 10 s; bob's video from ann and cid goes on, cid's chat gets through.
  const sA = await stats(bob);
  const tA = Date.now();
  const tFlood = Date.now();
  await ann.page.evaluate(() => new Promise((resolve) => {
    let i = 0;
    const t = setInterval(() => {
      for (let k = 0; k < 5 && i < 1000; k++, i++) window.sfu.sendChat(`flood ${i}`);
      if (i >= 1000) {
        clearInterval(t);
        resolve();
      }
    }, 50);
  }));
  const floodMs = Date.now() - tFlood;
  await cid.page.evaluate(() => window.sfu.sendChat('cid during the flood'));
  await poll('bob to get cid\'s message after the flood', async () => (await chatOf(bob)).some((m) => m.text === 'cid during the flood'));
  const sB = await stats(bob);
  const tB = Date.now();
  await sleep(1000);
  const relayed = (await chatOf(bob)).filter((m) => m.text.startsWith('flood ')).length;
  const annErrors = await errorsOf(ann);
  const fps = (id) => (sB[id].framesDecoded - sA[id].framesDecoded) / ((tB - tA) / 1000);
  run.log(`ann sent 1000 messages in ${floodMs} ms: ${relayed} relayed to bob, ann got `
    + `${annErrors.filter((c) => c === 'rate_limited').length} rate_limited error(s); bob decoded ann at `
    + `${fps(ann.id).toFixed(1)} fps, cid at ${fps(cid.id).toFixed(1)} fps meanwhile`);
  assert(annErrors.includes('rate_limited'), `ann got no rate_limited error: ${JSON.stringify(annErrors)}`);
  // The bucket: a burst of 20, then 5 a second (the flood takes longer on a loaded machine).
  const allowed = 20 + 5 * Math.ceil(floodMs / 1000) + 5;
  assert(relayed >= 20 && relayed <= allowed, `${relayed} of the flood's messages were relayed (at most ${allowed})`);
  await expectMedia(bob, [ann, cid]);
  assert(fps(ann.id) >= 10 && fps(cid.id) >= 10, 'video stalled during the flood');
  for (const p of [ann, bob, cid]) {
    const v = await view(p);
    assert(v.state === 'joined' && !v.errors.length, `${p.name}: ${JSON.stringify(v)}`);
  }
  run.summary = { ...run.summary, floodMs, relayed, rateLimitedErrors: annErrors.filter((c) => c === 'rate_limited').length };
});
