// Live subscriptions over graphql-transport-ws (npm `graphql-ws`), with the behaviour a
// fan needs on a bad network:
//
// - Dropped connections are retried forever, with jittered backoff up to 10 s; the queue
//   place lives on the server, so reconnecting never loses it. Credentials are read again
//   on every (re)connect, so a refreshed token is used.
// - The client pings every 15 s (the API closes sockets idle for 60 s).
// - A *fatal* close is handled by us, not given up on. graphql-ws never retries 1002 (and
//   4400/4401/4406/4500...). async-graphql closes a refused `connection_init` with 1002;
//   our API acks every init and puts coded errors on the subscription instead, so a 1002
//   means something in between (an old API, a proxy) refused us. We then renew the
//   credentials (`onAuthProblem`), build a fresh client and subscribe again after a
//   backoff; meanwhile the status is `degraded` and screens fall back to polling over
//   HTTP (the waiting room sends `heartbeat`, so the place is kept).
// - Coded GraphQL errors on the subscription go to `onError` with their code; the caller
//   decides (refresh the sign-in and resubscribe, rejoin the queue, stop).
import { createClient, type Client } from 'graphql-ws';
import { backoffMs } from './http';
import type { Doc } from './http';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'degraded' | 'stopped';

export interface LiveOptions<R, V> {
  path: string;
  /** Extra query parameters on the socket URL (the gateway reads `access_token`). */
  query?: () => Promise<Record<string, string>> | Record<string, string>;
  connectionParams: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  doc: Doc<R, V>;
  variables: V;
  onData: (data: R) => void;
  /** A coded error on the subscription; return true to subscribe again (after a backoff). */
  onError: (code: string, message: string, extensions: Record<string, unknown>) => boolean | Promise<boolean>;
  onStatus?: (s: LiveStatus) => void;
  /** Called when the socket was refused (1002 and other fatal closes) before trying again. */
  onAuthProblem?: () => Promise<void>;
  /** The server ended the subscription. */
  onComplete?: () => void;
  /** After a reconnect (not the first connect): resynchronise what may have been missed. */
  onReconnected?: () => void;
  keepAliveMs?: number;
  /** For tests: a WebSocket implementation. */
  webSocketImpl?: unknown;
}

export function wsUrl(path: string, query: Record<string, string> = {}): string {
  const loc = window.location;
  const qs = new URLSearchParams(query).toString();
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${path}${qs ? `?${qs}` : ''}`;
}

interface CloseLike {
  code: number;
  reason: string;
}

function isClose(e: unknown): e is CloseLike {
  return typeof e === 'object' && e !== null && 'code' in e && 'reason' in e && typeof (e as CloseLike).code === 'number';
}

/** Starts a live subscription; returns the function that stops it. */
export function live<R, V>(o: LiveOptions<R, V>): () => void {
  let stopped = false;
  /** We gave up on purpose (a coded error the caller will not retry). */
  let halted = false;
  let client: Client | null = null;
  let unsubscribe: (() => void) | null = null;
  let failures = 0;
  let everConnected = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const status = (s: LiveStatus) => {
    if (!stopped) o.onStatus?.(s);
  };

  const restart = (afterMs: number) => {
    if (stopped) return;
    teardown();
    timer = setTimeout(() => void start(), afterMs);
  };

  const teardown = () => {
    unsubscribe?.();
    unsubscribe = null;
    void client?.dispose();
    client = null;
  };

  const start = async () => {
    if (stopped) return;
    status(everConnected ? 'reconnecting' : 'connecting');
    const query = o.query ? await o.query() : {};
    const thisClient = createClient({
      url: wsUrl(o.path, query),
      lazy: true,
      keepAlive: o.keepAliveMs ?? 15_000,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async (retries) => {
        status('reconnecting');
        await new Promise((r) => setTimeout(r, backoffMs(retries)));
      },
      connectionParams: async () => o.connectionParams(),
      webSocketImpl: o.webSocketImpl,
      on: {
        connected: () => {
          failures = 0;
          if (everConnected) o.onReconnected?.();
          everConnected = true;
          status('live');
        },
        closed: () => {
          if (!stopped && !halted) status('reconnecting');
        },
      },
    });
    client = thisClient;
    unsubscribe = thisClient.subscribe<R>(
      { query: o.doc.toString(), variables: o.variables as Record<string, unknown> },
      {
        next: (msg) => {
          if (msg.errors && msg.errors.length > 0) {
            void handleErrors(msg.errors as ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>);
            return;
          }
          if (msg.data) o.onData(msg.data as R);
        },
        error: (err) => {
          if (stopped || client !== thisClient) return;
          if (isClose(err)) {
            // A fatal close (1002 from a refused init, 4400, 4401, 4500...): graphql-ws
            // gave up; we do not. Renew credentials, then start a fresh client.
            failures++;
            status('degraded');
            void (async () => {
              try {
                await o.onAuthProblem?.();
              } catch {
                /* the next attempt will tell */
              }
              restart(backoffMs(failures, 30_000));
            })();
            return;
          }
          if (Array.isArray(err)) {
            void handleErrors(err as ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>);
            return;
          }
          failures++;
          status('degraded');
          restart(backoffMs(failures, 30_000));
        },
        complete: () => {
          if (stopped || client !== thisClient) return;
          o.onComplete?.();
        },
      },
    );
  };

  const handleErrors = async (errors: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>) => {
    const first = errors[0];
    const ext = first?.extensions ?? {};
    const code = typeof ext.code === 'string' ? ext.code : 'INTERNAL_ERROR';
    let again = false;
    try {
      again = await o.onError(code, first?.message ?? code, ext);
    } catch {
      again = false;
    }
    if (stopped) return;
    if (again) {
      failures++;
      restart(backoffMs(failures, 30_000));
    } else {
      halted = true;
      status('stopped');
      teardown();
    }
  };

  void start();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    teardown();
    o.onStatus?.('stopped');
  };
}
