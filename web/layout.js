// layout.js: where tiles go. Pure functions (no DOM), used by app.js.

export const ASPECT = 16 / 9;
export const PAGE_SIZE = 25; // tiles on one page of the grid

// The largest 16:9 tiles that fit n of them in a w x h box with `gap` between them:
// {cols, rows, w, h} (w, h: one tile, whole pixels).
export function fitGrid(n, w, h, gap = 8) {
  let best = { cols: 1, rows: Math.max(1, n), w: 0, h: 0 };
  if (n <= 0 || w <= 0 || h <= 0) return best;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (w - gap * (cols - 1)) / cols;
    const ch = (h - gap * (rows - 1)) / rows;
    if (cw <= 0 || ch <= 0) continue;
    const tw = Math.min(cw, ch * ASPECT);
    if (tw > best.w + 0.5) best = { cols, rows, w: Math.floor(tw), h: Math.floor(tw / ASPECT) };
  }
  return best;
}

// The tiles of page `page` (0-based, clamped) out of `items`, and how many pages there are.
export function pageOf(items, page, size = PAGE_SIZE) {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  return { page: p, pages, items: items.slice(p * size, (p + 1) * size) };
}

// Speaker view: the main tile and a strip of the others, below (wide boxes) or beside (tall ones).
// Returns {main: {x, y, w, h}, strip: {x, y, w, h, vertical}, thumb: {w, h}}.
export function speakerLayout(w, h, others, gap = 8) {
  if (others === 0) return { main: { x: 0, y: 0, w, h }, strip: null, thumb: { w: 0, h: 0 } };
  const vertical = w / h > 1.9; // a wide window: the strip goes to the right
  if (vertical) {
    const sw = Math.max(120, Math.min(260, Math.round(w * 0.18)));
    const th = Math.round(sw / ASPECT);
    return { main: { x: 0, y: 0, w: w - sw - gap, h }, strip: { x: w - sw, y: 0, w: sw, h, vertical },
      thumb: { w: sw, h: th } };
  }
  const sh = Math.max(68, Math.min(150, Math.round(h * 0.2)));
  const tw = Math.round(sh * ASPECT);
  return { main: { x: 0, y: 0, w, h: h - sh - gap }, strip: { x: 0, y: h - sh, w, h: sh, vertical },
    thumb: { w: tw, h: sh } };
}
