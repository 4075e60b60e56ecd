// The top of the seat page: where the fan is, whether the map is live, and how long their
// turn lasts (until they hold seats; then the hold's own countdown takes over).
import type { LiveStatus } from '../../api/live';
import type { EventInfo } from '../../events';
import { Link } from '../../router';
import { LiveDot } from '../../components/ui';
import { formatClock } from '../../lib/countdown';

export function SeatsHeader({ slug, event, liveStatus, turnLeftMs }: { slug: string; event: EventInfo | null; liveStatus: LiveStatus; turnLeftMs: number | null }) {
  return (
    <div className="seats-head">
      <div>
        <p className="crumbs">
          <Link to={`/e/${slug}`}>{event?.artist ?? 'Event'}</Link> · {event?.venue}
        </p>
        <h1 className="seats-title">Choose your seats</h1>
      </div>
      <div className="seats-head-right">
        <LiveDot status={liveStatus} />
        {turnLeftMs !== null ? (
          <span className={`turn-left ${turnLeftMs < 120_000 ? 'turn-left-warn' : ''}`} data-testid="turn-left">
            Your turn: {formatClock(turnLeftMs)} left
          </span>
        ) : null}
      </div>
    </div>
  );
}
