// The hold countdown, as pure functions of "now" (tested without timers).
//
// Server times (a hold's `expiresAt`) are compared with the server's clock, estimated from
// the `Date` header of API answers: a fan whose laptop clock is two minutes fast still sees
// the real time left.

export const WARNING_MS = 60_000;

export type HoldPhase = 'ok' | 'warning' | 'expired';

export interface Countdown {
  remainingMs: number;
  /** "9:59"; "1:02:03" past an hour. */
  clock: string;
  /** Spoken form for screen readers: "9 minutes 59 seconds". */
  spoken: string;
  phase: HoldPhase;
  /** Share of the hold still left, 1 at the start and 0 at expiry. */
  fraction: number;
}

export function toMs(t: string | number | Date): number {
  return typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t.getTime();
}

/** Milliseconds left until `expiresAt`, never negative. `skewMs` is server minus local. */
export function remainingMs(expiresAt: string | number, nowLocal: number, skewMs = 0): number {
  return Math.max(0, toMs(expiresAt) - (nowLocal + skewMs));
}

/** "m:ss" (or "h:mm:ss"), rounding up so the clock shows 0:00 only at expiry. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function spokenDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (m > 0) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  if (s > 0 || m === 0) parts.push(`${s} second${s === 1 ? '' : 's'}`);
  return parts.join(' ');
}

export function holdPhase(ms: number): HoldPhase {
  if (ms <= 0) return 'expired';
  if (ms <= WARNING_MS) return 'warning';
  return 'ok';
}

/**
 * The countdown at `nowLocal`. `totalMs` is the length of the hold as first seen (grows when
 * the hold is extended), for the progress bar.
 */
export function countdown(expiresAt: string | number, totalMs: number, nowLocal: number, skewMs = 0): Countdown {
  const left = remainingMs(expiresAt, nowLocal, skewMs);
  const fraction = totalMs > 0 ? Math.min(1, Math.max(0, left / totalMs)) : 0;
  return { remainingMs: left, clock: formatClock(left), spoken: spokenDuration(left), phase: holdPhase(left), fraction };
}

/** Whether the "more time" button should show: the hold is live and has an extension left. */
export function canExtend(hold: { status: string; extensionsLeft: number }, ms: number): boolean {
  return hold.status === 'ACTIVE' && hold.extensionsLeft > 0 && ms > 0;
}

/**
 * Server-minus-local clock offset from a `Date` header. The header has one-second
 * resolution and the answer took `rttMs` to come back, so the estimate is the header's
 * middle of the second, less half the round trip; small offsets (under 1.5 s) count as none.
 */
export function skewFromDateHeader(dateHeader: string | null, sentAt: number, receivedAt: number): number | null {
  if (!dateHeader) return null;
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server)) return null;
  const localMid = (sentAt + receivedAt) / 2;
  const skew = server + 500 - localMid;
  return Math.abs(skew) < 1500 ? 0 : Math.round(skew);
}
