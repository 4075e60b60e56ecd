// Refresh tokens are single use: a tab must never spend one twice, nor spend one another
// tab has already spent.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const store = new Map<string, string>();
vi.stubGlobal('localStorage', {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
});

const soon = () => new Date(Date.now() + 10_000).toISOString(); // inside the refresh margin
const later = () => new Date(Date.now() + 900_000).toISOString();
const user = { id: 'u1', email: 'a@b.c', displayName: 'A', role: 'FAN' as const };
const session = (access: string, refresh: string, exp: string) => ({ accessToken: access, accessTokenExpiresAt: exp, refreshToken: refresh, refreshTokenExpiresAt: later(), user });

let refreshCalls: string[] = [];
function serveRefresh(result: 'ok' | 'reused') {
  refreshCalls = [];
  vi.stubGlobal('fetch', vi.fn(async (_url: string, init: RequestInit) => {
    const { variables } = JSON.parse(String(init.body));
    refreshCalls.push(variables.refreshToken);
    await new Promise((r) => setTimeout(r, 20));
    const body = result === 'ok'
      ? { data: { refresh: session(`access-${refreshCalls.length + 1}`, `refresh-${refreshCalls.length + 1}`, later()) } }
      : { data: null, errors: [{ message: 'reused', extensions: { code: 'REFRESH_TOKEN_REUSED' } }] };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }));
}

beforeEach(() => {
  store.clear();
  vi.resetModules();
});

describe('the shared sign-in', () => {
  it('uses a fresh access token without refreshing', async () => {
    store.set('tix.session', JSON.stringify(session('access-1', 'refresh-1', later())));
    serveRefresh('ok');
    const { accessToken } = await import('./session');
    expect(await accessToken()).toBe('access-1');
    expect(refreshCalls).toEqual([]);
  });

  it('refreshes once when many calls need a new token at the same moment', async () => {
    store.set('tix.session', JSON.stringify(session('access-1', 'refresh-1', soon())));
    serveRefresh('ok');
    const { accessToken } = await import('./session');
    const tokens = await Promise.all([accessToken(), accessToken(), accessToken()]);
    expect(refreshCalls).toEqual(['refresh-1']);
    expect(new Set(tokens)).toEqual(new Set(['access-2']));
    expect(JSON.parse(store.get('tix.session')!).refreshToken).toBe('refresh-2');
  });

  it('adopts the pair another tab already got instead of spending the old refresh token', async () => {
    store.set('tix.session', JSON.stringify(session('access-1', 'refresh-1', soon())));
    serveRefresh('ok');
    const { refreshSession } = await import('./session');
    // Another tab refreshed meanwhile and stored its new pair.
    store.set('tix.session', JSON.stringify(session('access-9', 'refresh-9', later())));
    expect(await refreshSession('access-1')).toBe('access-9');
    expect(refreshCalls).toEqual([]);
  });

  it('signs out when the refresh token was already spent', async () => {
    store.set('tix.session', JSON.stringify(session('access-1', 'refresh-1', soon())));
    serveRefresh('reused');
    const { accessToken, getSession } = await import('./session');
    await expect(accessToken()).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
    expect(getSession()).toBeNull();
    expect(store.has('tix.session')).toBe(false);
  });
});
