import { describe, expect, it } from 'vitest';
import { AVAILABLE, BOOKED, HELD, SeatModel } from '../../lib/seatModel';
import { SeatSequence } from '../../lib/seatSequence';
import { applyBatch, decodeStates, SnapshotMismatch } from './snapshot';
import { versionOfEtag } from './layoutStore';

/** Two runs: seats 100..104 and 200..202, all in one category. */
function model(states: string): SeatModel {
  const run = (firstSeatId: string, count: number, y: number) => ({ section: 0, row: 'A', firstSeatId, firstNumber: 1, count, x: 0, y, dx: 10, dy: 0, categoryId: '1' });
  return new SeatModel({
    eventId: '1',
    seatCount: 8,
    status: states,
    bounds: { minX: 0, minY: 0, maxX: 40, maxY: 10 },
    categories: [{ id: '1', name: 'Gold', colour: '#ffcc00', price: { amountMinor: 100, currency: 'INR', formatted: '₹1' } }],
    sections: [{ name: 'A', categoryId: '1', labelX: 0, labelY: 0, seatCount: 8 }],
    runs: [run('100', 5, 0), run('200', 3, 10)],
  });
}

const at = (m: SeatModel) => Array.from(m.status);

describe('the states snapshot', () => {
  it('decodes one character per seat in the layout order', () => {
    const m = model('AAAAAAAA');
    decodeStates('AHBAABHA', m.status, m.version);
    expect(at(m)).toEqual([AVAILABLE, HELD, BOOKED, AVAILABLE, AVAILABLE, BOOKED, HELD, AVAILABLE]);
    expect(m.label(5).id).toBe('200');
  });

  it('refuses a snapshot that does not fit the layout', () => {
    const m = model('AAAAAAAA');
    expect(() => decodeStates('AAAA', m.status)).toThrow(SnapshotMismatch);
  });

  it('forgets per-seat versions: the snapshot is newer than what came before', () => {
    const m = model('AAAAAAAA');
    m.apply(0, HELD, 7);
    decodeStates('AAAAAAAA', m.status, m.version);
    expect(m.apply(0, HELD, 1)).toBe(true);
  });
});

describe('live batches after a snapshot', () => {
  it('applies batches that carry on from the snapshot sequence', () => {
    const m = model('AAAAAAAA');
    const seq = new SeatSequence();
    seq.reset(10);
    const r = applyBatch(m, seq, { fromSequence: 11, toSequence: 12, changes: [{ seatId: '101', status: 'HELD', version: 3 }, { seatId: '202', status: 'BOOKED', version: 5 }] });
    expect(r).toEqual({ touched: [1, 7], hole: false });
    expect(at(m)).toEqual([AVAILABLE, HELD, AVAILABLE, AVAILABLE, AVAILABLE, AVAILABLE, AVAILABLE, BOOKED]);
    expect(seq.current).toBe(12);
  });

  it('skips a batch the snapshot already includes, so no seat goes back in time', () => {
    const m = model('AAAAAAAA'); // seat 101 was held at 9 and released at 10
    const seq = new SeatSequence();
    seq.reset(10);
    const r = applyBatch(m, seq, { fromSequence: 9, toSequence: 9, changes: [{ seatId: '101', status: 'HELD', version: 1 }] });
    expect(r).toEqual({ touched: [], hole: false });
    expect(m.status[1]).toBe(AVAILABLE);
  });

  it('applies a batch reaching past the snapshot whole, each seat by its version', () => {
    const m = model('AHAAAAAA');
    const seq = new SeatSequence();
    seq.reset(10);
    const r = applyBatch(m, seq, {
      fromSequence: 9,
      toSequence: 11,
      changes: [{ seatId: '101', status: 'AVAILABLE', version: 2 }, { seatId: '104', status: 'HELD', version: 1 }],
    });
    expect(r.hole).toBe(false);
    expect(at(m).slice(0, 5)).toEqual([AVAILABLE, AVAILABLE, AVAILABLE, AVAILABLE, HELD]);
    // The same change again (a repeat after a reconnect) changes nothing.
    expect(applyBatch(m, seq, { fromSequence: 12, toSequence: 12, changes: [{ seatId: '104', status: 'AVAILABLE', version: 1 }] }).touched).toEqual([]);
    expect(m.status[4]).toBe(HELD);
  });

  it('reports a hole when changes between the snapshot and a batch were missed', () => {
    const m = model('AAAAAAAA');
    const seq = new SeatSequence();
    seq.reset(10);
    const r = applyBatch(m, seq, { fromSequence: 13, toSequence: 13, changes: [{ seatId: '100', status: 'HELD', version: 4 }] });
    expect(r.hole).toBe(true);
    expect(applyBatch(m, seq, { fromSequence: 0, toSequence: 0, resync: true, changes: [] }).hole).toBe(true);
  });

  it('ignores changes for seats the layout does not have', () => {
    const m = model('AAAAAAAA');
    const seq = new SeatSequence();
    seq.reset(0);
    expect(applyBatch(m, seq, { fromSequence: 1, toSequence: 1, changes: [{ seatId: '999', status: 'HELD', version: 1 }, { seatId: 'x', status: 'HELD', version: 1 }] }).touched).toEqual([]);
  });

  it('rebuilds the same states as a later snapshot, whatever the batches coalesced', () => {
    const m = model('AAAAAAAA');
    const seq = new SeatSequence();
    seq.reset(3);
    const batches = [
      { fromSequence: 2, toSequence: 3, changes: [{ seatId: '100', status: 'HELD', version: 1 }] },
      { fromSequence: 4, toSequence: 5, changes: [{ seatId: '100', status: 'AVAILABLE', version: 2 }, { seatId: '201', status: 'HELD', version: 1 }] },
      { fromSequence: 6, toSequence: 6, changes: [{ seatId: '201', status: 'BOOKED', version: 2 }] },
    ];
    for (const b of batches) expect(applyBatch(m, seq, b).hole).toBe(false);
    const later = model('AAAAAAAA');
    decodeStates('AAAAAABA', later.status);
    expect(at(m)).toEqual(at(later));
  });
});

describe('layout versions from ETags', () => {
  it('reads the version of either representation, weak or strong', () => {
    expect(versionOfEtag('"0a1b"')).toBe('0a1b');
    expect(versionOfEtag('"0a1b-gzip"')).toBe('0a1b');
    expect(versionOfEtag('W/"0a1b-gzip"')).toBe('0a1b');
    expect(versionOfEtag('0a1b')).toBeNull();
    expect(versionOfEtag(null)).toBeNull();
  });
});
