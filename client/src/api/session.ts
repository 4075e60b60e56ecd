// The fan's sign-in, shared by every tab: kept in localStorage, mirrored through `storage`
// events, and refreshed by one tab at a time. Refresh tokens are single use and a reused one
// ends the whole session (REFRESH_TOKEN_REUSED), so two tabs must never refresh at once:
// a Web Lock serialises them, and the tab that waited adopts the pair the other one got.
import { RefreshDocument, LogoutDocument, type AuthFieldsFragment } from '../gql/public/graphql';
import { ApiError, gql } from './http';

export type Session = AuthFieldsFragment;

const KEY = 'tix.session';
const listeners = new Set<() => void>();
let current: Session | null = read();

function read(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key === KEY || e.key === null) {
      current = read();
      listeners.forEach((l) => l());
    }
  });
}

export function getSession(): Session | null {
  return current;
}

export function onSessionChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function setSession(s: Session | null): void {
  current = s;
  try {
    if (s) localStorage.setItem(KEY, JSON.stringify(s));
    else localStorage.removeItem(KEY);
  } catch {
    /* private mode: the session lives in this tab only */
  }
  listeners.forEach((l) => l());
}

const EARLY_MS = 60_000;
let inFlight: Promise<string | null> | null = null;

function fresh(s: Session | null): boolean {
  return !!s && Date.parse(s.accessTokenExpiresAt) - Date.now() > EARLY_MS;
}

/** A usable access token (refreshed when close to expiry), or null when signed out. */
export async function accessToken(): Promise<string | null> {
  if (!current) current = read();
  if (!current) return null;
  if (fresh(current)) return current.accessToken;
  return refreshSession(current.accessToken);
}

/** Trades the refresh token for a new pair; `staleAccess` is the token that stopped working. */
export function refreshSession(staleAccess?: string): Promise<string | null> {
  if (inFlight) return inFlight;
  const run = async (): Promise<string | null> => {
    const latest = read();
    if (!latest) {
      setSession(null);
      return null;
    }
    // Another tab refreshed while we waited for the lock: use its tokens.
    if (latest.accessToken !== staleAccess && fresh(latest)) {
      current = latest;
      return latest.accessToken;
    }
    try {
      const data = await gql('/graphql', RefreshDocument, { refreshToken: latest.refreshToken });
      setSession(data.refresh);
      return data.refresh.accessToken;
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'INVALID_REFRESH_TOKEN' || e.code === 'REFRESH_TOKEN_REUSED')) {
        setSession(null);
      }
      throw e;
    }
  };
  const locks = typeof navigator !== 'undefined' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
  inFlight = (locks ? locks.request('tix-refresh', run) : run()).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

export async function signOut(): Promise<void> {
  const s = current;
  setSession(null);
  if (s) {
    try {
      await gql('/graphql', LogoutDocument, { refreshToken: s.refreshToken });
    } catch {
      /* signed out here either way */
    }
  }
}
