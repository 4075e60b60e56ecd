// The server's clock as seen from here: hold and admission expiries are server times.
import { skewFromDateHeader } from '../lib/countdown';

let skewMs = 0;

export function serverNow(): number {
  return Date.now() + skewMs;
}

export function clockSkew(): number {
  return skewMs;
}

export function observeDateHeader(date: string | null, sentAt: number, receivedAt: number): void {
  const s = skewFromDateHeader(date, sentAt, receivedAt);
  if (s !== null) skewMs = s;
}
