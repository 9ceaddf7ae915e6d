// SIGHUP, over real WebSockets (no browser): what the reload promises to change changes, what needs a
// restart says so.
// - jwt_secret: a token signed with the old secret is refused after the reload, one signed with the new
//   one is accepted (participants already in stay).
// - joins_per_sec_per_ip: from 100 to 1, a burst of joins is then rate_limited.
// - max_websockets_per_ip: from none to 3, a fourth WebSocket is closed with 1008.
// - listen_addr, port, max_message_bytes changed in the file: the reload log line names them as needing a
//   restart, and the server keeps serving where it was.
// Usage: node tests/e2e/test_reload_live.mjs <path-to-sfu-binary> <source-dir>
import fs from 'node:fs';
import { Run, assert, freePort, poll, sleep } from './harness.mjs';
import { WsClient, reexecIfNeeded, sfuToken, startServerWithConfig, writeConfig } from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_reload_live.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}
const S1 = 'first-secret-0123456789abcdef0123456789';
const S2 = 'second-secret-fedcba9876543210fedcba98765';

// The first answer to a join: joined or error (the connection is left open or closed by the server).
async function tryJoin(url, name, room, token) {
  const c = await WsClient.open(url, name);
  c.send({ type: 'join', room, name, token });
  c.first = await c.next((m) => m.type === 'joined' || m.type === 'error', 5000, 'joined or error');
  return c;
}

async function mint(file, room, who) {
  const r = await sfuToken(sfuBin, file, ['--room', room, '--identity', who]);
  assert(r.code === 0, `sfu token: ${r.code} ${r.stderr}`);
  return r.stdout.trim();
}

function setKeys(file, values) {
  let text = fs.readFileSync(file, 'utf8');
  for (const [k, v] of Object.entries(values)) {
    const re = new RegExp(`^${k} =.*$`, 'm');
    assert(re.test(text), `no "${k} =" line`);
    text = text.replace(re, `${k} = ${v}`);
  }
  fs.writeFileSync(file, text);
}

// SIGHUP and wait for the reload's last line; returns the server's lines since.
async function reload(run, what) {
  const from = run.serverLines.length;
  const done = () => run.serverLines.slice(from).some((l) => /SIGHUP: (reloaded|keeping the running config)/.test(l));
  run.server.kill('SIGHUP');
  await poll(`the reload (${what})`, done, { timeout: 5000, interval: 50 });
  await sleep(100);
  return run.serverLines.slice(from);
}

if (!reexecIfNeeded()) {
  const run = new Run('test_reload_live', 90000);
  await run.main(async () => {
    const { dir, file } = writeConfig(srcDir, {
      jwt_secret: S1, joins_per_sec_per_ip: 100, max_websockets_per_ip: 0, level: 'info',
    });
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    await startServerWithConfig(run, sfuBin, srcDir, port, file);
    const url = `ws://127.0.0.1:${port}/ws`;

    // jwt_secret
    const old = await mint(file, 'r', 'ann');
    const a = await tryJoin(url, 'ann', 'r', old);
    assert(a.first.type === 'joined', `ann with a token of the first secret: ${JSON.stringify(a.first)}`);
    setKeys(file, { jwt_secret: S2 });
    let lines = await reload(run, 'jwt_secret');
    assert(lines.some((l) => /SIGHUP: reloaded/.test(l)), `no reload: ${lines.join(' | ')}`);
    const b = await tryJoin(url, 'bob', 'r', await mint(file, 'r', 'bob'));
    assert(b.first.type === 'joined', `bob with a token of the new secret: ${JSON.stringify(b.first)}`);
    const c = await tryJoin(url, 'cid', 'r', old);
    assert(c.first.type === 'error' && c.first.code === 'unauthorized',
      `cid with a token of the old secret: ${JSON.stringify(c.first)}`);
    await sleep(300);
    assert(!a.closeInfo, 'ann (joined before the reload) was disconnected');
    run.log(`ok  jwt_secret reloaded: old-secret token refused (${c.first.message}), new-secret token joins, ann stays`);
    for (const x of [b, c]) x.ws.close();

    // joins_per_sec_per_ip: 100 -> 1
    const tokens = await Promise.all([1, 2, 3, 4].map((i) => mint(file, 'j', `j${i}`)));
    setKeys(file, { joins_per_sec_per_ip: 1 });
    lines = await reload(run, 'joins_per_sec_per_ip');
    assert(lines.some((l) => /SIGHUP: reloaded/.test(l)), `no reload: ${lines.join(' | ')}`);
    await sleep(1100); // a full bucket (1) to start from
    const burst = [];
    for (const [i, t] of tokens.entries()) burst.push(await tryJoin(url, `j${i + 1}`, 'j', t));
    const codes = burst.map((x) => (x.first.type === 'error' ? x.first.code : x.first.type));
    assert(codes[0] === 'joined' && codes.slice(1).includes('rate_limited'),
      `4 joins at 1 per second after the reload: ${codes.join(', ')}`);
    run.log(`ok  joins_per_sec_per_ip reloaded (100 -> 1): ${codes.join(', ')}`);
    for (const x of burst) x.ws.close();

    // max_websockets_per_ip: none -> 3 (what is already open stays)
    setKeys(file, { max_websockets_per_ip: 3, joins_per_sec_per_ip: 100 });
    lines = await reload(run, 'max_websockets_per_ip');
    await sleep(500); // the closes above are seen by the server
    const open = [];
    for (let i = 0; i < 2; i++) open.push(await WsClient.open(url, `w${i}`)); // + ann = 3
    const over = await WsClient.open(url, 'w-over');
    const cl = await Promise.race([over.closed, sleep(5000).then(() => null)]);
    assert(cl && cl.code === 1008, `a fourth WebSocket after the reload: ${JSON.stringify(cl)}`);
    run.log(`ok  max_websockets_per_ip reloaded (none -> 3): the fourth closed ${cl.code} "${cl.reason}"`);
    for (const x of open) x.ws.close();

    // Restart-only settings are named, and nothing moves.
    setKeys(file, { port: port === 8080 ? 8081 : 8080, listen_addr: '127.0.0.1', max_message_bytes: 4096 });
    lines = await reload(run, 'restart-only settings');
    const named = lines.find((l) => /needing a restart/.test(l)) || '';
    assert(/listen_addr/.test(named) && /port/.test(named) && /max_message_bytes/.test(named),
      `the reload did not name listen_addr, port and max_message_bytes: ${lines.join(' | ')}`);
    run.log(`ok  ${named.replace(/^.*SIGHUP/, 'SIGHUP')}`);
    const d = await tryJoin(url, 'dan', 'r', await mint(file, 'r', 'dan'));
    assert(d.first.type === 'joined', `after the reload, on the old port: ${JSON.stringify(d.first)}`);
    run.log('ok  still serving on the port it started on');
  });
}
