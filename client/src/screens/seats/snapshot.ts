// The seat states as the API sends them: a snapshot (one character per seat, in the
// layout's order, at an event-wide sequence number), then live batches that carry on from
// that sequence. A batch the snapshot already includes is skipped; one that starts past
// the next number leaves a hole (changes were missed), and then a fresh snapshot is needed.
import { AVAILABLE, BOOKED, HELD, type SeatState, stateFromStatus } from '../../lib/seatModel';
import type { SeatSequence } from '../../lib/seatSequence';

/** One seat's new state, from the live subscription (or injected by the e2e journey). */
export interface SeatChange {
  seatId: string;
  status: string;
  version: number;
}

/** A batch of the `seatAvailability` subscription. */
export interface SeatBatch {
  fromSequence: number;
  toSequence: number;
  resync?: boolean;
  changes: SeatChange[];
}

/** What a batch is applied to: the seat model's states, per-seat versions and id lookup. */
export interface SeatStore {
  readonly n: number;
  readonly status: Uint8Array;
  readonly version: Int32Array;
  indexOfId(id: string): number;
  apply(i: number, state: SeatState, version: number): boolean;
}

/** Thrown when a snapshot does not fit the layout it names (one character per seat). */
export class SnapshotMismatch extends Error {}

function stateOfChar(c: number): SeatState {
  // 'A' 65, 'H' 72, 'B' 66; anything else is read as booked (never offered).
  return c === 65 ? AVAILABLE : c === 72 ? HELD : BOOKED;
}

/**
 * Writes a snapshot's states into `into` (one entry per seat) and forgets per-seat
 * versions: the snapshot is newer than any change seen before it.
 */
export function decodeStates(states: string, into: Uint8Array, versions?: Int32Array): void {
  if (states.length !== into.length) {
    throw new SnapshotMismatch(`the snapshot has ${states.length} seats, the layout ${into.length}`);
  }
  for (let i = 0; i < states.length; i++) into[i] = stateOfChar(states.charCodeAt(i));
  versions?.fill(-1);
}

/** What applying a batch did. */
export interface Applied {
  /** Seats whose state changed (to repaint). */
  touched: number[];
  /** Changes were missed before this batch (or the server said so): take a fresh snapshot. */
  hole: boolean;
}

/**
 * Applies a live batch after the snapshot `sequence` stands at. A batch entirely at or
 * before it is already in the snapshot and is skipped (applying it could briefly show an
 * older state); one reaching past it is applied whole, since the server coalesces a batch
 * to each seat's latest version. Per-seat versions drop anything older than what a seat has.
 */
export function applyBatch(store: SeatStore, sequence: SeatSequence, batch: SeatBatch): Applied {
  if (batch.resync) return { touched: [], hole: true };
  const at = sequence.current;
  if (at !== null && batch.toSequence <= at) return { touched: [], hole: false };
  const hole = !sequence.accept(batch.fromSequence, batch.toSequence);
  return { touched: applyChanges(store, batch.changes), hole };
}

/** Applies changes by per-seat version alone (no sequence): returns the seats that changed. */
export function applyChanges(store: SeatStore, changes: SeatChange[]): number[] {
  const touched: number[] = [];
  for (const c of changes) {
    const i = store.indexOfId(c.seatId);
    if (store.apply(i, stateFromStatus(c.status), c.version)) touched.push(i);
  }
  return touched;
}
