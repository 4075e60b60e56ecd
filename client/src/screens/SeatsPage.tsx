// Choosing seats: the live map, the fan's choice (up to their cap), "best available", and
// the hold with its countdown.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { LockSeatsDocument, MyHoldDocument, ReleaseSeatsDocument, ExtendHoldDocument, SeatAvailabilityDocument, SeatMapDocument, type HoldFieldsFragment } from '../gql/sale/graphql';
import { sale, salePathOf } from '../api/api';
import { live, type LiveStatus } from '../api/live';
import { accessToken } from '../api/session';
import { asApiError, type ApiError } from '../api/http';
import { serverNow } from '../api/clock';
import { loadEvent } from '../events';
import { useAsync, useNow } from '../hooks';
import { Link, navigate, useTitle } from '../router';
import { SeatMap, seatStateWord, type SeatMapHandle } from '../components/SeatMap';
import { HoldClock, HoldTimer } from '../components/HoldTimer';
import { Button, ErrorNotice, LiveDot, Notice, PageLoading } from '../components/ui';
import { AVAILABLE, HELD, SeatModel, stateFromStatus } from '../lib/seatModel';
import { bestAvailable, leavesSingleGap, reconcile, refusalMessage, toggleSeat } from '../lib/seatSelection';
import { SeatSequence } from '../lib/seatSequence';
import { endsAdmission, friendlyError, type FriendlyError } from '../lib/errors';
import { formatClock } from '../lib/countdown';
import { formatMoney, newKey } from '../lib/format';
import { formatCount } from '../lib/queueDisplay';
import { useAdmission } from './saleGuard';
import { setPending } from '../saleState';
import { useProblem } from './seats/problem';
import { exposeSeatMap, recordFirstDraw, recordMapLoad } from './seats/testHooks';

type Hold = HoldFieldsFragment;

/** One seat's new state, from the live subscription (or injected by the e2e journey). */
export interface SeatChange {
  seatId: string;
  status: string;
  version: number;
}

export function SeatsPage({ slug }: { slug: string }) {
  const ev = useAsync((signal) => loadEvent(slug, signal), [slug]);
  const event = ev.data;
  const { ready, admission, error: admissionError } = useAdmission(event, slug);
  const mountedAt = useRef(performance.now());
  const [model, setModel] = useState<SeatModel | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<number[]>([]);
  const [hold, setHold] = useState<Hold | null>(null);
  const [busy, setBusy] = useState<'' | 'hold' | 'release' | 'extend'>('');
  const { problem, setProblem, toastVisible, hideToast } = useProblem();
  const [liveStatus, setLiveStatus] = useState<LiveStatus>('connecting');
  const [countsTick, setCountsTick] = useState(0);
  const mapRef = useRef<SeatMapHandle>(null);
  const holdKey = useRef<{ sig: string; key: string } | null>(null);
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const holdRef = useRef(hold);
  holdRef.current = hold;
  useNow(1000); // re-render each second for the turn countdown
  useTitle(event ? `Choose seats · ${event.artist}` : 'Choose seats');

  // How far the map is in the event's seat changes: a hole means fetch it again.
  const sequence = useRef(new SeatSequence());

  const cap = Math.min(admission?.seatCap ?? event?.maxSeatsPerFan ?? 6, event?.maxSeatsPerFan ?? 99);
  const eventId = event?.id ?? '';

  // Load the map and any hold the fan already has (another tab, a reload).
  const loadMap = useCallback(async () => {
    if (!eventId) return null;
    const t0 = performance.now();
    const data = await sale(eventId, SeatMapDocument, {}, { retries: 4 });
    const t1 = performance.now();
    const m = new SeatModel(data.seatMap);
    sequence.current.reset(data.seatMap.sequence);
    const t2 = performance.now();
    recordMapLoad(m.n, t1 - t0, t2 - t1, mountedAt.current);
    return m;
  }, [eventId]);

  useEffect(() => {
    if (!ready || !eventId) return;
    let cancelled = false;
    (async () => {
      try {
        const [m, mine] = await Promise.all([loadMap(), sale(eventId, MyHoldDocument, {}, { retries: 3 }).catch(() => ({ myHold: null }))]);
        if (cancelled || !m) return;
        setModel(m);
        if (mine.myHold && mine.myHold.status === 'ACTIVE') {
          setHold(mine.myHold);
          setSelected(mine.myHold.seats.map((s) => m.indexOfId(s.id)).filter((i) => i >= 0));
        }
      } catch (e) {
        if (!cancelled) setLoadError(asApiError(e));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [ready, eventId, loadMap]);

  // Another tab of this fan held, released or paid: show the same hold here.
  const announceHold = useCallback(() => {
    try {
      localStorage.setItem(`tix.holdChanged.${eventId}`, String(Date.now()));
    } catch {
      /* ignore */
    }
  }, [eventId]);
  useEffect(() => {
    if (!model || !eventId) return;
    const onStorage = (e: StorageEvent) => {
      if (e.key !== `tix.holdChanged.${eventId}`) return;
      sale(eventId, MyHoldDocument, {}).then(({ myHold }) => {
        if (myHold && myHold.status === 'ACTIVE') {
          setHold(myHold);
          setSelected(myHold.seats.map((s) => model.indexOfId(s.id)).filter((i) => i >= 0));
        } else if (holdRef.current) {
          setHold(null);
          setSelected([]);
        }
      }, () => undefined);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [model, eventId]);

  // Live seat changes.
  const pendingChanges = useRef<SeatChange[] | null>(null);
  const applyChanges = useCallback(
    (changes: SeatChange[]) => {
      const m = model;
      if (!m) return;
      if (pendingChanges.current) pendingChanges.current.push(...changes);
      const touched: number[] = [];
      for (const c of changes) {
        const i = m.indexOfId(c.seatId);
        if (m.apply(i, stateFromStatus(c.status), c.version)) touched.push(i);
      }
      if (touched.length === 0) return;
      mapRef.current?.seatsChanged(touched);
      dirtyCounts.current = true;
      if (!holdRef.current) {
        const { kept, lost } = reconcile(selectedRef.current, (i) => m.status[i] === AVAILABLE);
        if (lost.length) {
          setSelected(kept);
          setProblem({ f: friendlyError('SEAT_TAKEN', { seatLabels: lost.map((i) => m.shortName(i)) }), tone: 'warning' });
        }
      }
    },
    [model],
  );
  useEffect(() => {
    if (!model) return;
    exposeSeatMap(model, mapRef, applyChanges);
  }, [model, applyChanges]);

  // After a reconnect or a hole in the sequence, changes may have been missed: take a fresh
  // snapshot, then replay what arrived meanwhile (per-seat versions drop anything older).
  // `first` are changes already applied that the snapshot may predate.
  const pendingRanges = useRef<[number, number][] | null>(null);
  const resync = useCallback(async (first: SeatChange[] = [], firstRange?: [number, number]) => {
    if (!model || !eventId || pendingChanges.current) return;
    pendingChanges.current = [...first];
    pendingRanges.current = firstRange ? [firstRange] : [];
    try {
      const data = await sale(eventId, SeatMapDocument, {});
      const s = data.seatMap.status;
      for (let i = 0; i < model.n; i++) model.status[i] = stateFromStatus(s.charAt(i) === 'A' ? 'AVAILABLE' : s.charAt(i) === 'H' ? 'HELD' : 'BOOKED');
      const replay = pendingChanges.current;
      const ranges = pendingRanges.current ?? [];
      pendingChanges.current = null;
      pendingRanges.current = null;
      model.version.fill(-1);
      applyChanges(replay);
      sequence.current.reset(data.seatMap.sequence);
      // The snapshot may be a moment older than a batch already seen: if a hole remains,
      // look again shortly (a newer snapshot follows the next change, or within a second).
      const holed = ranges.filter(([from, to]) => !sequence.current.accept(from, to)).length > 0;
      mapRef.current?.redraw();
      dirtyCounts.current = true;
      if (holed) setTimeout(() => void resync(), 500);
    } catch {
      pendingChanges.current = null;
      pendingRanges.current = null;
    }
  }, [model, eventId, applyChanges]);

  useEffect(() => {
    if (!model || !eventId) return;
    const bearer = async () => admission?.token ?? (await accessToken().catch(() => null));
    let stopped = false;
    const stop = live({
      path: salePathOf(eventId),
      query: async (): Promise<Record<string, string>> => {
        const t = admission?.token;
        return t ? { access_token: t } : {};
      },
      connectionParams: async () => {
        const t = await bearer();
        return t ? { authorization: `Bearer ${t}` } : {};
      },
      doc: SeatAvailabilityDocument,
      variables: {},
      onData: (d) => {
        const batch = d.seatAvailability;
        const range: [number, number] = [batch.fromSequence, batch.toSequence];
        applyChanges(batch.changes);
        if (pendingRanges.current) pendingRanges.current.push(range);
        else if (!sequence.current.accept(...range)) void resync(batch.changes, range);
      },
      onStatus: (s) => !stopped && setLiveStatus(s),
      onReconnected: () => void resync(),
      onError: (code) => {
        if (endsAdmission(code)) {
          // Let an HTTP call confirm it and route the fan (see useAdmission).
          void sale(eventId, MyHoldDocument, {}).catch(() => undefined);
          return false;
        }
        // An API without the subscription (validation failure) will not get one by
        // retrying: poll instead.
        return !(code === 'GRAPHQL_VALIDATION_FAILED' || code === 'GRAPHQL_PARSE_FAILED');
      },
    });
    return () => {
      stopped = true;
      stop();
    };
  }, [model, eventId, admission, applyChanges, resync]);

  // Without a live connection, refresh the map every 10 s.
  useEffect(() => {
    if (!model || liveStatus === 'live' || liveStatus === 'connecting') return;
    const t = setInterval(() => void resync(), 10_000);
    return () => clearInterval(t);
  }, [model, liveStatus, resync]);

  // Category counts, recomputed at most once a second.
  const dirtyCounts = useRef(true);
  useEffect(() => {
    const t = setInterval(() => {
      if (dirtyCounts.current) {
        dirtyCounts.current = false;
        setCountsTick((c) => c + 1);
      }
    }, 1000);
    return () => clearInterval(t);
  }, []);
  const counts = useMemo(() => {
    if (!model) return null;
    const per = model.categories.map(() => 0);
    let available = 0;
    for (let i = 0; i < model.n; i++)
      if (model.status[i] === AVAILABLE) {
        per[model.cat[i]]++;
        available++;
      }
    return { per, available };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model, countsTick]);

  const mine = useMemo(() => new Set(hold ? selected : []), [hold, selected]);
  const describe = useCallback(
    (i: number) => {
      if (!model) return '';
      const l = model.label(i);
      const chosen = selectedRef.current.includes(i);
      const state = seatStateWord(model.status[i], mine.has(i), chosen);
      return `Section ${l.section}, row ${l.row}, seat ${l.number}. ${l.category.name}, ${l.category.price.formatted}. ${state[0].toUpperCase()}${state.slice(1)}.`;
    },
    [model, mine],
  );

  const onToggle = useCallback(
    (i: number) => {
      if (!model) return;
      if (holdRef.current) {
        setProblem({ f: { code: 'HELD', title: 'Your seats are held', message: 'To change them, release your seats first with “Change seats”.', step: 'none', action: '' }, tone: 'info' });
        return;
      }
      const r = toggleSeat(selectedRef.current, i, cap, (s) => model.status[s] === AVAILABLE);
      setSelected(r.selected);
      if (r.refused) setProblem({ f: { code: r.refused, title: r.refused === 'CAP_REACHED' ? 'That is your limit' : 'Not available', message: refusalMessage(r.refused, cap), step: 'none', action: '' }, tone: 'info' });
      else setProblem(null);
    },
    [model, cap],
  );

  // --- best available
  const [bestCat, setBestCat] = useState(-1);
  const [bestQty, setBestQty] = useState(2);
  const findBest = () => {
    if (!model) return;
    const pick = bestAvailable(model, bestCat, Math.min(bestQty, cap));
    if (pick.length === 0) {
      setProblem({ f: { code: 'NONE', title: 'No seats together', message: `We could not find ${bestQty} seats side by side${bestCat >= 0 ? ` in ${model.categories[bestCat].name}` : ''}. Try fewer seats or another category.`, step: 'none', action: '' }, tone: 'info' });
      return;
    }
    setSelected(pick);
    setProblem(null);
    mapRef.current?.showSeat(pick[0]);
  };

  // --- hold, release, extend
  const holdSeats = async () => {
    if (!model || selected.length === 0) return;
    const ids = selected.map((i) => model.idOf(i));
    const sig = [...ids].sort().join(',');
    if (!holdKey.current || holdKey.current.sig !== sig) holdKey.current = { sig, key: newKey() };
    setBusy('hold');
    setProblem(null);
    try {
      const { lockSeats } = await sale(eventId, LockSeatsDocument, { seatIds: ids, idempotencyKey: holdKey.current.key }, { retries: 2 });
      holdKey.current = null;
      setHold(lockSeats);
      setPending(eventId, { holdId: lockSeats.id, bookingKey: newKey() });
      announceHold();
      const indices = lockSeats.seats.map((s) => model.indexOfId(s.id)).filter((i) => i >= 0);
      for (const i of indices) if (model.status[i] === AVAILABLE) model.status[i] = HELD;
      mapRef.current?.seatsChanged(indices);
      setSelected(indices);
    } catch (e) {
      const err = asApiError(e);
      holdKey.current = null;
      if (err.code === 'SEAT_TAKEN') {
        const takenIds = Array.isArray(err.extensions.seatIds) ? (err.extensions.seatIds as unknown[]).map(String) : [];
        const taken = takenIds.map((id) => model.indexOfId(id)).filter((i) => i >= 0);
        for (const i of taken) if (model.status[i] === AVAILABLE) model.status[i] = HELD;
        mapRef.current?.seatsChanged(taken);
        setSelected((s) => s.filter((i) => !taken.includes(i)));
        setProblem({ f: friendlyError('SEAT_TAKEN', { seatLabels: taken.map((i) => model.shortName(i)) }), tone: 'error' });
      } else if (err.code === 'ACTIVE_HOLD_EXISTS') {
        // Another tab of this fan holds seats: show that hold here.
        const { myHold } = await sale(eventId, MyHoldDocument, {}).catch(() => ({ myHold: null }));
        if (myHold && myHold.status === 'ACTIVE') {
          setHold(myHold);
          setSelected(myHold.seats.map((s) => model.indexOfId(s.id)).filter((i) => i >= 0));
        }
        setProblem({ f: friendlyError(err.code), tone: 'warning' });
      } else {
        setProblem({ f: friendlyError(err.code, { seatCap: cap, retryAfterSeconds: err.retryAfterSeconds }), tone: 'error' });
      }
    } finally {
      setBusy('');
    }
  };

  const release = async () => {
    if (!hold || !model) return;
    setBusy('release');
    try {
      await sale(eventId, ReleaseSeatsDocument, { holdId: hold.id }, { retries: 2 });
    } catch (e) {
      const err = asApiError(e);
      if (err.code !== 'HOLD_NOT_FOUND' && err.code !== 'HOLD_EXPIRED') {
        setProblem({ f: friendlyError(err.code), tone: 'error' });
        setBusy('');
        return;
      }
    }
    for (const i of selected) if (model.status[i] === HELD) model.status[i] = AVAILABLE;
    mapRef.current?.seatsChanged(selected);
    setHold(null);
    setPending(eventId, null);
    announceHold();
    setBusy('');
  };

  const extend = async () => {
    if (!hold) return;
    setBusy('extend');
    try {
      const { extendHold } = await sale(eventId, ExtendHoldDocument, { holdId: hold.id }, { retries: 2 });
      setHold(extendHold);
    } catch (e) {
      setProblem({ f: friendlyError(asApiError(e).code), tone: 'error' });
    } finally {
      setBusy('');
    }
  };

  const onHoldExpired = useCallback(() => {
    if (!model) return;
    const seats = selectedRef.current;
    for (const i of seats) if (model.status[i] === HELD) model.status[i] = AVAILABLE;
    mapRef.current?.seatsChanged(seats);
    setHold(null);
    setPending(eventId, null);
    setProblem({ f: friendlyError('HOLD_EXPIRED'), tone: 'error' });
  }, [model, eventId]);

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
                  <select value={bestQty} onChange={(e) => setBestQty(Number(e.target.value))} data-testid="best-qty">
                    {Array.from({ length: cap }, (_, k) => k + 1).map((n) => (
                      <option key={n} value={n}>
                        {n}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  <span>Category</span>
                  <select value={bestCat} onChange={(e) => setBestCat(Number(e.target.value))} data-testid="best-cat">
                    <option value={-1}>Any</option>
                    {model.categories.map((c, ci) => (
                      <option key={c.id} value={ci}>
                        {c.name} ({c.price.formatted})
                      </option>
                    ))}
                  </select>
                </label>
                <Button variant="secondary" onClick={findBest} data-testid="best-find">
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
