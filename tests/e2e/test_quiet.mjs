// A quiet viewer is removed by the WebSocket ping (docs/protocol.md "Leaving and vanished peers",
// docs/security.md "Vanished peers"): a client that joins and then never says anything again, not even a
// pong, and has no media flowing for the consent deadline to watch, is pinged after 10 s of silence and
// closed after 25 s; the others see it leave with reason "disconnected". A well-behaved idle client (its
// WebSocket answers pings) stays.
// Usage: node tests/e2e/test_quiet.mjs <path-to-sfu-binary> <source-dir>
import net from 'node:net';

import { Run, assert, sleep } from './harness.mjs';
import { joinRoom, reexecIfNeeded } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_quiet.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

// A WebSocket client by hand: upgrades, sends one masked text frame (join), then reads everything and
// answers nothing (no pong, no close). Resolves with {socket, closed} once the server answered the upgrade.
function mute(port, room, name) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const closed = new Promise((r) => s.on('close', () => r(Date.now())));
    let head = '';
    s.on('connect', () => s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
      + 'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    s.on('data', function first(d) {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', first);
      s.on('data', () => {}); // read and ignore (pings included)
      if (!/^HTTP\/1\.1 101/.test(head)) return reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      const body = Buffer.from(JSON.stringify({ type: 'join', room, name }));
      const mask = Buffer.from([7, 1, 9, 4]);
      s.write(Buffer.concat([Buffer.from([0x81, 0x80 | body.length]), mask, body.map((b, i) => b ^ mask[i % 4])]));
      return resolve({ socket: s, closed });
    });
    s.on('error', reject);
  });
}

if (!reexecIfNeeded()) {
  const run = new Run('test_quiet', 90000);
  await run.main(async () => {
    await run.startServer(sfuBin, srcDir);
    const url = `ws://127.0.0.1:${run.port}/ws`;
    const { c: wit } = await joinRoom(url, 'wit', 'quiet');
    const q = await mute(run.port, 'quiet', 'mute');
    run.extraCleanups.push(() => q.socket.destroy());
    const pj = await wit.nextType('participant-joined');
    const t0 = Date.now();
    run.log(`mute joined as ${pj.id}; it now answers nothing`);
    const left = await wit.next((m) => m.type === 'participant-left' && m.id === pj.id, 40000, 'mute to be removed');
    const ms = Date.now() - t0;
    const closedAt = await Promise.race([q.closed, sleep(5000).then(() => null)]);
    run.log(`mute removed after ${ms} ms, reason "${left.reason}"; its socket ${closedAt ? 'closed by the server' : 'still open'}`);
    assert(left.reason === 'disconnected', `reason "${left.reason}" (want "disconnected")`);
    assert(ms >= 20000 && ms <= 35000, `removed after ${ms} ms (the ping hangs up after 25 s of silence)`);
    assert(closedAt, 'the server did not close the quiet client\'s socket');
    // The witness, idle as long but answering pings, is still there.
    const rest = await wit.sync();
    assert(!rest.some((m) => m.type === 'error'), `wit: ${JSON.stringify(rest)}`);
    run.log('ok  the idle witness (answers pings) stays joined');
    wit.close();
  });
}
