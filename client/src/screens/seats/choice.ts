// The fan's choice before a hold: seats tapped on the map (up to their cap, available ones
// only), or picked by "find the best seats for me", and how each seat is read out.
import { useCallback, useMemo, useState, type Dispatch, type RefObject, type SetStateAction } from 'react';
import { seatStateWord, type SeatMapHandle } from '../../components/SeatMap';
import { AVAILABLE, type SeatModel } from '../../lib/seatModel';
import { bestAvailable, refusalMessage, toggleSeat } from '../../lib/seatSelection';
import type { FanSeats } from './fanSeats';
import type { Problem } from './problem';

/** The "find the best seats for me" form: how many, which category (-1: any), and the search. */
export interface BestSeatsForm {
  qty: number;
  setQty: (n: number) => void;
  cat: number;
  setCat: (c: number) => void;
  find: () => void;
}

export function useSeatChoice({
  model,
  cap,
  mapRef,
  fan,
  setProblem,
}: {
  model: SeatModel | null;
  cap: number;
  mapRef: RefObject<SeatMapHandle | null>;
  fan: FanSeats;
  setProblem: Dispatch<SetStateAction<Problem | null>>;
}) {
  const { selected, setSelected, selectedRef, hold, holdRef } = fan;

  const mine = useMemo(() => new Set(hold ? selected : []), [hold, selected]);
  /** What a screen reader hears for a seat: where it is, its price, and its state. */
  const describe = useCallback(
    (i: number) => {
      if (!model) return '';
      const l = model.label(i);
      const chosen = selectedRef.current.includes(i);
      const state = seatStateWord(model.status[i], mine.has(i), chosen);
      return `Section ${l.section}, row ${l.row}, seat ${l.number}. ${l.category.name}, ${l.category.price.formatted}. ${state[0].toUpperCase()}${state.slice(1)}.`;
    },
    [model, mine, selectedRef],
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
    [model, cap, holdRef, selectedRef, setSelected, setProblem],
  );

  // --- best available (the page keeps the fan's last quantity and category across holds)
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

  const best: BestSeatsForm = { qty: bestQty, setQty: setBestQty, cat: bestCat, setCat: setBestCat, find: findBest };
  return { describe, onToggle, best };
}
