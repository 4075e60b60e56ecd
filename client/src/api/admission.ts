// The admission (queue) token of each event, shared by every tab: the queue admits the fan
// once, and every tab of theirs shops with the same pass.
import { serverNow } from './clock';

export interface Admission {
  token: string;
  expiresAt: string;
  seatCap: number;
  salePath: string;
}

const key = (eventId: string) => `tix.admission.${eventId}`;
const listeners = new Set<(eventId: string) => void>();

if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    const m = e.key?.match(/^tix\.admission\.(.+)$/);
    if (m) listeners.forEach((l) => l(m[1]));
  });
}

export function getAdmission(eventId: string): Admission | null {
  try {
    const raw = localStorage.getItem(key(eventId));
    if (!raw) return null;
    const a = JSON.parse(raw) as Admission;
    if (Date.parse(a.expiresAt) <= serverNow()) {
      localStorage.removeItem(key(eventId));
      return null;
    }
    return a;
  } catch {
    return null;
  }
}

export function setAdmission(eventId: string, a: Admission | null): void {
  try {
    if (a) localStorage.setItem(key(eventId), JSON.stringify(a));
    else localStorage.removeItem(key(eventId));
  } catch {
    /* ignore */
  }
  listeners.forEach((l) => l(eventId));
}

export function onAdmissionChange(l: (eventId: string) => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

// A pass the gate or the API just refused. If the queue hands back the very same pass, the
// two disagree (a fault on our side): the waiting room says so instead of bouncing the fan
// between the queue and the seats.
const refusedKey = (eventId: string) => `tix.refusedAdmission.${eventId}`;

export function markRefused(eventId: string, token: string, code: string): void {
  try {
    sessionStorage.setItem(refusedKey(eventId), JSON.stringify({ token, code }));
  } catch {
    /* ignore */
  }
}

export function refusedAdmission(eventId: string): { token: string; code: string } | null {
  try {
    const raw = sessionStorage.getItem(refusedKey(eventId));
    return raw ? (JSON.parse(raw) as { token: string; code: string }) : null;
  } catch {
    return null;
  }
}

export function clearRefused(eventId: string): void {
  try {
    sessionStorage.removeItem(refusedKey(eventId));
  } catch {
    /* ignore */
  }
}
