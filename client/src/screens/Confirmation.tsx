// The booking reference, seats and total, from this tab's memory (instant) or the API.
import { BookingDocument, type BookingFieldsFragment } from '../gql/sale/graphql';
import { MyBookingsDocument } from '../gql/public/graphql';
import { pub, sale } from '../api/api';
import { loadEvent } from '../events';
import { useAsync } from '../hooks';
import { Link, useTitle } from '../router';
import { ErrorNotice, PageLoading } from '../components/ui';
import { confirmedBooking } from '../saleState';
import { formatEventDate } from '../lib/format';
import { CheckIcon } from '../components/icons';

type B = Pick<BookingFieldsFragment, 'id' | 'reference' | 'status' | 'total' | 'seats' | 'event' | 'confirmedAt'>;

async function findBooking(slug: string, id: string, signal: AbortSignal): Promise<B> {
  const remembered = confirmedBooking<B>(id);
  if (remembered) return remembered;
  const event = await loadEvent(slug, signal);
  try {
    return (await sale(event.id, BookingDocument, { id }, { signal, retries: 2 })).booking;
  } catch {
    const { myBookings } = await pub(MyBookingsDocument, {}, { signal, retries: 2 });
    const b = myBookings.find((x) => x.id === id);
    if (!b) throw new Error('BOOKING_NOT_FOUND');
    return b as unknown as B;
  }
}

function icsFor(b: B): string {
  const start = new Date(b.event.startsAt);
  const end = new Date(start.getTime() + 3 * 3600_000);
  const fmt = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const seats = b.seats.map((s) => `${s.section} ${s.row}${s.number}`).join(', ');
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Tickets//EN', 'BEGIN:VEVENT',
    `UID:${b.reference}@tickets`, `DTSTAMP:${fmt(new Date())}`, `DTSTART:${fmt(start)}`, `DTEND:${fmt(end)}`,
    `SUMMARY:${b.event.artist}: ${b.event.name}`, `LOCATION:${b.event.venue}, ${b.event.city}`,
    `DESCRIPTION:Booking ${b.reference}. Seats: ${seats}`, 'END:VEVENT', 'END:VCALENDAR',
  ].join('\r\n');
}

export function Confirmation({ slug, bookingId }: { slug: string; bookingId: string }) {
  useTitle('Booking confirmed');
  const { data: b, error, loading, reload } = useAsync((signal) => findBooking(slug, bookingId, signal), [slug, bookingId]);
  if (loading && !b) return <main className="page narrow"><PageLoading label="Loading your booking…" /></main>;
  if (error || !b) return <main className="page narrow">{error ? <ErrorNotice error={error} onAction={() => reload()} /> : null}</main>;
  const ics = `data:text/calendar;charset=utf-8,${encodeURIComponent(icsFor(b))}`;
  return (
    <main className="page narrow confirmation" data-testid="confirmation">
      <section className="card confirm-card">
        <div className="confirm-tick" aria-hidden="true"><CheckIcon /></div>
        <h1>You are going to {b.event.artist}!</h1>
        <p className="muted">Booking confirmed. We have saved it to My bookings.</p>
        <p className="reference">
          Booking reference
          <strong data-testid="booking-reference">{b.reference}</strong>
        </p>
        <dl className="confirm-details">
          <dt>Event</dt>
          <dd>{b.event.name}</dd>
          <dt>When</dt>
          <dd>{formatEventDate(b.event.startsAt)}</dd>
          <dt>Where</dt>
          <dd>
            {b.event.venue}, {b.event.city}
          </dd>
          <dt>Seats</dt>
          <dd>
            <ul className="seat-chips" data-testid="confirmed-seats">
              {b.seats.map((s) => (
                <li key={s.id} style={{ borderColor: s.category.colour }}>
                  {s.section} · Row {s.row} · Seat {s.number} <span className="muted small">({s.category.name})</span>
                </li>
              ))}
            </ul>
          </dd>
          <dt>Total paid</dt>
          <dd>
            <strong data-testid="confirmed-total">{b.total.formatted}</strong>
          </dd>
        </dl>
        <div className="confirm-actions">
          <a className="btn btn-secondary" href={ics} download={`${b.reference}.ics`}>
            Add to calendar
          </a>
          <Link className="btn btn-primary" to="/bookings">
            My bookings
          </Link>
        </div>
      </section>
    </main>
  );
}
