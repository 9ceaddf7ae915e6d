// Hostile answers and candidates from a joined participant, over a real WebSocket (no browser): each is
// refused with the protocol's code, the connection stays open, and the same participant's correct answer
// is then accepted.
// - an answer whose a=mid is not the offer's (a foreign mid; swapped mids when the
//   offer has two sections; test_sdp_hostile swaps them in any case)               -> bad_sdp
// - an answer with a 3-character ice-ufrag or a 21-character ice-pwd (RFC 8839)     -> bad_sdp
// - an answer carrying a candidate with port 70000                                  -> bad_sdp
// - a trickled candidate with port 70000 (libnice would have sent checks to 4464)    -> bad_message
// Usage: node tests/e2e/test_answer_hostile.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import { Run, assert, freePort, sleep } from './harness.mjs';
import {
  fakeAnswer, joinRoom, reexecIfNeeded, startServerWithConfig, writeConfig,
} from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_answer_hostile.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

async function expectError(run, c, msg, code, what) {
  c.send(msg);
  const m = await c.next((x) => x.type === 'error', 5000, `error ${code} for ${what}`);
  assert(m.code === code, `${what}: got error ${m.code} (${m.message}), want ${code}`);
  await sleep(100);
  assert(!c.closeInfo, `${what}: the connection was closed`);
  run.log(`ok  ${what.padEnd(40)} -> ${code}: ${m.message}`);
}

if (!reexecIfNeeded()) {
  const run = new Run('test_answer_hostile', 60000);
  await run.main(async () => {
    const { dir, file } = writeConfig(srcDir, { addrs: '127.0.0.1' });
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    await startServerWithConfig(run, sfuBin, srcDir, port, file);
    const url = `ws://127.0.0.1:${port}/ws`;
    const { c, offer } = await joinRoom(url, 'ann', 'hostile');
    const good = fakeAnswer(offer.sdp);
    const mids = [...good.matchAll(/a=mid:(\S+)/g)].map((m) => m[1]);
    run.log(`the server's sub offer has mids [${mids.join(', ')}]`);

    const foreign = good.replace(`a=mid:${mids[0]}`, 'a=mid:zz').replace(/a=group:BUNDLE .*/, (l) => l.replace(mids[0], 'zz'));
    await expectError(run, c, { type: 'answer', pc: 'sub', sdp: foreign }, 'bad_sdp', 'an answer with a mid not offered');
    if (mids.length >= 2) {
      const swapped = good.replace(`a=mid:${mids[0]}`, 'a=mid:@@').replace(`a=mid:${mids[1]}`, `a=mid:${mids[0]}`)
        .replace('a=mid:@@', `a=mid:${mids[1]}`);
      await expectError(run, c, { type: 'answer', pc: 'sub', sdp: swapped }, 'bad_sdp', 'an answer with two mids swapped');
    }
    await expectError(run, c, { type: 'answer', pc: 'sub', sdp: good.replaceAll('a=ice-ufrag:fAkE', 'a=ice-ufrag:fAk') },
      'bad_sdp', 'an answer with a 3-character ice-ufrag');
    await expectError(run, c, { type: 'answer', pc: 'sub', sdp: good.replaceAll('a=ice-pwd:fakepasswordfakepassword', 'a=ice-pwd:fakepasswordfakepasswo'.slice(0, 21)) },
      'bad_sdp', 'an answer with a 21-character ice-pwd');
    const withCand = good.replace(/(a=setup:active\r\n)/, '$1a=candidate:1 1 udp 2122260223 127.0.0.1 70000 typ host\r\n');
    await expectError(run, c, { type: 'answer', pc: 'sub', sdp: withCand }, 'bad_sdp', 'an answer with a candidate port 70000');
    await expectError(run, c, { type: 'candidate', pc: 'sub', candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 70000 typ host' },
      'bad_message', 'a trickled candidate with port 70000');

    // The correct answer is still accepted: no error comes back, the connection stays.
    const before = c.all.length;
    c.send({ type: 'answer', pc: 'sub', sdp: good });
    await sleep(1000);
    const errors = c.all.slice(before).filter((m) => m.type === 'error');
    assert(errors.length === 0, `the correct answer was refused: ${JSON.stringify(errors)}`);
    assert(!c.closeInfo, 'closed after the correct answer');
    run.log('ok  the correct answer afterwards is accepted');
  });
}
