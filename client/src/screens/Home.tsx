import { loadEvents, lowestPrice } from '../events';
import { useAsync } from '../hooks';
import { Link, useTitle } from '../router';
import { ErrorNotice, PageLoading } from '../components/ui';
import { formatEventDate } from '../lib/format';
import { StatusBadge } from './EventPage';

export function Home() {
  useTitle('Events');
  const { data, error, loading, reload } = useAsync((signal) => loadEvents(signal), []);
  return (
    <main className="page">
      <h1 className="page-title">Live events</h1>
      {loading && !data ? <PageLoading label="Loading events…" /> : null}
      {error ? <ErrorNotice error={error} onAction={() => reload()} /> : null}
      <ul className="event-grid">
        {data?.map((e) => (
          <li key={e.id}>
            <Link to={`/e/${e.slug}`} className="event-card" data-testid="event-card">
              <div className="event-card-art" aria-hidden="true" style={{ background: `linear-gradient(135deg, ${e.categories[0]?.colour ?? '#f84464'}, #1f2533)` }}>
                <span>{e.artist}</span>
              </div>
              <div className="event-card-body">
                <h2>{e.name}</h2>
                <p className="muted">
                  {e.venue}, {e.city}
                </p>
                <p>{formatEventDate(e.startsAt)}</p>
                <p className="event-card-foot">
                  <StatusBadge status={e.status} />
                  {lowestPrice(e) ? <span className="muted">from {lowestPrice(e)}</span> : null}
                </p>
              </div>
            </Link>
          </li>
        ))}
      </ul>
      {data && data.length === 0 ? <p>No events on sale right now. Check back soon.</p> : null}
    </main>
  );
}
