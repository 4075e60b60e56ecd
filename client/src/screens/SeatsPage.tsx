// Choosing seats: the live map, the fan's choice (up to their cap), "best available", and
// the hold with its countdown.
import { useEffect, useRef } from 'react';
import { serverNow } from '../api/clock';
import { loadEvent } from '../events';
import { useAsync, useNow } from '../hooks';
import { Link, navigate, useTitle } from '../router';
import { SeatMap, type SeatMapHandle } from '../components/SeatMap';
import { HoldClock, HoldTimer } from '../components/HoldTimer';
import { Button, ErrorNotice, LiveDot, Notice, PageLoading } from '../components/ui';
import { leavesSingleGap } from '../lib/seatSelection';
import type { FriendlyError } from '../lib/errors';
import { formatClock } from '../lib/countdown';
import { formatMoney } from '../lib/format';
import { formatCount } from '../lib/queueDisplay';
import { useAdmission } from './saleGuard';
import { useProblem } from './seats/problem';
import { useFanSeats } from './seats/fanSeats';
import { useSeatHold } from './seats/hold';
import { useSeatChoice } from './seats/choice';
import { useLiveSeats } from './seats/liveSeats';
import { recordFirstDraw } from './seats/testHooks';

export function SeatsPage({ slug }: { slug: string }) {
  const ev = useAsync((signal) => loadEvent(slug, signal), [slug]);
  const event = ev.data;
  const { ready, admission, error: admissionError } = useAdmission(event, slug);
  const { problem, setProblem, toastVisible, hideToast } = useProblem();
  const fan = useFanSeats(setProblem);
  const { selected, hold } = fan;
  const mapRef = useRef<SeatMapHandle>(null);
  useNow(1000); // re-render each second for the turn countdown
  useTitle(event ? `Choose seats · ${event.artist}` : 'Choose seats');

  const cap = Math.min(admission?.seatCap ?? event?.maxSeatsPerFan ?? 6, event?.maxSeatsPerFan ?? 99);
  const eventId = event?.id ?? '';

  const { model, loadError, liveStatus, counts } = useLiveSeats({ eventId, ready, admission, mapRef, onFirstLoad: fan.adoptHold, onSeatsChanged: fan.dropTakenSeats });
  const { busy, holdSeats, release, extend, onHoldExpired } = useSeatHold({ eventId, model, cap, mapRef, fan, setProblem });
  const { describe, onToggle, best } = useSeatChoice({ model, cap, mapRef, fan, setProblem });

  const onProblemAction = (f: FriendlyError) => {
    if (f.step === 'rejoin-queue') navigate(`/e/${slug}/queue`);
    else if (f.step === 'my-bookings') navigate('/bookings');
    else if (f.step === 'reload') location.reload();
    else setProblem(null);
  };

  // The turn is over (the server refuses the pass from now on): back to the queue.
  const turnOver = !!admission && !hold && Date.parse(admission.expiresAt) <= serverNow();
  useEffect(() => {
    if (turnOver) navigate(`/e/${slug}/queue?ended=TOKEN_EXPIRED`, { replace: true });
  }, [turnOver, slug]);

  // --- render
  if (ev.error) return <main className="page narrow"><ErrorNotice error={ev.error} onAction={() => ev.reload()} /></main>;
  if (admissionError) return <main className="page narrow"><ErrorNotice error={admissionError} onAction={() => location.reload()} /></main>;
  if (loadError)
    return (
      <main className="page narrow">
        <ErrorNotice error={loadError} onAction={(f) => (f.step === 'rejoin-queue' ? navigate(`/e/${slug}/queue`) : location.reload())} />
      </main>
    );

  const total = model ? selected.reduce((sum, i) => sum + model.categories[model.cat[i]].price.amountMinor, 0) : 0;
  const currency = model?.categories[0]?.price.currency ?? 'INR';
  const admissionLeft = admission ? Date.parse(admission.expiresAt) - serverNow() : null;
  const gap = model && !hold && selected.length > 0 && leavesSingleGap(model, selected);


  return (
    <main className="seats-page" data-testid="seats-page">
      <div className="seats-head">
        <div>
          <p className="crumbs">
            <Link to={`/e/${slug}`}>{event?.artist ?? 'Event'}</Link> · {event?.venue}
          </p>
          <h1 className="seats-title">Choose your seats</h1>
        </div>
        <div className="seats-head-right">
          <LiveDot status={liveStatus} />
          {admissionLeft !== null && !hold ? (
            <span className={`turn-left ${admissionLeft < 120_000 ? 'turn-left-warn' : ''}`} data-testid="turn-left">
              Your turn: {formatClock(admissionLeft)} left
            </span>
          ) : null}
        </div>
      </div>
      <div className="seats-layout">
        <div className="seats-map-col">
          {model ? (
            <SeatMap ref={mapRef} model={model} chosen={selected} cap={cap} locked={!!hold} onToggle={onToggle} describe={describe} onFirstDraw={recordFirstDraw} />
          ) : (
            <div className="seatmap seatmap-loading" role="status" aria-busy="true">
              <div className="skeleton skeleton-map" />
              <p className="muted">Loading the seat map…</p>
            </div>
          )}
          {model ? (
            <ul className="legend" aria-label="Legend">
              {model.categories.map((c, ci) => (
                <li key={c.id}>
                  <span className="swatch" style={{ background: c.colour }} aria-hidden="true" />
                  {c.name} {c.price.formatted}
                  {counts ? <span className="muted small"> · {formatCount(counts.per[ci])} left</span> : null}
                </li>
              ))}
              <li>
                <span className="swatch swatch-selected" aria-hidden="true" /> Your choice
              </li>
              <li>
                <span className="swatch swatch-held" aria-hidden="true" /> Being bought
              </li>
              <li>
                <span className="swatch swatch-booked" aria-hidden="true" /> Sold
              </li>
            </ul>
          ) : null}
        </div>
        <aside className="seats-panel" aria-label="Your seats">
          {problem ? <ErrorNotice error={problem.f} tone={problem.tone === 'error' ? 'error' : 'warning'} onAction={onProblemAction} /> : null}
          {hold ? (
            <HoldTimer holdId={hold.id} expiresAt={hold.expiresAt} status={hold.status} extensionsLeft={hold.extensionsLeft} onExtend={() => void extend()} extending={busy === 'extend'} onExpire={onHoldExpired} />
          ) : null}
          {!hold && model ? (
            <details className="best" open={selected.length === 0}>
              <summary>Find the best seats for me</summary>
              <div className="best-row">
                <label>
                  <span>Seats</span>
                  <select value={best.qty} onChange={(e) => best.setQty(Number(e.target.value))} data-testid="best-qty">
                    {Array.from({ length: cap }, (_, k) => k + 1).map((n) => (
                      <option key={n} value={n}>
                        {n}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  <span>Category</span>
                  <select value={best.cat} onChange={(e) => best.setCat(Number(e.target.value))} data-testid="best-cat">
                    <option value={-1}>Any</option>
                    {model.categories.map((c, ci) => (
                      <option key={c.id} value={ci}>
                        {c.name} ({c.price.formatted})
                      </option>
                    ))}
                  </select>
                </label>
                <Button variant="secondary" onClick={best.find} data-testid="best-find">
                  Find seats
                </Button>
              </div>
            </details>
          ) : null}
          <section className="chosen" aria-live="polite">
            <h2 className="panel-title">
              {hold ? 'Your held seats' : `Your choice (${selected.length} of ${cap})`}
            </h2>
            {selected.length === 0 ? (
              <p className="muted">Tap a coloured seat on the map, or let us find the best ones. You can choose up to {cap}.</p>
            ) : (
              <ul className="chosen-list" data-testid="chosen-list">
                {model &&
                  selected.map((i) => {
                    const l = model.label(i);
                    return (
                      <li key={i}>
                        <span className="swatch" style={{ background: l.category.colour }} aria-hidden="true" />
                        <span className="chosen-name">
                          {l.section} · Row {l.row} · Seat {l.number}
                        </span>
                        <span className="chosen-price">{l.category.price.formatted}</span>
                        {!hold ? (
                          <button type="button" className="icon-btn" aria-label={`Remove seat ${l.number}, row ${l.row}, section ${l.section}`} onClick={() => onToggle(i)}>
                            ×
                          </button>
                        ) : null}
                      </li>
                    );
                  })}
              </ul>
            )}
            {gap ? <p className="hint">Tip: your choice leaves a single empty seat next to it. Consider moving by one seat.</p> : null}
            {selected.length > 0 ? (
              <p className="chosen-total">
                <span>Total</span>
                <strong data-testid="chosen-total">{hold ? hold.total.formatted : formatMoney(total, currency)}</strong>
              </p>
            ) : null}
          </section>
          <div className="panel-actions">
            {hold ? (
              <>
                <Button className="btn-block btn-large" onClick={() => navigate(`/e/${slug}/checkout`)} data-testid="to-checkout">
                  Continue to payment
                </Button>
                <Button variant="ghost" className="btn-block" onClick={() => void release()} busy={busy === 'release'} data-testid="release">
                  Change seats
                </Button>
              </>
            ) : (
              <Button className="btn-block btn-large" disabled={selected.length === 0} onClick={() => void holdSeats()} busy={busy === 'hold'} data-testid="hold-seats">
                {selected.length === 0 ? 'Choose seats to continue' : `Hold ${selected.length} seat${selected.length === 1 ? '' : 's'} · ${formatMoney(total, currency)}`}
              </Button>
            )}
          </div>
          {!model ? <PageLoading label="Loading seats…" /> : null}
          {liveStatus === 'degraded' || liveStatus === 'stopped' ? (
            <Notice tone="info">Live seat updates are paused; we refresh the map every 10 seconds.</Notice>
          ) : null}
          <p className="muted small">
            Held seats stay yours while the timer runs. Map: drag to move, pinch or scroll to zoom; keyboard: arrows, Enter.
          </p>
        </aside>
      </div>
      {problem && toastVisible ? (
        <div className={`mobile-toast mobile-toast-${problem.tone}`} aria-hidden="true" onClick={hideToast}>
          <strong>{problem.f.title}.</strong> {problem.f.message}
        </div>
      ) : null}
      <div className="mobile-bar" aria-hidden="false">
        <div className="mobile-bar-info">
          <strong>{selected.length ? `${selected.length} seat${selected.length === 1 ? '' : 's'}` : 'No seats yet'}</strong>
          <span className="muted small">
            {hold ? (
              <>
                {hold.total.formatted} · held <HoldClock expiresAt={hold.expiresAt} />
              </>
            ) : selected.length ? (
              formatMoney(total, currency)
            ) : (
              `Up to ${cap}`
            )}
          </span>
        </div>
        {hold ? (
          <Button onClick={() => navigate(`/e/${slug}/checkout`)}>Pay now</Button>
        ) : (
          <Button disabled={selected.length === 0} onClick={() => void holdSeats()} busy={busy === 'hold'}>
            Hold seats
          </Button>
        )}
      </div>
    </main>
  );
}
