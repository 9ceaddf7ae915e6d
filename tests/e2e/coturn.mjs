// Debian's coturn (turnserver) started by a test, for the TURN cases of the browser tests (not a test
// itself). It runs as a child of the test, from the command line only (-n: no config file), with the
// TURN REST scheme (use-auth-secret) the SFU's [turn] secret speaks, plain UDP and TCP listeners on one
// address, a small relay port range, and its log kept for the failure dump. It is stopped by the run's
// cleanup (and killed with the test process if that dies).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { sleep } from './harness.mjs';

function tcpProbe(host, port, ms) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, timeout: ms }, () => { s.destroy(); resolve(); });
    s.on('timeout', () => { s.destroy(); reject(new Error('timeout')); });
    s.on('error', reject);
  });
}

// A TCP port free on `ip` (coturn listens on the same number for UDP too; a clash shows at start).
function freePortOn(ip) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, ip, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function coturnPath() {
  for (const p of ['/usr/bin/turnserver', '/usr/sbin/turnserver']) if (fs.existsSync(p)) return p;
  return null;
}

// Starts coturn listening on `ip` (an address of the root namespace, e.g. a veth's root end).
// Returns {ip, port, urls: {udp, tcp}, lines, stop()}; run.extraCleanups stops it.
export async function startCoturn(run, { ip, secret, realm = 'sfu.test' }) {
  const bin = coturnPath();
  if (!bin) throw new Error('turnserver not found (Debian package coturn: conf/deps.sh test installs it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-coturn-'));
  const port = await freePortOn(ip);
  const relayMin = 40000 + (process.pid % 200) * 100;
  const args = ['-n', `--listening-ip=${ip}`, `--listening-port=${port}`, `--relay-ip=${ip}`,
    `--min-port=${relayMin}`, `--max-port=${relayMin + 99}`, '--use-auth-secret', `--static-auth-secret=${secret}`,
    `--realm=${realm}`, '--no-tls', '--no-dtls', '--no-cli', '--no-rfc5780', '--no-stun-backward-compatibility',
    '--fingerprint', '--log-file=stdout', '--simple-log', `--pidfile=${dir}/pid`, `--userdb=${dir}/db`];
  run.log(`starting coturn: ${bin} ${args.join(' ').replace(secret, '<secret>')}`);
  const proc = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let exited = null;
  proc.on('exit', (code, sig) => { exited = sig ? `signal ${sig}` : `code ${code}`; });
  for (const stream of [proc.stdout, proc.stderr]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        if (lines.length > 2000) lines.splice(0, 1000);
        buf = buf.slice(i + 1);
      }
    });
  }
  const kill = () => { if (!exited) try { proc.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', kill);
  const stop = async () => {
    process.removeListener('exit', kill);
    if (!exited) {
      proc.kill('SIGTERM');
      await Promise.race([once(proc, 'exit'), sleep(3000)]);
      kill();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  run.extraCleanups.push(async () => {
    if (!run.summary.ok) console.error(`\n--- coturn log (tail) ---\n${lines.slice(-40).join('\n')}`);
    await stop();
  });
  const deadline = Date.now() + 10000;
  for (;;) {
    if (exited) throw new Error(`coturn exited (${exited}) at start: ${lines.slice(-10).join(' | ')}`);
    try {
      await tcpProbe(ip, port, 500);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`coturn did not listen on ${ip}:${port} within 10 s (${e.message})`);
      await sleep(100);
    }
  }
  run.log(`coturn listens on ${ip}:${port} (UDP and TCP), relay ports ${relayMin}-${relayMin + 99}`);
  return {
    ip, port, lines, stop,
    urls: { udp: `turn:${ip}:${port}?transport=udp`, tcp: `turn:${ip}:${port}?transport=tcp` },
  };
}

// Init script for pages: every RTCPeerConnection the page makes uses relay candidates only, the way
// a browser behind a firewall that lets nothing but the TURN server through would end up.
export function relayOnlyScript() {
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(config, ...rest) { super({ ...(config || {}), iceTransportPolicy: 'relay' }, ...rest); }
  };
}
