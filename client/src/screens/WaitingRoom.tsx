// The waiting room: the fan's place in line, live. Joining is idempotent on the server
// (many tabs, one place), so every tab of a fan shows the same place; a dropped connection
// reconnects by itself and the place is kept. While the live connection is down, the page
// sends `heartbeat` over HTTP every 10 s so the queue knows the fan is still here.
import { useCallback, useEffect, useRef, useState } from 'react';
import { HeartbeatDocument, JoinQueueDocument, LotteryCommitmentDocument, LeaveQueueDocument, QueuePositionDocument, QueueStatusDocument, type QueueFieldsFragment } from '../gql/public/graphql';
import { pub, PUBLIC_PATH } from '../api/api';
import { clearRefused, refusedAdmission, setAdmission } from '../api/admission';
import { live, type LiveStatus } from '../api/live';
import { accessToken, refreshSession } from '../api/session';
import { asApiError, type ApiError } from '../api/http';
import { loadEvent } from '../events';
import { useAsync, useNow, useSession } from '../hooks';
import { Link, navigate, signInHref, useLocation, useTitle } from '../router';
import { Button, ErrorNotice, LiveDot, Notice, PageLoading, ProgressBar } from '../components/ui';
import { formatCount, formatFansAhead, formatPosition, formatWaitBand, queueHeadline, queueProgress, formatDurationShort } from '../lib/queueDisplay';
import { QueueExplainer } from './EventPage';
import { prefetchLayout } from './seats/layoutStore';
import { formatEventDate } from '../lib/format';
import { friendlyError, type FriendlyError } from '../lib/errors';

type Q = QueueFieldsFragment;

function startKey(eventId: string, ticket: number | null | undefined) {
  return `tix.queueStart.${eventId}.${ticket ?? 'x'}`;
}

function useQueue(eventId: string | null, slug: string) {
  const [status, setStatus] = useState<Q | null>(null);
  const [liveStatus, setLiveStatus] = useState<LiveStatus>('connecting');
  const [error, setError] = useState<ApiError | null>(null);
  const [needsJoin, setNeedsJoin] = useState(false);
  const [updatedAt, setUpdatedAt] = useState(0);
  const [attempt, setAttempt] = useState(0);
  const [stuck, setStuck] = useState<string | null>(null);
  const admitted = useRef(false);
  // In line on this page: a later NOT_IN_QUEUE (not left, no turn) means the place was lost.
  const inLine = useRef(false);
  const [lost, setLost] = useState(false);

  // The seat layout is public and never changes: fetch it while the fan waits, so that when
  // their turn comes (with everyone else's) the seat map needs only the states.
  useEffect(() => {
    if (eventId) void prefetchLayout(eventId);
  }, [eventId]);

  const accept = useCallback(
    (q: Q) => {
      if (q.state === 'WAITING' || q.state === 'PRESALE') {
        inLine.current = true;
        setLost(false);
      } else if (q.state === 'NOT_IN_QUEUE' && inLine.current) {
        inLine.current = false;
        setLost(true);
      } else {
        inLine.current = false;
      }
      setStatus(q);
      setUpdatedAt(Date.now());
      setError(null);
      if (q.state === 'ADMITTED' && q.admission && !admitted.current) {
        const refused = refusedAdmission(q.eventId);
        if (refused && refused.token === q.admission.token) {
          // The queue says "your turn" with the pass that was just refused: do not loop.
          setStuck(refused.code);
          return;
        }
        admitted.current = true;
        setAdmission(q.eventId, q.admission);
        // A nudge for a phone in a pocket (ignored where unsupported).
        navigator.vibrate?.([120, 60, 120]);
        navigate(`/e/${slug}/seats`, { replace: true });
      }
    },
    [slug],
  );

  // 1. Find or take the fan's place.
  useEffect(() => {
    if (!eventId) return;
    let cancelled = false;
    (async () => {
      try {
        const { queueStatus } = await pub(QueueStatusDocument, { eventId }, { retries: 5 });
        if (cancelled) return;
        if (queueStatus.state === 'NOT_IN_QUEUE') {
          const { joinQueue } = await pub(JoinQueueDocument, { eventId }, { retries: 5 });
          if (!cancelled) accept(joinQueue);
        } else {
          if (queueStatus.state === 'EXPIRED' || queueStatus.state === 'ABANDONED') setNeedsJoin(true);
          accept(queueStatus);
        }
      } catch (e) {
        const err = asApiError(e);
        if (cancelled) return;
        if (err.code === 'QUEUE_NOT_REQUIRED') navigate(`/e/${slug}/seats`, { replace: true });
        else if (err.code === 'UNAUTHENTICATED' || err.code === 'INVALID_REFRESH_TOKEN' || err.code === 'REFRESH_TOKEN_REUSED') navigate(signInHref(), { replace: true });
        else setError(err);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [eventId, slug, accept, attempt]);

  // Fetch the seat map's code while the fan waits, so their turn opens at once.
  useEffect(() => {
    const t = setTimeout(() => void import('./sale'), 1500);
    return () => clearTimeout(t);
  }, []);

  // 2. Live updates while waiting.
  const waiting = status && (status.state === 'WAITING' || status.state === 'PRESALE');
  useEffect(() => {
    if (!eventId || !waiting) return;
    return live({
      path: PUBLIC_PATH,
      doc: QueuePositionDocument,
      variables: { eventId },
      connectionParams: async () => {
        const token = await accessToken().catch(() => null);
        return token ? { authorization: `Bearer ${token}` } : {};
      },
      onData: (d) => accept(d.queuePosition),
      onStatus: setLiveStatus,
      onAuthProblem: async () => {
        await refreshSession().catch(() => undefined);
      },
      onError: async (code) => {
        if (code === 'UNAUTHENTICATED' || code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID') {
          try {
            const t = await refreshSession();
            if (t) return true;
          } catch {
            /* fall through */
          }
          navigate(signInHref(), { replace: true });
          return false;
        }
        if (code === 'NOT_IN_QUEUE' || code === 'QUEUE_CLOSED') {
          // Ask over HTTP what happened and show it.
          pub(QueueStatusDocument, { eventId }).then((r) => accept(r.queueStatus), (e) => setError(asApiError(e)));
          return false;
        }
        return true;
      },
      onReconnected: () => {
        pub(QueueStatusDocument, { eventId }).then((r) => accept(r.queueStatus), () => undefined);
      },
    });
  }, [eventId, waiting, accept]);

  // 3. While not live, say "still here" over HTTP so the turn is not skipped.
  useEffect(() => {
    if (!eventId || !waiting || liveStatus === 'live') return;
    const beat = () => pub(HeartbeatDocument, { eventId }).then((r) => accept(r.heartbeat), () => undefined);
    const first = setTimeout(beat, 3_000);
    const t = setInterval(beat, 10_000);
    return () => {
      clearTimeout(first);
      clearInterval(t);
    };
  }, [eventId, waiting, liveStatus, accept]);

  const join = useCallback(async () => {
    if (!eventId) return;
    setNeedsJoin(false);
    setError(null);
    try {
      const { joinQueue } = await pub(JoinQueueDocument, { eventId }, { retries: 3 });
      accept(joinQueue);
    } catch (e) {
      setError(asApiError(e));
    }
  }, [eventId, accept]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);

  const unstick = useCallback(() => {
    if (!eventId || !status?.admission) return;
    clearRefused(eventId);
    setStuck(null);
    setAdmission(eventId, status.admission);
    navigate(`/e/${slug}/seats`, { replace: true });
  }, [eventId, status, slug]);

  return { status, liveStatus, error, needsJoin, lost, updatedAt, join, retry, stuck, unstick };
}

export function WaitingRoom({ slug }: { slug: string }) {
  const session = useSession();
  const ev = useAsync((signal) => loadEvent(slug, signal), [slug]);
  const event = ev.data;
  useEffect(() => {
    if (!session) navigate(signInHref(), { replace: true });
  }, [session]);
  const { status, liveStatus, error, needsJoin, lost, updatedAt, join, retry, stuck, unstick } = useQueue(session && event ? event.id : null, slug);
  const now = useNow(1000);
  const [leaving, setLeaving] = useState(false);
  const ended = useLocation().search.get('ended');

  // Progress since the fan first saw their place (kept across reloads of this tab).
  const [start, setStart] = useState<number | null>(null);
  const progressRef = useRef(0);
  useEffect(() => {
    if (!status || status.position == null || !event) return;
    const key = startKey(event.id, status.ticketNumber);
    const saved = Number(sessionStorage.getItem(key));
    if (saved > 0) setStart(saved);
    else {
      sessionStorage.setItem(key, String(status.position));
      setStart(status.position);
    }
  }, [status, event]);
  const progress = queueProgress(start, status?.position ?? null, progressRef.current);
  progressRef.current = progress;

  const headline = status ? queueHeadline({ ...status, lost }, now) : null;

  // For screen readers: the place in line, at most every 30 s (at once when the state changes).
  const [spoken, setSpoken] = useState('');
  const lastSpoken = useRef({ at: 0, state: '' });
  useEffect(() => {
    if (!status || !headline) return;
    const changedState = status.state !== lastSpoken.current.state;
    if (!changedState && Date.now() - lastSpoken.current.at < 30_000) return;
    lastSpoken.current = { at: Date.now(), state: status.state };
    const wait = status.state === 'WAITING' ? ` Estimated wait: ${formatWaitBand(status.eta, status.paused, status.supply).toLowerCase()}.` : '';
    setSpoken(`${headline.title}.${wait}`);
  }, [status, headline]);
  useTitle(status?.state === 'WAITING' && status.position ? `(#${formatPosition(status.position, status.exact)}) Waiting room` : status?.state === 'ADMITTED' ? 'Your turn!' : 'Waiting room');

  const onErrorAction = (f: FriendlyError) => {
    if (f.step === 'sign-in') navigate(signInHref());
    else if (f.step === 'go-to-seats') navigate(`/e/${slug}/seats`);
    else if (f.step === 'rejoin-queue') void join();
    else retry();
  };

  const leave = async () => {
    if (!event || !window.confirm('Leave the queue? You would lose your place.')) return;
    setLeaving(true);
    try {
      await pub(LeaveQueueDocument, { eventId: event.id });
    } catch {
      /* leaving anyway */
    }
    navigate(`/e/${slug}`);
  };

  if (ev.error) return <main className="page narrow"><ErrorNotice error={ev.error} onAction={() => ev.reload()} /></main>;
  if (!event || (!status && !error)) return <main className="page narrow"><PageLoading label="Finding your place in line…" /></main>;

  const secondsAgo = updatedAt ? Math.max(0, Math.round((now - updatedAt) / 1000)) : null;
  return (
    <main className="page narrow waiting-room" data-testid="waiting-room" data-state={status?.state ?? ''}>
      <p className="crumbs">
        <Link to={`/e/${slug}`}>{event.artist}</Link> · {formatEventDate(event.startsAt, { withTime: false })}
      </p>
      {error ? <ErrorNotice error={error} onAction={onErrorAction} /> : null}
      {ended && !stuck && status?.state !== 'ADMITTED' ? <ErrorNotice error={friendlyError(ended)} tone="warning" onAction={onErrorAction} /> : null}
      {stuck ? (
        <Notice tone="warning" title="We could not open the seats for you" actions={<Button onClick={unstick} data-testid="unstick">Try again</Button>}>
          <p>It is your turn, but our gate did not accept your pass ({friendlyError(stuck).title.toLowerCase()}). This is on our side, and your turn is kept while it lasts. Please try again in a moment.</p>
        </Notice>
      ) : null}
      {status && headline ? (
        <section className="card queue-card">
          <div className="queue-top">
            <LiveDot status={liveStatus === 'stopped' && status.state !== 'WAITING' && status.state !== 'PRESALE' ? 'live' : liveStatus} />
            {secondsAgo !== null && (status.state === 'WAITING' || status.state === 'PRESALE') ? <span className="muted small">Updated {secondsAgo < 3 ? 'just now' : `${secondsAgo} s ago`}</span> : null}
          </div>
          <h1 className="queue-title" data-testid="queue-title">{headline.title}</h1>
          {status.state === 'WAITING' ? (
            <>
              <div className="queue-stats">
                <div>
                  <span className="stat-label">Your place</span>
                  <span className="stat-value" data-testid="queue-position">{status.position != null ? formatPosition(status.position, status.exact) : '…'}</span>
                </div>
                <div>
                  <span className="stat-label">Ahead of you</span>
                  <span className="stat-value small-value" data-testid="fans-ahead">{formatFansAhead(status.fansAhead, status.exact) || '…'}</span>
                </div>
                <div>
                  <span className="stat-label">Estimated wait</span>
                  <span className="stat-value small-value" data-testid="queue-eta">{formatWaitBand(status.eta, status.paused, status.supply)}</span>
                </div>
              </div>
              <ProgressBar value={progress} label="Your progress through the line" valueText={`${Math.round(progress * 100)} percent of the way to the front`} />
              <p className="muted small">
                {status.exact ? 'Exact place.' : 'Estimated from the line’s speed; we check your exact place every minute.'}
                {status.eta && !status.paused && status.supply === 'ON_SALE' ? ` ${Math.round(status.eta.coverage * 100)}% of waits like yours end inside this range; it only grows if the line truly slows, and then slowly.` : ''}
                {status.admissionRate > 0 && !status.paused && status.supply === 'ON_SALE' ? ` About ${formatCount(Math.round(status.admissionRate * 60))} fans go in each minute.` : ''}
              </p>
            </>
          ) : null}
          {status.state === 'PRESALE' ? (
            <div className="presale">
              <p className="presale-clock" data-testid="presale-clock">
                {Date.parse(status.saleOpensAt) > now ? `Opens in ${formatDurationShort(Date.parse(status.saleOpensAt) - now)}` : 'Opening now…'}
              </p>
              <p>
                <strong>{formatCount(status.presaleFans)}</strong> fans are in the draw with you.
              </p>
              <LotteryProof eventId={status.eventId} entrant={status.lotteryEntrant} />
            </div>
          ) : null}
          <p className="queue-detail">{headline.detail}</p>
          {needsJoin || status.state === 'EXPIRED' || status.state === 'ABANDONED' || status.state === 'NOT_IN_QUEUE' ? (
            <Button onClick={() => void join()} data-testid="rejoin">
              Join the line again
            </Button>
          ) : null}
          {status.state === 'COMPLETED' ? <Link className="btn btn-primary" to="/bookings">My bookings</Link> : null}
          {status.state === 'ADMITTED' ? <Link className="btn btn-primary" to={`/e/${slug}/seats`}>Go to the seats</Link> : null}
          {status.state === 'WAITING' || status.state === 'PRESALE' ? (
            <p className="leave">
              <Button variant="ghost" onClick={() => void leave()} busy={leaving}>
                Leave the queue
              </Button>
            </p>
          ) : null}
        </section>
      ) : null}
      <div className="sr-only" aria-live="polite" aria-atomic="true">
        {spoken}
      </div>
      {liveStatus === 'degraded' ? (
        <Notice tone="warning" title="Live updates paused">
          We could not keep a live connection, so we are checking your place every few seconds instead. Your place is safe.
        </Notice>
      ) : null}
      <section className="card calm">
        <h2>While you wait</h2>
        <ul className="calm-list">
          <li>Keep this tab open. You can switch to other apps; we will bring you to the seats when it is your turn{typeof Notification !== 'undefined' ? ' and change this tab’s title' : ''}.</li>
          <li>Refreshing or opening more tabs will not move you forward or back: every tab shows the same place.</li>
          <li>If your connection drops, we reconnect by ourselves and your place is kept.</li>
        </ul>
      </section>
      <QueueExplainer />
    </main>
  );
}

// What a fan needs to check the draw later: their own entrant id, and the hash of the seed
// published before the draw (the seed revealed at opening must hash to it).
function LotteryProof({ eventId, entrant }: { eventId: string; entrant: string }) {
  const commitment = useAsync(async (signal) => (await pub(LotteryCommitmentDocument, { eventId }, { signal, retries: 2 })).lottery, [eventId]);
  const hash = commitment.data?.commitment;
  const { loading, reload } = commitment;
  // The ticker commits within seconds of the presale opening: ask again until it has.
  useEffect(() => {
    if (hash || loading) return;
    const timer = setTimeout(reload, 5_000);
    return () => clearTimeout(timer);
  }, [hash, loading, reload]);
  return (
    <details className="lottery-proof small">
      <summary>How to check the draw</summary>
      <p>
        Your entry: <code data-testid="lottery-entrant">{entrant}</code>
      </p>
      <p>
        {hash ? (
          <>
            Draw commitment (SHA-256 of the secret seed): <code data-testid="lottery-commitment">{hash}</code>. Keep it: at opening we reveal the seed and the
            full order, and anyone can check that the seed hashes to this and puts you where you are.
          </>
        ) : (
          'The draw’s commitment is published a few seconds after the presale opens.'
        )}
      </p>
    </details>
  );
}
