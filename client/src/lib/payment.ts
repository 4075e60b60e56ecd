// Payment form rules, checked in the browser before anything is sent (the API checks
// again and answers INVALID_PAYMENT_DETAILS). Pure.

export type Method = 'CARD' | 'UPI' | 'NET_BANKING';

export function digitsOnly(s: string): string {
  return s.replace(/\D+/g, '');
}

export function luhnValid(number: string): boolean {
  const digits = digitsOnly(number);
  if (digits.length < 12 || digits.length > 19) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'rupay' | 'unknown';

export function cardBrand(number: string): CardBrand {
  const d = digitsOnly(number);
  if (/^3[47]/.test(d)) return 'amex';
  if (/^(508|60|65|81|82)/.test(d)) return 'rupay';
  if (/^4/.test(d)) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(d)) return 'mastercard';
  return 'unknown';
}

/** "4111111111111111" -> "4111 1111 1111 1111" (Amex 4-6-5), as the fan types. */
export function formatCardNumber(input: string): string {
  const d = digitsOnly(input).slice(0, 19);
  if (cardBrand(d) === 'amex') {
    return [d.slice(0, 4), d.slice(4, 10), d.slice(10, 15)].filter(Boolean).join(' ');
  }
  return d.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** "0428" or "04/28" -> { month: 4, year: 2028 }, or null. */
export function parseExpiry(input: string): { month: number; year: number } | null {
  const m = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(input);
  if (!m) return null;
  const month = Number(m[1]);
  let year = Number(m[2]);
  if (year < 100) year += 2000;
  if (month < 1 || month > 12) return null;
  return { month, year };
}

/** As the fan types: "04" -> "04 / ", "0428" -> "04 / 28". */
export function formatExpiry(input: string): string {
  const d = digitsOnly(input).slice(0, 4);
  if (d.length <= 2) return d.length === 2 && !input.endsWith(' ') ? `${d} / ` : d;
  return `${d.slice(0, 2)} / ${d.slice(2)}`;
}

export interface CardForm {
  number: string;
  expiry: string;
  cvv: string;
  holderName: string;
}

export type Errors<T> = Partial<Record<keyof T, string>>;

export function validateCard(form: CardForm, now = new Date()): Errors<CardForm> {
  const errors: Errors<CardForm> = {};
  const digits = digitsOnly(form.number);
  if (!digits) errors.number = 'Enter your card number.';
  else if (digits.length < 12 || !luhnValid(digits)) errors.number = 'This card number is not valid: check the digits.';
  const expiry = parseExpiry(form.expiry);
  if (!form.expiry.trim()) errors.expiry = 'Enter the expiry date (MM / YY).';
  else if (!expiry) errors.expiry = 'Use the format MM / YY.';
  else {
    const endOfMonth = new Date(expiry.year, expiry.month, 1).getTime();
    if (endOfMonth <= now.getTime()) errors.expiry = 'This card has expired.';
    else if (expiry.year > now.getFullYear() + 20) errors.expiry = 'Check the expiry year.';
  }
  const cvvLength = cardBrand(digits) === 'amex' ? 4 : 3;
  if (!form.cvv) errors.cvv = 'Enter the security code.';
  else if (!new RegExp(`^\\d{${cvvLength}}$`).test(form.cvv)) errors.cvv = `The security code is ${cvvLength} digits, on the back of the card.`;
  const name = form.holderName.trim();
  if (!name) errors.holderName = 'Enter the name on the card.';
  else if (name.length < 2 || !/^[\p{L} .'-]+$/u.test(name)) errors.holderName = 'Use the name as printed on the card.';
  return errors;
}

/** A UPI id: `name@bank`. */
export function validateVpa(vpa: string): string | undefined {
  const v = vpa.trim();
  if (!v) return 'Enter your UPI ID, for example name@okicici.';
  if (!/^[a-zA-Z0-9._-]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,63}$/.test(v)) return 'A UPI ID looks like name@bank.';
  return undefined;
}

export interface Bank {
  code: string;
  name: string;
  test?: boolean;
}

export const BANKS: Bank[] = [
  { code: 'SBIN', name: 'State Bank of India' },
  { code: 'HDFC', name: 'HDFC Bank' },
  { code: 'ICIC', name: 'ICICI Bank' },
  { code: 'UTIB', name: 'Axis Bank' },
  { code: 'KKBK', name: 'Kotak Mahindra Bank' },
  // The simulated provider's test banks (docs/sale-api.md).
  { code: 'FAIL', name: 'Test bank: always declines', test: true },
  { code: 'SLOW', name: 'Test bank: times out', test: true },
];

export function validateBank(code: string): string | undefined {
  if (!code) return 'Choose your bank.';
  if (!BANKS.some((b) => b.code === code)) return 'Choose a bank from the list.';
  return undefined;
}

/** The `details` input of confirmPayment for a valid form. */
export function paymentDetails(method: Method, f: { card?: CardForm; vpa?: string; bankCode?: string }) {
  switch (method) {
    case 'CARD': {
      const card = f.card!;
      const expiry = parseExpiry(card.expiry)!;
      return {
        card: {
          number: digitsOnly(card.number),
          expiryMonth: expiry.month,
          expiryYear: expiry.year,
          cvv: card.cvv,
          holderName: card.holderName.trim(),
        },
      };
    }
    case 'UPI':
      return { upi: { vpa: f.vpa!.trim() } };
    case 'NET_BANKING':
      return { netBanking: { bankCode: f.bankCode! } };
  }
}
