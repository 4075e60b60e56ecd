// Checkout: the held seats become a booking (idempotently: a reload never books twice),
// then the fan pays by card, UPI or net banking. A declined or timed-out payment changes
// nothing but the message: the fan can try again while the hold lives.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { BookingDocument, ConfirmPaymentDocument, CreateBookingDocument, ExtendHoldDocument, MyHoldDocument, type BookingFieldsFragment, type HoldFieldsFragment, type PaymentMethod } from '../gql/sale/graphql';
import { sale } from '../api/api';
import { asApiError, type ApiError } from '../api/http';
import { loadEvent } from '../events';
import { useAsync } from '../hooks';
import { Link, navigate, useTitle } from '../router';
import { Button, ErrorNotice, Field, PageLoading } from '../components/ui';
import { HoldTimer } from '../components/HoldTimer';
import { friendlyError, type FriendlyError } from '../lib/errors';
import { BANKS, cardBrand, formatCardNumber, formatExpiry, paymentDetails, validateBank, validateCard, validateVpa, type CardForm, type Errors } from '../lib/payment';
import { formatEventDate, newKey } from '../lib/format';
import { useAdmission } from './saleGuard';
import { getPending, rememberConfirmed, setPending } from '../saleState';
import { LockIcon } from '../components/icons';
import { setAdmission } from '../api/admission';

type Booking = BookingFieldsFragment;
type Hold = HoldFieldsFragment;

const METHODS: Array<{ id: PaymentMethod; label: string; hint: string }> = [
  { id: 'CARD', label: 'Card', hint: 'Credit or debit card' },
  { id: 'UPI', label: 'UPI', hint: 'Any UPI app' },
  { id: 'NET_BANKING', label: 'Net banking', hint: 'Your bank’s website' },
];

export function Checkout({ slug }: { slug: string }) {
  const ev = useAsync((signal) => loadEvent(slug, signal), [slug]);
  const event = ev.data;
  const { ready, error: admissionError } = useAdmission(event, slug);
  const [booking, setBooking] = useState<Booking | null>(null);
  const [hold, setHold] = useState<Hold | null>(null);
  const [loadError, setLoadError] = useState<FriendlyError | null>(null);
  const [method, setMethod] = useState<PaymentMethod>('CARD');
  const [card, setCard] = useState<CardForm>({ number: '', expiry: '', cvv: '', holderName: '' });
  const [cardErrors, setCardErrors] = useState<Errors<CardForm>>({});
  const [vpa, setVpa] = useState('');
  const [vpaError, setVpaError] = useState<string | undefined>();
  const [bank, setBank] = useState('');
  const [bankError, setBankError] = useState<string | undefined>();
  const [paying, setPaying] = useState(false);
  const [payError, setPayError] = useState<FriendlyError | null>(null);
  const [extending, setExtending] = useState(false);
  const [expired, setExpired] = useState(false);
  const attemptKey = useRef<{ sig: string; key: string } | null>(null);
  const errorRef = useRef<HTMLDivElement>(null);
  useTitle('Checkout');
  const eventId = event?.id ?? '';

  useEffect(() => {
    if (!ready || !eventId) return;
    let cancelled = false;
    (async () => {
      try {
        const pending = getPending(eventId);
        const { myHold } = await sale(eventId, MyHoldDocument, {}, { retries: 3 });
        if (cancelled) return;
        if (myHold && myHold.status === 'ACTIVE') setHold(myHold);
        if (pending?.bookingId) {
          try {
            const { booking: b } = await sale(eventId, BookingDocument, { id: pending.bookingId }, { retries: 3 });
            if (cancelled) return;
            if (b.status === 'CONFIRMED') {
              rememberConfirmed(b);
              navigate(`/e/${slug}/confirmation/${b.id}`, { replace: true });
              return;
            }
            if (b.status === 'PENDING_PAYMENT' || b.status === 'PAYMENT_FAILED') {
              setBooking(b);
              return;
            }
          } catch {
            /* make a new one below if the hold lives */
          }
        }
        if (!myHold || myHold.status !== 'ACTIVE') {
          setPending(eventId, null);
          setLoadError(friendlyError('HOLD_NOT_FOUND'));
          return;
        }
        const bookingKey = pending?.holdId === myHold.id ? pending.bookingKey : newKey();
        setPending(eventId, { holdId: myHold.id, bookingKey });
        const { createBooking } = await sale(eventId, CreateBookingDocument, { holdId: myHold.id, idempotencyKey: bookingKey }, { retries: 3 });
        if (cancelled) return;
        setPending(eventId, { holdId: myHold.id, bookingKey, bookingId: createBooking.id });
        setBooking(createBooking);
      } catch (e) {
        if (!cancelled) {
          const err = asApiError(e);
          setLoadError(friendlyError(err.code));
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [ready, eventId, slug]);

  const expiresAt = hold?.expiresAt ?? booking?.holdExpiresAt ?? null;

  const validate = (): boolean => {
    if (method === 'CARD') {
      const errs = validateCard(card);
      setCardErrors(errs);
      return Object.keys(errs).length === 0;
    }
    if (method === 'UPI') {
      const e = validateVpa(vpa);
      setVpaError(e);
      return !e;
    }
    const e = validateBank(bank);
    setBankError(e);
    return !e;
  };

  const pay = async (e: FormEvent) => {
    e.preventDefault();
    if (!booking || paying) return;
    setPayError(null);
    if (!validate()) {
      requestAnimationFrame(() => (document.querySelector('.field-invalid input, .field-invalid select') as HTMLElement | null)?.focus());
      return;
    }
    const details = paymentDetails(method, { card, vpa, bankCode: bank });
    // One key per attempt: a network retry of the same attempt reuses it (never charged
    // twice); a new attempt (other details) gets a new one.
    const sig = JSON.stringify([booking.id, method, details]);
    if (!attemptKey.current || attemptKey.current.sig !== sig) attemptKey.current = { sig, key: newKey() };
    setPaying(true);
    try {
      const { confirmPayment } = await sale(eventId, ConfirmPaymentDocument, { bookingId: booking.id, method, details, idempotencyKey: attemptKey.current.key }, { retries: 2 });
      const b = confirmPayment.booking;
      setBooking(b);
      if (b.status === 'CONFIRMED' || confirmPayment.payment.status === 'SUCCEEDED') {
        rememberConfirmed(b);
        setPending(eventId, null);
        // A purchase ends the queue admission: forget the pass.
        setAdmission(eventId, null);
        navigate(`/e/${slug}/confirmation/${b.id}`, { replace: true });
        return;
      }
      attemptKey.current = null;
      const code = confirmPayment.payment.failureCode ?? 'PAYMENT_DECLINED';
      setPayError(friendlyError(code, { failureMessage: confirmPayment.payment.failureMessage }));
    } catch (err) {
      const apiErr: ApiError = asApiError(err);
      attemptKey.current = apiErr.code === 'NETWORK' || apiErr.code === 'UPSTREAM_TIMEOUT' ? attemptKey.current : null;
      if (apiErr.code === 'ALREADY_PAID') {
        try {
          const { booking: b } = await sale(eventId, BookingDocument, { id: booking.id });
          rememberConfirmed(b);
          setPending(eventId, null);
          navigate(`/e/${slug}/confirmation/${b.id}`, { replace: true });
          return;
        } catch {
          /* show the message below */
        }
      }
      setPayError(friendlyError(apiErr.code, { failureMessage: typeof apiErr.extensions.failureMessage === 'string' ? apiErr.extensions.failureMessage : null }));
    } finally {
      setPaying(false);
      requestAnimationFrame(() => errorRef.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' }));
    }
  };

  const extend = async () => {
    if (!hold) return;
    setExtending(true);
    try {
      const { extendHold } = await sale(eventId, ExtendHoldDocument, { holdId: hold.id }, { retries: 2 });
      setHold(extendHold);
    } catch (e) {
      setPayError(friendlyError(asApiError(e).code));
    } finally {
      setExtending(false);
    }
  };

  const onExpire = useCallback(() => {
    setExpired(true);
    setPending(eventId, null);
  }, [eventId]);

  const onAction = (f: FriendlyError) => {
    if (f.step === 'go-to-seats' || f.step === 'pick-other-seats') navigate(`/e/${slug}/seats`);
    else if (f.step === 'my-bookings') navigate('/bookings');
    else if (f.step === 'rejoin-queue') navigate(`/e/${slug}/queue`);
    else if (f.step === 'retry-payment' || f.step === 'retry') {
      setPayError(null);
      (document.querySelector('.pay-form input, .pay-form select') as HTMLElement | null)?.focus();
    }
  };

  if (ev.error) return <main className="page narrow"><ErrorNotice error={ev.error} onAction={() => ev.reload()} /></main>;
  if (admissionError) return <main className="page narrow"><ErrorNotice error={admissionError} onAction={() => location.reload()} /></main>;
  if (loadError)
    return (
      <main className="page narrow">
        <ErrorNotice error={loadError} onAction={onAction} />
      </main>
    );
  if (!booking || !event) return <main className="page narrow"><PageLoading label="Preparing your booking…" /></main>;

  const brand = cardBrand(card.number);
  const byCategory = new Map<string, { name: string; colour: string; count: number; price: string; seats: string[] }>();
  for (const s of booking.seats) {
    const c = byCategory.get(s.category.id) ?? { name: s.category.name, colour: s.category.colour, count: 0, price: s.category.price.formatted, seats: [] };
    c.count++;
    c.seats.push(`${s.section} ${s.row}${s.number}`);
    byCategory.set(s.category.id, c);
  }

  return (
    <main className="page checkout" data-testid="checkout">
      <p className="crumbs">
        <Link to={`/e/${slug}/seats`}>← Back to seats</Link>
      </p>
      <h1 className="page-title">Pay for your tickets</h1>
      <div className="checkout-layout">
        <section className="card summary" aria-labelledby="summary-title">
          <h2 id="summary-title">{event.name}</h2>
          <p className="muted">
            {formatEventDate(event.startsAt)} · {event.venue}, {event.city}
          </p>
          <ul className="summary-lines">
            {[...byCategory.values()].map((c) => (
              <li key={c.name}>
                <span className="swatch" style={{ background: c.colour }} aria-hidden="true" />
                <span>
                  {c.count} × {c.name} <span className="muted small">({c.seats.join(', ')})</span>
                </span>
                <span>{c.price} each</span>
              </li>
            ))}
          </ul>
          <p className="summary-total">
            <span>Total</span>
            <strong data-testid="checkout-total">{booking.total.formatted}</strong>
          </p>
          {expiresAt ? (
            <HoldTimer holdId={hold?.id ?? booking.id} expiresAt={expiresAt} status={hold?.status ?? 'ACTIVE'} extensionsLeft={hold?.extensionsLeft ?? 0} onExtend={hold ? () => void extend() : undefined} extending={extending} onExpire={onExpire} compact />
          ) : null}
        </section>
        <section className="card pay" aria-labelledby="pay-title">
          <h2 id="pay-title">Payment</h2>
          <div ref={errorRef}>
            {expired ? <ErrorNotice error={friendlyError('HOLD_EXPIRED')} onAction={onAction} /> : null}
            {payError && !expired ? (
              <div data-testid="pay-error">
                <ErrorNotice error={payError} onAction={onAction} />
              </div>
            ) : null}
          </div>
          <div className="tabs" role="radiogroup" aria-label="Payment method">
            {METHODS.map((m) => (
              <button
                key={m.id}
                type="button"
                role="radio"
                aria-checked={method === m.id}
                className={`tab ${method === m.id ? 'tab-active' : ''}`}
                onClick={() => {
                  setMethod(m.id);
                  setPayError(null);
                }}
                data-testid={`method-${m.id}`}
              >
                <span className="tab-label">{m.label}</span>
                <span className="tab-hint">{m.hint}</span>
              </button>
            ))}
          </div>
          <form className="form pay-form" onSubmit={pay} noValidate>
            {method === 'CARD' ? (
              <>
                <Field id="card-number" label="Card number" error={cardErrors.number}>
                  <div className="input-with-badge">
                    <input id="card-number" inputMode="numeric" autoComplete="cc-number" placeholder="1234 5678 9012 3456" value={card.number} onChange={(e) => setCard({ ...card, number: formatCardNumber(e.target.value) })} onBlur={() => card.number && setCardErrors({ ...cardErrors, number: validateCard(card).number })} aria-invalid={!!cardErrors.number} aria-describedby={cardErrors.number ? 'card-number-error' : undefined} />
                    {brand !== 'unknown' ? <span className="card-brand">{brand.toUpperCase()}</span> : null}
                  </div>
                </Field>
                <div className="field-row">
                  <Field id="card-expiry" label="Expiry (MM / YY)" error={cardErrors.expiry}>
                    <input id="card-expiry" inputMode="numeric" autoComplete="cc-exp" placeholder="MM / YY" value={card.expiry} onChange={(e) => setCard({ ...card, expiry: e.target.value.length < card.expiry.length ? e.target.value : formatExpiry(e.target.value) })} onBlur={() => card.expiry && setCardErrors({ ...cardErrors, expiry: validateCard(card).expiry })} aria-invalid={!!cardErrors.expiry} aria-describedby={cardErrors.expiry ? 'card-expiry-error' : undefined} />
                  </Field>
                  <Field id="card-cvv" label="Security code" error={cardErrors.cvv}>
                    <input id="card-cvv" inputMode="numeric" autoComplete="cc-csc" placeholder={brand === 'amex' ? '4 digits' : '3 digits'} maxLength={4} value={card.cvv} onChange={(e) => setCard({ ...card, cvv: e.target.value.replace(/\D/g, '') })} aria-invalid={!!cardErrors.cvv} aria-describedby={cardErrors.cvv ? 'card-cvv-error' : undefined} />
                  </Field>
                </div>
                <Field id="card-name" label="Name on card" error={cardErrors.holderName}>
                  <input id="card-name" autoComplete="cc-name" value={card.holderName} onChange={(e) => setCard({ ...card, holderName: e.target.value })} aria-invalid={!!cardErrors.holderName} aria-describedby={cardErrors.holderName ? 'card-name-error' : undefined} />
                </Field>
              </>
            ) : null}
            {method === 'UPI' ? (
              <Field id="upi-vpa" label="UPI ID" error={vpaError} hint="We will send a request to your UPI app.">
                <input id="upi-vpa" autoComplete="off" autoCapitalize="none" placeholder="name@bank" value={vpa} onChange={(e) => setVpa(e.target.value)} onBlur={() => vpa && setVpaError(validateVpa(vpa))} aria-invalid={!!vpaError} aria-describedby={vpaError ? 'upi-vpa-error' : 'upi-vpa-hint'} />
              </Field>
            ) : null}
            {method === 'NET_BANKING' ? (
              <Field id="bank" label="Your bank" error={bankError}>
                <select id="bank" value={bank} onChange={(e) => setBank(e.target.value)} aria-invalid={!!bankError} aria-describedby={bankError ? 'bank-error' : undefined}>
                  <option value="">Choose your bank</option>
                  <optgroup label="Banks">
                    {BANKS.filter((b) => !b.test).map((b) => (
                      <option key={b.code} value={b.code}>
                        {b.name}
                      </option>
                    ))}
                  </optgroup>
                  <optgroup label="Demo test banks">
                    {BANKS.filter((b) => b.test).map((b) => (
                      <option key={b.code} value={b.code}>
                        {b.name}
                      </option>
                    ))}
                  </optgroup>
                </select>
              </Field>
            ) : null}
            <Button type="submit" className="btn-block btn-large" busy={paying} disabled={expired} data-testid="pay">
              {paying ? 'Confirming with your bank…' : `Pay ${booking.total.formatted}`}
            </Button>
            <p className="muted small secure"><LockIcon /> Demo payments: no real money moves. Your seats stay held while you pay; you will never be charged twice.</p>
          </form>
        </section>
      </div>
    </main>
  );
}
