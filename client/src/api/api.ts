// The two GraphQL endpoints, with the right credential on each and the retries a busy
// night needs.
import { ApiError, backoffMs, gql, sleep, type Doc } from './http';
import { retryWhileBusy } from './busy';
import { accessToken, getSession, refreshSession } from './session';
import { getAdmission, markRefused, setAdmission } from './admission';
import { endsAdmission, isTransient } from '../lib/errors';

export const PUBLIC_PATH = '/graphql';
export const salePathOf = (eventId: string) => getAdmission(eventId)?.salePath ?? `/sale/${eventId}/graphql`;

type Listener = (eventId: string, code: string) => void;
const admissionEnded = new Set<Listener>();

/** Called when a sale answer says the admission is over (expired, revoked...). */
export function onAdmissionEnded(l: Listener): () => void {
  admissionEnded.add(l);
  return () => admissionEnded.delete(l);
}

interface CallOptions {
  signal?: AbortSignal;
  /** Retry transient failures by ourselves (queries and idempotent mutations). */
  retries?: number;
}

/**
 * Sends `fn` with its retries. BUSY (safe to resend: nothing changed, or a request that did
 * land answers again as a replay of its key) is always retried by
 * `retryWhileBusy`, with the same variables and so the same idempotency key, for every
 * operation; the other transient failures only when the caller asks for `retries`.
 */
async function withRetries<T>(fn: () => Promise<T>, opts: CallOptions): Promise<T> {
  const retries = opts.retries ?? 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await retryWhileBusy(fn, { signal: opts.signal });
    } catch (e) {
      if (!(e instanceof ApiError) || !isTransient(e.code) || attempt >= retries) throw e;
      const wait = e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : backoffMs(attempt);
      await sleep(wait, opts.signal);
    }
  }
}

/** The public schema, signed in when the fan is. An expired access token is refreshed once. */
export function pub<R, V>(doc: Doc<R, V>, variables: V, opts: CallOptions = {}): Promise<R> {
  return withRetries(async () => {
    const token = await accessToken().catch(() => null);
    try {
      return await gql(PUBLIC_PATH, doc, variables, { bearer: token, signal: opts.signal });
    } catch (e) {
      if (e instanceof ApiError && token && (e.code === 'TOKEN_EXPIRED' || e.code === 'UNAUTHENTICATED' || e.code === 'TOKEN_INVALID')) {
        const renewed = await refreshSession(token);
        if (!renewed) throw new ApiError('UNAUTHENTICATED', 'signed out');
        return gql(PUBLIC_PATH, doc, variables, { bearer: renewed, signal: opts.signal });
      }
      throw e;
    }
  }, opts);
}

/**
 * The sale schema of one event, with the admission token (events whose gate is off take
 * the sign-in token instead). When the admission is over, it is forgotten and the
 * listeners are told, so the screen can send the fan back to the waiting room.
 */
export function sale<R, V>(eventId: string, doc: Doc<R, V>, variables: V, opts: CallOptions = {}): Promise<R> {
  return withRetries(async () => {
    const admission = getAdmission(eventId);
    const bearer = admission?.token ?? (await accessToken().catch(() => null));
    try {
      return await gql(salePathOf(eventId), doc, variables, { bearer, signal: opts.signal });
    } catch (e) {
      if (e instanceof ApiError) {
        if (!admission && getSession() && (e.code === 'TOKEN_EXPIRED' || e.code === 'UNAUTHENTICATED')) {
          const renewed = await refreshSession(bearer ?? undefined);
          return gql(salePathOf(eventId), doc, variables, { bearer: renewed, signal: opts.signal });
        }
        if (endsAdmission(e.code)) {
          if (admission) {
            markRefused(eventId, admission.token, e.code);
            setAdmission(eventId, null);
          }
          admissionEnded.forEach((l) => l(eventId, e.code));
        }
      }
      throw e;
    }
  }, opts);
}
