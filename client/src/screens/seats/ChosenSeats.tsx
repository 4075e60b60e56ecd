// The fan's seats in words: each chosen (or held) seat with its price, a way to remove it
// before the hold, a tip when the choice strands a single seat, and the total.
import type { SeatModel } from '../../lib/seatModel';
import { leavesSingleGap } from '../../lib/seatSelection';
import type { Hold } from './fanSeats';

export function ChosenSeats({
  model,
  selected,
  hold,
  cap,
  totalText,
  onRemove,
}: {
  model: SeatModel | null;
  selected: number[];
  hold: Hold | null;
  cap: number;
  /** The choice's total, formatted (a hold shows the server's own total instead). */
  totalText: string;
  onRemove: (i: number) => void;
}) {
  const gap = model && !hold && selected.length > 0 && leavesSingleGap(model, selected);
  return (
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
                    <button type="button" className="icon-btn" aria-label={`Remove seat ${l.number}, row ${l.row}, section ${l.section}`} onClick={() => onRemove(i)}>
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
          <strong data-testid="chosen-total">{hold ? hold.total.formatted : totalText}</strong>
        </p>
      ) : null}
    </section>
  );
}
