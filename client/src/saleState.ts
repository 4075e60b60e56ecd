// What a tab remembers about a purchase in progress (sessionStorage: survives reloads of
// this tab; the server stays the source of truth: myHold, booking(id)).
export interface Pending {
  holdId: string;
  bookingId?: string;
  /** Idempotency key of createBooking for this hold: a retried request never books twice. */
  bookingKey: string;
}

const k = (eventId: string) => `tix.pending.${eventId}`;

export function getPending(eventId: string): Pending | null {
  try {
    const raw = sessionStorage.getItem(k(eventId));
    return raw ? (JSON.parse(raw) as Pending) : null;
  } catch {
    return null;
  }
}

export function setPending(eventId: string, p: Pending | null): void {
  if (p) sessionStorage.setItem(k(eventId), JSON.stringify(p));
  else sessionStorage.removeItem(k(eventId));
}

/** A confirmed booking, shown on the confirmation page even if the API is busy. */
export function rememberConfirmed(booking: { id: string }): void {
  try {
    sessionStorage.setItem(`tix.confirmed.${booking.id}`, JSON.stringify(booking));
  } catch {
    /* ignore */
  }
}

export function confirmedBooking<T>(id: string): T | null {
  try {
    const raw = sessionStorage.getItem(`tix.confirmed.${id}`);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}
