// The hold countdown: a visible clock and bar, a warning in the last minute, and the one
// extension the API allows.
import { useEffect, useRef } from 'react';
import { useNow } from '../hooks';
import { clockSkew } from '../api/clock';
import { canExtend, countdown } from '../lib/countdown';
import { Button, ProgressBar } from './ui';

function totalKey(holdId: string) {
  return `tix.holdTotal.${holdId}`;
}

/** The length of the hold as first seen (grows with an extension), shared by the fan's tabs. */
function holdTotal(holdId: string, expiresAt: string, now: number): number {
  const raw = localStorage.getItem(totalKey(holdId));
  const left = Date.parse(expiresAt) - now;
  if (raw) {
    const { total, exp } = JSON.parse(raw) as { total: number; exp: string };
    if (exp === expiresAt) return total;
    const grown = total + (Date.parse(expiresAt) - Date.parse(exp));
    localStorage.setItem(totalKey(holdId), JSON.stringify({ total: grown, exp: expiresAt }));
    return grown;
  }
  // Seen just after it was made: its length is what is left, to the next half minute.
  const total = Math.max(30_000, Math.ceil(left / 30_000) * 30_000);
  localStorage.setItem(totalKey(holdId), JSON.stringify({ total, exp: expiresAt }));
  return total;
}

/** Just the clock, for tight spots (the phone's bottom bar). */
export function HoldClock({ expiresAt }: { expiresAt: string }) {
  const now = useNow(500);
  const c = countdown(expiresAt, 600_000, now, clockSkew());
  return (
    <span className={`hold-mini hold-mini-${c.phase}`} aria-label={`${c.spoken} left`}>
      {c.clock}
    </span>
  );
}

export function HoldTimer({
  holdId,
  expiresAt,
  status,
  extensionsLeft,
  onExtend,
  extending,
  onExpire,
  compact,
}: {
  holdId: string;
  expiresAt: string;
  status: string;
  extensionsLeft: number;
  onExtend?: () => void;
  extending?: boolean;
  onExpire?: () => void;
  compact?: boolean;
}) {
  const now = useNow(250);
  const skew = clockSkew();
  const total = holdTotal(holdId, expiresAt, now + skew);
  const c = countdown(expiresAt, total, now, skew);
  const expiredOnce = useRef(false);
  useEffect(() => {
    if (c.phase === 'expired' && !expiredOnce.current) {
      expiredOnce.current = true;
      onExpire?.();
    }
  }, [c.phase, onExpire]);
  const tone = c.phase === 'ok' ? 'ok' : c.phase === 'warning' ? 'warning' : 'danger';
  return (
    <section className={`hold-timer hold-${c.phase} ${compact ? 'compact' : ''}`} aria-label="Time left to pay" data-testid="hold-timer" data-phase={c.phase}>
      <div className="hold-row">
        <span className="hold-label">{c.phase === 'expired' ? 'Time is up' : 'Seats held for you'}</span>
        <span className="hold-clock" aria-hidden="true" data-testid="hold-clock">
          {c.clock}
        </span>
        <span className="sr-only">{c.spoken} left</span>
      </div>
      <ProgressBar value={c.fraction} label="Time left on your hold" tone={tone} valueText={`${c.spoken} left`} />
      {c.phase === 'warning' ? (
        <p className="hold-warning" role="alert" data-testid="hold-warning">
          Less than a minute left. {canExtend({ status, extensionsLeft }, c.remainingMs) ? 'Need more time? You can extend once.' : 'Finish paying now to keep your seats.'}
        </p>
      ) : null}
      {onExtend && canExtend({ status, extensionsLeft }, c.remainingMs) ? (
        <Button variant={c.phase === 'warning' ? 'primary' : 'ghost'} onClick={onExtend} busy={extending} data-testid="extend-hold" className="btn-small">
          Need more time? Extend once
        </Button>
      ) : null}
    </section>
  );
}
