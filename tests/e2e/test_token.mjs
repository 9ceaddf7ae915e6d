// Access tokens end to end: a server with jwt_secret; `sfu token` mints; joins without a token, with
// another room's token, an expired or a tampered one are refused (unauthorized, closed); a valid one
// joins; a --no-publish token cannot publish (forbidden, stays open); a --no-subscribe token gets no
// subscriber sections; and a headless Chromium page opened with ?token= joins.
// Usage: node tests/e2e/test_token.mjs <path-to-sfu-binary> <source-dir>
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Run, assert, poll, sleep, view } from './harness.mjs';
import {
  WsClient, fakeAnswer, joinRoom, openJoined, reexecIfNeeded, sfuToken, startServerWithConfig, writeConfig,
} from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_token.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const FP = Array.from({ length: 32 }, () => 'EF').join(':');
const OPUS_OFFER = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx', `a=fingerprint:sha-256 ${FP}`, 'a=setup:actpass', 'a=rtcp-mux',
  'a=sendonly', 'a=rtpmap:111 opus/48000/2', 'a=ssrc:3333 cname:x', ''].join('\r\n');
const sections = (sdp) => sdp.split('\nm=').length - 1;

if (!reexecIfNeeded()) {
  const run = new Run('test_token', 150000);
  await run.main(async () => {
    const secret = crypto.randomBytes(32).toString('hex');
    const { dir, file } = writeConfig(srcDir, { jwt_secret: secret });
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));

    // The command line.
    const mint = async (...args) => {
      const r = await sfuToken(sfuBin, file, args);
      assert(r.code === 0, `sfu token ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      const lines = r.stdout.split('\n').filter(Boolean);
      assert(lines.length === 1 && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(lines[0]), `stdout is not one token: ${r.stdout}`);
      return { token: lines[0], stderr: r.stderr };
    };
    const { token: annToken, stderr: hint } = await mint('--room', 'r1', '--identity', 'ann');
    assert(hint.includes(`join URL: http://HOST:PORT/?room=r1&name=ann&token=${annToken}`), `no join URL hint: ${hint}`);
    const usage = await sfuToken(sfuBin, file, ['--room', 'r1']);
    assert(usage.code === 64 && usage.stdout === '' && /identity/.test(usage.stderr), `usage error: ${JSON.stringify(usage)}`);
    const noSecret = await sfuToken(sfuBin, path.join(srcDir, 'conf', 'sfu.conf'), ['--room', 'r1', '--identity', 'ann']);
    assert(noSecret.code === 78 && noSecret.stdout === '', `no secret: ${JSON.stringify(noSecret)}`);
    const badConf = await sfuToken(sfuBin, path.join(dir, 'missing.conf'), ['--room', 'r1', '--identity', 'ann']);
    assert(badConf.code === 78, `missing config file: exit ${badConf.code}`);
    run.log('ok  sfu token: mints (one line on stdout, join URL hint on stderr), 64 on bad usage, 78 without a secret');

    const base = await startServerWithConfig(run, sfuBin, srcDir, null, file);
    const { port } = run;
    const url = `ws://127.0.0.1:${port}/ws`;
    assert(!run.serverLines.some((l) => /rooms are open/.test(l)), 'the server says rooms are open despite jwt_secret');

    const refused = async (what, room, token, reason) => {
      const c = await WsClient.open(url, what);
      c.send({ type: 'join', room, name: 'eve', ...(token === undefined ? {} : { token }) });
      const e = await c.error('unauthorized');
      assert(reason.test(e.message), `${what}: message "${e.message}" does not match ${reason}`);
      const cl = await c.expectClosed();
      run.log(`ok  ${what.padEnd(36)} -> unauthorized (${e.message}); closed ${cl.code}`);
    };
    const { token: expired } = await mint('--room', 'r1', '--identity', 'ann', '--ttl', '0');
    const { token: other } = await mint('--room', 'r2', '--identity', 'ann');
    await refused('join without a token', 'r1', undefined, /missing token/);
    await refused('join with an empty token', 'r1', '', /missing token/);
    await refused('token for another room', 'r1', other, /another room/);
    await refused('expired token', 'r1', expired, /expired/);
    const [h, p, s] = annToken.split('.');
    const forged = JSON.parse(Buffer.from(p, 'base64url').toString());
    forged.room = 'r2';
    await refused('payload changed (room r2)', 'r2', `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}`,
      /signature/);
    await refused('signature changed', 'r1', `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`, /signature/);
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    await refused('alg none, no signature', 'r1', `${none}.${p}.`, /malformed|alg/);
    await refused('alg none, the HS256 signature', 'r1', `${none}.${p}.${s}`, /algorithm "none"/);
    await refused('garbage', 'r1', 'not-a-token', /malformed/);

    // Valid tokens.
    const { c: ann } = await joinRoom(url, 'ann', 'r1', { token: annToken });
    ann.send({ type: 'publish', sdp: OPUS_OFFER });
    const ans = await ann.next((m) => m.type === 'answer' || m.type === 'error', 5000, 'publish answer');
    assert(ans.type === 'answer', `ann may publish: ${JSON.stringify(ans)}`);
    run.log('ok  valid token -> joined; publishes');
    assert(run.serverLines.some((l) => /joined from .* as identity "ann" \(publish yes, subscribe yes\)/.test(l)),
      'the server log does not name the identity');

    const { token: viewerToken } = await mint('--room', 'r1', '--identity', 'vic', '--no-publish');
    const { c: vic, offer: vicOffer } = await joinRoom(url, 'vic', 'r1', { token: viewerToken });
    assert(sections(vicOffer.sdp) === 3, `vic (may subscribe) should get probe + data + ann's audio: ${sections(vicOffer.sdp)} sections`);
    vic.send({ type: 'publish', sdp: OPUS_OFFER.replace('3333', '4444') });
    const fe = await vic.error('forbidden');
    await vic.sync().catch((e) => { throw new Error(`vic: closed after forbidden (protocol.md: stays open): ${e.message}`); });
    run.log(`ok  --no-publish token: publish -> forbidden (${fe.message}); stays open`);

    const { token: blindToken } = await mint('--room', 'r1', '--identity', 'bo', '--no-subscribe');
    const { c: bo, offer: boOffer } = await joinRoom(url, 'bo', 'r1', { token: blindToken });
    // no media, but the chat's data section like everyone
    assert(sections(boOffer.sdp) === 2 && /a=mid:probe/.test(boOffer.sdp) && /a=mid:data/.test(boOffer.sdp),
      `bo (no subscribe) got ${sections(boOffer.sdp)} sections`);
    // Another publisher arrives: bo gets no new offer, vic does.
    const { token: zedToken } = await mint('--room', 'r1', '--identity', 'zed');
    const { c: zed } = await joinRoom(url, 'zed', 'r1', { token: zedToken });
    zed.send({ type: 'publish', sdp: OPUS_OFFER.replace('3333', '5555') });
    await zed.nextType('answer');
    // One offer in flight (docs/protocol.md): vic has not answered its first offer, so zed's track waits;
    // once vic answers, the next offer carries it.
    const vicSaw = await vic.sync();
    assert(!vicSaw.some((m) => m.type === 'offer'), `vic got a second offer before answering the first: ${JSON.stringify(vicSaw.map((m) => m.type))}`);
    vic.send({ type: 'answer', pc: 'sub', sdp: fakeAnswer(vicOffer.sdp) });
    const folded = await vic.next((m) => m.type === 'offer', 5000, 'the offer after its answer');
    assert(sections(folded.sdp) === 4 && folded.sdp.includes('a=ssrc:5555') === false
      && /a=msid:p\d+ /.test(folded.sdp), `vic's next offer: ${sections(folded.sdp)} sections (want probe + data + ann + zed)`);
    run.log('ok  one offer in flight: zed\'s track reached vic in the offer after vic\'s answer');
    const boSaw = await bo.sync();
    assert(!boSaw.some((m) => m.type === 'offer'), `bo got an offer: ${JSON.stringify(boSaw.map((m) => m.type))}`);
    assert(boSaw.some((m) => m.type === 'tracks'), 'bo was not told about zed\'s tracks');
    run.log('ok  --no-subscribe token: offer stays the probe only; no renegotiation for new publishers');
    for (const c of [ann, vic, bo, zed]) c.close();

    // The page passes ?token= in its join.
    await run.launchBrowser();
    const { token: pageToken } = await mint('--room', 'r1', '--identity', 'ann');
    const { view: v } = await openJoined(run, 'ann', `${base}/?room=r1&name=ann&token=${pageToken}`);
    run.log(`ok  the page joined r1 with ?token= (id ${v.id})`);
    // And without one it shows the refusal.
    let bv;
    for (let attempt = 1; attempt <= 6; attempt++) {
      const bad = await run.open('nobody', `${base}/?room=r1&name=nobody`);
      bv = await poll('the page without a token to show the refusal', async () => {
        const st = await view(bad);
        return st.errors.length ? st : { ok: false, detail: st };
      }, { timeout: 15000 });
      if (!/ERR_NETWORK_CHANGED/.test(bad.console.text()) || attempt === 6) break;
      run.log('nobody: the network changed under Chromium (ERR_NETWORK_CHANGED); retrying');
      await sleep(1000 * attempt);
    }
    assert(bv.errors.some((e) => /token/i.test(e)), `page errors do not mention the token: ${JSON.stringify(bv.errors)}`);
    run.log(`ok  the page without a token shows: ${bv.errors[0]}`);
  });
}
