// A small History API router: the few routes of the client need no library.
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function navigate(to: string, opts: { replace?: boolean; state?: unknown } = {}): void {
  if (opts.replace) history.replaceState(opts.state ?? null, '', to);
  else history.pushState(opts.state ?? null, '', to);
  window.scrollTo({ top: 0 });
  notify();
}

export function useLocation(): { path: string; search: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, () => location.pathname + location.search);
  const url = new URL(href, 'http://x');
  return { path: url.pathname, search: url.searchParams };
}

export interface Route {
  name: string;
  params: Record<string, string>;
}

const ROUTES: Array<[string, RegExp]> = [
  ['home', /^\/$/],
  ['signin', /^\/signin$/],
  ['signup', /^\/signup$/],
  ['bookings', /^\/bookings$/],
  ['event', /^\/e\/(?<slug>[^/]+)$/],
  ['queue', /^\/e\/(?<slug>[^/]+)\/queue$/],
  ['seats', /^\/e\/(?<slug>[^/]+)\/seats$/],
  ['checkout', /^\/e\/(?<slug>[^/]+)\/checkout$/],
  ['confirmation', /^\/e\/(?<slug>[^/]+)\/confirmation\/(?<bookingId>[^/]+)$/],
];

export function match(path: string): Route {
  for (const [name, re] of ROUTES) {
    const m = re.exec(path.replace(/\/+$/, '') || '/');
    if (m) return { name, params: Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)])) };
  }
  return { name: 'not-found', params: {} };
}

export function Link({ to, replace, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; replace?: boolean }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to, { replace });
  };
  return <a href={to} onClick={handle} {...rest} />;
}

/** Sets the document title while a screen is shown. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Tickets` : 'Tickets';
  }, [title]);
}

/** Where to come back to after signing in. */
export function signInHref(): string {
  return `/signin?next=${encodeURIComponent(location.pathname + location.search)}`;
}
