// The interactive seat map: canvas drawing (see lib/seatRenderer.ts), pan and zoom by
// mouse, wheel, touch and pinch, tap or click to choose, hover details, and full keyboard
// use with spoken descriptions for screen readers.
import { forwardRef, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { AVAILABLE, HELD, type SeatModel } from '../lib/seatModel';
import { SeatRenderer } from '../lib/seatRenderer';

export interface SeatMapHandle {
  /** Live changes were applied to the model: repaint these seats. */
  seatsChanged(indices: readonly number[]): void;
  /** Everything changed (a fresh snapshot): redraw. */
  redraw(): void;
  /** Move the view (and keyboard focus) to a seat. */
  showSeat(i: number): void;
  renderer(): SeatRenderer | null;
}

interface Props {
  model: SeatModel;
  chosen: readonly number[];
  /** Seats the fan holds (shown as theirs, not as "held by someone"). */
  cap: number;
  locked?: boolean;
  onToggle: (i: number) => void;
  describe: (i: number) => string;
  onFirstDraw?: (ms: number) => void;
}

const DRAG_SLOP = 6;

export const SeatMap = forwardRef<SeatMapHandle, Props>(function SeatMap({ model, chosen, locked, onToggle, describe, onFirstDraw }, ref) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const baseRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const rendererRef = useRef<SeatRenderer | null>(null);
  const [hover, setHover] = useState<{ i: number; x: number; y: number } | null>(null);
  const [focus, setFocus] = useState(-1);
  const [announce, setAnnounce] = useState('');
  const chosenRef = useRef(chosen);
  chosenRef.current = chosen;
  const focusRef = useRef(focus);
  focusRef.current = focus;
  const hoverRef = useRef(-1);
  hoverRef.current = hover?.i ?? -1;
  const frame = useRef<number | null>(null);
  const needFull = useRef(true);
  const dirty = useRef<number[]>([]);
  const firstDrawn = useRef(false);

  const schedule = useCallback((full: boolean) => {
    if (full) needFull.current = true;
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      const r = rendererRef.current;
      if (!r) return;
      if (needFull.current) {
        needFull.current = false;
        dirty.current = [];
        r.draw();
        if (!firstDrawn.current) {
          firstDrawn.current = true;
          onFirstDraw?.(r.lastDrawMs);
        }
      } else if (dirty.current.length) {
        for (const i of dirty.current) r.drawSeat(i);
        dirty.current = [];
      }
      r.drawOverlay(chosenRef.current, focusRef.current, hoverRef.current);
    });
  }, [onFirstDraw]);

  // Build the renderer for this model and size it to its box.
  useLayoutEffect(() => {
    const wrap = wrapRef.current!;
    const r = new SeatRenderer(baseRef.current!, overlayRef.current!, model);
    rendererRef.current = r;
    const size = () => {
      const box = wrap.getBoundingClientRect();
      const wasFitted = r.isFitted() || !firstDrawn.current;
      const centre = r.toWorld(r.cssWidth / 2, r.cssHeight / 2);
      r.resize(box.width, box.height, window.devicePixelRatio || 1);
      if (wasFitted) r.fit();
      else {
        r.view.tx = box.width / 2 - centre[0] * r.view.scale;
        r.view.ty = box.height / 2 - centre[1] * r.view.scale;
      }
      schedule(true);
    };
    size();
    const ro = new ResizeObserver(size);
    ro.observe(wrap);
    return () => {
      ro.disconnect();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
      rendererRef.current = null;
    };
  }, [model, schedule]);

  useEffect(() => schedule(false), [chosen, focus, hover, schedule]);

  useImperativeHandle(ref, () => ({
    seatsChanged(indices) {
      for (const i of indices) dirty.current.push(i);
      schedule(false);
    },
    redraw() {
      schedule(true);
    },
    showSeat(i) {
      rendererRef.current?.focusOn(i);
      setFocus(i);
      schedule(true);
    },
    renderer: () => rendererRef.current,
  }), [schedule]);

  // --- pointer: pan, pinch, tap
  const pointers = useRef(new Map<number, { x: number; y: number }>());
  const gesture = useRef<{ startX: number; startY: number; moved: boolean; pinch: number | null }>({ startX: 0, startY: 0, moved: false, pinch: null });

  const local = (e: { clientX: number; clientY: number }) => {
    const box = overlayRef.current!.getBoundingClientRect();
    return { x: e.clientX - box.left, y: e.clientY - box.top };
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const p = local(e);
    pointers.current.set(e.pointerId, p);
    e.currentTarget.setPointerCapture(e.pointerId);
    if (pointers.current.size === 1) gesture.current = { startX: p.x, startY: p.y, moved: false, pinch: null };
    if (pointers.current.size === 2) {
      const [a, b] = [...pointers.current.values()];
      gesture.current.pinch = Math.hypot(a.x - b.x, a.y - b.y);
      gesture.current.moved = true;
    }
  };

  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = rendererRef.current;
    if (!r) return;
    const p = local(e);
    const prev = pointers.current.get(e.pointerId);
    if (prev) {
      if (pointers.current.size === 2 && gesture.current.pinch) {
        pointers.current.set(e.pointerId, p);
        const [a, b] = [...pointers.current.values()];
        const d = Math.hypot(a.x - b.x, a.y - b.y);
        r.zoomAt(d / gesture.current.pinch, (a.x + b.x) / 2, (a.y + b.y) / 2);
        gesture.current.pinch = d;
        schedule(true);
        return;
      }
      if (!gesture.current.moved && Math.hypot(p.x - gesture.current.startX, p.y - gesture.current.startY) > DRAG_SLOP) gesture.current.moved = true;
      if (gesture.current.moved) {
        r.panBy(p.x - prev.x, p.y - prev.y);
        pointers.current.set(e.pointerId, p);
        if (hover) setHover(null);
        schedule(true);
      }
      return;
    }
    if (e.pointerType === 'mouse') {
      const i = r.hit(p.x, p.y);
      if (i !== (hover?.i ?? -1)) setHover(i >= 0 ? { i, x: p.x, y: p.y } : null);
    }
  };

  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = rendererRef.current;
    const wasTap = pointers.current.size === 1 && !gesture.current.moved;
    pointers.current.delete(e.pointerId);
    if (pointers.current.size < 2) gesture.current.pinch = null;
    if (!r || !wasTap) return;
    const p = local(e);
    // Too small to aim at: zoom in around the tap instead of guessing.
    if (r.seatPx() < (e.pointerType === 'mouse' ? 5 : 10)) {
      r.zoomAt(e.pointerType === 'mouse' ? 3 : 3.5, p.x, p.y);
      schedule(true);
      return;
    }
    const i = r.hit(p.x, p.y);
    if (i >= 0) {
      setFocus(i);
      if (e.pointerType !== 'mouse') setHover({ i, x: p.x, y: p.y });
      if (!locked) onToggle(i);
    }
  };

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const el = overlayRef.current!;
    const onWheel = (e: WheelEvent) => {
      const r = rendererRef.current;
      if (!r) return;
      e.preventDefault();
      const p = local(e);
      if (e.ctrlKey || Math.abs(e.deltaY) >= Math.abs(e.deltaX)) r.zoomAt(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0018)), p.x, p.y);
      else r.panBy(-e.deltaX, 0);
      schedule(true);
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [schedule]);

  // --- keyboard
  const moveFocus = (i: number, edge: string) => {
    const r = rendererRef.current;
    if (i < 0) {
      setAnnounce(edge);
      return;
    }
    setFocus(i);
    r?.focusOn(i);
    schedule(true);
    setAnnounce(describe(i));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const r = rendererRef.current;
    if (!r) return;
    const cur = focus >= 0 ? focus : -1;
    const start = () => moveFocus(model.firstSeat(), '');
    let handled = true;
    switch (e.key) {
      case 'ArrowRight':
        if (cur < 0) start();
        else moveFocus(model.alongRow(cur, 1), 'End of the row.');
        break;
      case 'ArrowLeft':
        if (cur < 0) start();
        else moveFocus(model.alongRow(cur, -1), 'Start of the row.');
        break;
      case 'ArrowDown':
        if (cur < 0) start();
        else moveFocus(model.acrossRows(cur, 1), 'Last row of this section. Page Down goes to the next section.');
        break;
      case 'ArrowUp':
        if (cur < 0) start();
        else moveFocus(model.acrossRows(cur, -1), 'First row of this section. Page Up goes to the previous section.');
        break;
      case 'PageDown':
        moveFocus(cur < 0 ? model.firstSeat() : model.acrossSections(cur, 1), 'This is the last section.');
        break;
      case 'PageUp':
        moveFocus(cur < 0 ? model.firstSeat() : model.acrossSections(cur, -1), 'This is the first section.');
        break;
      case 'Home':
        if (cur >= 0) moveFocus(model.rowEnd(cur, 'first'), '');
        break;
      case 'End':
        if (cur >= 0) moveFocus(model.rowEnd(cur, 'last'), '');
        break;
      case 'Enter':
      case ' ':
        if (cur < 0) start();
        else if (!locked) {
          onToggle(cur);
        }
        break;
      case '+':
      case '=':
        r.zoomAt(1.5, r.cssWidth / 2, r.cssHeight / 2);
        schedule(true);
        break;
      case '-':
        r.zoomAt(1 / 1.5, r.cssWidth / 2, r.cssHeight / 2);
        schedule(true);
        break;
      case '0':
        r.fit();
        schedule(true);
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  };

  // Re-announce the focused seat when its state or the choice changes.
  useEffect(() => {
    if (focus >= 0) setAnnounce(describe(focus));
  }, [chosen, describe, focus]);

  const zoom = (f: number) => {
    const r = rendererRef.current;
    if (!r) return;
    if (f === 0) r.fit();
    else r.zoomAt(f, r.cssWidth / 2, r.cssHeight / 2);
    schedule(true);
  };

  const tip = hover && hover.i >= 0 ? describe(hover.i) : '';

  return (
    <div className="seatmap" ref={wrapRef}>
      <canvas ref={baseRef} className="seatmap-base" aria-hidden="true" />
      <canvas
        ref={overlayRef}
        className="seatmap-overlay"
        tabIndex={0}
        role="application"
        aria-roledescription="seat map"
        aria-label="Seat map. Use the arrow keys to move between seats, Page Up and Page Down to change section, Enter to choose or remove a seat, plus and minus to zoom."
        data-testid="seat-map"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={(e) => pointers.current.delete(e.pointerId)}
        onPointerLeave={(e) => e.pointerType === 'mouse' && setHover(null)}
        onKeyDown={onKeyDown}
        onFocus={() => {
          if (focus < 0) setAnnounce('Seat map. Press an arrow key to start at the best available seat.');
        }}
      />
      {tip ? (
        <div className="seat-tip" style={{ left: Math.min(hover!.x + 14, (rendererRef.current?.cssWidth ?? 300) - 200), top: Math.max(4, hover!.y - 64) }} role="tooltip" data-testid="seat-tip">
          {tip}
        </div>
      ) : null}
      <div className="seatmap-zoom" role="group" aria-label="Zoom">
        <button type="button" onClick={() => zoom(1.6)} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => zoom(1 / 1.6)} aria-label="Zoom out">−</button>
        <button type="button" onClick={() => zoom(0)} aria-label="Show the whole venue">⤢</button>
      </div>
      <div className="sr-only" aria-live="polite" aria-atomic="true" data-testid="seat-announce">
        {announce}
      </div>
    </div>
  );
});

export function seatStateWord(state: number, mine: boolean, chosen: boolean): string {
  if (mine) return 'held for you';
  if (chosen) return 'chosen';
  return state === AVAILABLE ? 'available' : state === HELD ? 'being bought by another fan' : 'sold';
}
