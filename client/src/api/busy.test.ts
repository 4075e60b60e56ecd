import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, gql } from './http';
import { BUSY_CAP_MS, busyDelayMs, busyMessage, onBusyNotice, retryWhileBusy } from './busy';

const busy = (retryAfterMs = 2_000) => new ApiError('BUSY', 'busy', { code: 'BUSY', retryAfterMs }, 503);

afterEach(() => vi.unstubAllGlobals());

describe('retrying on BUSY', () => {
  it('waits at least the hint, with jitter, growing, and capped', () => {
    expect(busyDelayMs(2_000, 0, () => 0)).toBe(2_000);
    expect(busyDelayMs(2_000, 0, () => 0.999)).toBeLessThanOrEqual(3_000);
    expect(busyDelayMs(2_000, 2, () => 0)).toBe(4_000);
    expect(busyDelayMs(undefined, 0, () => 0)).toBe(1_000);
    expect(busyDelayMs(60_000, 3, () => 1)).toBe(BUSY_CAP_MS);
  });

  it('sends the same request again until it is answered, showing the wait', async () => {
    const variables = { seatIds: ['1'], idempotencyKey: 'k-1' };
    const sent: unknown[] = [];
    let answers = 0;
    const send = async () => {
      sent.push(JSON.parse(JSON.stringify(variables)));
      if (answers++ < 2) throw busy(2_000);
      return { lockSeats: { id: 'h' } };
    };
    const notices: (number | null)[] = [];
    const stop = onBusyNotice((until) => notices.push(until));
    const waits: number[] = [];

    const result = await retryWhileBusy(send, { random: () => 0, now: () => 0, wait: async (ms) => void waits.push(ms) });
    stop();

    expect(result).toEqual({ lockSeats: { id: 'h' } });
    expect(sent).toEqual([variables, variables, variables]);
    expect(waits).toEqual([2_000, 3_000]);
    expect(notices).toEqual([null, 2_000, null, 3_000, null]);
    expect(busyMessage(2_000)).toBe('Busy, retrying in 2 s');
  });

  it('gives up after its retries, and never retries other errors', async () => {
    let tries = 0;
    const always = async () => {
      tries++;
      throw busy();
    };
    await expect(retryWhileBusy(always, { maxRetries: 3, wait: async () => {} })).rejects.toMatchObject({ code: 'BUSY' });
    expect(tries).toBe(4);
    tries = 0;
    const taken = async () => {
      tries++;
      throw new ApiError('SEAT_TAKEN', 'taken');
    };
    await expect(retryWhileBusy(taken, { wait: async () => {} })).rejects.toMatchObject({ code: 'SEAT_TAKEN' });
    expect(tries).toBe(1);
  });

  it('reads the hint of a BUSY answer from the body, or else from Retry-After', async () => {
    const body = { data: null, errors: [{ message: 'busy', extensions: { code: 'BUSY', retryAfterMs: 1_500 } }] };
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status: 503, headers: { 'retry-after': '2' } })));
    const e: ApiError = await gql('/sale/1/graphql', { toString: () => '{ x }' }, {}).then(
      () => {
        throw new Error('no error');
      },
      (error: ApiError) => error,
    );
    expect(e.code).toBe('BUSY');
    expect(e.retryAfterMs).toBe(1_500);
    expect(new ApiError('BUSY', 'busy', { retryAfterSeconds: 2 }).retryAfterMs).toBe(2_000);
  });
});
