// Phones see the panel below the map, so the seat page keeps the essentials at the bottom of
// the screen: a short-lived repeat of the latest problem, and a bar with the count, the total
// (or the hold's clock) and the main action.
import { HoldClock } from '../../components/HoldTimer';
import { Button } from '../../components/ui';
import type { Hold } from './fanSeats';
import type { Problem } from './problem';

export function MobileToast({ problem, visible, onHide }: { problem: Problem | null; visible: boolean; onHide: () => void }) {
  return problem && visible ? (
    <div className={`mobile-toast mobile-toast-${problem.tone}`} aria-hidden="true" onClick={onHide}>
      <strong>{problem.f.title}.</strong> {problem.f.message}
    </div>
  ) : null;
}

export function MobileBar({
  count,
  hold,
  cap,
  totalText,
  holding,
  onHold,
  onPay,
}: {
  count: number;
  hold: Hold | null;
  cap: number;
  totalText: string;
  holding: boolean;
  onHold: () => void;
  onPay: () => void;
}) {
  return (
    <div className="mobile-bar" aria-hidden="false">
      <div className="mobile-bar-info">
        <strong>{count ? `${count} seat${count === 1 ? '' : 's'}` : 'No seats yet'}</strong>
        <span className="muted small">
          {hold ? (
            <>
              {hold.total.formatted} · held <HoldClock expiresAt={hold.expiresAt} />
            </>
          ) : count ? (
            totalText
          ) : (
            `Up to ${cap}`
          )}
        </span>
      </div>
      {hold ? (
        <Button onClick={onPay}>Pay now</Button>
      ) : (
        <Button disabled={count === 0} onClick={onHold} busy={holding}>
          Hold seats
        </Button>
      )}
    </div>
  );
}
