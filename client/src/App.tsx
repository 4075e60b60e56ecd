import { lazy, Suspense, useEffect, useState } from 'react';
import { Link, match, navigate, useLocation } from './router';
import { useSession } from './hooks';
import { signOut } from './api/session';
import { Home } from './screens/Home';
import { SignIn, SignUp } from './screens/Auth';
import { EventPage } from './screens/EventPage';
import { WaitingRoom } from './screens/WaitingRoom';
import { PageLoading } from './components/ui';
import { BusyNotice } from './components/BusyNotice';

// The waiting room loads first and small (a million fans load it at once); the sale
// screens come in a second chunk, fetched while the fan waits.
const saleScreens = () => import('./screens/sale');
const SeatsPage = lazy(() => saleScreens().then((m) => ({ default: m.SeatsPage })));
const Checkout = lazy(() => saleScreens().then((m) => ({ default: m.Checkout })));
const Confirmation = lazy(() => saleScreens().then((m) => ({ default: m.Confirmation })));
const MyBookings = lazy(() => saleScreens().then((m) => ({ default: m.MyBookings })));
import { TicketIcon } from './components/icons';

function Header() {
  const session = useSession();
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Tickets, home">
          <span className="brand-mark" aria-hidden="true"><TicketIcon /></span> Tickets
        </Link>
        <nav className="topnav" aria-label="Account">
          {session ? (
            <>
              <Link to="/bookings">My bookings</Link>
              <span className="whoami" title={session.user.email}>
                Hi, {session.user.displayName}
              </span>
              <button
                type="button"
                className="linklike"
                onClick={async () => {
                  await signOut();
                  navigate('/');
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <>
              <Link to={`/signin?next=${encodeURIComponent(location.pathname)}`}>Sign in</Link>
              <Link to="/signup" className="btn btn-small btn-primary">
                Sign up
              </Link>
            </>
          )}
        </nav>
      </header>
      {!online ? (
        <div className="offline-bar" role="status">
          You are offline. We will reconnect by ourselves; your place in line is kept.
        </div>
      ) : null}
      <BusyNotice />
    </>
  );
}

export function App() {
  const { path } = useLocation();
  const route = match(path);
  let screen;
  switch (route.name) {
    case 'home':
      screen = <Home />;
      break;
    case 'signin':
      screen = <SignIn />;
      break;
    case 'signup':
      screen = <SignUp />;
      break;
    case 'bookings':
      screen = <MyBookings />;
      break;
    case 'event':
      screen = <EventPage slug={route.params.slug} />;
      break;
    case 'queue':
      screen = <WaitingRoom key={route.params.slug} slug={route.params.slug} />;
      break;
    case 'seats':
      screen = <SeatsPage key={route.params.slug} slug={route.params.slug} />;
      break;
    case 'checkout':
      screen = <Checkout key={route.params.slug} slug={route.params.slug} />;
      break;
    case 'confirmation':
      screen = <Confirmation slug={route.params.slug} bookingId={route.params.bookingId} />;
      break;
    default:
      screen = (
        <main className="page narrow">
          <h1>Page not found</h1>
          <p>
            That page does not exist. <Link to="/">See all events</Link>.
          </p>
        </main>
      );
  }
  return (
    <div className="app">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <Header />
      <div id="main">
        <Suspense fallback={<main className="page narrow"><PageLoading label="Loading…" /></main>}>{screen}</Suspense>
      </div>
    </div>
  );
}
