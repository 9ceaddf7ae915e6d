// HTTPS and WSS with the certificate and key from the config, and the Origin allow-list: a
// self-signed certificate made with the openssl CLI; /healthz over HTTPS (curl -k); a WSS client with
// an allowed Origin joins; upgrades with a disallowed or no Origin are refused (raw TLS handshake);
// headless Chromium (--ignore-certificate-errors) opens https://localhost:PORT/ and joins.
// Usage: node tests/e2e/test_wss.mjs <path-to-sfu-binary> <source-dir>
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { Run, assert, expectMedia, expectPeers, poll, steadyMedia } from './harness.mjs';
import {
  WsClient, joinRoom, openJoined, reexecIfNeeded, startServerWithConfig, testConfig,
} from './wsclient.mjs';

const [sfuBin, srcDir] = process.argv.slice(2);
if (!sfuBin || !srcDir) {
  console.error('usage: node test_wss.mjs <sfu-binary> <source-dir>');
  process.exit(2);
}

const run_ = (cmd, args) => new Promise((resolve) => {
  execFile(cmd, args, { timeout: 20000 }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr }));
});

// A hand-written WebSocket upgrade over TLS: returns the server's status line (or how it ended).
function rawUpgrade(port, origin) {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
    let buf = '';
    const done = (r) => { sock.destroy(); resolve(r); };
    sock.setTimeout(5000, () => done('timeout'));
    sock.on('secureConnect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      sock.write(['GET /ws HTTP/1.1', `Host: localhost:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', ...(origin ? [`Origin: ${origin}`] : []), '', ''].join('\r\n'));
    });
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n');
      if (i >= 0) done(buf.slice(0, i));
    });
    sock.on('end', () => done(buf ? buf.split('\r\n')[0] : 'closed without an answer'));
    sock.on('error', (e) => done(`error: ${e.message}`));
  });
}

if (!reexecIfNeeded({ NODE_TLS_REJECT_UNAUTHORIZED: '0' })) {
  const run = new Run('test_wss', 120000);
  await run.main(async () => {
    // stun_urls: handed to the page (docs/deploy.md); nothing listens there, it only has to arrive.
    const { dir, file } = testConfig(srcDir, { stun_urls: 'stun:127.0.0.1:3478' });
    run.extraCleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    const mkcert = async (cn) => {
      const gen = await run_('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
        '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`,
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
      assert(gen.code === 0, `openssl req failed: ${gen.stderr}`);
    };
    await mkcert('localhost');
    const template = fs.readFileSync(file, 'utf8');
    // The config names the page's origin, which holds the port: written once the port is chosen.
    const confFor = (port) => {
      fs.writeFileSync(file, template
        .replace(/^tls_cert =.*$/m, `tls_cert = ${cert}`)
        .replace(/^tls_key =.*$/m, `tls_key = ${key}`)
        .replace(/^allowed_origins =.*$/m, `allowed_origins = https://localhost:${port}`));
      return file;
    };

    const base = await startServerWithConfig(run, sfuBin, srcDir, null, confFor, { tls: true });
    const { port } = run;
    const origin = `https://localhost:${port}`;
    assert(run.serverLines.some((l) => l.includes('listening on https://')), 'start-up log does not say https');

    const curl = await run_('curl', ['-sk', '--max-time', '5', '-w', ' %{http_code}', `https://127.0.0.1:${port}/healthz`]);
    assert(curl.code === 0 && /^ok\s+200$/.test(curl.stdout.trim()), `curl -k /healthz: ${JSON.stringify(curl)}`);
    const page = await run_('curl', ['-sk', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${port}/`]);
    assert(page.stdout === '200', `curl -k / answered ${page.stdout}`);
    const strict = await run_('curl', ['-s', '--max-time', '5', `https://127.0.0.1:${port}/healthz`]);
    assert(strict.code !== 0, 'curl without -k accepted a self-signed certificate?');
    run.log('ok  HTTPS: /healthz and / answer 200 (curl -k); the certificate is the configured self-signed one');
    // TLS only: plain HTTP on the same port gets no HTTP answer, a plain ws:// upgrade does not open.
    const plain = await run_('curl', ['-s', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/healthz`]);
    assert(plain.stdout === '000' || plain.stdout === '', `plain HTTP to the TLS port answered ${plain.stdout}`);
    const plainWs = await WsClient.open(`ws://127.0.0.1:${port}/ws`, 'plain', { headers: { origin } }).then((w) => { w.close(); return 'opened'; },
      (e) => e.message);
    assert(plainWs !== 'opened', 'a plain ws:// WebSocket opened on the TLS port');
    run.log(`ok  TLS only: plain HTTP gets no answer (curl ${plain.stdout || 'nothing'}), plain ws:// does not open`);

    // WSS with the allowed Origin: joins and gets its offer.
    const wssUrl = `wss://127.0.0.1:${port}/ws`;
    const { c, joined, offer } = await joinRoom(wssUrl, 'wss-client', 'x', {}, { headers: { origin } });
    assert(joined.room === 'x' && offer.pc === 'sub', 'WSS join');
    run.log(`ok  WSS client with Origin ${origin} joined (id ${joined.id})`);
    c.close();

    // A WebSocket from another origin cannot even open.
    let refusedOpen = false;
    try {
      const w = await WsClient.open(wssUrl, 'evil', { headers: { origin: 'https://evil.example' } });
      w.close();
    } catch {
      refusedOpen = true;
    }
    assert(refusedOpen, 'a WebSocket with Origin https://evil.example was accepted');

    // The same by hand, status lines: allowed -> 101, in any letter case (origins compare case-insensitively);
    // other origin, other port, http scheme, none -> refused.
    const ok = await rawUpgrade(port, origin);
    assert(/^HTTP\/1\.1 101/.test(ok), `allowed Origin: ${ok}`);
    const upper = await rawUpgrade(port, origin.toUpperCase());
    assert(/^HTTP\/1\.1 101/.test(upper), `allowed Origin in upper case (${origin.toUpperCase()}): ${upper}`);
    run.log(`ok  upgrade with Origin ${origin.toUpperCase()} accepted (case-insensitive)`);
    for (const o of ['https://evil.example', `https://localhost:${port + 1}`, `http://localhost:${port}`,
      `${origin}.evil.example`, null]) {
      const r = await rawUpgrade(port, o);
      assert(!/ 101 /.test(` ${r} `), `Origin ${o}: upgrade accepted (${r})`);
      run.log(`ok  upgrade with Origin ${o ?? '(none)'} refused: ${r}`);
    }

    // Real pages over HTTPS (a secure context): join, and their call survives a certificate reload.
    await run.launchBrowser(['--ignore-certificate-errors']);
    // Both at once: a participant alone for consent_timeout_s is removed by today's server once media starts
    // flowing to it (reported to the lead).
    const [{ p: yan, view: v }, { p: zoe, view: zv }] = await Promise.all([
      openJoined(run, 'yan', `https://localhost:${port}/?room=x&name=yan`),
      openJoined(run, 'zoe', `https://localhost:${port}/?room=x&name=zoe`)]);
    const secure = await yan.page.evaluate(() => window.isSecureContext && location.protocol);
    assert(secure === 'https:', `page not a secure https context: ${secure}`);
    run.log(`ok  Chromium at ${base.replace('127.0.0.1', 'localhost')}/ joined over WSS (id ${v.id})`);
    const ice = await yan.page.evaluate(() => window.__test.pcs.map((pc) => pc.getConfiguration().iceServers));
    assert(ice.length && ice.every((l) => JSON.stringify(l).includes('stun:127.0.0.1:3478')),
      `the page's connections do not use the configured stun_urls: ${JSON.stringify(ice)}`);
    run.log(`ok  the configured iceServers reach the page's connections: ${JSON.stringify(ice[0])}`);
    yan.id = v.id;
    zoe.id = zv.id;
    await Promise.all([expectPeers(yan, [zoe]), expectPeers(zoe, [yan])]);
    await Promise.all([expectMedia(yan, [zoe]), expectMedia(zoe, [yan])]);
    const served = async () => (await run_('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${port} -servername localhost 2>/dev/null | openssl x509 -noout -subject`])).stdout;
    await mkcert('renewed.localhost');
    run.server.kill('SIGHUP');
    await poll('the server to serve the renewed certificate', async () => /renewed\.localhost/.test(await served()), { timeout: 10000 });
    assert(run.serverLines.some((l) => /TLS certificate reloaded/.test(l)), 'no "TLS certificate reloaded" line');
    const rates = await steadyMedia([yan, zoe]);
    run.log(`ok  the WSS call goes on across a certificate reload: ${JSON.stringify(rates)}`);
    const { c: late } = await joinRoom(wssUrl, 'late', 'x', {}, { headers: { origin } });
    late.close();
    run.log('ok  a new WSS client joins with the renewed certificate');
  });
}
