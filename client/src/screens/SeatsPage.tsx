// Choosing seats: the live map, the fan's choice (up to their cap), "best available", and
// the hold with its countdown. Each of those is a hook or a part in seats/; this page wires
// them together, sends the fan back to the queue when their turn ends, and lays out the panel.
import { useEffect, useRef } from 'react';
import { serverNow } from '../api/clock';
import { loadEvent } from '../events';
import { useAsync, useNow } from '../hooks';
import { navigate, useTitle } from '../router';
import type { SeatMapHandle } from '../components/SeatMap';
import { HoldTimer } from '../components/HoldTimer';
import { Button, ErrorNotice, Notice, PageLoading } from '../components/ui';
import type { FriendlyError } from '../lib/errors';
import { formatMoney } from '../lib/format';
import { useAdmission } from './saleGuard';
import { useProblem } from './seats/problem';
import { useFanSeats } from './seats/fanSeats';
import { useSeatHold } from './seats/hold';
import { useSeatChoice } from './seats/choice';
import { useLiveSeats } from './seats/liveSeats';
import { SeatsHeader } from './seats/SeatsHeader';
import { MapColumn } from './seats/MapColumn';
import { BestSeats } from './seats/BestSeats';
import { ChosenSeats } from './seats/ChosenSeats';
import { MobileBar, MobileToast } from './seats/MobileBar';

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
  const totalText = formatMoney(total, model?.categories[0]?.price.currency ?? 'INR');
  const admissionLeft = admission ? Date.parse(admission.expiresAt) - serverNow() : null;
  const toCheckout = () => navigate(`/e/${slug}/checkout`);

  return (
    <main className="seats-page" data-testid="seats-page">
      <SeatsHeader slug={slug} event={event} liveStatus={liveStatus} turnLeftMs={hold ? null : admissionLeft} />
      <div className="seats-layout">
        <MapColumn model={model} mapRef={mapRef} chosen={selected} cap={cap} locked={!!hold} onToggle={onToggle} describe={describe} counts={counts} />
        <aside className="seats-panel" aria-label="Your seats">
          {problem ? <ErrorNotice error={problem.f} tone={problem.tone === 'error' ? 'error' : 'warning'} onAction={onProblemAction} /> : null}
          {hold ? (
            <HoldTimer holdId={hold.id} expiresAt={hold.expiresAt} status={hold.status} extensionsLeft={hold.extensionsLeft} onExtend={() => void extend()} extending={busy === 'extend'} onExpire={onHoldExpired} />
          ) : null}
          {!hold && model ? <BestSeats model={model} cap={cap} open={selected.length === 0} best={best} /> : null}
          <ChosenSeats model={model} selected={selected} hold={hold} cap={cap} totalText={totalText} onRemove={onToggle} />
          <div className="panel-actions">
            {hold ? (
              <>
                <Button className="btn-block btn-large" onClick={toCheckout} data-testid="to-checkout">
                  Continue to payment
                </Button>
                <Button variant="ghost" className="btn-block" onClick={() => void release()} busy={busy === 'release'} data-testid="release">
                  Change seats
                </Button>
              </>
            ) : (
              <Button className="btn-block btn-large" disabled={selected.length === 0} onClick={() => void holdSeats()} busy={busy === 'hold'} data-testid="hold-seats">
                {selected.length === 0 ? 'Choose seats to continue' : `Hold ${selected.length} seat${selected.length === 1 ? '' : 's'} · ${totalText}`}
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
      <MobileToast problem={problem} visible={toastVisible} onHide={hideToast} />
      <MobileBar count={selected.length} hold={hold} cap={cap} totalText={totalText} holding={busy === 'hold'} onHold={() => void holdSeats()} onPay={toCheckout} />
    </main>
  );
}
