import { describe, expect, it } from 'vitest';
import { AVAILABLE, BOOKED, HELD, SeatModel, type RawSeatMap } from './seatModel';
import { bestAvailable, leavesSingleGap, reconcile, refusalMessage, toggleSeat } from './seatSelection';

const money = (n: number) => ({ amountMinor: n, currency: 'INR', formatted: `₹${n / 100}` });

/** Two sections: P1 with rows A and B of 6 seats (ids 1-12), S1 with one row of 4 (ids 13-16). */
function map(status = 'AAAAAA' + 'AAAAAA' + 'AAAA'): RawSeatMap {
  return {
    eventId: '1',
    seatCount: 16,
    status,
    bounds: { minX: 0, minY: 0, maxX: 100, maxY: 100 },
    categories: [
      { id: '1', name: 'Platinum', colour: '#7c3aed', price: money(1_250_000) },
      { id: '3', name: 'Silver', colour: '#64748b', price: money(250_000) },
    ],
    sections: [
      { name: 'P1', categoryId: '1', labelX: 25, labelY: 10, seatCount: 12 },
      { name: 'S1', categoryId: '3', labelX: 80, labelY: 90, seatCount: 4 },
    ],
    runs: [
      { section: 0, row: 'A', firstSeatId: '1', firstNumber: 1, count: 6, x: 0, y: 10, dx: 10, dy: 0, categoryId: '1' },
      { section: 0, row: 'B', firstSeatId: '7', firstNumber: 1, count: 6, x: 0, y: 22, dx: 10, dy: 0, categoryId: '1' },
      { section: 1, row: 'A', firstSeatId: '13', firstNumber: 101, count: 4, x: 60, y: 90, dx: 10, dy: 0, categoryId: '3' },
    ],
  };
}

describe('the seat model', () => {
  it('places seats, names them and finds them by id', () => {
    const m = new SeatModel(map());
    expect(m.n).toBe(16);
    expect(m.indexOfId('1')).toBe(0);
    expect(m.indexOfId('12')).toBe(11);
    expect(m.indexOfId('14')).toBe(13);
    expect(m.indexOfId('17')).toBe(-1);
    expect(m.indexOfId('0')).toBe(-1);
    expect(m.idOf(13)).toBe('14');
    expect(m.xs[13]).toBe(70);
    const l = m.label(13);
    expect([l.section, l.row, l.number, l.category.name]).toEqual(['S1', 'A', 102, 'Silver']);
    expect(m.shortName(7)).toBe('P1 B2');
  });

  it('hit-tests the nearest seat within a radius', () => {
    const m = new SeatModel(map());
    expect(m.seatAt(21, 11, 5)).toBe(2);
    expect(m.seatAt(21, 21, 5)).toBe(8);
    expect(m.seatAt(45, 60, 5)).toBe(-1);
  });

  it('reads the states and applies live changes in version order', () => {
    const m = new SeatModel(map('AHBAAA' + 'AAAAAA' + 'AAAA'));
    expect([m.status[0], m.status[1], m.status[2]]).toEqual([AVAILABLE, HELD, BOOKED]);
    expect(m.apply(0, HELD, 5)).toBe(true);
    expect(m.apply(0, AVAILABLE, 4)).toBe(false); // older change arriving late
    expect(m.status[0]).toBe(HELD);
    expect(m.apply(0, AVAILABLE, 6)).toBe(true);
    expect(m.counts()).toEqual({ available: 14, held: 1, booked: 1 });
  });

  it('moves the keyboard focus along rows, across rows and sections', () => {
    const m = new SeatModel(map());
    expect(m.alongRow(0, 1)).toBe(1);
    expect(m.alongRow(0, -1)).toBe(-1);
    expect(m.alongRow(5, 1)).toBe(-1); // end of row A
    expect(m.acrossRows(2, 1)).toBe(8); // row B, same position
    expect(m.acrossRows(8, -1)).toBe(2);
    expect(m.acrossRows(2, -1)).toBe(-1);
    expect(m.acrossSections(3, 1)).toBe(12);
    expect(m.acrossSections(12, -1)).toBe(0);
    expect(m.rowEnd(3, 'last')).toBe(5);
  });
});

describe('seat selection rules', () => {
  const free = new Set([0, 1, 2, 3]);
  const isFree = (i: number) => free.has(i);

  it('selects available seats up to the cap and deselects freely', () => {
    let r = toggleSeat([], 0, 2, isFree);
    expect(r).toEqual({ selected: [0] });
    r = toggleSeat(r.selected, 1, 2, isFree);
    expect(r.selected).toEqual([0, 1]);
    const refused = toggleSeat(r.selected, 2, 2, isFree);
    expect(refused.refused).toBe('CAP_REACHED');
    expect(refused.selected).toEqual([0, 1]);
    expect(toggleSeat(r.selected, 0, 2, isFree).selected).toEqual([1]);
  });

  it('refuses seats that are held or booked', () => {
    expect(toggleSeat([], 9, 6, isFree)).toEqual({ selected: [], refused: 'NOT_AVAILABLE' });
    expect(refusalMessage('CAP_REACHED', 6)).toContain('up to 6 seats');
    expect(refusalMessage('CAP_REACHED', 1)).toContain('up to 1 seat.');
  });

  it('drops chosen seats that someone else took, and says which', () => {
    expect(reconcile([0, 5, 2], isFree)).toEqual({ kept: [0, 2], lost: [5] });
  });

  it('spots a single empty seat left stranded', () => {
    const m = new SeatModel(map('AAABAA' + 'AAAAAA' + 'AAAA'));
    // Row A: seats 0-5, seat 3 booked.
    expect(leavesSingleGap(m, [0])).toBe(false);
    expect(leavesSingleGap(m, [1])).toBe(true); // seat 0 alone at the row's start
    expect(leavesSingleGap(m, [0, 1])).toBe(true); // seat 2 alone before the booked seat
    expect(leavesSingleGap(m, [0, 1, 2])).toBe(false);
    expect(leavesSingleGap(m, [4])).toBe(true); // seat 5 alone at the row's end
    expect(leavesSingleGap(m, [4, 5])).toBe(false);
    expect(leavesSingleGap(m, [7, 8])).toBe(true); // seat 6 alone at the start of row B
    expect(leavesSingleGap(m, [6, 7])).toBe(false);
  });

  it('finds the best seats side by side, nearest the stage', () => {
    const m = new SeatModel(map('AABAAA' + 'AAAAAA' + 'AAAA'));
    const three = bestAvailable(m, -1, 3);
    expect(three).toHaveLength(3);
    expect(three.every((s) => m.status[s] === AVAILABLE)).toBe(true);
    expect(m.runOf[three[0]]).toBe(m.runOf[three[2]]);
    expect(three[2] - three[0]).toBe(2);
    const silver = bestAvailable(m, m.categoryIndex('3'), 4);
    expect(silver).toEqual([12, 13, 14, 15]);
    expect(bestAvailable(m, m.categoryIndex('3'), 5)).toEqual([]);
  });
});
