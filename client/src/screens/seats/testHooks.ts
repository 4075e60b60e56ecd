// What the seat page puts on `window.__tix` for the e2e journey and the benchmark: load and
// first-draw timings, the live model, a way to inject seat changes, and where a seat is on
// screen (a canvas has no DOM to query).
import type { RefObject } from 'react';
import type { SeatMapHandle } from '../../components/SeatMap';
import type { SeatModel } from '../../lib/seatModel';
import type { SeatChange } from './snapshot';

declare global {
  interface Window {
    __tix?: {
      seatMap?: { seatCount: number; fetchMs: number; buildMs: number; firstDrawMs: number; firstRenderAt: number; mountedAt: number; layoutSource: string };
      applySeatChanges?: (changes: SeatChange[]) => void;
      model?: SeatModel;
      /** For tests and the benchmark: where a seat is on screen (CSS px, page coordinates), after bringing it into view. */
      seatOnScreen?: (seatIndex: number) => [number, number] | null;
      panBy?: (dx: number, dy: number) => void;
      renderer?: () => { lastDrawMs: number; seatPx: () => number; fit: () => void; zoomAt: (f: number, x: number, y: number) => void; draw: () => void } | null;
    };
  }
}

/** Timings of the first load of the map; the first draw fills in the rest. */
export function recordMapLoad(seatCount: number, fetchMs: number, buildMs: number, mountedAt: number, layoutSource: string): void {
  window.__tix = { ...window.__tix, seatMap: { seatCount, fetchMs, buildMs, firstDrawMs: 0, firstRenderAt: 0, mountedAt, layoutSource } };
}

export function recordFirstDraw(ms: number): void {
  if (window.__tix?.seatMap) {
    window.__tix.seatMap.firstDrawMs = ms;
    window.__tix.seatMap.firstRenderAt = performance.now();
  }
}

export function exposeSeatMap(model: SeatModel, mapRef: RefObject<SeatMapHandle | null>, applyChanges: (changes: SeatChange[]) => void): void {
  window.__tix = {
    ...window.__tix,
    applySeatChanges: applyChanges,
    model,
    seatOnScreen: (i) => {
      const r = mapRef.current?.renderer();
      const canvas = document.querySelector('[data-testid="seat-map"]');
      if (!r || !canvas) return null;
      r.focusOn(i, 18);
      mapRef.current?.redraw();
      const [x, y] = r.toScreen(i);
      const box = canvas.getBoundingClientRect();
      return [box.left + x, box.top + y];
    },
    renderer: () => mapRef.current?.renderer() ?? null,
    panBy: (dx, dy) => {
      mapRef.current?.renderer()?.panBy(dx, dy);
      mapRef.current?.redraw();
    },
  };
}
