import { loadEvent, type EventInfo } from '../events';
import { useAsync, useNow, useSession } from '../hooks';
import { Link, useTitle } from '../router';
import { ErrorNotice, PageLoading } from '../components/ui';
import { formatEventDate } from '../lib/format';
import { formatDurationShort } from '../lib/queueDisplay';
import { getAdmission } from '../api/admission';
import { serverNow } from '../api/clock';
import { formatClock } from '../lib/countdown';
import { CalendarIcon, PinIcon } from '../components/icons';

export function StatusBadge({ status }: { status: string }) {
  const text: Record<string, string> = { ON_SALE: 'On sale', SCHEDULED: 'Coming soon', SOLD_OUT: 'Sold out', CLOSED: 'Sale closed', CANCELLED: 'Cancelled' };
  return <span className={`badge badge-${status.toLowerCase()}`}>{text[status] ?? status}</span>;
}

export function QueueExplainer() {
  return (
    <section className="card explainer" aria-labelledby="how-queue">
      <h2 id="how-queue">How the queue works</h2>
      <ol>
        <li>
          <strong>Fair, first come first served.</strong> When lots of fans arrive at once, everyone waits in one line and goes to the seats in turn.
        </li>
        <li>
          <strong>Early birds get a fair draw.</strong> Everyone who arrives before the sale opens gets a random place when it opens, so there is no need to arrive at the exact second.
        </li>
        <li>
          <strong>One place per fan.</strong> Extra tabs or devices show the same place; they do not get you in sooner. If your connection drops, your place is kept.
        </li>
        <li>
          <strong>Your turn.</strong> When it comes, the seat map opens by itself. You then have a while to choose up to your limit of seats, and 10 minutes to pay once they are held.
        </li>
      </ol>
    </section>
  );
}

function CallToAction({ event }: { event: EventInfo }) {
  const session = useSession();
  const now = useNow(1000);
  const admission = getAdmission(event.id);
  const queue = `/e/${event.slug}/queue`;
  const seats = `/e/${event.slug}/seats`;
  if (event.status === 'SOLD_OUT' || event.status === 'CLOSED' || event.status === 'CANCELLED') {
    return (
      <div className="cta">
        <p className="cta-note">
          {event.status === 'SOLD_OUT' ? 'Every seat has been sold. ' : event.status === 'CANCELLED' ? 'This show has been cancelled; bookings are refunded. ' : 'The sale has ended. '}
          <Link to="/bookings">See your bookings</Link>
        </p>
      </div>
    );
  }
  const target = event.gateEnabled ? queue : seats;
  if (!session) {
    return (
      <div className="cta">
        <Link className="btn btn-primary btn-large" to={`/signin?next=${encodeURIComponent(target)}`} data-testid="buy">
          Sign in to buy tickets
        </Link>
        <p className="cta-note">
          New here? <Link to={`/signup?next=${encodeURIComponent(target)}`}>Create an account</Link> in seconds.
        </p>
      </div>
    );
  }
  if (admission) {
    const left = Date.parse(admission.expiresAt) - serverNow();
    return (
      <div className="cta">
        <Link className="btn btn-primary btn-large" to={seats} data-testid="buy">
          Continue choosing seats
        </Link>
        <p className="cta-note">It is your turn: {formatClock(left)} left to choose.</p>
      </div>
    );
  }
  const opensIn = Date.parse(event.saleOpensAt) - now;
  return (
    <div className="cta">
      <Link className="btn btn-primary btn-large" to={target} data-testid="buy">
        {event.status === 'SCHEDULED' ? 'Join the waiting room' : event.gateEnabled ? 'Buy tickets' : 'Choose seats'}
      </Link>
      <p className="cta-note">
        {event.status === 'SCHEDULED' && opensIn > 0
          ? `Sale opens in ${formatDurationShort(opensIn)}. Fans who join before then are put in a random order when it opens.`
          : event.gateEnabled
            ? 'Busy sale: you will join a fair queue first.'
            : 'Up to ' + event.maxSeatsPerFan + ' seats per fan.'}
      </p>
    </div>
  );
}

export function EventPage({ slug }: { slug: string }) {
  const { data: event, error, loading, reload } = useAsync((signal) => loadEvent(slug, signal, true), [slug]);
  useTitle(event ? `${event.artist}: ${event.name}` : 'Event');
  if (loading && !event) return <main className="page"><PageLoading label="Loading the event…" /></main>;
  if (error || !event) return <main className="page narrow">{error ? <ErrorNotice error={error} onAction={() => reload()} /> : null}</main>;
  return (
    <main className="page event-page">
      <section className="event-hero" style={{ background: `linear-gradient(120deg, #1f2533 40%, ${event.categories[0]?.colour ?? '#f84464'})` }}>
        <div>
          <p className="event-artist">{event.artist}</p>
          <h1>{event.name}</h1>
          <p className="event-meta">
            <span className="meta-item"><CalendarIcon /> {formatEventDate(event.startsAt)}</span>
            <span className="meta-item"><PinIcon /> {event.venue}, {event.city}</span>
          </p>
          <StatusBadge status={event.status} />
        </div>
      </section>
      <div className="event-columns">
        <section className="card" aria-labelledby="prices">
          <h2 id="prices">Seat categories and prices</h2>
          <ul className="price-list">
            {event.categories.map((c) => (
              <li key={c.id}>
                <span className="swatch" style={{ background: c.colour }} aria-hidden="true" />
                <span className="price-name">{c.name}</span>
                <span className="price-amount">{c.price.formatted}</span>
              </li>
            ))}
          </ul>
          <p className="muted small">Prices per seat, taxes included. Up to {event.maxSeatsPerFan} seats per fan.</p>
          <CallToAction event={event} />
        </section>
        {event.gateEnabled ? <QueueExplainer /> : null}
      </div>
    </main>
  );
}
