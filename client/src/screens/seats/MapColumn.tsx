// The map column: the seat map (a skeleton until the first snapshot) and its legend, with
// how many seats of each category are left.
import type { RefObject } from 'react';
import { SeatMap, type SeatMapHandle } from '../../components/SeatMap';
import type { SeatModel } from '../../lib/seatModel';
import { formatCount } from '../../lib/queueDisplay';
import { recordFirstDraw } from './testHooks';

export function MapColumn({
  model,
  mapRef,
  chosen,
  cap,
  locked,
  onToggle,
  describe,
  counts,
}: {
  model: SeatModel | null;
  mapRef: RefObject<SeatMapHandle | null>;
  chosen: number[];
  cap: number;
  /** The fan holds seats: the map shows them but no longer changes the choice. */
  locked: boolean;
  onToggle: (i: number) => void;
  describe: (i: number) => string;
  /** Available seats per category (by index), or null before the first count. */
  counts: { per: number[] } | null;
}) {
  return (
    <div className="seats-map-col">
      {model ? (
        <SeatMap ref={mapRef} model={model} chosen={chosen} cap={cap} locked={locked} onToggle={onToggle} describe={describe} onFirstDraw={recordFirstDraw} />
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
  );
}
