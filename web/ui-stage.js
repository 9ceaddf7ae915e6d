// ui-stage.js: the tiles and where they go. A tile shows one video source of one participant
// (their camera, or their screen); every participant has a camera tile even without a camera.
// Layouts: a grid that fills the stage with the largest 16:9 tiles (25 a page, further pages
// behind arrows), or the speaker view (one large tile: a pinned tile, a screen share, or the
// dominant speaker; the others in a strip). A screen share switches to the speaker view.
import { fitGrid, pageOf, speakerLayout, PAGE_SIZE } from './layout.js';

const GAP = 8;

export class Tile {
  constructor({ key, pid, source, local, name }) {
    this.key = key;
    this.pid = pid;
    this.source = source;
    this.local = local;
    const el = this.el = document.createElement('div');
    el.className = `tile ${local ? 'local' : 'remote'} ${source} no-video`;
    el.dataset.id = local ? 'local' : pid;
    el.dataset.source = source;
    const video = this.video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound goes through <audio> elements (autoplay policy is kinder to them)
    this.avatar = document.createElement('div');
    this.avatar.className = 'avatar';
    const label = this.label = document.createElement('div');
    label.className = 'name';
    label.innerHTML = '<svg aria-label="microphone off"><use href="#i-mic-off"/></svg><span></span>';
    this.badges = document.createElement('div');
    this.badges.className = 'badges';
    this.quality = document.createElement('div');
    this.quality.className = 'quality';
    this.quality.dataset.q = 'unknown';
    this.quality.innerHTML = '<i></i><i></i><i></i>';
    el.append(video, this.avatar, label, this.badges, this.quality);
    this.track = null;
    this.videoReady = false;
    this.videoOff = false;
    video.addEventListener('loadeddata', () => {
      this.videoReady = true;
      this.render();
    });
    this.setName(name);
  }

  setName(name) {
    const n = name || '\u2026';
    this.name = n;
    this.el.dataset.name = n;
    const shown = this.source === 'screen' ? `${n}${this.local ? ' (you)' : ''}: screen` : this.local ? `${n} (you)` : n;
    this.label.querySelector('span').textContent = shown;
    this.avatar.textContent = ([...n.trim()][0] || '?').toUpperCase();
  }

  setTrack(track, onPlayError) {
    const cur = this.video.srcObject?.getTracks()[0] ?? null;
    if (cur === track) return;
    this.track = track;
    this.videoReady = false;
    this.video.srcObject = track ? new MediaStream([track]) : null;
    if (track) {
      const p = this.video.play();
      if (p && onPlayError) p.catch(onPlayError);
    }
    this.render();
  }

  setVideoOff(off) {
    this.videoOff = !!off;
    this.render();
  }

  setMicOff(off) { this.el.classList.toggle('mic-off', !!off); }

  setBadges(list) {
    this.badges.replaceChildren(...list.map((text) => {
      const b = document.createElement('span');
      b.className = text === 'viewer' ? 'badge info' : 'badge';
      b.textContent = text;
      return b;
    }));
  }

  setQuality(q, title) {
    this.quality.dataset.q = q;
    this.quality.title = title || '';
  }

  setLevel(level, dominant) {
    this.el.style.setProperty('--level', String(Math.min(1, Math.max(0, level / 127))));
    this.el.classList.toggle('speaking', level > 0);
    this.el.classList.toggle('dominant', !!dominant);
  }

  render() {
    const show = !!this.track && this.track.readyState === 'live' && this.videoReady && !this.videoOff;
    this.el.classList.toggle('no-video', !show);
  }

  destroy() {
    this.video.srcObject = null;
    this.el.remove();
  }
}

export class Stage {
  constructor({ stage, grid, prev, next, label }) {
    this.stageEl = stage;
    this.grid = grid;
    this.prev = prev;
    this.next = next;
    this.label = label;
    this.tiles = new Map(); // key -> Tile, in insertion order
    this.mode = 'grid'; // what the user chose
    this.gridForced = false; // the user chose the grid while a screen was shared
    this.page = 0;
    this.pinned = null;
    this.main = null; // key of the large tile in the speaker view
    this.dominant = null; // participant id
    this.selfId = null;
    this.more = document.createElement('div');
    this.more.className = 'tile more';
    this.more.hidden = true;
    this.more.addEventListener('click', () => this.setMode('grid'));
    grid.append(this.more);
    this.onChange = null;
    prev.addEventListener('click', () => { this.page -= 1; this.layout(); });
    next.addEventListener('click', () => { this.page += 1; this.layout(); });
    grid.addEventListener('dblclick', (ev) => {
      const el = ev.target.closest('.tile');
      const t = el && [...this.tiles.values()].find((x) => x.el === el);
      if (t) this.pin(this.pinned === t.key ? null : t.key);
    });
    this.resize = new ResizeObserver(() => this.layout());
    this.resize.observe(stage);
  }

  add(opts) {
    let t = this.tiles.get(opts.key);
    if (t) return t;
    t = new Tile(opts);
    this.tiles.set(t.key, t);
    this.grid.append(t.el);
    if (t.source === 'screen') this.gridForced = false; // a new share takes the stage
    this.layout();
    return t;
  }

  get(key) { return this.tiles.get(key); }

  remove(key) {
    const t = this.tiles.get(key);
    if (!t) return;
    this.tiles.delete(key);
    t.destroy();
    if (this.pinned === key) this.pinned = null;
    if (this.main === key) this.main = null;
    this.layout();
  }

  clear() {
    for (const t of this.tiles.values()) t.destroy();
    this.tiles.clear();
    this.pinned = this.main = this.dominant = null;
    this.page = 0;
    this.layout();
  }

  setMode(mode) {
    const screen = this.hasScreen();
    if (mode === 'grid' && screen) this.gridForced = true;
    if (mode === 'speaker') this.gridForced = false;
    this.mode = mode;
    this.layout();
  }

  toggleMode() { this.setMode(this.effectiveMode() === 'grid' ? 'speaker' : 'grid'); }

  pin(key) {
    this.pinned = key && this.tiles.has(key) ? key : null;
    for (const t of this.tiles.values()) t.el.classList.toggle('pinned', t.key === this.pinned);
    if (this.pinned) this.mode = 'speaker';
    this.layout();
  }

  hasScreen() { return [...this.tiles.values()].some((t) => t.source === 'screen'); }

  effectiveMode() {
    if (this.hasScreen() && !this.gridForced) return 'speaker';
    return this.mode;
  }

  // speaker: {dominant, active: [{id, level}]}; selfId: our participant id (our tile is "local").
  setSpeaker(speaker, selfId) {
    this.selfId = selfId;
    this.dominant = speaker.dominant;
    const level = new Map(speaker.active.map((a) => [a.id, a.level]));
    for (const t of this.tiles.values()) {
      if (t.source !== 'camera') continue;
      const pid = t.local ? selfId : t.pid;
      t.setLevel(level.get(pid) || 0, pid === speaker.dominant && this.tiles.size > 1);
    }
    if (this.effectiveMode() === 'speaker' || this.tiles.size > PAGE_SIZE) this.layout();
  }

  // The tiles in grid order: screens, us, then everybody else as they came.
  ordered() {
    const all = [...this.tiles.values()];
    const rank = (t) => (t.source === 'screen' ? 0 : t.local ? 1 : 2);
    return all.sort((a, b) => rank(a) - rank(b));
  }

  pickMain(list) {
    const has = (k) => k && this.tiles.has(k);
    if (has(this.pinned)) return this.pinned;
    const screens = list.filter((t) => t.source === 'screen');
    if (screens.length) return screens[screens.length - 1].key;
    const dom = this.dominant && this.dominant !== this.selfId ? `${this.dominant}:camera` : null;
    if (has(dom)) return dom;
    if (has(this.main)) return this.main;
    const remote = list.find((t) => !t.local);
    return (remote || list[0])?.key ?? null;
  }

  place(t, x, y, w, h) {
    t.el.hidden = false;
    Object.assign(t.el.style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px` });
  }

  layout() {
    const W = this.stageEl.clientWidth;
    const H = this.stageEl.clientHeight;
    const list = this.ordered();
    const mode = this.effectiveMode();
    this.stageEl.dataset.layout = mode;
    this.more.hidden = true;
    for (const t of list) t.el.classList.remove('main', 'thumb');
    if (mode === 'speaker' && list.length > 1) this.layoutSpeaker(list, W, H);
    else this.layoutGrid(list, W, H);
    if (this.onChange) this.onChange(mode);
  }

  layoutGrid(list, W, H) {
    this.main = null;
    let order = list;
    // the dominant speaker stays on the page being looked at
    const pg = pageOf(order, this.page);
    const dom = this.dominant && this.tiles.get(`${this.dominant}:camera`);
    if (dom && pg.pages > 1 && !pg.items.includes(dom)) {
      order = [...list];
      const from = order.indexOf(dom);
      const to = pg.page * PAGE_SIZE + pg.items.length - 1;
      [order[from], order[to]] = [order[to], order[from]];
    }
    const { page, pages, items } = pageOf(order, this.page);
    this.page = page;
    const g = fitGrid(items.length, W, H, GAP);
    const rowsUsed = Math.ceil(items.length / g.cols);
    const top = Math.max(0, (H - (rowsUsed * g.h + (rowsUsed - 1) * GAP)) / 2);
    items.forEach((t, i) => {
      const row = Math.floor(i / g.cols);
      const inRow = Math.min(g.cols, items.length - row * g.cols);
      const left = (W - (inRow * g.w + (inRow - 1) * GAP)) / 2;
      this.place(t, Math.round(left + (i % g.cols) * (g.w + GAP)), Math.round(top + row * (g.h + GAP)), g.w, g.h);
    });
    const shown = new Set(items);
    for (const t of list) if (!shown.has(t)) t.el.hidden = true;
    this.prev.hidden = page === 0;
    this.next.hidden = page >= pages - 1;
    this.label.hidden = pages <= 1;
    this.label.textContent = `${page + 1} / ${pages}`;
  }

  layoutSpeaker(list, W, H) {
    this.prev.hidden = this.next.hidden = this.label.hidden = true;
    this.main = this.pickMain(list);
    const main = this.tiles.get(this.main);
    const others = list.filter((t) => t !== main);
    const L = speakerLayout(W, H, others.length, GAP);
    // the main tile: 16:9 when it is a camera, the whole area for a screen (letterboxed inside)
    let m = L.main;
    if (main.source !== 'screen') {
      const g = fitGrid(1, m.w, m.h, 0);
      m = { x: m.x + (m.w - g.w) / 2, y: m.y + (m.h - g.h) / 2, w: g.w, h: g.h };
    }
    this.place(main, Math.round(m.x), Math.round(m.y), Math.round(m.w), Math.round(m.h));
    main.el.classList.add('main');
    const s = L.strip;
    const along = s.vertical ? s.h : s.w;
    const step = (s.vertical ? L.thumb.h : L.thumb.w) + GAP;
    const fit = Math.max(1, Math.floor((along + GAP) / step));
    const shown = others.length > fit ? others.slice(0, fit - 1) : others;
    const count = shown.length + (others.length > fit ? 1 : 0);
    const start = (along - (count * step - GAP)) / 2;
    const at = (i) => (s.vertical
      ? { x: s.x, y: s.y + start + i * step }
      : { x: s.x + start + i * step, y: s.y });
    shown.forEach((t, i) => {
      const p = at(i);
      this.place(t, Math.round(p.x), Math.round(p.y), L.thumb.w, L.thumb.h);
      t.el.classList.add('thumb');
    });
    const hidden = new Set([main, ...shown]);
    for (const t of list) if (!hidden.has(t)) t.el.hidden = true;
    if (others.length > fit) {
      const p = at(shown.length);
      this.more.hidden = false;
      this.more.textContent = `+${others.length - shown.length} more`;
      Object.assign(this.more.style, { left: `${Math.round(p.x)}px`, top: `${Math.round(p.y)}px`,
        width: `${L.thumb.w}px`, height: `${L.thumb.h}px` });
    }
  }

  // For tests: where every tile is, in page coordinates.
  geometry() {
    const r = this.stageEl.getBoundingClientRect();
    const tiles = [...this.tiles.values()].map((t) => {
      const b = t.el.getBoundingClientRect();
      return { key: t.key, id: t.local ? 'local' : t.pid, source: t.source, visible: !t.el.hidden && b.width > 0,
        main: t.el.classList.contains('main'), x: b.x, y: b.y, w: b.width, h: b.height };
    });
    return { mode: this.effectiveMode(), page: this.page, stage: { x: r.x, y: r.y, w: r.width, h: r.height }, tiles };
  }
}
