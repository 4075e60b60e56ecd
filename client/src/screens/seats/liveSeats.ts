// The event's seat map, kept live: a first snapshot, then every change from the
// `seatAvailability` subscription. Per-seat versions drop a late or repeated change; the
// event-wide sequence shows when a batch was missed, and then a fresh snapshot is taken.
// Without a live connection the map is refreshed by polling.
import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { MyHoldDocument, SeatAvailabilityDocument, SeatMapDocument } from '../../gql/sale/graphql';
import { sale, salePathOf } from '../../api/api';
import { live, type LiveStatus } from '../../api/live';
import { accessToken } from '../../api/session';
import { asApiError, type ApiError } from '../../api/http';
import type { Admission } from '../../api/admission';
import type { SeatMapHandle } from '../../components/SeatMap';
import { AVAILABLE, SeatModel, stateFromStatus } from '../../lib/seatModel';
import { SeatSequence } from '../../lib/seatSequence';
import { endsAdmission } from '../../lib/errors';
import type { Hold } from './fanSeats';
import { exposeSeatMap, recordMapLoad } from './testHooks';

/** One seat's new state, from the live subscription (or injected by the e2e journey). */
export interface SeatChange {
  seatId: string;
  status: string;
  version: number;
}

export function useLiveSeats({
  eventId,
  ready,
  admission,
  mapRef,
  onFirstLoad,
  onSeatsChanged,
}: {
  eventId: string;
  /** The fan may shop (see useAdmission): load nothing before. */
  ready: boolean;
  admission: Admission | null;
  mapRef: RefObject<SeatMapHandle | null>;
  /** The first snapshot, with the hold the fan already has (another tab, a reload): both show in one render. */
  onFirstLoad: (model: SeatModel, myHold: Hold | null) => void;
  /** Live changes changed some seats (the map has repainted them). */
  onSeatsChanged: (model: SeatModel) => void;
}) {
  const mountedAt = useRef(performance.now());
  const [model, setModel] = useState<SeatModel | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [liveStatus, setLiveStatus] = useState<LiveStatus>('connecting');
  // The callbacks are read when called, so a new one never restarts the subscription.
  const on = useRef({ onFirstLoad, onSeatsChanged });
  on.current = { onFirstLoad, onSeatsChanged };

  // How far the map is in the event's seat changes: a hole means fetch it again.
  const sequence = useRef(new SeatSequence());
  // Seats changed since the category counts were last made (see the end).
  const dirtyCounts = useRef(true);

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

  // The map and any hold the fan already has, fetched side by side.
  useEffect(() => {
    if (!ready || !eventId) return;
    let cancelled = false;
    (async () => {
      try {
        const [m, mine] = await Promise.all([loadMap(), sale(eventId, MyHoldDocument, {}, { retries: 3 }).catch(() => ({ myHold: null }))]);
        if (cancelled || !m) return;
        setModel(m);
        on.current.onFirstLoad(m, mine.myHold);
      } catch (e) {
        if (!cancelled) setLoadError(asApiError(e));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [ready, eventId, loadMap]);

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
      on.current.onSeatsChanged(m);
    },
    [model, mapRef],
  );
  useEffect(() => {
    if (!model) return;
    exposeSeatMap(model, mapRef, applyChanges);
  }, [model, mapRef, applyChanges]);

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
  }, [model, eventId, mapRef, applyChanges]);

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
  const [countsTick, setCountsTick] = useState(0);
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

  return { model, loadError, liveStatus, counts };
}
