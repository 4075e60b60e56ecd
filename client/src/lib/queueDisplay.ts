// How a place in line reads: position, fans ahead, the wait, the progress bar. Pure.

const nf = new Intl.NumberFormat('en-IN');

export function formatCount(n: number): string {
  return nf.format(n);
}

/**
 * Rounds an estimated position so it does not pretend to precision it lacks: exact ranks
 * show as they are; estimates under 100 show as they are, larger ones round to two
 * significant figures ("about 2,300").
 */
export function roundEstimate(n: number): number {
  if (n < 100) return n;
  const magnitude = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(n / magnitude) * magnitude;
}

export function formatPosition(position: number, exact: boolean): string {
  return exact || position < 100 ? formatCount(position) : `about ${formatCount(roundEstimate(position))}`;
}

export function formatFansAhead(fansAhead: number | null | undefined, exact: boolean): string {
  if (fansAhead == null) return '';
  if (fansAhead === 0) return 'You are next';
  const n = exact || fansAhead < 100 ? formatCount(fansAhead) : `About ${formatCount(roundEstimate(fansAhead))}`;
  return `${n} fan${fansAhead === 1 ? '' : 's'} ahead of you`;
}

/** Whether seats are left to sell, as the queue last saw: unless ON_SALE nobody goes in. */
export type SeatSupply = 'ON_SALE' | 'ALL_IN_CARTS' | 'SOLD_OUT';

/** The estimated wait in words; honest about not knowing. */
export function formatWait(seconds: number | null | undefined, paused = false, supply: SeatSupply = 'ON_SALE'): string {
  if (supply === 'SOLD_OUT') return 'None while sold out';
  if (supply === 'ALL_IN_CARTS') return 'Until tickets come back';
  if (paused) return 'Paused for now';
  if (seconds == null) return 'Working it out…';
  if (seconds < 60) return 'Less than a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `About ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  // Past an hour, quarter hours are precise enough.
  const quarter = Math.round(rest / 15) * 15;
  if (quarter === 60) return `About ${hours + 1} hours`;
  return `About ${hours} hour${hours === 1 ? '' : 's'}${quarter ? ` ${quarter} minutes` : ''}`;
}

/** The wait as a band: what the queue shows once it has measured the line's pace. */
export interface WaitBand {
  lowSeconds: number;
  highSeconds: number;
}

function minutesRange(low: number, high: number): string {
  return low === high ? `About ${high} minute${high === 1 ? '' : 's'}` : low < 1 ? `Up to ${high} minutes` : `${low}–${high} minutes`;
}

function hoursRange(low: number, high: number): string {
  return low === high ? `About ${high} hour${high === 1 ? '' : 's'}` : low < 1 ? `Up to ${high} hours` : `${low}–${high} hours`;
}

/**
 * The wait as a range in words, widened outwards to whole minutes (hours past two hours),
 * so a fan is not promised more than the band holds; falls back to [formatWait] without a band.
 */
export function formatWaitBand(band: WaitBand | null | undefined, paused = false, supply: SeatSupply = 'ON_SALE'): string {
  if (!band || paused || supply !== 'ON_SALE') return formatWait(null, paused, supply);
  if (band.highSeconds < 60) return 'Less than a minute';
  if (band.highSeconds <= 2 * 3600) return minutesRange(Math.floor(band.lowSeconds / 60), Math.ceil(band.highSeconds / 60));
  return hoursRange(Math.floor(band.lowSeconds / 3600), Math.ceil(band.highSeconds / 3600));
}

/**
 * Progress through the line since the fan first saw their place: 0 on arrival, 1 at the
 * front. `startPosition` is the first position seen (kept across reloads); never goes
 * backwards if an estimate wobbles upward.
 */
export function queueProgress(startPosition: number | null, position: number | null, previous = 0): number {
  if (position == null || startPosition == null || startPosition <= 1) return previous;
  const done = (startPosition - position) / (startPosition - 1);
  return Math.max(previous, Math.min(1, Math.max(0, done)));
}

export type QueueState =
  | 'NOT_IN_QUEUE' | 'PRESALE' | 'WAITING' | 'ADMITTED' | 'EXPIRED' | 'ABANDONED' | 'COMPLETED' | 'CLOSED';

export interface QueueHeadline {
  title: string;
  detail: string;
}

/** The main sentence of the waiting room for each state. */
export function queueHeadline(
  s: {
    state: QueueState;
    position?: number | null;
    exact?: boolean;
    paused?: boolean;
    supply?: SeatSupply;
    presaleFans?: number;
    saleOpensAt?: string;
    /** The fan was in line on this page and is not any more, without leaving or a turn. */
    lost?: boolean;
  },
  now = Date.now(),
): QueueHeadline {
  switch (s.state) {
    case 'WAITING':
      // Said before the place: a fan should not wait on, hoping, without knowing this.
      if (s.supply === 'SOLD_OUT') {
        return {
          title: 'Sold out',
          detail:
            'Every ticket has been bought. We keep your place in case any come back: if a booking is cancelled, the line moves again and this page tells you. You may also leave the line.',
        };
      }
      if (s.position == null) return { title: 'You are in line', detail: 'Finding your place…' };
      if (s.supply === 'ALL_IN_CARTS') {
        return {
          title: `You are number ${formatPosition(s.position, s.exact ?? true)} in line`,
          detail:
            'Every ticket left is in another fan’s cart right now. Some usually come back when carts time out, and the line moves again the moment one does. Your place is kept.',
        };
      }
      if (s.position === 1) return { title: 'You are next!', detail: 'Stay on this page: the seat map opens by itself.' };
      return {
        title: `You are number ${formatPosition(s.position, s.exact ?? true)} in line`,
        detail: s.paused
          ? 'The organiser has paused the line for a moment. Your place is kept.'
          : 'Stay on this page: the seat map opens by itself when it is your turn.',
      };
    case 'PRESALE': {
      const opensIn = s.saleOpensAt ? Date.parse(s.saleOpensAt) - now : 0;
      // The page shows the clock and the number of fans in the draw beside this.
      return {
        title: 'You are in the early-arrivals draw',
        detail:
          (opensIn > 0 ? '' : 'The draw is happening now. ') +
          'Everyone who joins before the sale opens gets a random place in line when it opens, so there is no need to rush or refresh. Keep this page open.',
      };
    }
    case 'ADMITTED':
      return { title: 'It is your turn!', detail: 'Taking you to the seats…' };
    case 'EXPIRED':
      return { title: 'Your turn has ended', detail: 'The time to shop ran out before you bought. Join the line again for a new turn.' };
    case 'ABANDONED':
      return { title: 'We missed you', detail: 'Your turn came while this page was closed or offline, so it passed to the next fan. Join the line again.' };
    case 'COMPLETED':
      return { title: 'You have your tickets', detail: 'Your purchase is complete. Find it in My bookings.' };
    case 'CLOSED':
      return { title: 'The sale is over', detail: 'This event is sold out or the sale has closed.' };
    case 'NOT_IN_QUEUE':
    default:
      if (s.lost) {
        return {
          title: 'We lost your place',
          detail:
            'A fault on our side lost your place in line (only a join in the second before a server restart can be lost). We are sorry: join again to take a new place.',
        };
      }
      return { title: 'You are not in line yet', detail: 'Join the line to get your place.' };
  }
}

/** "2 d 3 h", "3 h 5 min", "4 min 10 s", "12 s". */
export function formatDurationShort(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}
