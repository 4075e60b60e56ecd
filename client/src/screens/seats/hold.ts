// Holding the chosen seats, letting them go ("Change seats"), the one extension, and the end
// of the hold. Every tab of the fan shows the same hold: a change here is announced through
// localStorage, and a change announced by another tab is read back from the server.
import { useCallback, useEffect, useRef, useState, type Dispatch, type RefObject, type SetStateAction } from 'react';
import { ExtendHoldDocument, LockSeatsDocument, MyHoldDocument, ReleaseSeatsDocument } from '../../gql/sale/graphql';
import { sale } from '../../api/api';
import { asApiError } from '../../api/http';
import type { SeatMapHandle } from '../../components/SeatMap';
import { AVAILABLE, HELD, type SeatModel } from '../../lib/seatModel';
import { friendlyError } from '../../lib/errors';
import { newKey } from '../../lib/format';
import { setPending } from '../../saleState';
import { seatIndices, type FanSeats } from './fanSeats';
import type { Problem } from './problem';

export function useSeatHold({
  eventId,
  model,
  cap,
  mapRef,
  fan,
  setProblem,
}: {
  eventId: string;
  model: SeatModel | null;
  cap: number;
  mapRef: RefObject<SeatMapHandle | null>;
  fan: FanSeats;
  setProblem: Dispatch<SetStateAction<Problem | null>>;
}) {
  const { selected, setSelected, selectedRef, hold, setHold, holdRef, adoptHold } = fan;
  const [busy, setBusy] = useState<'' | 'hold' | 'release' | 'extend'>('');
  // One idempotency key per choice of seats: a retried hold of the same seats reuses it.
  const holdKey = useRef<{ sig: string; key: string } | null>(null);

  const announceHold = useCallback(() => {
    try {
      localStorage.setItem(`tix.holdChanged.${eventId}`, String(Date.now()));
    } catch {
      /* ignore */
    }
  }, [eventId]);
  // Another tab of this fan held, released or paid: show the same hold here.
  useEffect(() => {
    if (!model || !eventId) return;
    const onStorage = (e: StorageEvent) => {
      if (e.key !== `tix.holdChanged.${eventId}`) return;
      sale(eventId, MyHoldDocument, {}).then(({ myHold }) => {
        if (!adoptHold(model, myHold) && holdRef.current) {
          setHold(null);
          setSelected([]);
        }
      }, () => undefined);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [model, eventId, adoptHold, holdRef, setHold, setSelected]);

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
      const indices = seatIndices(model, lockSeats.seats);
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
        adoptHold(model, myHold);
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

  /** The countdown reached zero: the seats go back on sale and the fan is told. */
  const onHoldExpired = useCallback(() => {
    if (!model) return;
    const seats = selectedRef.current;
    for (const i of seats) if (model.status[i] === HELD) model.status[i] = AVAILABLE;
    mapRef.current?.seatsChanged(seats);
    setHold(null);
    setPending(eventId, null);
    setProblem({ f: friendlyError('HOLD_EXPIRED'), tone: 'error' });
  }, [model, eventId, mapRef, selectedRef, setHold, setProblem]);

  return { busy, holdSeats, release, extend, onHoldExpired };
}
