// The meeting page. The protocol lives in sfu-client.js (docs/protocol.md); this file is the
// interface: the join form, the tiles (ui-stage.js), chat (ui-chat.js), devices (ui-devices.js),
// the control bar and its keyboard shortcuts (M microphone, V camera, S screen, C chat, G layout).
// Subscribing never waits for getUserMedia: both start at once.
import { SfuClient } from './sfu-client.js';
import { Stage } from './ui-stage.js';
import { ChatPanel, REACTIONS, floatReaction } from './ui-chat.js';
import { DevicePicker, savedDevice } from './ui-devices.js';

const t0 = performance.now();

const ROOM_RE = /^[A-Za-z0-9_.-]{1,64}$/;
// The camera: 640x360 by default (cheap for small machines and many tiles); ?hd=1 asks for 720p.
const VIDEO = new URLSearchParams(location.search).get('hd') === '1'
  ? { width: 1280, height: 720 } : { width: 640, height: 360 };
const FRAME_POLL_MS = 100;
const QUALITY_POLL_MS = 2000;
const ERROR_HINTS = {
  room_full: 'this room is full',
  too_many_rooms: 'the server has too many rooms',
  unauthorized: 'a valid token is needed to join',
  removed: 'you were removed from the room',
  shutting_down: 'the server is shutting down',
  transport_failed: 'the media connection failed',
};
const CHAT_ERRORS = {
  rate_limited: 'You are sending messages too fast; some were not delivered.',
  too_large: 'That message is too long.',
  bad_message: 'The server could not read that message.',
};

const $ = (id) => document.getElementById(id);
const ui = {
  banner: $('banner'), notice: $('notice'), status: $('status'), roomLabel: $('room-label'), clock: $('clock'),
  form: $('join-form'), formRoom: $('form-room'), formName: $('form-name'), formError: $('form-error'),
  ended: $('ended'), endedTitle: $('ended-title'), endedDetail: $('ended-detail'), rejoin: $('rejoin'),
  call: $('call'), controls: $('controls'), mic: $('mic'), cam: $('cam'), share: $('share'), leave: $('leave'),
  layout: $('layout'), react: $('react'), reactMenu: $('react-menu'), settings: $('settings'), invite: $('invite'),
  peopleCount: $('people-count'), audioSink: $('audio-sink'), reactions: $('reactions'), toast: $('toast'),
};

const stage = new Stage({ stage: $('stage'), grid: $('grid'), prev: $('page-prev'), next: $('page-next'),
  label: $('page-label') });
const chat = new ChatPanel({ panel: $('chat'), list: $('chat-list'), status: $('chat-status'), form: $('chat-form'),
  input: $('chat-input'), toggle: $('chat-toggle'), unread: $('chat-unread'), close: $('chat-close') });
const devices = new DevicePicker({ dialog: $('devices'), cam: $('dev-cam'), mic: $('dev-mic'), spk: $('dev-spk'),
  note: $('dev-note'), onPick: (kind, id) => meeting?.useDevice(kind, id) });

let meeting = null; // the current Meeting (a rejoin makes a new one)

// ---- test hooks (every browser test in tests/e2e reads these) -----------------------------------
const sfu = {
  state: 'idle', // 'idle' | 'joining' | 'joined' | 'reconnecting' | 'left' | 'error'
  id: null,
  room: null,
  name: null,
  t0,
  firstFrameAt: {}, // participant id -> performance.now() when its video first had framesDecoded > 0
  errors: [], // every error shown in the banner
  marks: {}, // first time (performance.now()) of each step: wsOpen, joined, subOffer, subConnected, media...
  log: [], // last signaling messages, for debugging: {t, dir, type, pc, ...}
  speaker: { dominant: null, active: [] }, // the last "speaker" event
  speakerLog: [], // [{t, wall (Date.now()), dominant}] every change of the dominant speaker
  chat: [], // chat messages received: {from, time, text, at}
  chatErrors: [], // errors the server sent on the chat channel: {code, message}
  reactions: [],
  get chatState() { return meeting?.client?.chatState ?? 'unavailable'; },
  get client() { return meeting?.client ?? null; },
  async stats() { return meeting ? meeting.client.stats() : {}; },
  remoteIds() { return meeting ? [...meeting.peers.keys()] : []; },
  names() { return meeting ? [...meeting.peers.values()].map((p) => p.tile.name) : []; },
  sendChat(text) { return meeting ? meeting.client.sendChat(text) : false; },
  sendRaw(text) { return meeting ? meeting.client.sendRaw(text) : false; },
  sendReaction(emoji) { return meeting ? meeting.client.sendReaction(emoji) : false; },
  restartIce(pc) { meeting?.client.restartIce(pc); }, // as after a lasting "disconnected"
  layout() {
    return { window: { w: innerWidth, h: innerHeight }, scrolls: document.scrollingElement.scrollHeight > innerHeight
      || document.scrollingElement.scrollWidth > innerWidth, ...stage.geometry() };
  },
  setLayout(mode) { stage.setMode(mode); },
};
window.sfu = sfu;

function mark(name) {
  if (!(name in sfu.marks)) sfu.marks[name] = Math.round(performance.now());
}

function setState(state) {
  sfu.state = state;
  ui.status.textContent = state;
  ui.status.dataset.state = state;
  document.body.dataset.state = state;
}

// ---- banner (errors), notices (information), toast ---------------------------------------------
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
  close.onclick = () => { row.remove(); box.hidden = !box.childElementCount; stage.layout(); };
  row.append(span, close);
  box.append(row);
  while (box.childElementCount > 4) box.firstElementChild.remove();
  box.hidden = false;
  stage.layout();
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

let toastTimer = 0;
function toast(text) {
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 2500);
}

// ---- helpers ------------------------------------------------------------------------------------
function defaultName() { return `guest-${1000 + Math.floor(Math.random() * 9000)}`; }

function cleanName(name) {
  const chars = [...String(name ?? '').trim()];
  return chars.slice(0, 64).join('');
}

async function acquireMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream: null, error: new Error('getUserMedia is not available (page must be https or localhost)') };
  }
  const cam = savedDevice('videoinput');
  const mic = savedDevice('audioinput');
  const video = cam ? { ...VIDEO, deviceId: cam } : VIDEO;
  const audio = mic ? { deviceId: mic } : true;
  const attempts = [{ audio, video }, { audio }, { video }];
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
function onPlayError(e) {
  if (e.name !== 'NotAllowedError' || soundBlocked) return;
  soundBlocked = true;
  showNotice('sound', 'The browser blocked sound: click anywhere on the page to enable it');
  document.addEventListener('click', () => {
    soundBlocked = false;
    hideNotice('sound');
    for (const m of document.querySelectorAll('audio, video')) if (m.srcObject) m.play().catch(() => {});
  }, { once: true });
}

// Connection quality from what the receiving (or, for us, the sending) side measured: packet
// loss, round trip, jitter; and the server pausing a video because the link cannot carry it.
function qualityOf({ loss = 0, rtt = 0, jitter = 0, paused = false }) {
  if (paused || loss > 0.08 || rtt > 0.6 || jitter > 0.15) return 'poor';
  if (loss > 0.02 || rtt > 0.3 || jitter > 0.05) return 'fair';
  return 'good';
}

// ---- a meeting ----------------------------------------------------------------------------------
class Meeting {
  constructor(room, name, token) {
    this.room = room;
    this.name = name;
    this.token = token || null;
    this.client = new SfuClient({ log: sfu.log });
    this.peers = new Map(); // participant id -> {tile, info}
    this.audio = new Map(); // mid -> <audio>
    this.local = null; // MediaStream from getUserMedia, or null for a viewer
    this.localTile = null;
    this.screen = null; // MediaStream being shared
    this.ended = false;
    this.timers = [];
    this.lastStats = null;
    this.lastSend = null;
    this.polling = false;
  }

  get alive() { return meeting === this && !this.ended; }

  start() {
    setState('joining');
    sfu.id = null;
    sfu.room = this.room;
    sfu.name = this.name;
    ui.roomLabel.textContent = this.room;
    ui.mic.disabled = true; // until getUserMedia answers
    ui.cam.disabled = true;
    ui.share.disabled = !navigator.mediaDevices?.getDisplayMedia;
    ui.controls.hidden = false;
    ui.call.hidden = false;
    document.title = `${this.room} \u2013 meeting`;
    chat.clear();
    chat.setState('unavailable');
    stage.clear();
    this.wire();
    this.client.join(this.room, this.name, { token: this.token }).catch(() => { /* reported as an error event */ });
    acquireMedia().then((r) => this.onMedia(r));
    this.timers.push(setInterval(() => this.pollFrames(), FRAME_POLL_MS));
    this.timers.push(setInterval(() => this.pollQuality(), QUALITY_POLL_MS));
    updatePeople();
  }

  wire() {
    const c = this.client;
    const on = (type, fn) => c.addEventListener(type, (ev) => { if (this.alive) fn(ev.detail); });
    on('mark', (d) => mark(d.name));
    on('state', (d) => {
      if (d.state === 'joined') {
        setState('joined');
        hideNotice('reconnect');
      } else if (d.state === 'reconnecting') {
        setState('reconnecting');
        showNotice('reconnect', 'Connection to the server lost; reconnecting\u2026');
      }
    });
    on('joined', (d) => {
      sfu.id = d.id;
      this.name = d.name;
      if (this.localTile) this.localTile.setName(d.name);
      updatePeople();
    });
    on('participant', (d) => this.onParticipant(d));
    on('track', (d) => this.onTrack(d));
    on('speaker', (d) => {
      if (d.dominant !== sfu.speaker.dominant) {
        sfu.speakerLog.push({ t: Math.round(performance.now()), wall: Date.now(), dominant: d.dominant });
      }
      sfu.speaker = d;
      stage.setSpeaker(d, c.id);
    });
    on('chat', (d) => {
      sfu.chat.push({ ...d, at: performance.now() });
      chat.add(d, d.from.id === c.id);
    });
    on('reaction', (d) => {
      sfu.reactions.push({ ...d, at: performance.now() });
      const tile = d.from.id === c.id ? this.localTile : this.peers.get(d.from.id)?.tile;
      floatReaction(ui.reactions, tile?.el, d.emoji, d.from.id === c.id ? 'you' : d.from.name);
    });
    on('chatstate', (d) => chat.setState(d.state));
    on('error', (d) => this.onError(d));
  }

  onError(d) {
    if (d.code === 'resume_failed') { // back too late: our place is gone, so join again as someone new
      console.info('[sfu]', d.message);
      join(this.room, this.name, this.token);
      return;
    }
    if (d.request === 'chat') {
      sfu.chatErrors.push({ code: d.code, message: d.message });
      chat.system(CHAT_ERRORS[d.code] || d.message);
      return;
    }
    let text = d.message;
    if (d.server) {
      const req = d.request ? ` (request "${d.request}")` : '';
      const msg = d.message && d.message !== d.code ? d.message : ERROR_HINTS[d.code] || 'no message';
      text = `Server error ${d.code}: ${msg}${req}`;
    }
    if (d.fatal) this.fail(text, d.code === 'removed' ? 'Removed from the room' : undefined);
    else showError(text);
  }

  onParticipant({ participant: p, change }) {
    if (change === 'left') {
      const e = this.peers.get(p.id);
      if (!e) return;
      this.peers.delete(p.id);
      stage.remove(`${p.id}:camera`);
      stage.remove(`${p.id}:screen`);
      updatePeople();
      return;
    }
    let e = this.peers.get(p.id);
    if (!e) {
      const tile = stage.add({ key: `${p.id}:camera`, pid: p.id, source: 'camera', local: false, name: p.name });
      e = { tile, info: p };
      this.peers.set(p.id, e);
      updatePeople();
    }
    e.info = p;
    if (p.name && e.tile.name !== p.name) {
      e.tile.setName(p.name);
      stage.get(`${p.id}:screen`)?.setName(p.name);
    }
    this.renderPeer(p.id);
  }

  onTrack({ participant: pid, track, mid, kind, source, change }) {
    if (kind === 'audio') {
      if (change === 'added') {
        const el = document.createElement('audio');
        el.autoplay = true;
        el.srcObject = new MediaStream([track]);
        el.dataset.pid = pid;
        el.dataset.source = source;
        const sink = devices.current.audiooutput;
        if (sink && el.setSinkId) el.setSinkId(sink).catch(() => {});
        this.audio.get(mid)?.remove();
        this.audio.set(mid, el);
        ui.audioSink.append(el);
        el.play()?.catch(onPlayError);
      } else {
        const el = this.audio.get(mid);
        if (el && el.srcObject?.getTracks()[0] === track) {
          el.srcObject = null;
          el.remove();
          this.audio.delete(mid);
        }
      }
      this.renderPeer(pid);
      return;
    }
    if (source === 'screen') {
      if (change === 'added') {
        const name = this.peers.get(pid)?.info.name;
        stage.add({ key: `${pid}:screen`, pid, source: 'screen', local: false, name }).setTrack(track, onPlayError);
        scheduleViewports();
      } else if (stage.get(`${pid}:screen`)?.track === track) {
        stage.remove(`${pid}:screen`);
      }
      return;
    }
    this.renderPeer(pid);
  }

  // A participant's camera tile: its video, its badges.
  renderPeer(pid) {
    const e = this.peers.get(pid);
    if (!e) return;
    const p = e.info;
    const tracks = this.client.tracksOf(pid);
    const vt = tracks.find((t) => t.kind === 'video' && t.source !== 'screen')?.track ?? null;
    const at = tracks.find((t) => t.kind === 'audio' && t.source !== 'screen-audio')?.track ?? null;
    e.tile.setTrack(vt, onPlayError);
    scheduleViewports();
    const hasVideo = p.video || !!vt;
    const hasAudio = p.audio || !!at;
    e.tile.setVideoOff(p.videoMuted || (p.tracks.length > 0 && !p.video));
    e.tile.setMicOff(p.audioMuted);
    const badges = [];
    if (!hasVideo && !hasAudio && !p.screen) badges.push('viewer');
    else {
      if (p.videoMuted) badges.push('camera off');
      else if (!hasVideo) badges.push('no camera');
      if (p.audioMuted) badges.push('muted');
      else if (!hasAudio) badges.push('no mic');
    }
    e.tile.setBadges(badges);
  }

  // -- our media --
  onMedia({ stream, error }) {
    mark('media');
    if (!this.alive) {
      if (stream) for (const t of stream.getTracks()) t.stop();
      return;
    }
    const a = stream?.getAudioTracks()[0];
    const v = stream?.getVideoTracks()[0];
    if (!stream) {
      const why = error ? ` (${error.name || 'Error'}: ${error.message})` : '';
      console.warn('[sfu] no local media' + why);
      showNotice('media', 'No camera/microphone: joined as a viewer');
    } else if (!v) {
      showNotice('media', 'No camera: joined with microphone only');
    } else if (!a) {
      showNotice('media', 'No microphone: joined with camera only');
    }
    this.local = stream;
    this.localTile = stage.add({ key: 'local:camera', pid: 'local', source: 'camera', local: true, name: this.client.name || this.name });
    if (v) this.localTile.setTrack(v);
    devices.setInUse('videoinput', v?.getSettings?.().deviceId);
    devices.setInUse('audioinput', a?.getSettings?.().deviceId);
    if (a) this.client.publish(a, { source: 'microphone' });
    if (v) this.client.publish(v, { source: 'camera' });
    ui.mic.disabled = !a;
    ui.cam.disabled = !v;
    updateControls();
  }

  localTrack(kind) { return kind === 'audio' ? this.local?.getAudioTracks()[0] : this.local?.getVideoTracks()[0]; }

  toggle(kind) {
    const track = this.localTrack(kind);
    if (!track || !this.alive) return;
    this.client.setMuted(kind === 'audio' ? 'microphone' : 'camera', track.enabled);
    updateControls();
  }

  async useDevice(kind, deviceId) {
    if (kind === 'audiooutput') {
      for (const el of this.audio.values()) if (el.setSinkId) el.setSinkId(deviceId).catch((e) => showError(`Speaker: ${e.message}`));
      return;
    }
    const isVideo = kind === 'videoinput';
    const old = this.localTrack(isVideo ? 'video' : 'audio');
    if (!old) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(isVideo
        ? { video: { ...VIDEO, deviceId: { exact: deviceId } } } : { audio: { deviceId: { exact: deviceId } } });
    } catch (e) {
      showError(`Could not switch the ${isVideo ? 'camera' : 'microphone'}: ${e.name}: ${e.message}`);
      return;
    }
    const track = isVideo ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
    if (!this.alive) {
      track.stop();
      return;
    }
    track.enabled = old.enabled;
    this.local.removeTrack(old);
    this.local.addTrack(track);
    old.stop();
    this.client.publish(track, { source: isVideo ? 'camera' : 'microphone' });
    if (isVideo) this.localTile.setTrack(track);
    updateControls();
  }

  async toggleShare() {
    if (this.screen) {
      this.stopShare();
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: true });
    } catch (e) {
      if (e.name !== 'NotAllowedError' && e.name !== 'AbortError') showError(`Screen sharing failed: ${e.name}: ${e.message}`);
      return;
    }
    if (!this.alive) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.screen = stream;
    const v = stream.getVideoTracks()[0];
    const a = stream.getAudioTracks()[0];
    v.contentHint = 'detail';
    v.addEventListener('ended', () => { if (this.screen === stream) this.stopShare(); });
    this.client.publish(v, { source: 'screen' });
    if (a) this.client.publish(a, { source: 'screen-audio' });
    stage.add({ key: 'local:screen', pid: 'local', source: 'screen', local: true, name: this.client.name }).setTrack(v);
    updateControls();
  }

  stopShare() {
    if (!this.screen) return;
    const s = this.screen;
    this.screen = null;
    this.client.unpublish('screen');
    this.client.unpublish('screen-audio');
    for (const t of s.getTracks()) t.stop();
    stage.remove('local:screen');
    updateControls();
  }

  // -- polling: first frames (a test hook) and connection quality --
  async pollFrames() {
    if (!this.alive || this.polling) return;
    const waiting = [...this.peers.keys()].some((pid) => !(pid in sfu.firstFrameAt)
      && this.client.tracksOf(pid).some((t) => t.kind === 'video'));
    if (!waiting) return;
    this.polling = true;
    try {
      const stats = await this.client.stats();
      const now = performance.now();
      for (const [pid, s] of Object.entries(stats)) {
        if (s.framesDecoded > 0 && !(pid in sfu.firstFrameAt)) {
          sfu.firstFrameAt[pid] = now;
          mark('firstFrame');
        }
      }
    } catch (e) {
      console.warn('[sfu] getStats failed', e);
    } finally {
      this.polling = false;
    }
  }

  async pollQuality() {
    if (!this.alive || this.client.state !== 'joined') return;
    try {
      const [now, send] = await Promise.all([this.client.stats(), this.client.sendStats()]);
      const before = this.lastStats || {};
      for (const [pid, s] of Object.entries(now)) {
        const e = this.peers.get(pid);
        const b = before[pid];
        if (!e || !b) continue;
        const got = s.packetsReceived - b.packetsReceived;
        const lost = Math.max(0, s.packetsLost - b.packetsLost);
        if (got + lost === 0) {
          e.tile.setQuality('unknown', 'no media');
          continue;
        }
        const ratio = lost / (got + lost);
        const paused = this.client.pausedOf(pid).length > 0;
        const q = qualityOf({ loss: ratio, jitter: s.jitter, paused });
        e.tile.setQuality(q, `${q}: ${(ratio * 100).toFixed(1)} % lost, jitter ${Math.round(s.jitter * 1000)} ms`
          + `${paused ? ', video paused by the server (bandwidth)' : ''}`);
      }
      this.lastStats = now;
      if (this.localTile && this.lastSend) {
        const lost = Math.max(0, send.lost - this.lastSend.lost);
        const sent = send.sent - this.lastSend.sent;
        const ratio = sent > 0 ? lost / sent : 0;
        const q = sent > 0 ? qualityOf({ loss: ratio, rtt: send.rtt }) : 'unknown';
        const limited = send.limitation === 'bandwidth' && q === 'good' ? 'fair' : q;
        this.localTile.setQuality(limited, `${limited}: round trip ${Math.round(send.rtt * 1000)} ms, `
          + `${(ratio * 100).toFixed(1)} % lost${send.limitation !== 'none' ? `, limited by ${send.limitation}` : ''}`);
      }
      this.lastSend = send;
    } catch (e) {
      console.warn('[sfu] quality stats', e);
    }
  }

  // -- the end --
  fail(text, title) {
    if (text) showError(text);
    const wasJoined = this.client.joined;
    this.end();
    setState('error');
    showEnded(title || (wasJoined ? 'Disconnected' : 'Could not join'), text || '');
  }

  leave() {
    if (!this.alive) return;
    this.client.leave();
    this.end();
    setState('left');
    showEnded('You left', `Room ${this.room}`);
  }

  end() {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearInterval(t);
    this.client.leave();
    if (this.local) for (const t of this.local.getTracks()) t.stop();
    if (this.screen) for (const t of this.screen.getTracks()) t.stop();
    for (const el of this.audio.values()) {
      el.srcObject = null;
      el.remove();
    }
    this.peers.clear();
    stage.clear();
    ui.controls.hidden = true;
    ui.call.hidden = true;
    chat.show(false);
    clearNotices();
  }
}

// ---- page ---------------------------------------------------------------------------------------
function updatePeople() {
  ui.peopleCount.textContent = String(1 + (meeting?.peers.size ?? 0));
}

function setButton(btn, icon, label, pressed) {
  btn.querySelector('use').setAttribute('href', icon);
  btn.querySelector('.label').textContent = label;
  btn.setAttribute('aria-pressed', String(pressed));
  btn.setAttribute('aria-label', label);
}

function updateControls() {
  const a = meeting?.localTrack('audio');
  const v = meeting?.localTrack('video');
  const micOff = !a || !a.enabled;
  const camOff = !v || !v.enabled;
  setButton(ui.mic, micOff ? '#i-mic-off' : '#i-mic', !a ? 'No mic' : micOff ? 'Unmute' : 'Mute', !!a && micOff);
  setButton(ui.cam, camOff ? '#i-cam-off' : '#i-cam', !v ? 'No camera' : camOff ? 'Start video' : 'Stop video', !!v && camOff);
  setButton(ui.share, '#i-screen', meeting?.screen ? 'Stop sharing' : 'Share screen', !!meeting?.screen);
  const t = meeting?.localTile;
  if (t) {
    const badges = [];
    if (!meeting.local) badges.push('viewer');
    if (v && camOff) badges.push('camera off');
    if (a && micOff) badges.push('muted');
    t.setBadges(badges);
    t.setVideoOff(!v || camOff);
    t.setMicOff(!!a && micOff);
  }
}

// Every remote video's displayed size and visibility, for the server's layer choice.
let viewportsDue = false;
function scheduleViewports() {
  if (viewportsDue) return;
  viewportsDue = true;
  requestAnimationFrame(() => { viewportsDue = false; reportViewports(); });
}

function reportViewports() {
  const client = meeting?.client;
  if (!client) return;
  const dpr = window.devicePixelRatio || 1;
  const pageVisible = document.visibilityState !== 'hidden';
  for (const t of stage.tiles.values()) {
    if (t.local || !t.track) continue;
    const shown = pageVisible && !t.el.hidden && !t.videoOff && t.el.clientWidth > 0;
    client.setViewport(t.track, t.el.clientWidth * dpr, t.el.clientHeight * dpr, shown);
  }
}
document.addEventListener('visibilitychange', reportViewports);

stage.onChange = (mode) => {
  scheduleViewports();
  const speaker = mode === 'speaker';
  ui.layout.querySelector('use').setAttribute('href', speaker ? '#i-grid' : '#i-speaker');
  ui.layout.querySelector('.label').textContent = speaker ? 'Grid view' : 'Speaker view';
};

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
  if (meeting) meeting.end();
  meeting = new Meeting(room, name, token);
  meeting.start();
  chat.onSend = (text) => {
    if (!meeting?.client.sendChat(text)) {
      chat.system('The message could not be sent.');
      return false;
    }
    return true;
  };
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

async function copyInvite() {
  const url = `${location.origin}${location.pathname}?room=${encodeURIComponent(meeting?.room ?? '')}`;
  try {
    await navigator.clipboard.writeText(url);
    toast('Invite link copied');
  } catch {
    window.prompt('Copy the invite link', url);
  }
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

ui.mic.addEventListener('click', () => meeting?.toggle('audio'));
ui.cam.addEventListener('click', () => meeting?.toggle('video'));
ui.share.addEventListener('click', () => meeting?.toggleShare());
ui.leave.addEventListener('click', () => meeting?.leave());
// Closing or reloading the tab leaves at once (a dropped connection would be kept for resume).
window.addEventListener('pagehide', () => { if (meeting?.client.joined) meeting.client.send({ type: 'leave' }); });
ui.layout.addEventListener('click', () => stage.toggleMode());
ui.settings.addEventListener('click', () => devices.open());
ui.invite.addEventListener('click', copyInvite);
ui.rejoin.addEventListener('click', () => {
  if (meeting) join(meeting.room, meeting.name, meeting.token);
  else showForm('', '');
});
for (const emoji of REACTIONS) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = emoji;
  b.addEventListener('click', () => {
    meeting?.client.sendReaction(emoji);
    ui.reactMenu.hidden = true;
    ui.react.setAttribute('aria-expanded', 'false');
  });
  ui.reactMenu.append(b);
}
ui.react.addEventListener('click', () => {
  ui.reactMenu.hidden = !ui.reactMenu.hidden;
  ui.react.setAttribute('aria-expanded', String(!ui.reactMenu.hidden));
});
new ResizeObserver(() => stage.layout()).observe(document.body);
$('chat-toggle').addEventListener('click', () => requestAnimationFrame(() => stage.layout()));
$('chat-close').addEventListener('click', () => requestAnimationFrame(() => stage.layout()));

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || !meeting?.alive) return;
  const el = ev.target;
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
    || el?.isContentEditable) return;
  const key = ev.key.toLowerCase();
  if (key === 'm') meeting.toggle('audio');
  else if (key === 'v') meeting.toggle('video');
  else if (key === 's' && !ui.share.disabled) meeting.toggleShare();
  else if (key === 'c') { chat.show(!chat.open); requestAnimationFrame(() => stage.layout()); }
  else if (key === 'g') stage.toggleMode();
  else return;
  ev.preventDefault();
});

setInterval(() => {
  const d = new Date();
  ui.clock.textContent = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}, 1000);

{
  const params = new URLSearchParams(location.search);
  const room = params.get('room');
  const name = cleanName(params.get('name')) || defaultName();
  if (room && ROOM_RE.test(room)) join(room, name);
  else showForm(room, params.get('name') ? name : '', room ? `Invalid room name "${room}"` : '');
}
