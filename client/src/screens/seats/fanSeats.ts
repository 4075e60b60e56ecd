// The fan's seats: the choice they are making, then the hold that locks it in (the held seats
// stay the choice). Both are kept true to the world: a hold made in another tab shows here,
// and a chosen seat someone else takes leaves the choice with a word to the fan.
import { useCallback, useRef, useState, type Dispatch, type SetStateAction } from 'react';
import type { HoldFieldsFragment } from '../../gql/sale/graphql';
import { AVAILABLE, type SeatModel } from '../../lib/seatModel';
import { reconcile } from '../../lib/seatSelection';
import { friendlyError } from '../../lib/errors';
import type { Problem } from './problem';

export type Hold = HoldFieldsFragment;

/** The seats of a hold as indices into the map (a seat the map does not know is left out). */
export function seatIndices(model: SeatModel, seats: readonly { id: string }[]): number[] {
  return seats.map((s) => model.indexOfId(s.id)).filter((i) => i >= 0);
}

export type FanSeats = ReturnType<typeof useFanSeats>;

export function useFanSeats(setProblem: Dispatch<SetStateAction<Problem | null>>) {
  const [selected, setSelected] = useState<number[]>([]);
  const [hold, setHold] = useState<Hold | null>(null);
  // For callbacks made once that run later (live changes, storage events, the hold's end).
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const holdRef = useRef(hold);
  holdRef.current = hold;

  /** Shows the fan's hold as theirs if it is still active; says whether it did. */
  const adoptHold = useCallback((model: SeatModel, myHold: Hold | null): boolean => {
    if (!myHold || myHold.status !== 'ACTIVE') return false;
    setHold(myHold);
    setSelected(seatIndices(model, myHold.seats));
    return true;
  }, []);

  /** After live changes: chosen seats that are no longer available leave an unheld choice. */
  const dropTakenSeats = useCallback(
    (model: SeatModel) => {
      if (holdRef.current) return;
      const { kept, lost } = reconcile(selectedRef.current, (i) => model.status[i] === AVAILABLE);
      if (lost.length) {
        setSelected(kept);
        setProblem({ f: friendlyError('SEAT_TAKEN', { seatLabels: lost.map((i) => model.shortName(i)) }), tone: 'warning' });
      }
    },
    [setProblem],
  );

  return { selected, setSelected, selectedRef, hold, setHold, holdRef, adoptHold, dropTakenSeats };
}
