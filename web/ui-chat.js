// ui-chat.js: the chat panel (name, time, text; newest at the bottom) and reactions floating over
// the sender's tile. Everything a sender wrote is shown as text, never as markup.
export const REACTIONS = ['\u{1F44D}', '\u{1F44F}', '\u{1F602}', '\u{2764}\u{FE0F}', '\u{1F389}', '\u{270B}'];
const MAX_SHOWN = 500;

function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

export class ChatPanel {
  constructor({ panel, list, status, form, input, toggle, unread, close }) {
    Object.assign(this, { panel, list, status, form, input, toggle, unread });
    this.unseen = 0;
    this.onSend = null;
    close.addEventListener('click', () => this.show(false));
    toggle.addEventListener('click', () => this.show(this.panel.hidden));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text || !this.onSend) return;
      if (this.onSend(text)) input.value = '';
    });
    this.setState('unavailable');
  }

  get open() { return !this.panel.hidden; }

  show(open) {
    this.panel.hidden = !open;
    this.toggle.setAttribute('aria-pressed', String(open));
    if (open) {
      this.unseen = 0;
      this.unread.hidden = true;
      this.list.scrollTop = this.list.scrollHeight;
      if (matchMedia('(pointer: fine)').matches) this.input.focus();
    }
  }

  setState(state) {
    const text = { unavailable: 'Chat is not available on this server.', connecting: 'Connecting\u2026',
      open: '', closed: 'Chat disconnected.' }[state] ?? '';
    this.status.textContent = text;
    const usable = state === 'open' || state === 'connecting';
    this.input.disabled = !usable;
    this.form.querySelector('button').disabled = !usable;
  }

  add({ from, time, text }, mine) {
    const li = document.createElement('li');
    if (mine) li.className = 'mine';
    const who = document.createElement('div');
    who.className = 'who';
    const b = document.createElement('b');
    b.textContent = mine ? `${from.name} (you)` : from.name || from.id;
    const t = document.createElement('time');
    t.dateTime = new Date(time).toISOString();
    t.textContent = hhmm(time);
    who.append(b, t);
    const p = document.createElement('div');
    p.className = 'text';
    p.textContent = text;
    li.append(who, p);
    this.append(li);
    if (!this.open && !mine) {
      this.unseen += 1;
      this.unread.textContent = String(this.unseen);
      this.unread.hidden = false;
    }
  }

  system(text) {
    const li = document.createElement('li');
    li.className = 'system';
    li.textContent = text;
    this.append(li);
  }

  append(li) {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(li);
    while (this.list.childElementCount > MAX_SHOWN) this.list.firstElementChild.remove();
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  clear() {
    this.list.replaceChildren();
    this.unseen = 0;
    this.unread.hidden = true;
  }
}

// A reaction rising from the bottom of a tile (or of the stage).
export function floatReaction(layer, tileEl, emoji, name) {
  const span = document.createElement('span');
  span.className = 'reaction';
  span.textContent = emoji;
  const small = document.createElement('small');
  small.textContent = name;
  span.append(small);
  const lr = layer.getBoundingClientRect();
  const r = tileEl && !tileEl.hidden ? tileEl.getBoundingClientRect() : lr;
  span.style.left = `${r.left - lr.left + r.width / 2 - 20 + (Math.random() * 30 - 15)}px`;
  span.style.top = `${r.top - lr.top + r.height - 70}px`;
  layer.append(span);
  setTimeout(() => span.remove(), 3100);
}
