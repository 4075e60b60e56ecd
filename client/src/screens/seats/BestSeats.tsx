// "Find the best seats for me": the same choice as the map offers, without the map (how many,
// which category). Open while the fan has chosen nothing.
import { Button } from '../../components/ui';
import type { SeatModel } from '../../lib/seatModel';
import type { BestSeatsForm } from './choice';

export function BestSeats({ model, cap, open, best }: { model: SeatModel; cap: number; open: boolean; best: BestSeatsForm }) {
  return (
    <details className="best" open={open}>
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
  );
}
