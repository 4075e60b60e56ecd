import { describe, expect, it } from 'vitest';
import { SeatSequence } from './seatSequence';

describe('seat-change sequence', () => {
  it('accepts batches that follow on from the map', () => {
    const s = new SeatSequence();
    s.reset(10);
    expect(s.accept(11, 12)).toBe(true);
    expect(s.accept(13, 13)).toBe(true);
    expect(s.current).toBe(13);
  });

  it('accepts batches the map already includes, without going back', () => {
    const s = new SeatSequence();
    s.reset(10);
    expect(s.accept(8, 9)).toBe(true);
    expect(s.accept(9, 11)).toBe(true);
    expect(s.current).toBe(11);
  });

  it('reports a hole: changes between the map and the batch were missed', () => {
    const s = new SeatSequence();
    s.reset(10);
    expect(s.accept(12, 14)).toBe(false);
    // The batch itself is recorded; the caller re-fetches the map.
    expect(s.current).toBe(14);
    expect(s.accept(15, 15)).toBe(true);
  });

  it('starts from the first batch when the map gave no sequence', () => {
    const s = new SeatSequence();
    expect(s.accept(40, 41)).toBe(true);
    expect(s.accept(43, 43)).toBe(false);
  });

  it('a reload moves the mark back to what the new map includes', () => {
    const s = new SeatSequence();
    s.reset(10);
    s.accept(12, 14);
    s.reset(11);
    expect(s.accept(12, 14)).toBe(true);
    expect(s.accept(16, 16)).toBe(false);
  });
});
