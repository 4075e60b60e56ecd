// The seat map as flat typed arrays, built once from `seatMap` (a 50,000-seat stadium is a
// few hundred runs): positions, states, categories and a spatial grid for hit tests. Seat
// ids are never stored per seat: seat k of a run has id firstSeatId + k.

export const AVAILABLE = 0;
export const HELD = 1;
export const BOOKED = 2;
export type SeatState = typeof AVAILABLE | typeof HELD | typeof BOOKED;

export interface Money { amountMinor: number; currency: string; formatted: string }
export interface RawCategory { id: string; name: string; colour: string; price: Money }
export interface RawSection { name: string; categoryId: string; labelX: number; labelY: number; seatCount: number }
export interface RawRun {
  section: number; row: string; firstSeatId: string; firstNumber: number; count: number;
  x: number; y: number; dx: number; dy: number; categoryId: string;
}
export interface RawSeatMap {
  eventId: string;
  seatCount: number;
  status: string;
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
  categories: RawCategory[];
  sections: RawSection[];
  runs: RawRun[];
}

export function stateFromChar(c: string): SeatState {
  return c === 'A' ? AVAILABLE : c === 'H' ? HELD : BOOKED;
}

export function stateFromStatus(s: string): SeatState {
  return s === 'AVAILABLE' ? AVAILABLE : s === 'HELD' ? HELD : BOOKED;
}

export interface SeatLabel {
  id: string;
  section: string;
  row: string;
  number: number;
  category: RawCategory;
  state: SeatState;
}

const CELL = 24;

export class SeatModel {
  readonly n: number;
  readonly xs: Float32Array;
  readonly ys: Float32Array;
  readonly status: Uint8Array;
  readonly cat: Uint8Array;
  readonly runOf: Int32Array;
  /** Per-seat version of the last change applied (-1: as loaded). */
  readonly version: Int32Array;
  readonly runStart: Int32Array;
  readonly runFirstId: Float64Array;
  /** Run indices of each section, in order. */
  readonly sectionRuns: number[][];
  readonly categories: RawCategory[];
  readonly sections: RawSection[];
  readonly runs: RawRun[];
  readonly bounds: RawSeatMap['bounds'];
  /** Typical distance between neighbouring seats (world units). */
  readonly pitch: number;
  /** Where the stage is drawn (world units): centre of the open end, at the top. */
  readonly stage: { x: number; y: number; w: number; h: number };
  private readonly gridX0: number;
  private readonly gridY0: number;
  private readonly gridCols: number;
  private readonly gridRows: number;
  private readonly cellStart: Int32Array;
  private readonly cellItems: Int32Array;
  private readonly catIndex = new Map<string, number>();

  constructor(raw: RawSeatMap) {
    this.categories = raw.categories;
    this.sections = raw.sections;
    this.runs = raw.runs;
    this.bounds = raw.bounds;
    raw.categories.forEach((c, i) => this.catIndex.set(c.id, i));
    let n = 0;
    for (const r of raw.runs) n += r.count;
    this.n = n;
    this.xs = new Float32Array(n);
    this.ys = new Float32Array(n);
    this.status = new Uint8Array(n);
    this.cat = new Uint8Array(n);
    this.runOf = new Int32Array(n);
    this.version = new Int32Array(n).fill(-1);
    this.runStart = new Int32Array(raw.runs.length + 1);
    this.runFirstId = new Float64Array(raw.runs.length);
    this.sectionRuns = raw.sections.map(() => []);
    let i = 0;
    let pitchSum = 0;
    let pitchCount = 0;
    raw.runs.forEach((r, ri) => {
      this.runStart[ri] = i;
      this.runFirstId[ri] = Number(r.firstSeatId);
      this.sectionRuns[r.section]?.push(ri);
      const c = this.catIndex.get(r.categoryId) ?? 0;
      if (r.count > 1) {
        pitchSum += Math.hypot(r.dx, r.dy);
        pitchCount++;
      }
      for (let k = 0; k < r.count; k++, i++) {
        this.xs[i] = r.x + k * r.dx;
        this.ys[i] = r.y + k * r.dy;
        this.cat[i] = c;
        this.runOf[i] = ri;
        this.status[i] = stateFromChar(raw.status.charAt(i));
      }
    });
    this.runStart[raw.runs.length] = n;
    this.pitch = pitchCount ? pitchSum / pitchCount : 10;

    // Spatial grid (counting sort of seats into cells).
    const { minX, minY, maxX, maxY } = raw.bounds;
    this.gridX0 = minX - CELL;
    this.gridY0 = minY - CELL;
    this.gridCols = Math.max(1, Math.ceil((maxX - minX + 2 * CELL) / CELL) + 1);
    this.gridRows = Math.max(1, Math.ceil((maxY - minY + 2 * CELL) / CELL) + 1);
    const cells = this.gridCols * this.gridRows;
    const counts = new Int32Array(cells + 1);
    const cellOf = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      const cell = this.cellIndex(this.xs[s], this.ys[s]);
      cellOf[s] = cell;
      counts[cell + 1]++;
    }
    for (let k = 0; k < cells; k++) counts[k + 1] += counts[k];
    this.cellStart = counts;
    this.cellItems = new Int32Array(n);
    const fill = counts.slice(0, cells);
    for (let s = 0; s < n; s++) this.cellItems[fill[cellOf[s]]++] = s;

    // The stage: above the topmost seats near the centre line (the open end).
    const cx = (minX + maxX) / 2;
    const width = maxX - minX;
    let topNearCentre = Infinity;
    for (let s = 0; s < n; s++) {
      if (Math.abs(this.xs[s] - cx) < width * 0.12 && this.ys[s] < topNearCentre) topNearCentre = this.ys[s];
    }
    if (!Number.isFinite(topNearCentre)) topNearCentre = minY;
    const h = Math.max(20, this.pitch * 4);
    this.stage = { x: cx, y: Math.max(minY - h * 1.5, topNearCentre - h * 1.6), w: Math.max(80, width * 0.22), h };
  }

  private cellIndex(x: number, y: number): number {
    const cx = Math.min(this.gridCols - 1, Math.max(0, Math.floor((x - this.gridX0) / CELL)));
    const cy = Math.min(this.gridRows - 1, Math.max(0, Math.floor((y - this.gridY0) / CELL)));
    return cy * this.gridCols + cx;
  }

  categoryIndex(id: string): number {
    return this.catIndex.get(id) ?? -1;
  }

  /** Seat index of a seat id, or -1. */
  indexOfId(id: string | number): number {
    const v = typeof id === 'number' ? id : Number(id);
    if (!Number.isFinite(v)) return -1;
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.runFirstId[mid] <= v) lo = mid + 1;
      else hi = mid - 1;
    }
    const ri = hi;
    if (ri < 0) return -1;
    const k = v - this.runFirstId[ri];
    return k < this.runs[ri].count ? this.runStart[ri] + k : -1;
  }

  idOf(i: number): string {
    const ri = this.runOf[i];
    return String(this.runFirstId[ri] + (i - this.runStart[ri]));
  }

  label(i: number): SeatLabel {
    const ri = this.runOf[i];
    const run = this.runs[ri];
    return {
      id: this.idOf(i),
      section: this.sections[run.section]?.name ?? '',
      row: run.row,
      number: run.firstNumber + (i - this.runStart[ri]),
      category: this.categories[this.cat[i]],
      state: this.status[i] as SeatState,
    };
  }

  /** "P1-A-5" style short name. */
  shortName(i: number): string {
    const l = this.label(i);
    return `${l.section} ${l.row}${l.number}`;
  }

  /** The seat nearest to (x, y) within `radius` world units, or -1. */
  seatAt(x: number, y: number, radius: number): number {
    const r = Math.ceil(radius / CELL);
    const cx = Math.floor((x - this.gridX0) / CELL);
    const cy = Math.floor((y - this.gridY0) / CELL);
    let best = -1;
    let bestD = radius * radius;
    for (let gy = cy - r; gy <= cy + r; gy++) {
      if (gy < 0 || gy >= this.gridRows) continue;
      for (let gx = cx - r; gx <= cx + r; gx++) {
        if (gx < 0 || gx >= this.gridCols) continue;
        const cell = gy * this.gridCols + gx;
        for (let p = this.cellStart[cell]; p < this.cellStart[cell + 1]; p++) {
          const s = this.cellItems[p];
          const d = (this.xs[s] - x) ** 2 + (this.ys[s] - y) ** 2;
          if (d <= bestD) {
            bestD = d;
            best = s;
          }
        }
      }
    }
    return best;
  }

  /** Keyboard: the next seat along the row (dir +1 / -1), or -1 at the row's end. */
  alongRow(i: number, dir: 1 | -1): number {
    const j = i + dir;
    if (j < 0 || j >= this.n || this.runOf[j] !== this.runOf[i]) return -1;
    return j;
  }

  /** Keyboard: the nearest seat of the neighbouring row of the same section, or -1. */
  acrossRows(i: number, dir: 1 | -1): number {
    const ri = this.runOf[i];
    const runs = this.sectionRuns[this.runs[ri].section];
    const pos = runs.indexOf(ri);
    const target = runs[pos + dir];
    if (target === undefined) return -1;
    return this.nearestInRun(target, this.xs[i], this.ys[i]);
  }

  /** Keyboard: the first seat of the next / previous section, or -1. */
  acrossSections(i: number, dir: 1 | -1): number {
    const section = this.runs[this.runOf[i]].section + dir;
    const runs = this.sectionRuns[section];
    if (!runs || runs.length === 0) return -1;
    return this.runStart[runs[0]];
  }

  rowEnd(i: number, end: 'first' | 'last'): number {
    const ri = this.runOf[i];
    return end === 'first' ? this.runStart[ri] : this.runStart[ri + 1] - 1;
  }

  nearestInRun(ri: number, x: number, y: number): number {
    let best = this.runStart[ri];
    let bestD = Infinity;
    for (let s = this.runStart[ri]; s < this.runStart[ri + 1]; s++) {
      const d = (this.xs[s] - x) ** 2 + (this.ys[s] - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = s;
      }
    }
    return best;
  }

  /** The available seat nearest the stage: where keyboard navigation starts. */
  firstSeat(): number {
    let best = 0;
    let bestD = Infinity;
    for (let s = 0; s < this.n; s++) {
      if (this.status[s] !== AVAILABLE) continue;
      const d = (this.xs[s] - this.stage.x) ** 2 + (this.ys[s] - this.stage.y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = s;
      }
    }
    return best;
  }

  counts(): { available: number; held: number; booked: number } {
    let available = 0;
    let held = 0;
    for (let s = 0; s < this.n; s++) {
      if (this.status[s] === AVAILABLE) available++;
      else if (this.status[s] === HELD) held++;
    }
    return { available, held, booked: this.n - available - held };
  }

  /**
   * Applies one live change. Changes carry a per-seat version: an older or repeated one
   * (out of order after a reconnect) is ignored. Returns whether the seat changed.
   */
  apply(i: number, state: SeatState, version: number): boolean {
    if (i < 0) return false;
    if (version <= this.version[i]) return false;
    this.version[i] = version;
    if (this.status[i] === state) return false;
    this.status[i] = state;
    return true;
  }
}
