// ui-devices.js: picking the camera, the microphone and the speaker output. The chosen ids are
// remembered (localStorage) for the next meeting.
const KEY = 'sfu.devices';

function saved() {
  try { return JSON.parse(localStorage.getItem(KEY) || '{}') || {}; } catch { return {}; }
}

export function savedDevice(kind) { return saved()[kind] || ''; }

function save(kind, id) {
  const s = saved();
  s[kind] = id;
  try { localStorage.setItem(KEY, JSON.stringify(s)); } catch { /* private mode */ }
}

export class DevicePicker {
  // onPick(kind, deviceId): kind is 'videoinput', 'audioinput' or 'audiooutput'
  constructor({ dialog, cam, mic, spk, note, onPick }) {
    Object.assign(this, { dialog, cam, mic, spk, note, onPick });
    this.current = { videoinput: '', audioinput: '', audiooutput: savedDevice('audiooutput') };
    for (const [sel, kind] of [[cam, 'videoinput'], [mic, 'audioinput'], [spk, 'audiooutput']]) {
      sel.addEventListener('change', () => {
        this.current[kind] = sel.value;
        save(kind, sel.value);
        this.onPick(kind, sel.value);
      });
    }
    navigator.mediaDevices?.addEventListener?.('devicechange', () => { if (this.dialog.open) this.fill(); });
  }

  // The devices in use now (from the live tracks), so the lists show them selected.
  setInUse(kind, deviceId) { if (deviceId) this.current[kind] = deviceId; }

  async fill() {
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { /* none */ }
    const sinks = typeof HTMLMediaElement.prototype.setSinkId === 'function';
    for (const [sel, kind, none] of [[this.cam, 'videoinput', 'No camera'], [this.mic, 'audioinput', 'No microphone'],
      [this.spk, 'audiooutput', 'System default']]) {
      const list = devices.filter((d) => d.kind === kind);
      sel.replaceChildren();
      if (!list.length || (kind === 'audiooutput' && !sinks)) {
        const o = new Option(kind === 'audiooutput' && !sinks ? 'System default (this browser cannot choose)' : none, '');
        sel.append(o);
        sel.disabled = true;
        continue;
      }
      sel.disabled = false;
      list.forEach((d, i) => sel.append(new Option(d.label || `${kind.replace('input', '').replace('output', '')} ${i + 1}`, d.deviceId)));
      if (this.current[kind] && list.some((d) => d.deviceId === this.current[kind])) sel.value = this.current[kind];
    }
    this.note.textContent = devices.some((d) => !d.label) ? 'Device names appear once the browser may use them.' : '';
  }

  async open() {
    await this.fill();
    if (!this.dialog.open) this.dialog.showModal();
  }
}
