import { describe, expect, it } from 'vitest';
import { endsAdmission, friendlyError, isTransient, KNOWN_CODES } from './errors';

// Every code the API (README, docs/sale-api.md) and the gateway can send.
const API_CODES = [
  'BAD_USER_INPUT', 'EVENT_NOT_FOUND', 'SEAT_NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNAUTHENTICATED', 'FORBIDDEN',
  'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'WRONG_EVENT', 'QUEUE_TOKEN_REQUIRED', 'EMAIL_TAKEN',
  'INVALID_CREDENTIALS', 'LOGIN_THROTTLED', 'INVALID_REFRESH_TOKEN', 'REFRESH_TOKEN_REUSED', 'USER_NOT_FOUND',
  'QUEUE_CLOSED', 'QUEUE_NOT_REQUIRED', 'NOT_IN_QUEUE', 'TOO_MANY_SUBSCRIPTIONS', 'INTERNAL_ERROR',
  'SEAT_TAKEN', 'HOLD_LIMIT_EXCEEDED', 'HOLD_NOT_FOUND', 'HOLD_EXPIRED', 'EXTENSION_USED', 'BOOKING_NOT_FOUND',
  'BOOKING_NOT_PAYABLE', 'ALREADY_PAID', 'PAYMENT_DECLINED', 'PAYMENT_TIMEOUT', 'INVALID_PAYMENT_DETAILS',
  'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_PROGRESS', 'ACTIVE_HOLD_EXISTS', 'QUERY_TOO_DEEP', 'QUERY_TOO_COMPLEX',
  'BAD_REQUEST', 'NOT_FOUND', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED',
  'OPERATION_NAME_REQUIRED', 'UNKNOWN_OPERATION', 'SUBSCRIPTION_OVER_HTTP', 'TOO_MANY_EXPENSIVE_FIELDS',
  'METHOD_NOT_ALLOWED',
  'BUSY', 'RATE_LIMITED', 'GATE_UNAVAILABLE', 'NO_UPSTREAM', 'UPSTREAM_ERROR', 'UPSTREAM_TIMEOUT', 'GATEWAY_BUSY',
];

describe('error-code messages', () => {
  it('has its own plain words for every code a fan can meet', () => {
    for (const code of API_CODES) {
      expect(KNOWN_CODES, code).toContain(code);
      const f = friendlyError(code);
      expect(f.title.length, code).toBeGreaterThan(3);
      expect(f.message, code).not.toMatch(/[A-Z]{3,}_[A-Z]{3,}/); // no raw codes shown
      if (f.step !== 'none' && f.step !== 'wait' && f.step !== 'retry') expect(f.action, code).not.toBe('');
    }
  });

  it('names the seats that were just taken and sends the fan back to the map', () => {
    const one = friendlyError('SEAT_TAKEN', { seatLabels: ['P1 A5'] });
    expect(one.message).toContain('Seat P1 A5 was taken');
    expect(one.step).toBe('pick-other-seats');
    const two = friendlyError('SEAT_TAKEN', { seatLabels: ['P1 A5', 'P1 A6'] });
    expect(two.message).toContain('Seats P1 A5 and P1 A6 were taken');
    expect(friendlyError('SEAT_TAKEN').message).toContain('One of your seats');
  });

  it('tells a declined fan they were not charged and can retry', () => {
    const f = friendlyError('PAYMENT_DECLINED', { failureMessage: 'Insufficient funds.' });
    expect(f.message).toContain('not been charged');
    expect(f.message).toContain('(Insufficient funds)');
    expect(f.step).toBe('retry-payment');
  });

  it('sends an expired hold back to the seats and an expired admission back to the queue', () => {
    expect(friendlyError('HOLD_EXPIRED').step).toBe('go-to-seats');
    expect(friendlyError('TOKEN_EXPIRED').step).toBe('rejoin-queue');
    expect(endsAdmission('TOKEN_REVOKED')).toBe(true);
    expect(endsAdmission('SEAT_TAKEN')).toBe(false);
  });

  it('uses the numbers it is given', () => {
    expect(friendlyError('HOLD_LIMIT_EXCEEDED', { seatCap: 4 }).message).toContain('up to 4 seats');
    expect(friendlyError('LOGIN_THROTTLED', { retryAfterSeconds: 30 }).message).toContain('30 seconds');
    expect(friendlyError('RATE_LIMITED', { retryAfterSeconds: 1 }).message).toContain('1 second ');
  });

  it('falls back calmly for codes it does not know', () => {
    const f = friendlyError('SOMETHING_NEW');
    expect(f.code).toBe('SOMETHING_NEW');
    expect(f.title).toBe('Something went wrong');
    expect(f.message).toContain('your place is kept');
  });

  it('retries only what is worth retrying', () => {
    expect(isTransient('NETWORK')).toBe(true);
    expect(isTransient('GATEWAY_BUSY')).toBe(true);
    expect(isTransient('PAYMENT_DECLINED')).toBe(false);
    expect(isTransient('SEAT_TAKEN')).toBe(false);
  });
});
