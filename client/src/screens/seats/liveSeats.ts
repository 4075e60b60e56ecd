// The event's seat map, kept live: the layout (fetched once per event and kept across
// reloads, see layoutStore) with a snapshot of the states at a sequence number, then every
// change from the `seatAvailability` subscription after it. Per-seat versions drop a late or
// repeated change; the event-wide sequence shows when a batch was missed, and then a fresh
// snapshot of the states is taken (the layout stays). Without a live connection the states
// are refreshed by polling.
import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { MyHoldDocument, SeatAvailabilityDocument, SeatMapDocument, SeatStatesDocument } from '../../gql/sale/graphql';
import { sale, salePathOf } from '../../api/api';
import { live, type LiveStatus } from '../../api/live';
import { accessToken } from '../../api/session';
import { ApiError, asApiError } from '../../api/http';
import type { Admission } from '../../api/admission';
import type { SeatMapHandle } from '../../components/SeatMap';
import { AVAILABLE, SeatModel } from '../../lib/seatModel';
import { SeatSequence } from '../../lib/seatSequence';
import { endsAdmission } from '../../lib/errors';
import type { Hold } from './fanSeats';
import { fetchLayout, layoutFor, storedLayout, type LayoutSource } from './layoutStore';
import { applyBatch, applyChanges as applyToStore, decodeStates, type SeatBatch, type SeatChange } from './snapshot';
import { exposeSeatMap, recordMapLoad } from './testHooks';

export type { SeatChange } from './snapshot';

/**
 * The map from the layout file and a states snapshot, fetched side by side; an API without
 * the layout route (an older one) gets the whole `seatMap` instead.
 */
async function loadSeatMap(eventId: string): Promise<{ model: SeatModel; sequence: number; layoutVersion: string; source: LayoutSource | 'seatMap'; fetchedAt: number }> {
  const states = sale(eventId, SeatStatesDocument, {}, { retries: 4 });
  const kept = storedLayout(eventId).then((have) => have ?? fetchLayout(eventId).catch(() => null));
  try {
    const [snap, have] = await Promise.all([states, kept]);
    const { sequence, layoutVersion } = snap.seatStates;
    const got = await layoutFor(eventId, have, layoutVersion);
    const fetchedAt = performance.now();
    const model = new SeatModel({ ...got.layout, status: snap.seatStates.states });
    if (model.n !== snap.seatStates.states.length) throw new Error('the states do not fit the layout');
    return { model, sequence, layoutVersion, source: got.source, fetchedAt };
  } catch (e) {
    // The API's own refusals (token, busy...) stand; a missing or broken layout route, or an
    // API without `seatStates`, falls back to the whole map in one answer.
    if (e instanceof ApiError && e.code !== 'GRAPHQL_VALIDATION_FAILED') throw e;
    const data = await sale(eventId, SeatMapDocument, {}, { retries: 4 });
    return { model: new SeatModel(data.seatMap), sequence: data.seatMap.sequence, layoutVersion: '', source: 'seatMap', fetchedAt: performance.now() };
  }
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

  // Which layout the model was built from: a snapshot naming another one needs a new model.
  const layoutVersion = useRef('');
  const [reloads, setReloads] = useState(0);

  const loadMap = useCallback(async () => {
    if (!eventId) return null;
    const t0 = performance.now();
    const loaded = await loadSeatMap(eventId);
    sequence.current.reset(loaded.sequence);
    layoutVersion.current = loaded.layoutVersion;
    recordMapLoad(loaded.model.n, loaded.fetchedAt - t0, performance.now() - loaded.fetchedAt, mountedAt.current, loaded.source);
    return loaded.model;
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
  }, [ready, eventId, loadMap, reloads]);

  // Live seat changes, repainted and counted.
  const changed = useCallback(
    (touched: number[]) => {
      if (!model || touched.length === 0) return;
      mapRef.current?.seatsChanged(touched);
      dirtyCounts.current = true;
      on.current.onSeatsChanged(model);
    },
    [model, mapRef],
  );
  // Changes by per-seat version alone (the e2e journey injects some this way).
  const applyChanges = useCallback(
    (changes: SeatChange[]) => {
      if (model) changed(applyToStore(model, changes));
    },
    [model, changed],
  );
  useEffect(() => {
    if (!model) return;
    exposeSeatMap(model, mapRef, applyChanges);
  }, [model, mapRef, applyChanges]);

  // After a reconnect or a hole in the sequence, changes may have been missed: take a fresh
  // snapshot of the states (the layout stays), then apply the batches that arrived
  // meanwhile and reach past it. `first` is the batch that showed the hole.
  const buffered = useRef<SeatBatch[] | null>(null);
  const resync = useCallback(async (first?: SeatBatch) => {
    if (!model || !eventId || buffered.current) return;
    buffered.current = first ? [first] : [];
    try {
      const { seatStates } = await sale(eventId, SeatStatesDocument, {});
      if (layoutVersion.current && seatStates.layoutVersion !== layoutVersion.current) {
        // The event's seats were laid out again: build the map anew.
        buffered.current = null;
        setReloads((r) => r + 1);
        return;
      }
      decodeStates(seatStates.states, model.status, model.version);
      sequence.current.reset(seatStates.sequence);
      const replay = buffered.current;
      buffered.current = null;
      // The snapshot may be a moment older than a batch already seen: if a hole remains,
      // look again shortly (a newer snapshot follows the next change, or within a second).
      let holed = false;
      for (const batch of replay) holed = applyBatch(model, sequence.current, batch).hole || holed;
      mapRef.current?.redraw();
      dirtyCounts.current = true;
      on.current.onSeatsChanged(model);
      if (holed) setTimeout(() => void resync(), 500);
    } catch {
      buffered.current = null;
    }
  }, [model, eventId, mapRef]);

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
        if (buffered.current) {
          buffered.current.push(batch);
          return;
        }
        const applied = applyBatch(model, sequence.current, batch);
        changed(applied.touched);
        if (applied.hole) void resync(batch);
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
  }, [model, eventId, admission, changed, resync]);

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
