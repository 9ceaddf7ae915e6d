// Limits from the config, over a real WebSocket (no browser): participants per room (room_full),
// rooms per server (too_many_rooms), publishers per room (room_full on publish) and joins per second
// per source address (rate_limited); each refusal closes the connection as docs/protocol.md says,
// and freed places can be taken again; refused joins are counted in sfu_join_errors_total; a participant
// that sends leave is seen leaving with reason "left".
// Usage: node tests/e2e/test_limits.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import { Run, assert, poll, scrapeMetrics, sleep } from './harness.mjs';
import { WsClient, joinRoom, reexecIfNeeded, startServerWithConfig, writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_limits.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const FP = Array.from({ length: 32 }, () => 'CD').join(':');
// A publish offer with one Opus track (enough for the server to make a producer; ICE never connects).
const OPUS_OFFER = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx', `a=fingerprint:sha-256 ${FP}`, 'a=setup:actpass', 'a=rtcp-mux',
  'a=sendonly', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=ssrc:1111 cname:x', '']
  .join('\r\n');

// Opens a connection, joins, and returns the first answer: joined (then the offer) or an error.
async function tryJoin(url, name, room) {
  const c = await WsClient.open(url, name);
  c.send({ type: 'join', room, name });
  const m = await c.next((x) => x.type === 'joined' || x.type === 'error', 5000, 'joined or error');
  c.first = m;
  return c;
}

async function refused(run, c, code, what) {
  assert(c.first.type === 'error' && c.first.code === code, `${what}: expected ${code}, got ${JSON.stringify(c.first)}`);
  const cl = await c.expectClosed();
  run.log(`ok  ${what.padEnd(44)} -> ${code} (${c.first.message}); closed ${cl.code}`);
}

if (!reexecIfNeeded()) {
  const run = new Run('test_limits', 120000);
  await run.main(async () => {
    const { dir, file } = writeConfig(srcDir, {
      max_participants_per_room: 2, max_rooms: 2, max_publishers_per_room: 1, joins_per_sec_per_ip: 5,
    });
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    await startServerWithConfig(run, sfuBin, srcDir, null, file);
    const { port } = run;
    const url = `ws://127.0.0.1:${port}/ws`;
    assert(run.serverLines.some((l) => /no jwt_secret configured: rooms are open/.test(l)),
      'the start-up log does not say that rooms are open');

    // Five joins in a row fit the bucket (5 per second, from 127.0.0.1).
    const { c: a1 } = await joinRoom(url, 'a1', 'A');
    const { c: a2 } = await joinRoom(url, 'a2', 'A');
    await refused(run, await tryJoin(url, 'a3', 'A'), 'room_full', 'third participant in a room of 2');
    const { c: b1 } = await joinRoom(url, 'b1', 'B');
    await refused(run, await tryJoin(url, 'c1', 'C'), 'too_many_rooms', 'third room on a server of 2');

    // A burst of 10 more joins into the full room A: once the bucket is empty, rate_limited.
    await sleep(1200);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => tryJoin(url, `z${i}`, 'A')));
    const codes = burst.map((c) => c.first.code || c.first.type);
    run.log(`burst of 10 joins: ${codes.join(' ')}`);
    const limited = burst.filter((c) => c.first.code === 'rate_limited');
    assert(limited.length >= 4, `expected at least 4 rate_limited in a burst of 10 at 5/s, got ${codes}`);
    assert(codes.every((c) => c === 'rate_limited' || c === 'room_full'), `unexpected answers: ${codes}`);
    for (const c of burst) await c.expectClosed();
    run.log(`ok  ${'burst of 10 joins at 5/s'.padEnd(44)} -> ${limited.length} rate_limited (${limited[0].first.message}); all closed`);
    // Every refused join is counted (docs/deploy.md: refused joins in /metrics): 2 above and the burst's 10.
    // (The server refreshes /metrics every 500 ms.)
    const refusedJoins = await poll(`sfu_join_errors_total to count ${12} refused joins`, async () => {
      const n = (await scrapeMetrics(port)).sfu_join_errors_total;
      return n === 12 ? n : { ok: false, detail: n };
    }, { timeout: 3000, interval: 100 });
    run.log(`ok  ${'refused joins counted'.padEnd(44)} -> sfu_join_errors_total ${refusedJoins}`);

    // The others in the room noticed nothing of the refused joins.
    const seenBy = (c) => c.queue.splice(0).map((m) => m.type);
    const s1 = seenBy(a1);
    const s2 = seenBy(a2);
    const s3 = seenBy(b1);
    assert(s1.length === 1 && s1[0] === 'participant-joined', `a1 saw ${s1} (only a2 joining expected)`);
    assert(s2.length === 0 && s3.length === 0, `a2 saw ${s2}, b1 saw ${s3}`);

    // Publishers per room: the second publisher in room A is refused, the connection stays open.
    a1.send({ type: 'publish', sdp: OPUS_OFFER });
    const ans = await a1.next((m) => m.type === 'answer' || m.type === 'error', 5000, 'answer');
    assert(ans.type === 'answer' && ans.pc === 'pub', `a1 publish: ${JSON.stringify(ans)}`);
    a2.send({ type: 'publish', sdp: OPUS_OFFER.replace('1111', '2222') });
    const pe = await a2.error('room_full');
    await a2.sync().catch((e) => { throw new Error(`a2: closed after a refused publish: ${e.message}`); });
    run.log(`ok  ${'second publisher in a room of max 1'.padEnd(44)} -> room_full (${pe.message}); stays open`);

    // Freed places are free again: a2 leaves room A, b1 leaves (room B closes).
    await sleep(1200); // refill the join bucket
    a2.send({ type: 'leave' });
    await a2.expectClosed();
    const gone = await a1.nextType('participant-left');
    assert(gone.reason === 'left', `a1 saw a2 leave with reason "${gone.reason}" (want "left")`);
    const { c: a4 } = await joinRoom(url, 'a4', 'A');
    b1.close();
    await poll('room B to close', async () => (await scrapeMetrics(port)).sfu_rooms === 1, { timeout: 5000, interval: 100 });
    const { c: c2, joined } = await joinRoom(url, 'c2', 'C');
    assert(joined.room === 'C', 'c2 not in room C');
    run.log('ok  a place in a full room and a room slot are reusable once freed');
    // The join bucket refills: after a second, joins pass again.
    await sleep(1200);
    const again = await tryJoin(url, 'd1', 'C');
    assert(again.first.type === 'joined', `join after the bucket refilled: ${JSON.stringify(again.first)}`);
    for (const c of [a1, a4, c2, again]) c.close();
  });
}
