// Draws the seat map on two canvases: `base` holds every seat (redrawn in full only when the
// view moves), `overlay` holds what changes with the fan's hand (chosen seats, focus,
// hover). A live seat change repaints that one seat on `base`, so 100 changes a second cost
// almost nothing. Far out, seats are a few pixels each and are written straight into an
// ImageData buffer (50,000 seats in a couple of milliseconds); closer in, only the seats in
// view are drawn as shapes, with numbers when they are big enough to read.
import { AVAILABLE, HELD, type SeatModel } from './seatModel';

export interface View {
  /** CSS pixels per world unit. */
  scale: number;
  /** Screen position (CSS px) of world (0, 0). */
  tx: number;
  ty: number;
}

export const COLOURS = {
  background: '#ffffff',
  held: '#94a3b8',
  booked: '#d7dce3',
  selected: '#16a34a',
  selectedRing: '#064e3b',
  focus: '#1d4ed8',
  hover: '#0f172a',
  stage: '#1f2533',
  label: 'rgba(15, 23, 42, 0.55)',
};

function hexToRgba32(hex: string): number {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  const v = m ? parseInt(m[1], 16) : 0x999999;
  const r = (v >> 16) & 255;
  const g = (v >> 8) & 255;
  const b = v & 255;
  // ImageData is RGBA in memory; on little-endian machines a Uint32 reads ABGR.
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export class SeatRenderer {
  readonly view: View = { scale: 1, tx: 0, ty: 0 };
  cssWidth = 300;
  cssHeight = 300;
  dpr = 1;
  minScale = 0.05;
  maxScale = 8;
  private readonly base: CanvasRenderingContext2D;
  private readonly overlay: CanvasRenderingContext2D;
  private image: ImageData | null = null;
  private readonly catRgba: number[];
  private readonly heldRgba = hexToRgba32(COLOURS.held);
  private readonly bookedRgba = hexToRgba32(COLOURS.booked);
  private readonly bgRgba = hexToRgba32(COLOURS.background);
  private groupBuf: Int32Array;
  /** Time the last full draw took (ms), for the numbers. */
  lastDrawMs = 0;

  constructor(
    private readonly baseCanvas: HTMLCanvasElement,
    private readonly overlayCanvas: HTMLCanvasElement,
    readonly model: SeatModel,
  ) {
    this.base = baseCanvas.getContext('2d', { alpha: false })!;
    this.overlay = overlayCanvas.getContext('2d')!;
    this.catRgba = model.categories.map((c) => hexToRgba32(c.colour));
    this.groupBuf = new Int32Array(model.n);
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.cssWidth = Math.max(1, Math.floor(cssWidth));
    this.cssHeight = Math.max(1, Math.floor(cssHeight));
    this.dpr = Math.max(1, Math.min(3, dpr));
    for (const c of [this.baseCanvas, this.overlayCanvas]) {
      c.width = Math.round(this.cssWidth * this.dpr);
      c.height = Math.round(this.cssHeight * this.dpr);
    }
    this.image = null;
  }

  /** Fits the whole venue (and the stage) in view. */
  fit(): void {
    const { minX, maxX, maxY } = this.model.bounds;
    const minY = Math.min(this.model.bounds.minY, this.model.stage.y - this.model.stage.h);
    const pad = 16;
    const w = maxX - minX + this.model.pitch * 2;
    const h = maxY - minY + this.model.pitch * 2;
    const scale = Math.min((this.cssWidth - pad * 2) / w, (this.cssHeight - pad * 2) / h);
    this.view.scale = scale;
    this.minScale = scale * 0.8;
    this.maxScale = Math.max(scale * 4, 40 / this.model.pitch);
    this.view.tx = this.cssWidth / 2 - ((minX + maxX) / 2) * scale;
    this.view.ty = this.cssHeight / 2 - ((minY + maxY) / 2) * scale;
  }

  isFitted(): boolean {
    return this.view.scale <= this.minScale / 0.8 + 1e-9;
  }

  zoomAt(factor: number, sx: number, sy: number): void {
    const next = Math.min(this.maxScale, Math.max(this.minScale, this.view.scale * factor));
    const f = next / this.view.scale;
    this.view.tx = sx - (sx - this.view.tx) * f;
    this.view.ty = sy - (sy - this.view.ty) * f;
    this.view.scale = next;
  }

  panBy(dx: number, dy: number): void {
    this.view.tx += dx;
    this.view.ty += dy;
  }

  /** Centres seat `i` and zooms in to at least `minSeatPx` per seat. */
  focusOn(i: number, minSeatPx = 16): void {
    const wanted = minSeatPx / (this.model.pitch * 0.72);
    if (this.view.scale < wanted) this.view.scale = Math.min(this.maxScale, wanted);
    const [sx, sy] = this.toScreen(i);
    const margin = 48;
    if (sx < margin || sy < margin || sx > this.cssWidth - margin || sy > this.cssHeight - margin || this.view.scale === wanted) {
      this.view.tx += this.cssWidth / 2 - sx;
      this.view.ty += this.cssHeight / 2 - sy;
    }
  }

  toScreen(i: number): [number, number] {
    return [this.model.xs[i] * this.view.scale + this.view.tx, this.model.ys[i] * this.view.scale + this.view.ty];
  }

  toWorld(sx: number, sy: number): [number, number] {
    return [(sx - this.view.tx) / this.view.scale, (sy - this.view.ty) / this.view.scale];
  }

  /** Seat side in CSS pixels. */
  seatPx(): number {
    return this.model.pitch * 0.72 * this.view.scale;
  }

  /** The seat under a screen point (CSS px), with a forgiving radius. */
  hit(sx: number, sy: number): number {
    const [x, y] = this.toWorld(sx, sy);
    const radius = Math.max(this.model.pitch * 0.6, 6 / this.view.scale);
    return this.model.seatAt(x, y, radius);
  }

  /** Redraws every seat in view. */
  draw(): void {
    const t0 = performance.now();
    const ctx = this.base;
    const W = this.baseCanvas.width;
    const H = this.baseCanvas.height;
    const k = this.view.scale * this.dpr;
    const ox = this.view.tx * this.dpr;
    const oy = this.view.ty * this.dpr;
    const size = this.model.pitch * 0.72 * k;
    const m = this.model;
    if (size < 3.5) {
      // Pixels: one small square per seat, written straight into the buffer.
      if (!this.image || this.image.width !== W || this.image.height !== H) this.image = ctx.createImageData(W, H);
      const buf = new Uint32Array(this.image.data.buffer);
      buf.fill(this.bgRgba);
      const s = Math.max(1, Math.round(size));
      const half = s / 2;
      for (let i = 0; i < m.n; i++) {
        const px = Math.round(m.xs[i] * k + ox - half);
        const py = Math.round(m.ys[i] * k + oy - half);
        if (px < 0 || py < 0 || px + s > W || py + s > H) continue;
        const st = m.status[i];
        const c = st === AVAILABLE ? this.catRgba[m.cat[i]] : st === HELD ? this.heldRgba : this.bookedRgba;
        for (let dy = 0; dy < s; dy++) {
          const row = (py + dy) * W + px;
          for (let dx = 0; dx < s; dx++) buf[row + dx] = c;
        }
      }
      ctx.putImageData(this.image, 0, 0);
    } else {
      ctx.fillStyle = COLOURS.background;
      ctx.fillRect(0, 0, W, H);
      // Seats in view, grouped by how they look: one path per look.
      const margin = size;
      let count = 0;
      for (let i = 0; i < m.n; i++) {
        const px = m.xs[i] * k + ox;
        const py = m.ys[i] * k + oy;
        if (px < -margin || py < -margin || px > W + margin || py > H + margin) continue;
        this.groupBuf[count++] = i;
      }
      const groups = m.categories.length + 2;
      for (let g = 0; g < groups; g++) {
        ctx.beginPath();
        let any = false;
        for (let p = 0; p < count; p++) {
          const i = this.groupBuf[p];
          const st = m.status[i];
          const gi = st === AVAILABLE ? m.cat[i] : st === HELD ? groups - 2 : groups - 1;
          if (gi !== g) continue;
          any = true;
          this.pathSeat(ctx, i, k, ox, oy, size);
        }
        if (!any) continue;
        if (g === groups - 2) {
          ctx.lineWidth = Math.max(1, size * 0.14);
          ctx.strokeStyle = COLOURS.held;
          ctx.stroke();
        } else {
          ctx.fillStyle = g === groups - 1 ? COLOURS.booked : m.categories[g].colour;
          ctx.fill();
        }
      }
      if (size >= 18) {
        ctx.fillStyle = '#ffffff';
        ctx.font = `${Math.round(size * 0.42)}px system-ui, sans-serif`;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        for (let p = 0; p < count; p++) {
          const i = this.groupBuf[p];
          if (m.status[i] !== AVAILABLE) continue;
          const ri = m.runOf[i];
          ctx.fillText(String(m.runs[ri].firstNumber + (i - m.runStart[ri])), Math.round(m.xs[i] * k + ox), Math.round(m.ys[i] * k + oy) + 1);
        }
      }
    }
    this.drawStageAndLabels(k, ox, oy, size);
    this.lastDrawMs = performance.now() - t0;
  }

  private pathSeat(ctx: CanvasRenderingContext2D, i: number, k: number, ox: number, oy: number, size: number) {
    const m = this.model;
    const st = m.status[i];
    const s = st === AVAILABLE || st === HELD ? size : size * 0.55;
    const x = Math.round(m.xs[i] * k + ox - s / 2);
    const y = Math.round(m.ys[i] * k + oy - s / 2);
    const r = Math.round(s);
    if (st === HELD) {
      const inset = Math.max(0.5, size * 0.07);
      ctx.rect(x + inset, y + inset, r - 2 * inset, r - 2 * inset);
    } else if (size >= 8 && st === AVAILABLE) {
      ctx.roundRect(x, y, r, r, Math.min(4, r * 0.22));
    } else {
      ctx.rect(x, y, r, r);
    }
  }

  private drawStageAndLabels(k: number, ox: number, oy: number, size: number) {
    const ctx = this.base;
    const st = this.model.stage;
    const x = st.x * k + ox;
    const y = st.y * k + oy;
    const w = st.w * k;
    const h = st.h * k;
    ctx.fillStyle = COLOURS.stage;
    ctx.beginPath();
    ctx.roundRect(x - w / 2, y - h / 2, w, h, Math.min(12 * this.dpr, h / 2));
    ctx.fill();
    ctx.fillStyle = '#ffffff';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `600 ${Math.max(9 * this.dpr, Math.min(h * 0.45, 18 * this.dpr))}px system-ui, sans-serif`;
    ctx.fillText('STAGE', x, y);
    // Section names, when there is room and seats are not yet numbered.
    if (size < 18 && size * 1.4 > 2) {
      ctx.fillStyle = COLOURS.label;
      ctx.font = `600 ${Math.round(11 * this.dpr)}px system-ui, sans-serif`;
      for (const s of this.model.sections) {
        const lx = s.labelX * k + ox;
        const ly = s.labelY * k + oy;
        if (lx < 0 || ly < 0 || lx > this.baseCanvas.width || ly > this.baseCanvas.height) continue;
        const tw = ctx.measureText(s.name).width;
        ctx.fillStyle = 'rgba(255,255,255,0.78)';
        ctx.fillRect(lx - tw / 2 - 3 * this.dpr, ly - 7 * this.dpr, tw + 6 * this.dpr, 14 * this.dpr);
        ctx.fillStyle = COLOURS.label;
        ctx.fillText(s.name, lx, ly);
      }
    }
  }

  /** Repaints one seat after a live change, without touching the rest. */
  drawSeat(i: number): void {
    const m = this.model;
    const k = this.view.scale * this.dpr;
    const ox = this.view.tx * this.dpr;
    const oy = this.view.ty * this.dpr;
    const size = m.pitch * 0.72 * k;
    const ctx = this.base;
    const cx = m.xs[i] * k + ox;
    const cy = m.ys[i] * k + oy;
    if (cx < -size || cy < -size || cx > this.baseCanvas.width + size || cy > this.baseCanvas.height + size) return;
    const st = m.status[i];
    const colour = st === AVAILABLE ? m.categories[m.cat[i]].colour : st === HELD ? COLOURS.held : COLOURS.booked;
    if (size < 3.5) {
      const s = Math.max(1, Math.round(size));
      const x = Math.round(cx - s / 2);
      const y = Math.round(cy - s / 2);
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, s, s);
      return;
    }
    const r = Math.round(size);
    const x = Math.round(cx - size / 2);
    const y = Math.round(cy - size / 2);
    ctx.fillStyle = COLOURS.background;
    ctx.fillRect(x - 1, y - 1, r + 2, r + 2);
    ctx.beginPath();
    this.pathSeat(ctx, i, k, ox, oy, size);
    if (st === HELD) {
      ctx.lineWidth = Math.max(1, size * 0.14);
      ctx.strokeStyle = COLOURS.held;
      ctx.stroke();
    } else {
      ctx.fillStyle = colour;
      ctx.fill();
      if (st === AVAILABLE && size >= 18) {
        const ri = m.runOf[i];
        ctx.fillStyle = '#ffffff';
        ctx.font = `${Math.round(size * 0.42)}px system-ui, sans-serif`;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(String(m.runs[ri].firstNumber + (i - m.runStart[ri])), Math.round(cx), Math.round(cy) + 1);
      }
    }
  }

  /** The fan's own layer: chosen (or held-by-me) seats, keyboard focus, hover. */
  drawOverlay(chosen: readonly number[], focus: number, hover: number): void {
    const ctx = this.overlay;
    ctx.clearRect(0, 0, this.overlayCanvas.width, this.overlayCanvas.height);
    const k = this.view.scale * this.dpr;
    const ox = this.view.tx * this.dpr;
    const oy = this.view.ty * this.dpr;
    const size = Math.max(this.model.pitch * 0.72 * k, 5 * this.dpr);
    const m = this.model;
    for (const i of chosen) {
      const x = m.xs[i] * k + ox;
      const y = m.ys[i] * k + oy;
      ctx.fillStyle = COLOURS.selected;
      ctx.strokeStyle = COLOURS.selectedRing;
      ctx.lineWidth = Math.max(1.5 * this.dpr, size * 0.12);
      ctx.beginPath();
      ctx.roundRect(x - size / 2, y - size / 2, size, size, Math.min(4 * this.dpr, size * 0.25));
      ctx.fill();
      ctx.stroke();
      if (size >= 12 * this.dpr) {
        // A tick, so "chosen" does not rest on colour alone.
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = Math.max(1.5, size * 0.12);
        ctx.beginPath();
        ctx.moveTo(x - size * 0.22, y);
        ctx.lineTo(x - size * 0.05, y + size * 0.18);
        ctx.lineTo(x + size * 0.24, y - size * 0.18);
        ctx.stroke();
      }
    }
    for (const [i, colour] of [[hover, COLOURS.hover], [focus, COLOURS.focus]] as const) {
      if (i < 0) continue;
      const x = m.xs[i] * k + ox;
      const y = m.ys[i] * k + oy;
      const ring = size / 2 + 3 * this.dpr;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2 * this.dpr;
      ctx.beginPath();
      ctx.roundRect(x - ring, y - ring, ring * 2, ring * 2, 4 * this.dpr);
      ctx.stroke();
    }
  }
}
