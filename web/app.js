// Browser client of the SFU. Signaling protocol: docs/protocol.md.
//
// Two RTCPeerConnections per participant: "sub" (the server offers, we answer; renegotiated by the
// server whenever tracks come and go) and "pub" (we offer our camera/microphone with `publish`).
// Subscribing never waits for getUserMedia: both start at once.

const t0 = performance.now();

const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const VIDEO = { width: 640, height: 360 };
const JOIN_TIMEOUT_MS = 10000;
const CONNECT_ATTEMPTS = 3; // a WebSocket that never opened is retried (e.g. ERR_NETWORK_CHANGED)
const FRAME_POLL_MS = 100;
const CONNECT_TIMEOUT_MS = 15000; // a pc not connected by then is reported (ICE/DTLS blocked)
// Error codes after which the server closes the connection (docs/protocol.md, "Error codes").
const CLOSING_CODES = new Set(['too_large', 'room_full', 'too_many_rooms', 'unauthorized',
  'transport_failed', 'shutting_down', 'removed', 'internal']);
const ERROR_HINTS = {
  room_full: 'this room is full',
  too_many_rooms: 'the server has too many rooms',
  unauthorized: 'a valid token is needed to join',
  removed: 'you were removed from the room',
  shutting_down: 'the server is shutting down',
  transport_failed: 'the media connection failed',
};

const $ = (id) => document.getElementById(id);
const ui = {
  grid: $('grid'), banner: $('banner'), notice: $('notice'), status: $('status'),
  roomLabel: $('room-label'), form: $('join-form'), formRoom: $('form-room'), formName: $('form-name'),
  formError: $('form-error'), ended: $('ended'), endedTitle: $('ended-title'),
  endedDetail: $('ended-detail'), rejoin: $('rejoin'), controls: $('controls'),
  mic: $('mic'), cam: $('cam'), leave: $('leave'),
};

let session = null; // the current Session (a rejoin makes a new one)

// ---- test hooks -------------------------------------------------------------------------------
const sfu = {
  state: 'idle', // 'idle' | 'joining' | 'joined' | 'left' | 'error'
  id: null,
  room: null,
  name: null,
  t0,
  firstFrameAt: {}, // participant id -> performance.now() when its video first had framesDecoded > 0
  errors: [], // every error shown in the banner
  marks: {}, // first time (performance.now()) of each step: wsOpen, joined, subOffer, subConnected, media...
  log: [], // last signaling messages, for debugging: {t, dir, type, pc, ...}
  async stats() { return session ? session.collectStats() : {}; },
  remoteIds() { return remoteTiles().map((t) => t.dataset.id); },
  names() { return remoteTiles().map((t) => t.dataset.name); },
};
window.sfu = sfu;

function mark(name) {
  if (!(name in sfu.marks)) sfu.marks[name] = Math.round(performance.now());
}

function remoteTiles() { return [...ui.grid.querySelectorAll('.tile.remote')]; }

function setState(state) {
  sfu.state = state;
  ui.status.textContent = state;
  ui.status.dataset.state = state;
  document.body.dataset.state = state;
}

function logMsg(dir, msg) {
  const entry = { t: Math.round(performance.now()), dir, type: msg.type };
  for (const k of ['pc', 'id', 'code', 'message', 'request', 'kind', 'muted', 'reason', 'name', 'room',
    'audio', 'video', 'participants', 'iceServers']) {
    if (msg[k] !== undefined) entry[k] = msg[k];
  }
  if (Array.isArray(msg.iceServers)) entry.iceServers = msg.iceServers.map((x) => ({ urls: x?.urls })); // no credentials
  if (typeof msg.sdp === 'string') entry.sdp = msg.sdp;
  if (msg.type === 'candidate') entry.candidate = msg.candidate;
  sfu.log.push(entry);
  if (sfu.log.length > 300) sfu.log.splice(0, sfu.log.length - 300);
}

// ---- banner (errors) and notices (information) ------------------------------------------------
// Both are lists of dismissable rows; a notice row has a key so that it can be replaced or removed.
function addRow(box, text, key) {
  const row = document.createElement('div');
  row.className = 'row';
  if (key) row.dataset.key = key;
  const span = document.createElement('span');
  span.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'row-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '\u00d7';
  close.onclick = () => { row.remove(); box.hidden = !box.childElementCount; };
  row.append(span, close);
  box.append(row);
  while (box.childElementCount > 4) box.firstElementChild.remove();
  box.hidden = false;
}

function showError(text) {
  sfu.errors.push(text);
  console.error('[sfu]', text);
  addRow(ui.banner, text);
}

function clearErrors() { ui.banner.replaceChildren(); ui.banner.hidden = true; }

function showNotice(key, text) {
  hideNotice(key);
  console.info('[sfu] notice:', text);
  addRow(ui.notice, text, key);
}

function hideNotice(key) {
  for (const row of ui.notice.querySelectorAll('.row')) if (row.dataset.key === key) row.remove();
  ui.notice.hidden = !ui.notice.childElementCount;
}

function clearNotices() { ui.notice.replaceChildren(); ui.notice.hidden = true; }

// ---- helpers ----------------------------------------------------------------------------------
function defaultName() { return `guest-${1000 + Math.floor(Math.random() * 9000)}`; }

function cleanName(name) {
  const chars = [...String(name ?? '').trim()];
  return chars.slice(0, 64).join('');
}

function trackIdToPid(trackId) {
  const m = /^(.*)-(audio|video)$/.exec(trackId || '');
  return m ? m[1] : null;
}

// Parse the m-sections of an SDP: mid -> {kind, pid, active}.
function parseSections(sdp) {
  const out = new Map();
  const parts = sdp.split(/\r?\n(?=m=)/).slice(1);
  parts.forEach((part, index) => {
    const kind = /^m=(\w+)/.exec(part)?.[1];
    const mid = /^a=mid:(\S+)/m.exec(part)?.[1] ?? String(index);
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(part)?.[1] ?? 'sendrecv';
    let pid = null;
    const msid = /^a=msid:(\S+)(?:[ \t]+(\S+))?/m.exec(part);
    if (msid && msid[1] !== '-') pid = msid[1];
    if (!pid && msid?.[2]) pid = trackIdToPid(msid[2]);
    if (!pid) {
      const ssrcMsid = /^a=ssrc:\d+ msid:(\S+)/m.exec(part);
      if (ssrcMsid && ssrcMsid[1] !== '-') pid = ssrcMsid[1];
    }
    const rejected = /^m=\w+ 0 /.test(part);
    out.set(mid, { kind, pid, active: !rejected && (dir === 'sendonly' || dir === 'sendrecv') });
  });
  return out;
}

async function acquireMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream: null, error: new Error('getUserMedia is not available (page must be https or localhost)') };
  }
  const attempts = [{ audio: true, video: VIDEO }, { audio: true }, { video: VIDEO }];
  let error = null;
  for (const constraints of attempts) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints), error: null };
    } catch (e) {
      error = e;
      console.warn('[sfu] getUserMedia', JSON.stringify(constraints), 'failed:', e.name, e.message);
    }
  }
  return { stream: null, error };
}

let soundBlocked = false;
function playMedia(el) {
  const p = el.play();
  if (!p) return;
  p.catch((e) => {
    if (e.name !== 'NotAllowedError' || !el.srcObject || soundBlocked) return;
    soundBlocked = true;
    showNotice('sound', 'The browser blocked sound: click anywhere on the page to enable it');
    document.addEventListener('click', () => {
      soundBlocked = false;
      hideNotice('sound');
      for (const m of ui.grid.querySelectorAll('audio, video')) if (m.srcObject) m.play().catch(() => {});
    }, { once: true });
  });
}

// ---- tiles ------------------------------------------------------------------------------------
function makeTile(id, name, remote) {
  const tile = document.createElement('div');
  tile.className = remote ? 'tile remote' : 'tile local';
  tile.dataset.id = id;
  tile.dataset.name = name;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // sound goes through the <audio> element (autoplay policy is kinder to it)
  const audio = document.createElement('audio');
  audio.autoplay = true;
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  const label = document.createElement('div');
  label.className = 'name';
  const badges = document.createElement('div');
  badges.className = 'badges';
  tile.append(video, audio, avatar, label, badges);
  const t = { tile, video, audio, avatar, label, badges, videoReady: false, onReady: null };
  // Show the avatar until the first frame is there, not a black rectangle.
  video.addEventListener('loadeddata', () => {
    t.videoReady = true;
    if (t.onReady) t.onReady();
  });
  setTileName(t, name, remote);
  return t;
}

function setTileName(t, name, remote) {
  t.tile.dataset.name = name;
  t.label.textContent = remote ? name : `${name} (you)`;
  t.avatar.textContent = ([...name.trim()][0] || '?').toUpperCase();
}

function setBadges(t, list) {
  t.badges.replaceChildren(...list.map((text) => {
    const b = document.createElement('span');
    b.className = text === 'viewer' ? 'badge info' : 'badge';
    b.textContent = text;
    return b;
  }));
}

function setSrc(el, track) {
  const cur = el.srcObject?.getTracks()[0] ?? null;
  if (cur === track) return false;
  el.srcObject = track ? new MediaStream([track]) : null;
  if (track) playMedia(el);
  return true;
}

// ---- session ----------------------------------------------------------------------------------
class Session {
  constructor(room, name, token) {
    this.room = room;
    this.name = name;
    this.token = token || null;
    this.url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.ws = null;
    this.opened = false;
    this.attempts = 0;
    this.ended = false;
    this.joined = false;
    this.id = null;
    this.iceServers = [];
    this.pcs = { sub: null, pub: null };
    this.pending = { sub: [], pub: [] }; // server candidates waiting for a remote description
    this.chains = { sub: Promise.resolve(), pub: Promise.resolve() };
    this.mids = new Map(); // sub mid -> {kind, pid, active} from the last server offer
    this.peers = new Map(); // participant id -> peer
    this.local = null; // local MediaStream, or null for a viewer
    this.localTile = null;
    this.published = false;
    this.pollTimer = 0;
    this.polling = false;
    this.joinTimer = 0;
    this.timers = [];
  }

  get alive() { return session === this && !this.ended; }

  start() {
    setState('joining');
    sfu.id = null;
    sfu.room = this.room;
    sfu.name = this.name;
    ui.roomLabel.textContent = `Room ${this.room}`;
    ui.mic.disabled = true; // until getUserMedia answers
    ui.cam.disabled = true;
    ui.controls.hidden = false;
    document.title = `${this.room} \u2013 SFU`;
    this.connect();
    acquireMedia().then((r) => this.onMedia(r));
  }

  // -- signaling --
  connect() {
    this.attempts += 1;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.fail(`Server unreachable: cannot open ${this.url} (${e.message})`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (!this.alive) return;
      this.opened = true;
      mark('wsOpen');
      const join = { type: 'join', room: this.room, name: this.name };
      if (this.token) join.token = this.token;
      this.send(join);
      this.joinTimer = setTimeout(() => {
        if (this.alive && !this.joined) this.fail('The server did not answer "join" within 10 s');
      }, JOIN_TIMEOUT_MS);
    };
    ws.onmessage = (ev) => {
      if (!this.alive) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn('[sfu] non-JSON message from server:', String(ev.data).slice(0, 200));
        return;
      }
      if (!msg || typeof msg.type !== 'string') return;
      logMsg('in', msg);
      try {
        this.onMessage(msg);
      } catch (e) {
        console.error('[sfu] handling', msg.type, e);
      }
    };
    ws.onclose = (ev) => {
      if (!this.alive) return;
      if (!this.opened && this.attempts < CONNECT_ATTEMPTS) {
        console.warn(`[sfu] WebSocket to ${this.url} failed (attempt ${this.attempts}); retrying`);
        this.timers.push(setTimeout(() => { if (this.alive) this.connect(); }, 300 * this.attempts));
      } else if (!this.opened) {
        this.fail(`Server unreachable: could not connect to ${this.url} (${this.attempts} attempts)`);
      } else {
        const why = ev.reason ? `: ${ev.reason}` : '';
        this.fail(`Connection to the server closed unexpectedly (code ${ev.code}${why})`);
      }
    };
  }

  send(msg) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    logMsg('out', msg);
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  onMessage(msg) {
    switch (msg.type) {
      case 'joined': return this.onJoined(msg);
      case 'offer':
        if (msg.pc !== undefined && msg.pc !== 'sub') {
          console.warn('[sfu] offer for unexpected pc', msg.pc);
          return undefined;
        }
        return this.enqueue('sub', () => this.onSubOffer(msg.sdp));
      case 'answer':
        if (msg.pc !== undefined && msg.pc !== 'pub') {
          console.warn('[sfu] answer for unexpected pc', msg.pc);
          return undefined;
        }
        return this.enqueue('pub', () => this.onPubAnswer(msg.sdp));
      case 'candidate': {
        const name = msg.pc === 'pub' ? 'pub' : 'sub';
        return this.enqueue(name, () => this.onRemoteCandidate(name, msg));
      }
      case 'participant-joined': return this.upsertPeer({ id: msg.id, name: msg.name }, true);
      case 'participant-left': return this.removePeer(msg.id);
      case 'tracks': return this.upsertPeer({ id: msg.id, audio: msg.audio, video: msg.video }, false);
      case 'muted': {
        const key = msg.kind === 'audio' ? 'audioMuted' : msg.kind === 'video' ? 'videoMuted' : null;
        if (key) this.upsertPeer({ id: msg.id, [key]: !!msg.muted }, false);
        return undefined;
      }
      case 'error': return this.onServerError(msg);
      default:
        console.warn('[sfu] unknown message type', msg.type);
        return undefined;
    }
  }

  onJoined(msg) {
    clearTimeout(this.joinTimer);
    this.joined = true;
    mark('joined');
    this.id = msg.id;
    sfu.id = msg.id;
    if (typeof msg.name === 'string' && msg.name) this.name = msg.name;
    if (Array.isArray(msg.iceServers)) this.iceServers = msg.iceServers;
    for (const p of msg.participants || []) this.upsertPeer(p, true);
    setState('joined');
    if (this.localTile) setTileName(this.localTile, this.name, false);
    this.maybePublish();
  }

  onServerError(msg) {
    const code = msg.code || 'error';
    const req = msg.request ? ` (request "${msg.request}")` : '';
    const text = `Server error ${code}: ${msg.message || ERROR_HINTS[code] || 'no message'}${req}`;
    const fatal = CLOSING_CODES.has(code) || (!this.joined && msg.request === 'join');
    if (fatal) {
      this.fail(text, code === 'removed' ? 'Removed from the room' : undefined);
      return;
    }
    showError(text);
    if (msg.request === 'publish' && this.pcs.pub) {
      // The server refused our offer: that pc will never connect. Stay a viewer (no retry loop).
      this.pcs.pub.close();
      this.pcs.pub = null;
      this.pending.pub = [];
    }
  }

  fail(text, title) {
    if (text) showError(text);
    const wasJoined = this.joined;
    this.end();
    setState('error');
    showEnded(title || (wasJoined ? 'Disconnected' : 'Could not join'), text || '');
  }

  leave() {
    if (!this.alive) return;
    this.send({ type: 'leave' });
    this.end();
    setState('left');
    showEnded('You left', `Room ${this.room}`);
  }

  end() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.joinTimer);
    clearInterval(this.pollTimer);
    for (const t of this.timers) clearTimeout(t);
    for (const pc of Object.values(this.pcs)) {
      if (pc) try { pc.close(); } catch { /* already closed */ }
    }
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      try { this.ws.close(1000, 'bye'); } catch { /* ignore */ }
    }
    if (this.local) for (const t of this.local.getTracks()) t.stop();
    for (const el of ui.grid.querySelectorAll('audio, video')) el.srcObject = null;
    ui.grid.replaceChildren();
    ui.controls.hidden = true;
    clearNotices();
  }

  // Operations on one pc run one after another (an offer, then the candidates that follow it...).
  enqueue(name, fn) {
    this.chains[name] = this.chains[name]
      .then(() => (this.alive ? fn() : undefined))
      .catch((e) => {
        if (this.alive) showError(`Negotiation of the ${name === 'sub' ? 'receiving' : 'sending'} connection failed: ${e.name || 'Error'}: ${e.message}`);
      });
    return undefined;
  }

  makePc(name) {
    const config = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    if (this.iceServers.length) config.iceServers = this.iceServers;
    const pc = new RTCPeerConnection(config);
    pc.onicecandidate = (ev) => {
      if (!this.alive) return;
      const c = ev.candidate;
      const msg = { type: 'candidate', pc: name, candidate: c ? c.candidate : null };
      if (c && c.sdpMid != null) msg.sdpMid = c.sdpMid;
      this.send(msg);
    };
    const label = name === 'sub' ? 'receiving' : 'sending';
    let connected = false;
    let reported = false;
    pc.onconnectionstatechange = () => {
      if (!this.alive) return;
      console.info(`[sfu] ${name} connectionState ${pc.connectionState}`);
      if (pc.connectionState === 'connected') {
        connected = true;
        mark(`${name}Connected`);
      }
      if (pc.connectionState === 'failed' && !reported) {
        reported = true;
        showError(connected
          ? `Media connection (${label}) lost: ICE/DTLS failed`
          : `Media connection (${label}) failed: ICE/DTLS could not be established`);
      }
    };
    this.timers.push(setTimeout(() => {
      if (!this.alive || connected || reported || pc.connectionState === 'closed') return;
      reported = true;
      showError(`Media connection (${label}) not established after ${CONNECT_TIMEOUT_MS / 1000} s `
        + `(ICE ${pc.iceConnectionState}, state ${pc.connectionState}): UDP to the server blocked?`);
    }, CONNECT_TIMEOUT_MS));
    pc.oniceconnectionstatechange = () => {
      if (this.alive) console.info(`[sfu] ${name} iceConnectionState ${pc.iceConnectionState}`);
    };
    if (name === 'sub') pc.ontrack = (ev) => this.onTrack(ev);
    return pc;
  }

  async onRemoteCandidate(name, msg) {
    const pc = this.pcs[name];
    if (!pc || !pc.remoteDescription) {
      this.pending[name].push(msg);
      return;
    }
    await this.applyCandidate(pc, msg);
  }

  async flushCandidates(name) {
    const list = this.pending[name].splice(0);
    for (const msg of list) await this.applyCandidate(this.pcs[name], msg);
  }

  async applyCandidate(pc, msg) {
    let c = msg.candidate;
    try {
      if (c == null || c === '') {
        await pc.addIceCandidate(); // end of candidates
        return;
      }
      c = String(c).replace(/^a=/, '');
      const init = { candidate: c };
      if (msg.sdpMid != null) init.sdpMid = String(msg.sdpMid);
      else init.sdpMLineIndex = msg.sdpMLineIndex ?? 0;
      await pc.addIceCandidate(init);
    } catch (e) {
      console.warn('[sfu] addIceCandidate failed:', e.message, JSON.stringify(msg));
    }
  }

  // -- sub: the server offers, we answer --
  async onSubOffer(sdp) {
    if (typeof sdp !== 'string') throw new Error('offer without sdp');
    mark('subOffer');
    if (!this.pcs.sub) this.pcs.sub = this.makePc('sub');
    const pc = this.pcs.sub;
    this.mids = parseSections(sdp);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await this.flushCandidates('sub');
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.send({ type: 'answer', pc: 'sub', sdp: pc.localDescription.sdp });
    mark('subAnswer');
    this.reconcile();
    this.startFramePolling();
  }

  onTrack(ev) {
    if (!this.alive) return;
    mark('firstTrack');
    const mid = ev.transceiver?.mid;
    const pid = ev.streams[0]?.id || this.mids.get(mid)?.pid || trackIdToPid(ev.track.id);
    this.attach(pid, ev.track, mid);
  }

  // After each sub negotiation: attach active tracks, drop the ones whose section went inactive.
  reconcile() {
    const pc = this.pcs.sub;
    if (!pc) return;
    for (const tr of pc.getTransceivers()) {
      const info = this.mids.get(tr.mid);
      const inactive = tr.stopped || tr.currentDirection === 'inactive' || tr.currentDirection === 'stopped'
        || (info && !info.active);
      if (inactive) this.detachMid(tr.mid);
      else if (info?.pid && tr.receiver.track) this.attach(info.pid, tr.receiver.track, tr.mid);
    }
  }

  attach(pid, track, mid) {
    if (!pid || pid === this.id || !track) return;
    let p = this.peers.get(pid);
    if (!p) p = this.upsertPeer({ id: pid }, false);
    const key = mid ?? track.id;
    if (p.tracks.get(key) === track) return;
    p.tracks.set(key, track);
    track.addEventListener('ended', () => {
      if (p.tracks.get(key) === track) {
        p.tracks.delete(key);
        this.renderPeer(p);
      }
    });
    this.renderPeer(p);
  }

  detachMid(mid) {
    for (const p of this.peers.values()) {
      if (!p.tracks.delete(mid)) continue;
      if (!p.known && p.tracks.size === 0) this.removePeer(p.id);
      else this.renderPeer(p);
    }
  }

  // -- participants --
  upsertPeer(info, known) {
    if (!info || !info.id || info.id === this.id) return null;
    let p = this.peers.get(info.id);
    if (!p) {
      p = { id: info.id, name: '', known: false, audio: undefined, video: undefined,
        audioMuted: false, videoMuted: false, tracks: new Map(), el: null };
      this.peers.set(p.id, p);
    }
    if (known) p.known = true;
    for (const k of ['name', 'audio', 'video', 'audioMuted', 'videoMuted']) {
      if (info[k] !== undefined && info[k] !== null) p[k] = info[k];
    }
    if (!p.el) {
      p.el = makeTile(p.id, p.name || '\u2026', true);
      ui.grid.append(p.el.tile);
    } else if (p.name && p.el.tile.dataset.name !== p.name) {
      setTileName(p.el, p.name, true);
    }
    this.renderPeer(p);
    return p;
  }

  removePeer(id) {
    const p = this.peers.get(id);
    if (!p) return;
    this.peers.delete(id);
    if (p.el) {
      p.el.video.srcObject = null;
      p.el.audio.srcObject = null;
      p.el.tile.remove();
    }
  }

  renderPeer(p) {
    if (!p.el) return;
    const live = (kind) => {
      let last = null;
      for (const t of p.tracks.values()) if (t.kind === kind && t.readyState === 'live') last = t;
      return last;
    };
    const vt = live('video');
    const at = live('audio');
    if (setSrc(p.el.video, vt)) p.el.videoReady = false;
    setSrc(p.el.audio, at);
    p.el.onReady = () => this.renderPeer(p);
    const hasVideo = p.video ?? !!vt;
    const hasAudio = p.audio ?? !!at;
    const showVideo = !!vt && p.el.videoReady && hasVideo !== false && !p.videoMuted;
    p.el.tile.classList.toggle('no-video', !showVideo);
    const badges = [];
    if (!hasVideo && !hasAudio) badges.push('viewer');
    else {
      if (p.videoMuted) badges.push('camera off');
      else if (!hasVideo) badges.push('no camera');
      if (p.audioMuted) badges.push('muted');
      else if (!hasAudio) badges.push('no mic');
    }
    setBadges(p.el, badges);
  }

  // -- stats --
  async collectStats() {
    const out = {};
    const blank = (p) => ({ name: p?.name ?? '', framesDecoded: 0, videoBytesReceived: 0,
      audioBytesReceived: 0, totalSamplesReceived: 0, packetsLost: 0,
      frameWidth: 0, frameHeight: 0, framesPerSecond: 0 });
    for (const p of this.peers.values()) out[p.id] = blank(p);
    const pc = this.pcs.sub;
    if (!pc || pc.signalingState === 'closed') return out;
    const midToPid = new Map();
    const trackToPid = new Map();
    for (const tr of pc.getTransceivers()) {
      const info = this.mids.get(tr.mid);
      if (!info?.pid || !info.active) continue;
      midToPid.set(tr.mid, info.pid);
      if (tr.receiver.track) trackToPid.set(tr.receiver.track.id, info.pid);
    }
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const pid = (s.mid != null ? midToPid.get(s.mid) : undefined) ?? trackToPid.get(s.trackIdentifier);
      if (!pid) return;
      const o = out[pid] ?? (out[pid] = blank(this.peers.get(pid)));
      o.packetsLost += s.packetsLost || 0;
      if (s.kind === 'video') {
        o.framesDecoded += s.framesDecoded || 0;
        o.videoBytesReceived += s.bytesReceived || 0;
        o.frameWidth = s.frameWidth || o.frameWidth;
        o.frameHeight = s.frameHeight || o.frameHeight;
        o.framesPerSecond = s.framesPerSecond || o.framesPerSecond;
      } else if (s.kind === 'audio') {
        o.audioBytesReceived += s.bytesReceived || 0;
        o.totalSamplesReceived += s.totalSamplesReceived || 0;
      }
    });
    return out;
  }

  startFramePolling() {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(async () => {
      if (!this.alive || this.polling) return;
      const waiting = [...this.peers.values()].some((p) => !(p.id in sfu.firstFrameAt)
        && [...p.tracks.values()].some((t) => t.kind === 'video'));
      if (!waiting) return;
      this.polling = true;
      try {
        const stats = await this.collectStats();
        const now = performance.now();
        for (const [pid, s] of Object.entries(stats)) {
          if (s.framesDecoded > 0 && !(pid in sfu.firstFrameAt)) {
            sfu.firstFrameAt[pid] = now;
            if (!('firstFrame' in sfu.marks)) sfu.marks.firstFrame = Math.round(now);
          }
        }
      } catch (e) {
        console.warn('[sfu] getStats failed', e);
      } finally {
        this.polling = false;
      }
    }, FRAME_POLL_MS);
  }

  // -- pub: we offer our camera/microphone --
  onMedia({ stream, error }) {
    mark('media');
    if (!this.alive) {
      if (stream) for (const t of stream.getTracks()) t.stop();
      return;
    }
    const hasA = !!stream?.getAudioTracks().length;
    const hasV = !!stream?.getVideoTracks().length;
    if (!stream) {
      const why = error ? ` (${error.name || 'Error'}: ${error.message})` : '';
      console.warn('[sfu] no local media' + why);
      showNotice('media', 'No camera/microphone: joined as a viewer');
    } else if (!hasV) {
      showNotice('media', 'No camera: joined with microphone only');
    } else if (!hasA) {
      showNotice('media', 'No microphone: joined with camera only');
    }
    this.local = stream;
    this.localTile = makeTile('local', this.name, false);
    this.localTile.tile.classList.toggle('no-video', !hasV);
    if (hasV) setSrc(this.localTile.video, stream.getVideoTracks()[0]);
    setBadges(this.localTile, stream ? [] : ['viewer']);
    ui.grid.prepend(this.localTile.tile);
    ui.mic.disabled = !hasA;
    ui.cam.disabled = !hasV;
    updateControls();
    ui.controls.hidden = false;
    this.maybePublish();
  }

  maybePublish() {
    if (!this.joined || !this.local || this.published || !this.local.getTracks().length) return;
    this.published = true;
    this.enqueue('pub', async () => {
      const pc = this.pcs.pub = this.makePc('pub');
      for (const track of this.local.getTracks()) {
        pc.addTransceiver(track, { direction: 'sendonly', streams: [this.local] });
      }
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      this.send({ type: 'publish', sdp: pc.localDescription.sdp });
      mark('publish');
      for (const t of this.local.getTracks()) {
        if (!t.enabled) this.send({ type: 'mute', kind: t.kind, muted: true });
      }
    });
  }

  async onPubAnswer(sdp) {
    const pc = this.pcs.pub;
    if (!pc) {
      console.warn('[sfu] answer for pub but nothing was published');
      return;
    }
    if (typeof sdp !== 'string') throw new Error('answer without sdp');
    mark('pubAnswer');
    await pc.setRemoteDescription({ type: 'answer', sdp });
    await this.flushCandidates('pub');
  }

  toggle(kind) {
    const track = kind === 'audio' ? this.local?.getAudioTracks()[0] : this.local?.getVideoTracks()[0];
    if (!track || !this.alive) return;
    track.enabled = !track.enabled;
    if (this.published) this.send({ type: 'mute', kind, muted: !track.enabled });
    if (kind === 'video' && this.localTile) this.localTile.tile.classList.toggle('no-video', !track.enabled);
    updateControls();
  }
}

// ---- page -------------------------------------------------------------------------------------
function updateControls() {
  const a = session?.local?.getAudioTracks()[0];
  const v = session?.local?.getVideoTracks()[0];
  const micOff = !a || !a.enabled;
  const camOff = !v || !v.enabled;
  ui.mic.textContent = !a ? 'No mic' : micOff ? 'Unmute mic' : 'Mute mic';
  ui.cam.textContent = !v ? 'No camera' : camOff ? 'Start camera' : 'Stop camera';
  ui.mic.setAttribute('aria-pressed', String(!!a && micOff));
  ui.cam.setAttribute('aria-pressed', String(!!v && camOff));
  if (session?.localTile) {
    const badges = [];
    if (!session.local) badges.push('viewer');
    if (v && camOff) badges.push('camera off');
    if (a && micOff) badges.push('muted');
    setBadges(session.localTile, badges);
  }
}

function showEnded(title, detail) {
  ui.endedTitle.textContent = title;
  ui.endedDetail.textContent = detail;
  ui.ended.hidden = false;
  ui.rejoin.focus();
}

function join(room, name, token = new URLSearchParams(location.search).get('token')) {
  ui.form.hidden = true;
  ui.ended.hidden = true;
  clearNotices();
  clearErrors();
  if (session) session.end();
  session = new Session(room, name, token);
  session.start();
}

function showForm(room, name, error) {
  setState('idle');
  ui.form.hidden = false;
  ui.formRoom.value = room || '';
  ui.formName.value = name || defaultName();
  ui.formError.textContent = error || '';
  ui.formError.hidden = !error;
  (room ? ui.formName : ui.formRoom).focus();
}

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = ui.formRoom.value.trim();
  const name = cleanName(ui.formName.value) || defaultName();
  if (!ROOM_RE.test(room)) {
    ui.formError.textContent = 'Room: 1 to 64 characters among letters, digits, "_", "." and "-"';
    ui.formError.hidden = false;
    return;
  }
  const params = new URLSearchParams(location.search);
  params.set('room', room);
  params.set('name', name);
  history.replaceState(null, '', `${location.pathname}?${params}`);
  join(room, name);
});

ui.mic.addEventListener('click', () => session?.toggle('audio'));
ui.cam.addEventListener('click', () => session?.toggle('video'));
ui.leave.addEventListener('click', () => session?.leave());
ui.rejoin.addEventListener('click', () => {
  if (session) join(session.room, session.name, session.token);
  else showForm('', '');
});
{
  const params = new URLSearchParams(location.search);
  const room = params.get('room');
  const name = cleanName(params.get('name')) || defaultName();
  if (room && ROOM_RE.test(room)) join(room, name);
  else showForm(room, params.get('name') ? name : '', room ? `Invalid room name "${room}"` : '');
}
