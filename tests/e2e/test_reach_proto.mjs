// Signaling of issue 13 (reaching everyone), without a browser: a WebSocket client against a server
// with [turn] (a shared secret) and a short [signaling] resume_grace_s.
// - TURN credentials: joined.iceServers carries the [turn] urls with username "<expiry>:<id>" and the
//   coturn use-auth-secret password (checked here with node's own HMAC); nobody who is not in a room
//   ever gets them (no join, a refused join, a failed resume).
// - Session resume: joined carries a resume token (when join asked with "resumable": true; without it a
//   closed socket removes the participant at once, as before); the socket drops and a join with the token comes
//   back as the same id ("resumed": true, a new token), and the others see nothing; an offer lost
//   meanwhile is sent again. A token that is unknown, malformed, for another room, used up (retired on
//   resume), or whose session is over (left, or the grace period ran out) gets error resume_failed with
//   the socket open, and a normal join on that socket works. After the grace period with no return the
//   others see participant-left.
// - restart-ice: refused before join, for "pub", and before the sub connection is negotiated.
// Usage: node tests/e2e/test_reach_proto.mjs <path-to-sfu-binary> <source-dir>
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Run, assert, freePort, sleep } from './harness.mjs';
import { WsClient, fakeAnswer, joinRoom, reexecIfNeeded, startServerWithConfig, writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_reach_proto.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const GRACE_S = 3;
const TTL_S = 600;
const SECRET = crypto.randomBytes(24).toString('hex');
const TURN_URLS = ['turn:192.0.2.7:3478?transport=udp', 'turn:192.0.2.7:3478?transport=tcp', 'turns:turn.example.com:5349'];

function checkTurn(joined, who) {
  const t = (joined.iceServers || []).find((e) => Array.isArray(e.urls) && e.urls.some((u) => u.startsWith('turn')));
  assert(t, `${who}: joined has no TURN entry: ${JSON.stringify(joined.iceServers)}`);
  assert(JSON.stringify(t.urls) === JSON.stringify(TURN_URLS), `${who}: TURN urls ${JSON.stringify(t.urls)}`);
  const m = /^(\d+):(.+)$/.exec(t.username);
  assert(m && m[2] === joined.id, `${who}: username "${t.username}" is not "<expiry>:${joined.id}"`);
  const expiry = Number(m[1]);
  const now = Date.now() / 1000;
  assert(expiry > now + TTL_S - 30 && expiry < now + TTL_S + 30, `${who}: expiry ${expiry} is not now + ${TTL_S}`);
  const want = crypto.createHmac('sha1', SECRET).update(t.username).digest('base64');
  assert(t.credential === want, `${who}: credential ${t.credential}, want ${want}`);
}

const noCredentials = (c, who) => {
  const leaked = c.all.filter((m) => JSON.stringify(m).includes('credential') || m.iceServers);
  assert(!leaked.length, `${who} got TURN data without being in a room: ${JSON.stringify(leaked)}`);
};

if (!reexecIfNeeded()) {
  const run = new Run('test_reach_proto', 120000);
  await run.main(async () => {
    const { dir, file } = writeConfig(srcDir, {
      urls: TURN_URLS.join(', '), secret: SECRET, ttl_s: TTL_S, resume_grace_s: GRACE_S, max_participants_per_room: 3,
    });
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    await startServerWithConfig(run, sfuBin, srcDir, port, file);
    const url = `ws://127.0.0.1:${port}/ws`;

    // ---- nobody outside a room gets TURN credentials; restart-ice before join ----
    const out = await WsClient.open(url, 'outsider');
    out.send({ type: 'restart-ice', pc: 'sub' });
    await out.error('wrong_state');
    out.send({ type: 'join', room: 'bad room!', name: 'x' });
    await out.error('bad_message');
    out.send({ type: 'join', room: 'r1', name: 'x', resume: '0123456789abcdef0123456789abcdef' });
    const e0 = await out.error('resume_failed');
    assert(/unknown/.test(e0.message), `unknown token: ${e0.message}`);

    // ---- joined: TURN credentials and a resume token ----
    const a = await joinRoom(url, 'ann', 'r1', { resumable: true });
    checkTurn(a.joined, 'ann');
    assert(/^[0-9a-f]{32}$/.test(a.joined.resume) && a.joined.resumeGraceS === GRACE_S,
      `ann's joined has no resume token: ${JSON.stringify(a.joined)}`);
    const b = await joinRoom(url, 'bob', 'r1');
    checkTurn(b.joined, 'bob');
    assert(!b.joined.resume, `bob did not ask for resume (no "resumable") but got a token: ${b.joined.resume}`);
    await a.c.nextType('participant-joined');
    const full = await joinRoom(url, 'cat', 'r1');
    const refusedFull = await WsClient.open(url, 'dan');
    refusedFull.send({ type: 'join', room: 'r1', name: 'dan' });
    await refusedFull.error('room_full');
    noCredentials(refusedFull, 'a refused join');
    noCredentials(out, 'a client that never joined');
    full.c.close(); /* no "resumable": gone at once, as before resume existed */
    await a.c.nextType('participant-left', 2000);
    await b.c.nextType('participant-left', 2000);
    run.log('ok  TURN credentials in joined (HMAC checked), none outside a room');

    // ---- restart-ice ----
    a.c.send({ type: 'restart-ice', pc: 'pub' });
    await a.c.error('bad_message');
    a.c.send({ type: 'restart-ice', pc: 'sub' });
    await a.c.error('wrong_state'); /* no answer yet: nothing to restart */
    a.c.send({ type: 'answer', pc: 'sub', sdp: fakeAnswer(a.offer.sdp) });
    await sleep(200);
    a.c.send({ type: 'restart-ice', pc: 'sub' });
    const re = await a.c.next((m) => m.type === 'offer' && m.pc === 'sub', 5000, 'offer after restart-ice');
    const ufrag = (sdp) => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
    assert(ufrag(re.sdp) && ufrag(re.sdp) !== ufrag(a.offer.sdp), `restart-ice: same ufrag ${ufrag(re.sdp)}`);
    a.c.send({ type: 'answer', pc: 'sub', sdp: fakeAnswer(re.sdp).replace(/fAkE/g, 'fAk2') });
    run.log(`ok  restart-ice: refused for pub and before negotiation; new ufrag ${ufrag(a.offer.sdp)} -> ${ufrag(re.sdp)}`);

    // ---- resume ----
    await b.c.drain(100);
    const tokenA = a.joined.resume;
    a.c.close();
    await sleep(500);
    const a2 = await WsClient.open(url, 'ann-again');
    a2.send({ type: 'join', room: 'r1', name: 'ann', resume: tokenA });
    const j2 = await a2.nextType('joined');
    assert(j2.resumed === true && j2.id === a.joined.id, `resume: ${JSON.stringify(j2)}`);
    assert(j2.resume && j2.resume !== tokenA, 'resume: no new token');
    assert(j2.participants.length === 1 && j2.participants[0].id === b.joined.id, `resume: participants ${JSON.stringify(j2.participants)}`);
    checkTurn(j2, 'ann resumed');
    const seen = (await b.c.drain(300)).filter((m) => /participant-(left|joined)/.test(m.type));
    assert(!seen.length, `bob saw ${JSON.stringify(seen)} across ann's resume`);
    run.log(`ok  resume: same id ${j2.id}, new token, bob saw nothing`);

    // A used-up token, another room's, a malformed one: errors, and the socket still joins.
    const bad = await WsClient.open(url, 'eve');
    for (const [tok, room, re2] of [[tokenA, 'r1', /expired/], [j2.resume, 'r2', /another room/], ['nothex!', 'r1', /malformed/]]) {
      bad.send({ type: 'join', room, name: 'eve', resume: tok });
      const e = await bad.error('resume_failed');
      assert(re2.test(e.message) && e.request === 'join', `resume ${tok} in ${room}: ${JSON.stringify(e)}`);
    }
    noCredentials(bad, 'failed resumes');
    bad.send({ type: 'join', room: 'r1', name: 'eve', resumable: true });
    const je = await bad.nextType('joined');
    assert(je.id !== j2.id && !je.resumed, `normal join after failed resumes: ${JSON.stringify(je)}`);
    run.log('ok  used-up, other-room and malformed tokens refused (socket open), a normal join then works');

    // A session that left: its token is expired.
    bad.send({ type: 'leave' });
    await bad.expectClosed();
    const probe = await WsClient.open(url, 'probe');
    probe.send({ type: 'join', room: 'r1', name: 'x', resume: je.resume });
    assert(/expired/.test((await probe.error('resume_failed')).message), 'left session: not expired');

    // ---- no return within the grace period: the others see it leave ----
    await b.c.drain(100);
    const t0 = Date.now();
    a2.close();
    const left = await b.c.next((m) => m.type === 'participant-left' && m.id === j2.id, (GRACE_S + 3) * 1000, 'ann left');
    const ms = Date.now() - t0;
    assert(ms >= GRACE_S * 1000 - 300, `ann removed after ${ms} ms, before the grace period of ${GRACE_S} s`);
    assert(left.reason === 'disconnected', `reason ${left.reason}`);
    probe.send({ type: 'join', room: 'r1', name: 'x', resume: j2.resume });
    assert(/expired/.test((await probe.error('resume_failed')).message), 'after the grace period: not expired');
    run.log(`ok  no return: participant-left after ${ms} ms (grace ${GRACE_S} s), token expired`);
    run.summary = { ...run.summary, graceRemovalMs: ms };
    for (const c of [out, probe, b.c]) c.close(); /* the drain at exit waits for open sockets */
  });
}
