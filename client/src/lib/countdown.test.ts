import { describe, expect, it } from 'vitest';
import { canExtend, countdown, formatClock, holdPhase, remainingMs, skewFromDateHeader, spokenDuration } from './countdown';

const T0 = Date.parse('2026-11-25T10:00:00Z');

describe('hold countdown', () => {
  it('counts down to zero and never below', () => {
    const exp = new Date(T0 + 600_000).toISOString();
    expect(remainingMs(exp, T0)).toBe(600_000);
    expect(remainingMs(exp, T0 + 599_000)).toBe(1_000);
    expect(remainingMs(exp, T0 + 700_000)).toBe(0);
  });

  it('formats the clock, rounding up so 0:00 means expired', () => {
    expect(formatClock(600_000)).toBe('10:00');
    expect(formatClock(599_001)).toBe('10:00');
    expect(formatClock(599_000)).toBe('9:59');
    expect(formatClock(5_000)).toBe('0:05');
    expect(formatClock(1)).toBe('0:01');
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(-5)).toBe('0:00');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });

  it('speaks the time for screen readers', () => {
    expect(spokenDuration(61_000)).toBe('1 minute 1 second');
    expect(spokenDuration(120_000)).toBe('2 minutes');
    expect(spokenDuration(0)).toBe('0 seconds');
  });

  it('warns in the last minute and expires at zero', () => {
    expect(holdPhase(61_000)).toBe('ok');
    expect(holdPhase(60_000)).toBe('warning');
    expect(holdPhase(1)).toBe('warning');
    expect(holdPhase(0)).toBe('expired');
  });

  it('gives the share left for the progress bar', () => {
    const exp = T0 + 600_000;
    expect(countdown(exp, 600_000, T0).fraction).toBe(1);
    expect(countdown(exp, 600_000, T0 + 300_000).fraction).toBe(0.5);
    expect(countdown(exp, 600_000, T0 + 900_000).fraction).toBe(0);
    const c = countdown(exp, 600_000, T0 + 545_000);
    expect(c.phase).toBe('warning');
    expect(c.clock).toBe('0:55');
  });

  it('uses the server clock when the local clock is off', () => {
    const exp = T0 + 600_000;
    // Local clock two minutes slow: server time = local + 120 s.
    expect(remainingMs(exp, T0 - 120_000, 120_000)).toBe(600_000);
  });

  it('estimates the skew from a Date header, ignoring sub-second noise', () => {
    const header = new Date(T0).toUTCString();
    expect(skewFromDateHeader(header, T0 + 100, T0 + 300)).toBe(0);
    expect(skewFromDateHeader(header, T0 - 120_200, T0 - 120_000)).toBe(120_600);
    expect(skewFromDateHeader(null, 0, 0)).toBeNull();
    expect(skewFromDateHeader('nonsense', 0, 0)).toBeNull();
  });

  it('offers the extension once, while the hold lives', () => {
    expect(canExtend({ status: 'ACTIVE', extensionsLeft: 1 }, 30_000)).toBe(true);
    expect(canExtend({ status: 'ACTIVE', extensionsLeft: 0 }, 30_000)).toBe(false);
    expect(canExtend({ status: 'EXPIRED', extensionsLeft: 1 }, 30_000)).toBe(false);
    expect(canExtend({ status: 'ACTIVE', extensionsLeft: 1 }, 0)).toBe(false);
  });
});
