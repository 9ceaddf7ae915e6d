// Hostile signaling input over a real WebSocket (no browser): a table of bad messages, each with the
// error code docs/protocol.md gives and whether the connection stays open; a message flood
// (rate_limited); an oversized message (too_large, closed). Meanwhile a participant in the same room
// must see nothing but the bad client's arrival and departure, and afterwards a fresh client joins
// normally.
// Usage: node tests/e2e/test_protocol.mjs <path-to-sfu-binary> <source-dir>
import { Run, assert, poll, sleep } from './harness.mjs';
import { WsClient, brief, fakeAnswer, httpGet, joinRoom, reexecIfNeeded } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_protocol.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const FP = Array.from({ length: 32 }, () => 'AB').join(':');
const sdp = (...media) => [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  ...media, 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  `a=fingerprint:sha-256 ${FP}`, 'a=setup:actpass', 'a=rtcp-mux', 'a=sendonly', '',
].join('\r\n');
// Parses, but offers nothing the server can take.
const SDP_PCMU_ONLY = sdp('m=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=rtpmap:0 PCMU/8000');
const SDP_DATA_ONLY = sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=sctp-port:5000');

const long = (n, ch = 'x') => ch.repeat(n);

// [what, message (object, string, or Uint8Array = binary frame), expected code]; all stay open.
const BEFORE_JOIN = [
  ['not JSON', 'hello {', 'bad_json'],
  ['JSON array', '[1,2,3]', 'bad_json'],
  ['JSON string', '"join"', 'bad_json'],
  ['empty object (no type)', '{}', 'bad_json'],
  ['type not a string', { type: 5 }, 'bad_json'],
  ['duplicate keys', '{"type":"join","type":"leave"}', 'bad_json'],
  ['nested 5000 deep', `${'['.repeat(5000)}${']'.repeat(5000)}`, 'bad_json'],
  ['binary frame', new Uint8Array([0x7b, 0x7d, 0, 1, 2]), 'bad_json'],
  ['unknown type', { type: 'fly' }, 'unknown_type'],
  ['publish before join', { type: 'publish', sdp: SDP_PCMU_ONLY }, 'wrong_state'],
  ['answer before join', { type: 'answer', pc: 'sub', sdp: SDP_PCMU_ONLY }, 'wrong_state'],
  ['candidate before join', { type: 'candidate', pc: 'sub', candidate: null }, 'wrong_state'],
  ['mute before join', { type: 'mute', kind: 'audio', muted: true }, 'wrong_state'],
  ['join: room with a space', { type: 'join', room: 'a b', name: 'x' }, 'bad_message'],
  ['join: room with a slash', { type: 'join', room: '../etc', name: 'x' }, 'bad_message'],
  ['join: empty room', { type: 'join', room: '', name: 'x' }, 'bad_message'],
  ['join: room of 65 chars', { type: 'join', room: long(65), name: 'x' }, 'bad_message'],
  ['join: missing room', { type: 'join', name: 'x' }, 'bad_message'],
  ['join: missing name', { type: 'join', room: 'lobby' }, 'bad_message'],
  ['join: empty name', { type: 'join', room: 'lobby', name: '' }, 'bad_message'],
  ['join: name of 65 bytes', { type: 'join', room: 'lobby', name: long(65) }, 'bad_message'],
  ['join: name with a newline', { type: 'join', room: 'lobby', name: 'a\nb' }, 'bad_message'],
  ['join: room not a string', { type: 'join', room: 7, name: 'x' }, 'bad_message'],
  ['join: name not a string', { type: 'join', room: 'lobby', name: ['x'] }, 'bad_message'],
  ['join: token not a string', { type: 'join', room: 'lobby', name: 'x', token: {} }, 'bad_message'],
  ['join: token of 5000 chars', { type: 'join', room: 'lobby', name: 'x', token: long(5000, 'a') }, 'bad_message'],
  ['publish: no sdp', { type: 'publish' }, 'bad_message'],
  ['publish: sdp not a string', { type: 'publish', sdp: 1 }, 'bad_message'],
  ['answer: pc "pub"', { type: 'answer', pc: 'pub', sdp: 'v=0' }, 'bad_message'],
  ['candidate: no pc', { type: 'candidate', candidate: 'x' }, 'bad_message'],
  ['mute: muted not a boolean', { type: 'mute', kind: 'audio', muted: 'yes' }, 'bad_message'],
  // Exactly max_message_bytes (65536, the default) is still accepted.
  ['message of exactly 65536 bytes', `{"type":"fly","pad":"${long(65536 - 23)}"}`, 'unknown_type'],
];

const AFTER_JOIN = [
  ['join twice', { type: 'join', room: 'lobby', name: 'again' }, 'wrong_state'],
  ['join another room', { type: 'join', room: 'elsewhere', name: 'again' }, 'wrong_state'],
  ['publish: garbage SDP', { type: 'publish', sdp: 'this is not SDP' }, 'bad_sdp'],
  ['publish: SDP without v=0', { type: 'publish', sdp: 'o=- 1 1 IN IP4 0.0.0.0\r\n' }, 'bad_sdp'],
  ['publish: SDP with only PCMU audio', { type: 'publish', sdp: SDP_PCMU_ONLY }, 'bad_sdp'],
  ['publish: SDP with only a data channel', { type: 'publish', sdp: SDP_DATA_ONLY }, 'bad_sdp'],
  ['answer: garbage SDP', { type: 'answer', pc: 'sub', sdp: 'garbage' }, 'bad_sdp'],
  ['candidate: bad pc', { type: 'candidate', pc: 'both', candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host' }, 'bad_message'],
  ['candidate: not a string', { type: 'candidate', pc: 'sub', candidate: 42 }, 'bad_message'],
  ['candidate: unparsable string', { type: 'candidate', pc: 'sub', candidate: 'candidate:garbage' }, 'bad_message'],
  ['candidate: 600 bytes', { type: 'candidate', pc: 'sub', candidate: long(600) }, 'bad_message'],
  ['mute: bad kind', { type: 'mute', kind: 'screen', muted: true }, 'bad_message'],
  ['mute: no kind', { type: 'mute', muted: true }, 'bad_message'],
  ['unknown type after join', { type: 'subscribe' }, 'unknown_type'],
];

async function table(run, c, rows) {
  for (const [what, msg, code] of rows) {
    c.send(msg);
    let m;
    try {
      m = await c.error(code, 5000);
    } catch (e) {
      throw new Error(`${what}: ${e.message}`);
    }
    const after = await c.sync().catch((e) => { throw new Error(`${what}: the connection was closed (protocol.md: ${code} keeps it open): ${e.message}`); });
    assert(after.length === 0, `${what}: more than one answer: ${JSON.stringify(after.map(brief))}`);
    assert(typeof m.message === 'string' && m.message.length > 0, `${what}: error without a message`);
    run.log(`ok  ${what.padEnd(40)} -> ${code}: ${m.message.slice(0, 80)}`);
  }
}

if (!reexecIfNeeded()) {
  const run = new Run('test_protocol', 120000);
  await run.main(async () => {
    const base = await run.startServer(sfuBin, srcDir);
    const { port } = run;
    const url = `ws://127.0.0.1:${port}/ws`;

    // The bystander, in the room the bad client will join.
    const { c: obs } = await joinRoom(url, 'obs', 'lobby');

    const bad = await WsClient.open(url, 'bad');
    await table(run, bad, BEFORE_JOIN);
    assert(obs.queue.length === 0, `obs saw something before bad joined: ${JSON.stringify(obs.queue.map(brief))}`);

    bad.send({ type: 'join', room: 'lobby', name: 'bad' });
    const bj = await bad.nextType('joined');
    await bad.next((m) => m.type === 'offer' && m.pc === 'sub');
    const pj = await obs.nextType('participant-joined');
    assert(pj.id === bj.id, 'obs: participant-joined for someone else');
    await table(run, bad, AFTER_JOIN);

    // Answers: a second answer when none is pending; an answer with the wrong section count.
    const { c: cal, offer: calOffer } = await joinRoom(url, 'cal', 'side');
    const twoSections = fakeAnswer(`${calOffer.sdp}${calOffer.sdp.slice(calOffer.sdp.indexOf('m=')).replace(/a=mid:probe/, 'a=mid:x1')}`);
    cal.send({ type: 'answer', pc: 'sub', sdp: twoSections });
    const bs = await cal.error('bad_sdp');
    run.log(`ok  ${'answer with an extra section'.padEnd(40)} -> bad_sdp: ${bs.message}`);
    cal.send({ type: 'answer', pc: 'sub', sdp: fakeAnswer(calOffer.sdp) });
    const quiet = await cal.sync();
    assert(!quiet.some((m) => m.type === 'error'), `cal: a valid answer was refused: ${JSON.stringify(quiet)}`);
    cal.send({ type: 'answer', pc: 'sub', sdp: fakeAnswer(calOffer.sdp) });
    const ws = await cal.error('wrong_state');
    run.log(`ok  ${'answer with no offer pending'.padEnd(40)} -> wrong_state: ${ws.message}`);
    assert(cal.isOpen, 'cal: closed after wrong_state');
    cal.close();

    // At most 64 remote candidates per connection are used (docs/security.md): 70 trickled ones (host
    // candidates on loopback ports nobody listens on) are all accepted without an error, the server says
    // once that it ignores the rest, and the connection stays usable.
    const { c: dee } = await joinRoom(url, 'dee', 'cands');
    for (let i = 0; i < 70; i++) {
      dee.send({ type: 'candidate', pc: 'sub', candidate: `candidate:${i} 1 udp 2122260223 127.0.0.1 ${40000 + i} typ host`, sdpMid: 'probe' });
    }
    const deeSaw = await dee.sync();
    assert(!deeSaw.some((m) => m.type === 'error'), `dee: candidates refused: ${JSON.stringify(deeSaw.map(brief))}`);
    const capLines = await poll('the server to say it ignores candidates over 64', () => {
      const l = run.serverLines.filter((x) => new RegExp(`${dee.id}: more than 64 ICE candidates; ignoring the rest`).test(x));
      return l.length ? l : null;
    }, { timeout: 3000, interval: 100 });
    assert(capLines.length === 1, `the cap is logged ${capLines.length} times`);
    run.log(`ok  ${'70 trickled candidates'.padEnd(40)} -> 64 used: ${capLines[0].replace(/^.*\] /, '')}`);
    dee.close();

    // Flood of valid, harmless messages (end-of-candidates): over messages_per_sec (50/s, burst 100)
    // they are dropped with one rate_limited error; the connection stays open and works again later.
    await sleep(2500); // let the bucket fill (2 s at 50/s) before the flood
    for (let i = 0; i < 400; i++) bad.send({ type: 'candidate', pc: 'sub', candidate: null });
    const rl = await bad.error('rate_limited');
    run.log(`ok  ${'flood of 400 candidates'.padEnd(40)} -> rate_limited: ${rl.message}`);
    // Only the first drop of a streak is answered (a message that gets through ends the streak):
    // the answers stay far below the messages sent.
    let extra = await bad.sync(10000);
    const more = extra.filter((m) => m.code === 'rate_limited').length;
    assert(more < 20, `${more + 1} rate_limited answers for 400 messages: not bounded`);
    assert(extra.every((m) => m.code === 'rate_limited'), `unexpected: ${JSON.stringify(extra.map(brief))}`);
    assert(bad.isOpen, 'bad: closed after rate_limited (protocol.md: stays open)');
    // Garbage counts too, and is not parsed or answered once over the limit.
    await sleep(2500); // let the bucket fill again
    for (let i = 0; i < 400; i++) bad.send('not json at all');
    extra = await bad.sync(10000);
    const nBadJson = extra.filter((m) => m.code === 'bad_json').length;
    const nLimited = extra.filter((m) => m.code === 'rate_limited').length;
    run.log(`flood of 400 garbage messages: ${nBadJson} bad_json answers, ${nLimited} rate_limited`);
    assert(nLimited >= 1, 'no rate_limited for a flood of 400 garbage messages');
    assert(nBadJson >= 90 && nBadJson + nLimited <= 160,
      `expected about 100 (the burst) bad_json answers and few rate_limited, got ${nBadJson} and ${nLimited}`);
    await poll('bad to be served again after the flood', async () => {
      bad.send({ type: 'mute', kind: 'screen', muted: true });
      const got = await bad.sync(3000);
      return got.some((m) => m.code === 'bad_message');
    }, { timeout: 10000, interval: 200 });
    assert(bad.isOpen, 'bad: not usable after the flood');

    // Oversized: too_large, then the server closes.
    bad.send(`{"type":"fly","pad":"${long(70000)}"}`);
    const tl = await bad.error('too_large');
    const closed = await bad.expectClosed();
    run.log(`ok  ${'message of 70000 bytes'.padEnd(40)} -> too_large (${tl.message}), closed with ${closed.code}`);

    // The bystander saw only the bad client arrive and leave.
    const left = await obs.nextType('participant-left');
    assert(left.id === bj.id && left.reason === 'disconnected', `obs: ${JSON.stringify(left)}`);
    const rest = await obs.sync();
    assert(rest.length === 0, `obs saw events caused by the bad client: ${JSON.stringify(rest.map(brief))}`);
    assert(obs.isOpen, 'obs was disconnected');

    // The server still serves: a fresh client joins the room and gets its offer.
    const { c: fay, joined } = await joinRoom(url, 'fay', 'lobby');
    assert(joined.participants.length === 1 && joined.participants[0].id === obs.id,
      `fay: participants ${JSON.stringify(joined.participants)}`);
    const fj = await obs.nextType('participant-joined');
    assert(fj.id === joined.id && fj.name === 'fay', `obs: ${JSON.stringify(fj)}`);
    const h = await httpGet(`${base}/healthz`, 2000);
    assert(h.status === 200, `/healthz answered ${h.status}`);
    fay.close();
    obs.close();
    run.log('the server is healthy; the bystander noticed nothing');
  });
}
