import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, gql } from './http';

const doc = { toString: () => '{ x }' };

function respond(status: number, body: unknown, headers: Record<string, string> = {}) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(body === undefined ? 'oops' : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })));
}

async function codeOf(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('no error');
}

afterEach(() => vi.unstubAllGlobals());

describe('GraphQL over HTTP', () => {
  it('returns data and sends the bearer token', async () => {
    respond(200, { data: { x: 1 } });
    await expect(gql('/graphql', doc, {}, { bearer: 'tok' })).resolves.toEqual({ x: 1 });
    const init = (fetch as unknown as { mock: { calls: [string, RequestInit][] } }).mock.calls[0][1];
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer tok');
  });

  it('reads the code of a GraphQL error, with its extensions', async () => {
    respond(200, { data: null, errors: [{ message: 'slow down', extensions: { code: 'LOGIN_THROTTLED', retryAfterSeconds: 30 } }] });
    const e = await codeOf(gql('/graphql', doc, {}));
    expect(e.code).toBe('LOGIN_THROTTLED');
    expect(e.retryAfterSeconds).toBe(30);
  });

  it('reads the gateway’s plain JSON refusals', async () => {
    respond(401, { error: { code: 'QUEUE_TOKEN_REQUIRED', message: 'join the queue', queue: '/graphql' } });
    const e = await codeOf(gql('/sale/1/graphql', doc, {}));
    expect(e.code).toBe('QUEUE_TOKEN_REQUIRED');
    expect(e.status).toBe(401);
  });

  it('takes Retry-After from a rate limit', async () => {
    respond(429, { error: { code: 'RATE_LIMITED', message: 'slow' } }, { 'retry-after': '2' });
    const e = await codeOf(gql('/graphql', doc, {}));
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retryAfterSeconds).toBe(2);
  });

  it('names failures without a body by their status', async () => {
    respond(502, undefined);
    expect((await codeOf(gql('/graphql', doc, {}))).code).toBe('UPSTREAM_ERROR');
    respond(503, undefined);
    expect((await codeOf(gql('/graphql', doc, {}))).code).toBe('GATEWAY_BUSY');
  });

  it('calls an unreachable server NETWORK', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }));
    expect((await codeOf(gql('/graphql', doc, {}))).code).toBe('NETWORK');
  });
});
