// sfu-client.js: the SFU's signaling protocol (docs/protocol.md) as an ES module with no DOM and no
// build step, for the bundled page (app.js) and for any other page that wants to drive the server.
//
//   import { SfuClient } from './sfu-client.js';
//   const client = new SfuClient();                       // ws(s)://<this host>/ws by default
//   client.addEventListener('track', (e) => {             // a remote track came or went
//     const { participant, track, source, change } = e.detail;
//     if (change === 'added' && track.kind === 'video') videoEl.srcObject = new MediaStream([track]);
//   });
//   client.addEventListener('chat', (e) => console.log(e.detail.from.name, e.detail.text));
//   await client.join('demo', 'ann');                     // resolves on "joined"; subscribing starts at once
//   const cam = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
//   for (const t of cam.getTracks()) client.publish(t, { source: t.kind === 'audio' ? 'microphone' : 'camera' });
//   client.setMuted('microphone', true);
//   client.sendChat('hello');                             // over the "chat" data channel
//   client.leave();
//
// Events (CustomEvent, the payload in .detail):
//   state        {state}  'connecting' | 'joined' | 'reconnecting' | 'left' | 'error'
//                'reconnecting': the WebSocket dropped; the client comes back as the same participant
//                (session resume) if it can within the server's grace period, else ends in 'error'.
//   joined       {id, name, room}
//   participant  {participant, change: 'joined' | 'updated' | 'left', reason?}
//                participant = {id, name, tracks: [{id, kind, source, muted}], audio, video, audioMuted, videoMuted}
//   track        {participant (id), track (MediaStreamTrack), mid, kind, source, change: 'added' | 'removed'}
//   speaker      {dominant (id or null), active: [{id, level}]}  level 0 silent .. 127 loudest
//   chat         {from: {id, name}, time (ms since the epoch), text}
//   reaction     {from: {id, name}, time, emoji}
//   chatstate    {state}  'unavailable' | 'connecting' | 'open' | 'closed'
//   error        {code, message, request?, fatal}  fatal: the session is over
//   connection   {pc: 'sub' | 'pub', state}  the RTCPeerConnection's connectionState; a connection
//                "disconnected" for 2.5 s or "failed" restarts ICE by itself (also: client.restartIce(pc))
//   videopaused  {track, participant, paused, reason}  the server paused a video to us (bandwidth)
//   mark         {name}  a step of the join (wsOpen, joined, subOffer, subConnected, publish, ...)
// The protocol of this wave is spoken with fallbacks for the previous one (audio/video booleans
// instead of track lists), so the page keeps working with either server.

const JOIN_TIMEOUT_MS = 10000;
const CONNECT_ATTEMPTS = 3; // a WebSocket that never opened is retried (e.g. ERR_NETWORK_CHANGED)
const CONNECT_TIMEOUT_MS = 15000; // a pc not connected by then is reported (ICE/DTLS blocked)
const CHAT_QUEUE_MAX = 50; // messages written before the channel opened
// Reaching everyone (docs/protocol.md, "Session resume and ICE restart").
const ICE_RESTART_AFTER_MS = 2500; // "disconnected" this long restarts ICE ("failed": at once)
const ICE_RESTART_GAP_MS = 4000;
const ICE_RESTARTS_MAX = 5; // in a row without getting connected; then the failure is reported
const RESUME_BACKOFF_MS = [250, 500, 1000, 2000, 3000];
// Error codes after which the server closes the connection (docs/protocol.md, "Error codes").
export const CLOSING_CODES = new Set(['too_large', 'room_full', 'too_many_rooms', 'unauthorized',
  'transport_failed', 'shutting_down', 'removed', 'internal', 'replaced']);
export const SOURCES = ['camera', 'microphone', 'screen', 'screen-audio'];

function defaultSource(kind) { return kind === 'audio' ? 'microphone' : 'camera'; }

// Track ids are "<participant id>-<n>" (and were "<participant id>-audio|video").
// Camera encodings: rids as docs/protocol.md names them, about 150 kbit/s, 500 kbit/s and 1.5 Mbit/s.
const SIMULCAST_ENCODINGS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: 'f', maxBitrate: 1500000 },
];

export function trackIdToPid(trackId) {
  const m = /^(.*)-(\d+|audio|video)$/.exec(trackId || '');
  return m ? m[1] : null;
}

// The m-sections of an SDP: mid -> {kind, pid, trackId, active}; and whether it has a data section.
export function parseSections(sdp) {
  const mids = new Map();
  let data = false;
  const parts = sdp.split(/\r?\n(?=m=)/).slice(1);
  parts.forEach((part, index) => {
    const kind = /^m=(\w+)/.exec(part)?.[1];
    const mid = /^a=mid:(\S+)/m.exec(part)?.[1] ?? String(index);
    const rejected = /^m=\w+ 0 /.test(part);
    if (kind === 'application') {
      if (!rejected && /webrtc-datachannel/.test(part)) data = true;
      return;
    }
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(part)?.[1] ?? 'sendrecv';
    let pid = null;
    let trackId = null;
    const msid = /^a=msid:(\S+)(?:[ \t]+(\S+))?/m.exec(part) || /^a=ssrc:\d+ msid:(\S+)(?:[ \t]+(\S+))?/m.exec(part);
    if (msid) {
      if (msid[1] !== '-') pid = msid[1];
      trackId = msid[2] ?? null;
      if (!pid) pid = trackIdToPid(trackId);
    }
    mids.set(mid, { kind, pid, trackId, active: !rejected && (dir === 'sendonly' || dir === 'sendrecv') });
  });
  return { mids, data };
}

// A participant as the server describes it, in one shape for both protocol versions.
function normalizeTracks(pid, info, prev) {
  if (Array.isArray(info.tracks)) {
    return info.tracks.filter((t) => t && typeof t.id === 'string')
      .map((t) => ({ id: t.id, kind: t.kind, source: t.source || defaultSource(t.kind), muted: !!t.muted }));
  }
  if (info.audio === undefined && info.video === undefined && info.audioMuted === undefined
    && info.videoMuted === undefined) return prev;
  // previous protocol: booleans; the track ids were "<pid>-audio" / "<pid>-video"
  const list = [];
  const old = (kind) => prev.find((t) => t.kind === kind && t.source === defaultSource(kind));
  const has = { audio: info.audio ?? !!old('audio'), video: info.video ?? !!old('video') };
  const muted = { audio: info.audioMuted ?? old('audio')?.muted ?? false,
    video: info.videoMuted ?? old('video')?.muted ?? false };
  for (const kind of ['audio', 'video']) {
    if (has[kind]) list.push({ id: `${pid}-${kind}`, kind, source: defaultSource(kind), muted: !!muted[kind] });
  }
  return list;
}

function summary(p) {
  const mic = p.tracks.find((t) => t.source === 'microphone');
  const cam = p.tracks.find((t) => t.source === 'camera');
  p.audio = !!mic;
  p.video = !!cam;
  p.audioMuted = !!mic?.muted;
  p.videoMuted = !!cam?.muted;
  p.screen = p.tracks.some((t) => t.source === 'screen');
  return p;
}

export class SfuClient extends EventTarget {
  // options: url (default ws(s)://<location.host>/ws), iceServers (added to the server's), log (an
  // array that receives the last signaling messages, for debugging)
  constructor(options = {}) {
    super();
    const loc = globalThis.location;
    this.url = options.url || `${loc?.protocol === 'https:' ? 'wss' : 'ws'}://${loc?.host}/ws`;
    this.extraIce = options.iceServers || [];
    this.logTo = options.log || null;
    this.opts = { simulcast: options.simulcast !== false };
    this.state = 'idle';
    this.id = null;
    this.room = null;
    this.name = null;
    this.token = null;
    this.participants = new Map(); // id -> participant (others only)
    this.departed = new Set(); // ids that left: late tracks of theirs are ignored
    this.remote = new Map(); // sub mid -> {pid, track, kind, trackId, source}
    this.mids = new Map();
    this.pcs = { sub: null, pub: null };
    this.pending = { sub: [], pub: [] }; // server candidates waiting for a remote description
    this.chains = { sub: Promise.resolve(), pub: Promise.resolve() };
    this.local = new Map(); // source -> {track, transceiver, muted}
    this.streams = {}; // the MediaStream ids our sections carry, per group of sources
    this.pubDirty = false;
    this.pubBusy = false;
    this.iceServers = [];
    this.ws = null;
    this.attempts = 0;
    this.opened = false;
    this.joined = false;
    this.ended = false;
    this.timers = [];
    this.joinTimer = 0;
    this.dc = null;
    this.chatState = 'unavailable';
    this.chatQueue = [];
    this.speaker = { dominant: null, active: [] };
    this.paused = new Map(); // track id -> reason, videos the server paused for us
    this.features = { tracks: false, chat: false };
    this.resume = null; // token from joined: after a drop we come back as the same participant
    this.graceMs = 0;
    this.droppedAt = 0; // performance.now() when the WebSocket dropped; 0 = not dropped
    this.ice = { sub: { timer: 0, last: 0, tries: 0 }, pub: { timer: 0, last: 0, tries: 0 } };
    this.pubIceRestart = false; // the next pub offer restarts ICE
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  mark(name) { this.emit('mark', { name }); }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', { state });
  }

  // ---- session ----------------------------------------------------------------------------------
  // Resolves with {id, name, room} once joined; rejects on a failure before that (also emitted as
  // a fatal "error").
  join(room, name, { token } = {}) {
    if (this.state !== 'idle') throw new Error('join: this client was already used; make a new one');
    this.room = room;
    this.name = name;
    this.token = token || null;
    this.setState('connecting');
    return new Promise((resolve, reject) => {
      this.onceJoined = { resolve, reject };
      this.connect();
    });
  }

  leave() {
    if (this.ended) return;
    this.send({ type: 'leave' });
    this.end('left');
  }

  // A fatal failure: the session ends and says why.
  fail(code, message, extra = {}) {
    if (this.ended) return;
    this.emit('error', { code, message, fatal: true, ...extra });
    this.end('error');
    if (this.onceJoined) {
      this.onceJoined.reject(new Error(message));
      this.onceJoined = null;
    }
  }

  end(state) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.joinTimer);
    for (const t of this.timers) clearTimeout(t);
    for (const st of Object.values(this.ice)) clearTimeout(st.timer);
    if (this.dc) try { this.dc.close(); } catch { /* closed */ }
    for (const pc of Object.values(this.pcs)) {
      if (pc) try { pc.close(); } catch { /* already closed */ }
    }
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      try { this.ws.close(1000, 'bye'); } catch { /* ignore */ }
    }
    this.setChatState('closed');
    this.setState(state);
  }

  get alive() { return !this.ended; }

  // ---- signaling --------------------------------------------------------------------------------
  connect() {
    this.attempts += 1;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.fail('unreachable', `Server unreachable: cannot open ${this.url} (${e.message})`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (!this.alive) return;
      this.opened = true;
      this.mark('wsOpen');
      const join = { type: 'join', room: this.room, name: this.name, resumable: true };
      if (this.token) join.token = this.token;
      if (this.droppedAt && this.resume) join.resume = this.resume;
      this.send(join);
      this.joinTimer = setTimeout(() => {
        if (this.alive && !this.joined) this.fail('timeout', 'The server did not answer "join" within 10 s');
      }, JOIN_TIMEOUT_MS);
    };
    ws.onmessage = (ev) => {
      if (!this.alive || ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn('[sfu] non-JSON message from server:', String(ev.data).slice(0, 200));
        return;
      }
      if (!msg || typeof msg.type !== 'string') return;
      this.log('in', msg);
      try {
        this.onMessage(msg);
      } catch (e) {
        console.error('[sfu] handling', msg.type, e);
      }
    };
    ws.onclose = (ev) => {
      if (!this.alive || ws !== this.ws) return;
      if (this.joined && this.resume && this.reconnect()) return;
      if (!this.opened && this.attempts < CONNECT_ATTEMPTS) {
        console.warn(`[sfu] WebSocket to ${this.url} failed (attempt ${this.attempts}); retrying`);
        this.timers.push(setTimeout(() => { if (this.alive) this.connect(); }, 300 * this.attempts));
      } else if (!this.opened) {
        this.fail('unreachable', `Server unreachable: could not connect to ${this.url} (${this.attempts} attempts)`);
      } else {
        const why = ev.reason ? `: ${ev.reason}` : '';
        this.fail('closed', `Connection to the server closed unexpectedly (code ${ev.code}${why})`);
      }
    };
  }

  send(msg) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.log('out', msg);
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  log(dir, msg) {
    if (!this.logTo) return;
    const entry = { t: Math.round(performance.now()), dir, type: msg.type };
    for (const k of ['pc', 'id', 'code', 'message', 'request', 'kind', 'muted', 'reason', 'name', 'room',
      'audio', 'video', 'participants', 'track', 'source', 'tracks', 'dominant', 'active']) {
      if (msg[k] !== undefined) entry[k] = msg[k];
    }
    if (Array.isArray(msg.iceServers)) entry.iceServers = msg.iceServers.map((x) => ({ urls: x?.urls })); // no credentials
    if (typeof msg.sdp === 'string') entry.sdp = msg.sdp;
    if (msg.type === 'candidate') entry.candidate = msg.candidate;
    this.logTo.push(entry);
    if (this.logTo.length > 300) this.logTo.splice(0, this.logTo.length - 300);
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
      case 'participant-joined': return this.upsert({ id: msg.id, name: msg.name }, 'joined');
      case 'participant-left': return this.removeParticipant(msg.id, msg.reason);
      case 'tracks':
        if (Array.isArray(msg.tracks)) this.features.tracks = true;
        return this.upsert(msg, 'updated');
      case 'muted': return this.onMuted(msg);
      case 'speaker': return this.onSpeaker(msg);
      case 'video-paused': return this.onVideoPaused(msg);
      case 'encodings': return this.onEncodings(msg);
      case 'error': return this.onServerError(msg);
      default:
        console.warn('[sfu] unknown message type', msg.type);
        return undefined;
    }
  }

  onJoined(msg) {
    if (typeof msg.resume === 'string') {
      this.resume = msg.resume;
      this.graceMs = (Number(msg.resumeGraceS) || 0) * 1000;
    }
    if (msg.resumed && this.joined) return this.onResumed(msg);
    clearTimeout(this.joinTimer);
    this.joined = true;
    this.mark('joined');
    this.id = msg.id;
    if (typeof msg.name === 'string' && msg.name) this.name = msg.name;
    if (Array.isArray(msg.iceServers)) this.iceServers = msg.iceServers;
    for (const p of msg.participants || []) {
      if (Array.isArray(p?.tracks)) this.features.tracks = true;
      this.upsert(p, 'joined');
    }
    this.setState('joined');
    this.emit('joined', { id: this.id, name: this.name, room: this.room });
    if (this.onceJoined) {
      this.onceJoined.resolve({ id: this.id, name: this.name, room: this.room });
      this.onceJoined = null;
    }
    if (this.local.size) this.renegotiatePub();
  }

  onServerError(msg) {
    const code = msg.code || 'error';
    if (code === 'resume_failed' && this.droppedAt) { // our place is gone
      this.fail(code, `Reconnected too late: ${msg.message || code}`, { request: msg.request, server: true });
      return;
    }
    const fatal = CLOSING_CODES.has(code) || (!this.joined && msg.request === 'join');
    if (fatal) {
      this.fail(code, msg.message || code, { request: msg.request, server: true });
      return;
    }
    this.emit('error', { code, message: msg.message || code, request: msg.request, fatal: false, server: true });
    if (msg.request === 'publish' && this.pcs.pub) {
      // The server refused our offer: that pc will never connect. Stay a viewer (no retry loop).
      this.pcs.pub.close();
      this.pcs.pub = null;
      this.pending.pub = [];
      this.pubBusy = false;
      for (const l of this.local.values()) l.transceiver = null;
    }
  }

  onMuted(msg) {
    const p = this.participants.get(msg.id);
    if (!p) return;
    let t = typeof msg.track === 'string' ? p.tracks.find((x) => x.id === msg.track) : null;
    if (!t && (msg.kind === 'audio' || msg.kind === 'video')) {
      const src = msg.source || defaultSource(msg.kind);
      t = p.tracks.find((x) => x.source === src);
      if (!t && msg.track === undefined) { // previous protocol, before any "tracks"
        t = { id: `${p.id}-${msg.kind}`, kind: msg.kind, source: src, muted: false };
        p.tracks.push(t);
      }
    }
    if (!t) return;
    t.muted = !!msg.muted;
    summary(p);
    this.emit('participant', { participant: p, change: 'updated' });
  }

  // The server asks us to switch simulcast encodings on or off: nobody watches a layer, or someone
  // needs it again. RTCRtpSender.setParameters keeps the number of encodings; only `active` changes.
  onEncodings(msg) {
    if (typeof msg.mid !== 'string' || !msg.active || typeof msg.active !== 'object') return;
    const l = [...this.local.values()].find((x) => x.transceiver?.mid === msg.mid);
    const sender = l?.transceiver?.sender;
    if (!sender) return;
    const params = sender.getParameters();
    let changed = false;
    for (const e of params.encodings || []) {
      if (e.rid && typeof msg.active[e.rid] === 'boolean' && e.active !== msg.active[e.rid]) {
        e.active = msg.active[e.rid];
        changed = true;
      }
    }
    if (changed) sender.setParameters(params).catch((e) => console.warn('[sfu] setParameters', e.message));
    this.encodings = { ...(this.encodings || {}), [msg.mid]: { ...msg.active } };
  }

  // The size a remote video is shown at (device pixels) and whether it is on screen: the server
  // sends no larger layer than that, and nothing while it is hidden. Sent only when it changes.
  setViewport(track, width, height, visible) {
    const r = [...this.remote.values()].find((x) => x.track === track);
    if (!r?.trackId || r.kind !== 'video') return;
    const q = (v) => Math.max(0, Math.min(16384, Math.round(v / 16) * 16));
    const vp = { w: q(width), h: q(height), visible: !!visible };
    const key = `${vp.w}x${vp.h}:${vp.visible}`;
    if (r.viewport === key) return;
    r.viewport = key;
    this.send({ type: 'viewport', track: r.trackId, width: vp.w, height: vp.h, visible: vp.visible });
  }

  // The server stopped (or resumed) sending a video to us because the link cannot carry it.
  onVideoPaused(msg) {
    if (typeof msg.track !== 'string') return;
    if (msg.paused) this.paused.set(msg.track, String(msg.reason || 'bandwidth'));
    else this.paused.delete(msg.track);
    this.emit('videopaused', { track: msg.track, participant: trackIdToPid(msg.track), paused: !!msg.paused,
      reason: msg.reason });
  }

  // The track ids of pid's videos the server has paused for us.
  pausedOf(pid) { return [...this.paused.keys()].filter((id) => trackIdToPid(id) === pid); }

  onSpeaker(msg) {
    const active = Array.isArray(msg.active)
      ? msg.active.filter((a) => a && typeof a.id === 'string').map((a) => ({ id: a.id, level: Number(a.level) || 0 }))
      : [];
    this.speaker = { dominant: typeof msg.dominant === 'string' ? msg.dominant : null, active };
    this.emit('speaker', this.speaker);
  }

  // ---- participants -----------------------------------------------------------------------------
  upsert(info, change) {
    if (!info || typeof info.id !== 'string' || info.id === this.id) return null;
    let p = this.participants.get(info.id);
    const isNew = !p;
    if (!p) {
      p = { id: info.id, name: '', tracks: [] };
      this.participants.set(p.id, p);
      this.departed.delete(p.id);
    }
    if (typeof info.name === 'string' && info.name) p.name = info.name;
    p.tracks = normalizeTracks(p.id, info, p.tracks);
    summary(p);
    // a track whose source just became known (the list came after the media)
    for (const r of this.remote.values()) {
      if (r.pid !== p.id) continue;
      const src = this.sourceOf(p, r.trackId, r.kind);
      if (src !== r.source) {
        this.emit('track', { participant: p.id, track: r.track, mid: r.mid, kind: r.kind, source: r.source, change: 'removed' });
        r.source = src;
        this.emit('track', { participant: p.id, track: r.track, mid: r.mid, kind: r.kind, source: r.source, change: 'added' });
      }
    }
    this.emit('participant', { participant: p, change: isNew ? 'joined' : change === 'joined' ? 'updated' : change });
    return p;
  }

  removeParticipant(id, reason) {
    const p = this.participants.get(id);
    this.departed.add(id);
    for (const [mid, r] of this.remote) {
      if (r.pid === id) this.dropRemote(mid);
    }
    if (!p) return;
    this.participants.delete(id);
    this.emit('participant', { participant: p, change: 'left', reason });
  }

  sourceOf(p, trackId, kind) {
    const t = trackId && p?.tracks.find((x) => x.id === trackId);
    return t?.source || defaultSource(kind);
  }

  // ---- peer connections -------------------------------------------------------------------------
  // Operations on one pc run one after another (an offer, then the candidates that follow it...).
  enqueue(name, fn) {
    this.chains[name] = this.chains[name]
      .then(() => (this.alive ? fn() : undefined))
      .catch((e) => {
        if (!this.alive) return;
        const what = name === 'sub' ? 'receiving' : 'sending';
        this.emit('error', { code: 'negotiation', fatal: false,
          message: `Negotiation of the ${what} connection failed: ${e.name || 'Error'}: ${e.message}` });
      });
    return undefined;
  }

  makePc(name) {
    const config = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    const ice = [...this.iceServers, ...this.extraIce];
    if (ice.length) config.iceServers = ice;
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
      if (!this.alive || this.pcs[name] !== pc) return;
      console.info(`[sfu] ${name} connectionState ${pc.connectionState}`);
      this.emit('connection', { pc: name, state: pc.connectionState });
      if (pc.connectionState === 'connected') {
        connected = true;
        this.mark(`${name}Connected`);
      }
      this.watchIce(name, pc);
      if (pc.connectionState === 'failed' && !reported && !connected) {
        reported = true;
        this.emit('error', { code: 'media', fatal: false,
          message: `Media connection (${label}) failed: ICE/DTLS could not be established` });
      }
    };
    this.timers.push(setTimeout(() => {
      if (!this.alive || connected || reported || pc.connectionState === 'closed' || this.pcs[name] !== pc) return;
      reported = true;
      this.emit('error', { code: 'media', fatal: false,
        message: `Media connection (${label}) not established after ${CONNECT_TIMEOUT_MS / 1000} s `
        + `(ICE ${pc.iceConnectionState}, state ${pc.connectionState}): UDP to the server blocked?` });
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

  // ---- sub: the server offers, we answer --------------------------------------------------------
  async onSubOffer(sdp) {
    if (typeof sdp !== 'string') throw new Error('offer without sdp');
    this.mark('subOffer');
    if (!this.pcs.sub) this.pcs.sub = this.makePc('sub');
    const pc = this.pcs.sub;
    const parsed = parseSections(sdp);
    this.mids = parsed.mids;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await this.flushCandidates('sub');
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.send({ type: 'answer', pc: 'sub', sdp: pc.localDescription.sdp });
    this.mark('subAnswer');
    this.reconcile();
    if (parsed.data) this.openChat();
  }

  onTrack(ev) {
    if (!this.alive) return;
    this.mark('firstTrack');
    const mid = ev.transceiver?.mid;
    const info = this.mids.get(mid);
    const pid = info?.pid || ev.streams[0]?.id || trackIdToPid(ev.track.id);
    this.attach(mid, pid, ev.track, info?.trackId);
  }

  // After each sub negotiation: attach active tracks, drop the ones whose section went away.
  reconcile() {
    const pc = this.pcs.sub;
    if (!pc) return;
    for (const tr of pc.getTransceivers()) {
      const info = this.mids.get(tr.mid);
      const inactive = tr.stopped || tr.currentDirection === 'inactive' || tr.currentDirection === 'stopped'
        || !info || !info.active;
      if (inactive) this.dropRemote(tr.mid);
      else if (info.pid && tr.receiver.track) this.attach(tr.mid, info.pid, tr.receiver.track, info.trackId);
    }
  }

  attach(mid, pid, track, trackId) {
    if (!pid || pid === this.id || !track || this.departed.has(pid) || mid == null) return;
    const cur = this.remote.get(mid);
    if (cur && cur.track === track && cur.pid === pid && cur.trackId === trackId) return;
    if (cur) this.dropRemote(mid);
    let p = this.participants.get(pid);
    if (!p) p = this.upsert({ id: pid }, 'updated');
    const r = { mid, pid, track, kind: track.kind, trackId, source: this.sourceOf(p, trackId, track.kind) };
    this.remote.set(mid, r);
    track.addEventListener('ended', () => { if (this.remote.get(mid) === r) this.dropRemote(mid); });
    this.emit('track', { participant: pid, track, mid, kind: r.kind, source: r.source, change: 'added' });
  }

  dropRemote(mid) {
    const r = this.remote.get(mid);
    if (!r) return;
    this.remote.delete(mid);
    this.emit('track', { participant: r.pid, track: r.track, mid, kind: r.kind, source: r.source, change: 'removed' });
  }

  // The remote tracks of one participant: [{track, kind, source, mid}].
  tracksOf(pid) {
    return [...this.remote.values()].filter((r) => r.pid === pid && r.track.readyState === 'live');
  }

  // ---- pub: we offer our tracks -----------------------------------------------------------------
  // Publishes a local track as `source` ('camera', 'microphone', 'screen', 'screen-audio'); a track
  // of the same source is replaced. The offer goes out once joined.
  publish(track, { source = defaultSource(track.kind) } = {}) {
    if (!SOURCES.includes(source)) throw new Error(`publish: unknown source "${source}"`);
    const cur = this.local.get(source);
    if (cur?.track === track) return;
    if (cur?.transceiver && cur.transceiver.sender && !cur.transceiver.stopped && cur.track?.kind === track.kind) {
      cur.track = track;
      cur.transceiver.sender.replaceTrack(track).catch((e) => console.warn('[sfu] replaceTrack', e));
      return;
    }
    if (cur) this.unpublish(source);
    this.local.set(source, { track, transceiver: null, muted: !track.enabled });
    this.renegotiatePub();
  }

  // Stops publishing `source`; the server then removes the track for everyone.
  unpublish(source) {
    const cur = this.local.get(source);
    if (!cur) return;
    this.local.delete(source);
    if (cur.transceiver && !cur.transceiver.stopped) {
      try { cur.transceiver.stop(); } catch { /* closed */ }
    }
    this.renegotiatePub();
  }

  // Mutes a published source (the track sends black/silence and the others are told).
  setMuted(source, muted) {
    const cur = this.local.get(source);
    if (!cur) return;
    cur.track.enabled = !muted;
    cur.muted = !!muted;
    if (!this.pcs.pub || !cur.transceiver) return; // sent with the first publish
    this.sendMute(source, cur);
  }

  sendMute(source, cur) {
    const msg = { type: 'mute', kind: cur.track.kind, muted: cur.muted };
    if (source !== defaultSource(cur.track.kind)) return; // only camera and microphone have mute badges
    this.send(msg);
  }

  renegotiatePub() {
    if (!this.joined || !this.alive) return;
    if (this.pubBusy) {
      this.pubDirty = true;
      return;
    }
    this.pubBusy = true;
    this.pubDirty = false;
    this.enqueue('pub', () => this.offerPub().catch((e) => {
      this.pubBusy = false;
      throw e;
    }));
  }

  async offerPub() {
    if (!this.pcs.pub) {
      if (!this.local.size) {
        this.pubBusy = false;
        return;
      }
      this.pcs.pub = this.makePc('pub');
    }
    const pc = this.pcs.pub;
    const fresh = [];
    for (const [source, l] of this.local) {
      if (l.transceiver) continue;
      // camera and microphone share a stream (lip sync), and so do a screen and its sound
      const group = source.startsWith('screen') ? 'screen' : 'user';
      this.streams[group] ??= new MediaStream();
      const init = { direction: 'sendonly', streams: [this.streams[group]] };
      // The camera goes out as three encodings (RFC 8853 simulcast, lowest first); the server forwards
      // each subscriber the one its link and its tile can take.
      if (source === 'camera' && this.opts.simulcast !== false) init.sendEncodings = SIMULCAST_ENCODINGS;
      l.transceiver = pc.addTransceiver(l.track, init);
      if (l.track.kind === 'audio') preferRed(l.transceiver);
      fresh.push(source);
    }
    this.pubDirty = false; // this offer carries every track published so far
    const offer = await pc.createOffer(this.pubIceRestart ? { iceRestart: true } : undefined);
    this.pubIceRestart = false;
    await pc.setLocalDescription(offer);
    this.send({ type: 'publish', sdp: pc.localDescription.sdp, tracks: this.pubTracks() });
    this.mark('publish');
    for (const source of fresh) {
      const l = this.local.get(source);
      if (l?.muted) this.sendMute(source, l);
    }
  }

  async onPubAnswer(sdp) {
    const pc = this.pcs.pub;
    if (!pc) {
      console.warn('[sfu] answer for pub but nothing was published');
      return;
    }
    if (typeof sdp !== 'string') throw new Error('answer without sdp');
    this.mark('pubAnswer');
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await this.flushCandidates('pub');
    } finally {
      this.pubBusy = false;
      if (this.pubDirty) this.renegotiatePub();
    }
  }

  pubTracks() {
    const tracks = [];
    for (const [source, l] of this.local) {
      if (l.transceiver?.mid != null) tracks.push({ mid: l.transceiver.mid, source });
    }
    return tracks;
  }

  // ---- reaching everyone: ICE restart and session resume ------------------------------------------
  // ICE restart of one connection (new ICE credentials, the same DTLS): the server offers again on
  // sub; on pub we offer with iceRestart.
  restartIce(name) {
    const pc = this.pcs[name];
    const st = this.ice[name];
    if (!pc || !this.alive || pc.connectionState === 'closed' || !pc.remoteDescription) return;
    if (this.ws?.readyState !== WebSocket.OPEN) return; // done once the session resumes
    const wait = st.last + ICE_RESTART_GAP_MS - performance.now();
    if (wait > 0) {
      clearTimeout(st.timer);
      st.timer = setTimeout(() => this.restartIce(name), wait);
      return;
    }
    if (++st.tries > ICE_RESTARTS_MAX) {
      this.emit('error', { code: 'media', fatal: false,
        message: `Media connection (${name === 'sub' ? 'receiving' : 'sending'}) lost: ICE restarts did not help` });
      return;
    }
    st.last = performance.now();
    console.info(`[sfu] ${name}: ICE restart (${pc.connectionState})`);
    if (name === 'sub') {
      this.send({ type: 'restart-ice', pc: 'sub' });
    } else {
      this.pubIceRestart = true;
      this.renegotiatePub();
    }
  }

  watchIce(name, pc) {
    const st = this.ice[name];
    clearTimeout(st.timer);
    if (pc.connectionState === 'connected') {
      st.tries = 0;
    } else if (pc.connectionState === 'failed') {
      this.restartIce(name);
    } else if (pc.connectionState === 'disconnected') {
      st.timer = setTimeout(() => {
        if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') this.restartIce(name);
      }, ICE_RESTART_AFTER_MS);
    }
  }

  // The WebSocket dropped, or an attempt to reopen it failed: try again while the server keeps our
  // place. False once the grace period is over (the caller then reports the loss).
  reconnect() {
    const now = performance.now();
    if (!this.droppedAt) {
      this.droppedAt = now;
      this.attempts = 0;
      console.info('[sfu] WebSocket lost; resuming the session');
      this.setState('reconnecting');
    }
    if (now - this.droppedAt > this.graceMs) return false;
    const delay = RESUME_BACKOFF_MS[Math.min(this.attempts, RESUME_BACKOFF_MS.length - 1)];
    this.timers.push(setTimeout(() => { if (this.alive) this.connect(); }, delay));
    return true;
  }

  // joined with resumed: true: the same id and connections; what happened meanwhile is caught up.
  onResumed(msg) {
    this.droppedAt = 0;
    console.info('[sfu] session resumed as', msg.id);
    if (Array.isArray(msg.iceServers)) this.iceServers = msg.iceServers;
    const here = new Set((msg.participants || []).map((p) => p?.id));
    for (const id of [...this.participants.keys()]) if (!here.has(id)) this.removeParticipant(id, 'left');
    for (const p of msg.participants || []) this.upsert(p, 'updated');
    const pub = this.pcs.pub;
    if (pub?.signalingState === 'have-local-offer') { // our publish may have been lost with the socket
      this.send({ type: 'publish', sdp: pub.localDescription.sdp, tracks: this.pubTracks() });
    }
    this.setState('joined');
    for (const name of ['sub', 'pub']) {
      const st = this.pcs[name]?.connectionState;
      if (st === 'disconnected' || st === 'failed') this.restartIce(name);
    }
  }

  // ---- chat over the data channel ---------------------------------------------------------------
  setChatState(state) {
    if (this.chatState === state) return;
    this.chatState = state;
    this.emit('chatstate', { state });
  }

  openChat() {
    if (this.dc || !this.pcs.sub) return;
    this.features.chat = true;
    let dc;
    try {
      dc = this.pcs.sub.createDataChannel('chat', { ordered: true });
    } catch (e) {
      console.warn('[sfu] data channel:', e.message);
      return;
    }
    this.dc = dc;
    this.setChatState('connecting');
    dc.onopen = () => {
      if (!this.alive) return;
      this.mark('chatOpen');
      this.setChatState('open');
      for (const m of this.chatQueue.splice(0)) this.sendRaw(m);
    };
    dc.onclose = () => { if (this.alive) this.setChatState('closed'); };
    dc.onmessage = (ev) => this.onChatMessage(ev.data);
  }

  onChatMessage(data) {
    if (typeof data !== 'string') return;
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    if (!m || typeof m.type !== 'string') return;
    const from = m.from && typeof m.from.id === 'string' ? { id: m.from.id, name: String(m.from.name ?? '') } : null;
    const time = Number.isFinite(m.time) ? m.time : Date.now();
    if (m.type === 'chat' && typeof m.text === 'string' && from) this.emit('chat', { from, time, text: m.text });
    else if (m.type === 'reaction' && typeof m.emoji === 'string' && from) this.emit('reaction', { from, time, emoji: m.emoji });
    else if (m.type === 'error') {
      this.emit('error', { code: String(m.code || 'error'), message: String(m.message || m.code || 'chat error'),
        request: 'chat', fatal: false, server: true });
    }
  }

  // Sends raw text on the chat channel (queued until it opens). Returns false when there is none.
  // Sends raw data (a string, or bytes: the server refuses those) on the chat channel, queued until
  // it opens. False when there is no channel, the queue is full, or the browser refuses it (over the
  // server's a=max-message-size).
  sendRaw(data) {
    if (!this.dc || this.chatState === 'closed') return false;
    try {
      if (this.dc.readyState === 'open') this.dc.send(data);
      else if (this.chatQueue.length < CHAT_QUEUE_MAX) this.chatQueue.push(data);
      else return false;
    } catch (e) {
      console.warn('[sfu] chat:', e.message);
      return false;
    }
    return true;
  }

  sendChat(text) { return this.sendRaw(JSON.stringify({ type: 'chat', text: String(text) })); }

  sendReaction(emoji) { return this.sendRaw(JSON.stringify({ type: 'reaction', emoji: String(emoji) })); }

  // ---- stats ------------------------------------------------------------------------------------
  // Per remote participant: what the receiving connection got from them (sums over their tracks).
  async stats() {
    const out = {};
    const blank = (p) => ({ name: p?.name ?? '', framesDecoded: 0, videoBytesReceived: 0,
      audioBytesReceived: 0, totalSamplesReceived: 0, concealedSamples: 0, packetsLost: 0, packetsReceived: 0,
      jitter: 0, frameWidth: 0, frameHeight: 0, framesPerSecond: 0 });
    for (const p of this.participants.values()) out[p.id] = blank(p);
    const pc = this.pcs.sub;
    if (!pc || pc.signalingState === 'closed') return out;
    const midToPid = new Map();
    const trackToPid = new Map();
    for (const [mid, r] of this.remote) {
      midToPid.set(mid, r.pid);
      trackToPid.set(r.track.id, r.pid);
    }
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const pid = (s.mid != null ? midToPid.get(s.mid) : undefined) ?? trackToPid.get(s.trackIdentifier);
      if (!pid) return;
      const o = out[pid] ?? (out[pid] = blank(this.participants.get(pid)));
      o.packetsLost += s.packetsLost || 0;
      o.packetsReceived += s.packetsReceived || 0;
      if (s.kind === 'video') {
        o.framesDecoded += s.framesDecoded || 0;
        o.videoBytesReceived += s.bytesReceived || 0;
        o.frameWidth = s.frameWidth || o.frameWidth;
        o.frameHeight = s.frameHeight || o.frameHeight;
        o.framesPerSecond = s.framesPerSecond || o.framesPerSecond;
      } else if (s.kind === 'audio') {
        o.audioBytesReceived += s.bytesReceived || 0;
        o.totalSamplesReceived += s.totalSamplesReceived || 0;
        o.concealedSamples += s.concealedSamples || 0;
        o.jitter = Math.max(o.jitter, s.jitter || 0);
      }
    });
    return out;
  }

  // What the sending connection reports: {rtt (s), lost, sent, limitation} summed over our tracks.
  async sendStats() {
    const pc = this.pcs.pub;
    const out = { rtt: 0, lost: 0, sent: 0, limitation: 'none' };
    if (!pc || pc.signalingState === 'closed') return out;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'remote-inbound-rtp') {
        out.rtt = Math.max(out.rtt, s.roundTripTime || 0);
        out.lost += s.packetsLost || 0;
      } else if (s.type === 'outbound-rtp') {
        out.sent += s.packetsSent || 0;
        if (s.qualityLimitationReason && s.qualityLimitationReason !== 'none') out.limitation = s.qualityLimitationReason;
      }
    });
    return out;
  }
}

// Chromium sends RED (RFC 2198: each packet also carries the previous one, so a lost packet is
// restored from the next) only when red/48000/2 leads its own codec list; it lists it after Opus.
function preferRed(transceiver) {
  const caps = globalThis.RTCRtpSender?.getCapabilities?.('audio');
  if (!caps || typeof transceiver.setCodecPreferences !== 'function') return;
  const isRed = (c) => /\/red$/i.test(c.mimeType);
  if (!caps.codecs.some(isRed)) return;
  try {
    transceiver.setCodecPreferences([...caps.codecs.filter(isRed), ...caps.codecs.filter((c) => !isRed(c))]);
  } catch (e) {
    console.warn('[sfu] codec preferences:', e.message);
  }
}
