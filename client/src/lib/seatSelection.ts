// The rules of choosing seats, pure and tested: only available seats, up to the cap, and
// what happens when a chosen seat is taken by someone else.
import { AVAILABLE, type SeatModel } from './seatModel';

export type ToggleRefusal = 'CAP_REACHED' | 'NOT_AVAILABLE';

export interface ToggleResult {
  selected: number[];
  refused?: ToggleRefusal;
}

/** Adds or removes seat `i`. A seat can always be removed; it is added only if free and under the cap. */
export function toggleSeat(selected: readonly number[], i: number, cap: number, isAvailable: (i: number) => boolean): ToggleResult {
  if (selected.includes(i)) return { selected: selected.filter((s) => s !== i) };
  if (!isAvailable(i)) return { selected: [...selected], refused: 'NOT_AVAILABLE' };
  if (selected.length >= cap) return { selected: [...selected], refused: 'CAP_REACHED' };
  return { selected: [...selected, i] };
}

/** Drops the chosen seats that are no longer available; says which were lost. */
export function reconcile(selected: readonly number[], isAvailable: (i: number) => boolean): { kept: number[]; lost: number[] } {
  const kept: number[] = [];
  const lost: number[] = [];
  for (const s of selected) (isAvailable(s) ? kept : lost).push(s);
  return { kept, lost };
}

export function refusalMessage(r: ToggleRefusal, cap: number): string {
  return r === 'CAP_REACHED'
    ? `You can choose up to ${cap} seat${cap === 1 ? '' : 's'}. Remove one to pick another.`
    : 'That seat is not available. Pick a coloured seat.';
}

/**
 * Would this choice leave a single empty seat stranded in a row (between a chosen seat and
 * a taken seat, another chosen seat or the row's end)? Such seats rarely sell, so we point it out.
 */
export function leavesSingleGap(model: SeatModel, selected: readonly number[]): boolean {
  const chosen = new Set(selected);
  const blocked = (j: number) => j < 0 || chosen.has(j) || model.status[j] !== AVAILABLE;
  for (const s of selected) {
    for (const dir of [1, -1] as const) {
      const gap = model.alongRow(s, dir);
      if (gap < 0 || chosen.has(gap) || model.status[gap] !== AVAILABLE) continue;
      // The row's end counts as a wall too.
      if (blocked(model.alongRow(gap, dir))) return true;
    }
  }
  return false;
}

/**
 * "Best available": `qty` free seats side by side in one row of the category (any when
 * `categoryIndex` is -1), nearest the stage and the middle of their row. Empty if none.
 */
export function bestAvailable(model: SeatModel, categoryIndex: number, qty: number): number[] {
  if (qty <= 0) return [];
  let best: number[] = [];
  let bestScore = Infinity;
  for (let ri = 0; ri < model.runs.length; ri++) {
    const start = model.runStart[ri];
    const end = model.runStart[ri + 1];
    if (end - start < qty) continue;
    if (categoryIndex >= 0 && model.cat[start] !== categoryIndex) continue;
    const mid = (start + end - 1) / 2;
    let free = 0;
    for (let s = start; s < end; s++) {
      free = model.status[s] === AVAILABLE ? free + 1 : 0;
      if (free >= qty) {
        const first = s - qty + 1;
        const cx = (model.xs[first] + model.xs[s]) / 2;
        const cy = (model.ys[first] + model.ys[s]) / 2;
        const toStage = Math.hypot(cx - model.stage.x, cy - model.stage.y);
        const offCentre = Math.abs((first + s) / 2 - mid) * model.pitch * 0.5;
        const score = toStage + offCentre;
        if (score < bestScore) {
          bestScore = score;
          best = Array.from({ length: qty }, (_, k) => first + k);
        }
      }
    }
  }
  return best;
}
