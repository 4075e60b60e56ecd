import { useState } from 'react';
import { CancelBookingPublicDocument, MyBookingsDocument, type BookingSummaryFieldsFragment } from '../gql/public/graphql';
import { pub } from '../api/api';
import { asApiError } from '../api/http';
import { useAsync, useSession } from '../hooks';
import { Link, navigate, signInHref, useTitle } from '../router';
import { Button, ErrorNotice, Notice, PageLoading } from '../components/ui';
import { formatEventDate } from '../lib/format';
import { friendlyError, type FriendlyError } from '../lib/errors';

const STATUS: Record<string, { text: string; tone: string }> = {
  CONFIRMED: { text: 'Confirmed', tone: 'ok' },
  PENDING_PAYMENT: { text: 'Awaiting payment', tone: 'warn' },
  PAYMENT_FAILED: { text: 'Payment failed', tone: 'warn' },
  CANCELLED: { text: 'Cancelled', tone: 'muted' },
  EXPIRED: { text: 'Expired', tone: 'muted' },
  REFUNDED: { text: 'Refunded', tone: 'muted' },
};

export function MyBookings() {
  useTitle('My bookings');
  const session = useSession();
  const { data, error, loading, reload } = useAsync(async (signal) => {
    if (!session) return null;
    return (await pub(MyBookingsDocument, {}, { signal, retries: 2 })).myBookings;
  }, [session?.user.id]);
  const [cancelling, setCancelling] = useState<string | null>(null);
  const [result, setResult] = useState<{ tone: 'success' | 'error'; f?: FriendlyError; text?: string } | null>(null);
  const [local, setLocal] = useState<Record<string, BookingSummaryFieldsFragment>>({});

  if (!session)
    return (
      <main className="page narrow">
        <h1 className="page-title">My bookings</h1>
        <Notice title="Please sign in" actions={<Button onClick={() => navigate(signInHref())}>Sign in</Button>}>
          <p>Sign in to see your tickets.</p>
        </Notice>
      </main>
    );

  const cancel = async (b: BookingSummaryFieldsFragment) => {
    const paid = b.status === 'CONFIRMED';
    if (!window.confirm(paid ? `Cancel booking ${b.reference}? Your seats will be released and ${b.total.formatted} refunded.` : `Cancel booking ${b.reference}?`)) return;
    setCancelling(b.id);
    setResult(null);
    try {
      const { cancelBooking } = await pub(CancelBookingPublicDocument, { bookingId: b.id });
      setLocal((l) => ({ ...l, [b.id]: cancelBooking }));
      setResult({ tone: 'success', text: paid ? `Booking ${b.reference} is cancelled. The refund of ${b.total.formatted} is on its way to your original payment method.` : `Booking ${b.reference} is cancelled.` });
    } catch (e) {
      setResult({ tone: 'error', f: friendlyError(asApiError(e).code) });
    } finally {
      setCancelling(null);
    }
  };

  const list = data?.map((b) => local[b.id] ?? b) ?? [];
  return (
    <main className="page narrow" data-testid="my-bookings">
      <h1 className="page-title">My bookings</h1>
      {result?.tone === 'success' ? <Notice tone="success">{result.text}</Notice> : null}
      {result?.f ? <ErrorNotice error={result.f} onAction={() => reload()} /> : null}
      {loading && !data ? <PageLoading label="Loading your bookings…" /> : null}
      {error ? <ErrorNotice error={error} onAction={(f) => (f.step === 'sign-in' ? navigate(signInHref()) : reload())} /> : null}
      {data && list.length === 0 ? (
        <div className="card empty">
          <p>No bookings yet.</p>
          <Link className="btn btn-primary" to="/">
            Find an event
          </Link>
        </div>
      ) : null}
      <ul className="booking-list">
        {list.map((b) => {
          const st = STATUS[b.status] ?? { text: b.status, tone: 'muted' };
          const cancellable = b.status === 'CONFIRMED' || b.status === 'PENDING_PAYMENT' || b.status === 'PAYMENT_FAILED';
          return (
            <li key={b.id} className="card booking" data-testid="booking">
              <div className="booking-head">
                <div>
                  <h2>{b.event.name.includes(b.event.artist) ? b.event.name : `${b.event.artist}: ${b.event.name}`}</h2>
                  <p className="muted">
                    {formatEventDate(b.event.startsAt)} · {b.event.venue}, {b.event.city}
                  </p>
                </div>
                <span className={`badge badge-${st.tone}`} data-testid="booking-status">{st.text}</span>
              </div>
              <p>
                Ref <strong>{b.reference}</strong> · {b.seats.length} seat{b.seats.length === 1 ? '' : 's'} · <strong>{b.total.formatted}</strong>
              </p>
              <ul className="seat-chips">
                {b.seats.map((s) => (
                  <li key={s.id} style={{ borderColor: s.category.colour }}>
                    {s.section} · Row {s.row} · Seat {s.number}
                  </li>
                ))}
              </ul>
              {cancellable ? (
                <Button variant="danger" className="btn-small" onClick={() => void cancel(b)} busy={cancelling === b.id} data-testid="cancel-booking">
                  Cancel booking
                </Button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </main>
  );
}
