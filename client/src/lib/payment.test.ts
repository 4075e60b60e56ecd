import { describe, expect, it } from 'vitest';
import { cardBrand, formatCardNumber, formatExpiry, luhnValid, parseExpiry, paymentDetails, validateBank, validateCard, validateVpa } from './payment';

const now = new Date('2026-11-25T10:00:00Z');
const good = { number: '4111 1111 1111 1111', expiry: '12 / 29', cvv: '123', holderName: 'Asha Rao' };

describe('payment forms', () => {
  it('checks card numbers with Luhn', () => {
    expect(luhnValid('4111 1111 1111 1111')).toBe(true);
    expect(luhnValid('4000 0000 0000 0002')).toBe(true); // the decline test card is valid
    expect(luhnValid('4111 1111 1111 1112')).toBe(false);
    expect(luhnValid('1234')).toBe(false);
  });

  it('formats as the fan types', () => {
    expect(formatCardNumber('4111111111111111')).toBe('4111 1111 1111 1111');
    expect(formatCardNumber('378282246310005')).toBe('3782 822463 10005');
    expect(formatExpiry('0428')).toBe('04 / 28');
    expect(cardBrand('5555 5555 5555 4444')).toBe('mastercard');
    expect(cardBrand('6074 8200 0000 0000')).toBe('rupay');
  });

  it('parses expiry dates', () => {
    expect(parseExpiry('04/28')).toEqual({ month: 4, year: 2028 });
    expect(parseExpiry('04 / 2028')).toEqual({ month: 4, year: 2028 });
    expect(parseExpiry('13/28')).toBeNull();
    expect(parseExpiry('abc')).toBeNull();
  });

  it('validates every card field with a message', () => {
    expect(validateCard(good, now)).toEqual({});
    const bad = validateCard({ number: '4111 1111 1111 1112', expiry: '10/26', cvv: '12', holderName: '' }, now);
    expect(bad.number).toMatch(/not valid/);
    expect(bad.expiry).toMatch(/expired/);
    expect(bad.cvv).toMatch(/3 digits/);
    expect(bad.holderName).toMatch(/name/);
    // The current month is still valid.
    expect(validateCard({ ...good, expiry: '11/26' }, now).expiry).toBeUndefined();
    expect(validateCard({ ...good, number: '3782 822463 10005', cvv: '123' }, now).cvv).toMatch(/4 digits/);
  });

  it('validates UPI ids and banks', () => {
    expect(validateVpa('fan@okicici')).toBeUndefined();
    expect(validateVpa('failure@upi')).toBeUndefined();
    expect(validateVpa('fan')).toMatch(/name@bank/);
    expect(validateVpa('')).toMatch(/UPI ID/);
    expect(validateBank('SBIN')).toBeUndefined();
    expect(validateBank('')).toMatch(/Choose/);
    expect(validateBank('XXXX')).toMatch(/list/);
  });

  it('builds the confirmPayment details', () => {
    expect(paymentDetails('CARD', { card: good })).toEqual({
      card: { number: '4111111111111111', expiryMonth: 12, expiryYear: 2029, cvv: '123', holderName: 'Asha Rao' },
    });
    expect(paymentDetails('UPI', { vpa: ' fan@okicici ' })).toEqual({ upi: { vpa: 'fan@okicici' } });
    expect(paymentDetails('NET_BANKING', { bankCode: 'HDFC' })).toEqual({ netBanking: { bankCode: 'HDFC' } });
  });
});
