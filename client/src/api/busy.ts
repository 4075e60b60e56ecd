// BUSY: an API instance at its bound of concurrent database work answers at once with
// `extensions.retryAfterMs` (and `Retry-After`) and changes nothing. So the request layer
// retries it by itself, with the very same variables (the same idempotency key), after the
// hint plus jitter, and tells the fan "Busy, retrying in N s" through a shared notice.
import { ApiError, sleep } from './http';

export const BUSY = 'BUSY';
/** Retries of one request on BUSY before the fan is asked to try again. */
export const MAX_BUSY_RETRIES = 8;
/** Longest wait between two tries, in ms. */
export const BUSY_CAP_MS = 15_000;

/**
 * How long to wait before try `attempt + 1` (0-based): the server's hint (1 s when it gave
 * none), growing a little with each refusal, plus up to half of it in jitter so a crowd
 * refused together does not come back together; never sooner than the hint, at most the cap.
 */
export function busyDelayMs(hintMs: number | undefined, attempt: number, random: () => number = Math.random, capMs = BUSY_CAP_MS): number {
  const hint = hintMs !== undefined && Number.isFinite(hintMs) && hintMs > 0 ? hintMs : 1_000;
  const base = hint * (1 + 0.5 * Math.min(Math.max(attempt, 0), 4));
  return Math.round(Math.min(capMs, base + random() * (base / 2)));
}

/** What the fan reads while a request waits to be retried. */
export function busyMessage(remainingMs: number): string {
  return `Busy, retrying in ${Math.max(1, Math.ceil(remainingMs / 1000))} s`;
}

// --- the shared notice: the latest moment any pending retry will be sent, or null.
type NoticeListener = (until: number | null) => void;
const waits = new Map<number, number>();
const noticeListeners = new Set<NoticeListener>();
let nextWait = 0;

function publish() {
  const until = waits.size ? Math.max(...waits.values()) : null;
  noticeListeners.forEach((l) => l(until));
}

/** Follows the notice; called at once with the current state. */
export function onBusyNotice(listener: NoticeListener): () => void {
  noticeListeners.add(listener);
  listener(waits.size ? Math.max(...waits.values()) : null);
  return () => noticeListeners.delete(listener);
}

export interface BusyOptions {
  signal?: AbortSignal;
  maxRetries?: number;
  random?: () => number;
  now?: () => number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Runs `send`, sending it again while it is answered BUSY (at most `maxRetries` times). */
export async function retryWhileBusy<T>(send: () => Promise<T>, opts: BusyOptions = {}): Promise<T> {
  const { maxRetries = MAX_BUSY_RETRIES, random = Math.random, now = Date.now, wait = sleep } = opts;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== BUSY || attempt >= maxRetries) throw e;
      const delay = busyDelayMs(e.retryAfterMs, attempt, random);
      const id = nextWait++;
      waits.set(id, now() + delay);
      publish();
      try {
        await wait(delay, opts.signal);
      } finally {
        waits.delete(id);
        publish();
      }
    }
  }
}
