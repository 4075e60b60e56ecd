import { describe, expect, it } from 'vitest';
import { formatDurationShort, formatFansAhead, formatPosition, formatWait, formatWaitBand, queueHeadline, queueProgress, roundEstimate } from './queueDisplay';

describe('position and ETA display', () => {
  it('shows exact positions as they are, in Indian grouping', () => {
    expect(formatPosition(1, true)).toBe('1');
    expect(formatPosition(2345, true)).toBe('2,345');
    expect(formatPosition(1234567, true)).toBe('12,34,567');
  });

  it('rounds estimates to two significant figures, and says so', () => {
    expect(roundEstimate(2345)).toBe(2300);
    expect(roundEstimate(987)).toBe(990);
    expect(roundEstimate(99)).toBe(99);
    expect(formatPosition(2345, false)).toBe('about 2,300');
    expect(formatPosition(57, false)).toBe('57');
  });

  it('counts the fans ahead', () => {
    expect(formatFansAhead(0, true)).toBe('You are next');
    expect(formatFansAhead(1, true)).toBe('1 fan ahead of you');
    expect(formatFansAhead(12, true)).toBe('12 fans ahead of you');
    expect(formatFansAhead(45678, false)).toBe('About 46,000 fans ahead of you');
    expect(formatFansAhead(null, true)).toBe('');
  });

  it('says the wait in words, honest when unknown or paused', () => {
    expect(formatWait(null)).toBe('Working it out…');
    expect(formatWait(100, true)).toBe('Paused for now');
    expect(formatWait(0)).toBe('Less than a minute');
    expect(formatWait(59)).toBe('Less than a minute');
    expect(formatWait(60)).toBe('About 1 minute');
    expect(formatWait(89)).toBe('About 1 minute');
    expect(formatWait(90)).toBe('About 2 minutes');
    expect(formatWait(3600)).toBe('About 1 hour');
    expect(formatWait(3600 + 20 * 60)).toBe('About 1 hour 15 minutes');
    expect(formatWait(2 * 3600 + 55 * 60)).toBe('About 3 hours');
  });

describe('formatWaitBand', () => {
  it('widens the band outwards to whole minutes', () => {
    expect(formatWaitBand({ lowSeconds: 130, highSeconds: 290 })).toBe('2–5 minutes');
    expect(formatWaitBand({ lowSeconds: 20, highSeconds: 170 })).toBe('Up to 3 minutes');
    expect(formatWaitBand({ lowSeconds: 10, highSeconds: 50 })).toBe('Less than a minute');
    expect(formatWaitBand({ lowSeconds: 120, highSeconds: 120 })).toBe('About 2 minutes');
  });

  it('counts in hours past two hours', () => {
    expect(formatWaitBand({ lowSeconds: 2 * 3600, highSeconds: 3 * 3600 + 60 })).toBe('2–4 hours');
    expect(formatWaitBand({ lowSeconds: 1800, highSeconds: 3 * 3600 })).toBe('Up to 3 hours');
  });

  it('is honest without a band, while paused and while nothing is on sale', () => {
    expect(formatWaitBand(null)).toBe('Working it out…');
    expect(formatWaitBand({ lowSeconds: 60, highSeconds: 120 }, true)).toBe('Paused for now');
    expect(formatWaitBand({ lowSeconds: 60, highSeconds: 120 }, false, 'SOLD_OUT')).toBe('None while sold out');
  });
});

  it('promises no wait while no ticket is free, and says so before the place', () => {
    expect(formatWait(null, false, 'SOLD_OUT')).toBe('None while sold out');
    expect(formatWait(null, true, 'ALL_IN_CARTS')).toBe('Until tickets come back');
    expect(formatWait(120, false, 'ON_SALE')).toBe('About 2 minutes');
    const soldOut = queueHeadline({ state: 'WAITING', position: 40, exact: true, supply: 'SOLD_OUT' });
    expect(soldOut.title).toBe('Sold out');
    expect(soldOut.detail).toContain('keep your place');
    const carts = queueHeadline({ state: 'WAITING', position: 40, exact: true, supply: 'ALL_IN_CARTS' });
    expect(carts.title).toBe('You are number 40 in line');
    expect(carts.detail).toContain('cart');
    expect(queueHeadline({ state: 'WAITING', position: 40, exact: true, supply: 'ON_SALE' }).detail).not.toContain('cart');
  });

  it('moves the progress bar forward only', () => {
    expect(queueProgress(101, 101)).toBe(0);
    expect(queueProgress(101, 51)).toBe(0.5);
    expect(queueProgress(101, 1)).toBe(1);
    // An estimate that wobbles back does not move the bar back.
    expect(queueProgress(101, 60, 0.5)).toBe(0.5);
    expect(queueProgress(null, 10, 0.2)).toBe(0.2);
    expect(queueProgress(1, 1, 0)).toBe(0);
  });

  it('has a headline for every state', () => {
    expect(queueHeadline({ state: 'WAITING', position: 2345, exact: true }).title).toBe('You are number 2,345 in line');
    expect(queueHeadline({ state: 'WAITING', position: 2345, exact: false }).title).toBe('You are number about 2,300 in line');
    expect(queueHeadline({ state: 'WAITING', position: 1, exact: true }).title).toBe('You are next!');
    expect(queueHeadline({ state: 'WAITING', position: 5, paused: true }).detail).toMatch(/paused/);
    const now = Date.parse('2026-11-25T10:00:00Z');
    const presale = queueHeadline({ state: 'PRESALE', presaleFans: 1200, saleOpensAt: '2026-11-25T10:05:00Z' }, now);
    expect(presale.detail).toContain('random place');
    expect(presale.detail).not.toContain('happening now');
    expect(queueHeadline({ state: 'PRESALE', saleOpensAt: '2026-11-25T09:59:00Z' }, now).detail).toContain('The draw is happening now.');
    for (const state of ['ADMITTED', 'EXPIRED', 'ABANDONED', 'COMPLETED', 'CLOSED', 'NOT_IN_QUEUE'] as const) {
      expect(queueHeadline({ state }).title.length).toBeGreaterThan(5);
    }
  });

  it('tells a fan whose place was lost, rather than greeting them as new', () => {
    expect(queueHeadline({ state: 'NOT_IN_QUEUE', lost: true }).title).toBe('We lost your place');
    expect(queueHeadline({ state: 'NOT_IN_QUEUE', lost: true }).detail).toContain('join again');
    expect(queueHeadline({ state: 'NOT_IN_QUEUE' }).title).toBe('You are not in line yet');
  });

  it('formats short durations', () => {
    expect(formatDurationShort(12_000)).toBe('12 s');
    expect(formatDurationShort(250_000)).toBe('4 min 10 s');
    expect(formatDurationShort(3 * 3600_000 + 5 * 60_000)).toBe('3 h 5 min');
    expect(formatDurationShort(2 * 86400_000 + 3 * 3600_000)).toBe('2 d 3 h');
  });
});
