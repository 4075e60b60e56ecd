// Errors in plain words. Every API and gateway error carries a stable code
// (`extensions.code` in GraphQL, `error.code` in the gateway's plain JSON); this table turns
// each one into what a fan reads and what they can do next. Unknown codes fall back to a
// calm generic message, never to the server's raw text.

/** What the fan can do about an error; the screen that shows it decides how. */
export type NextStep =
  | 'sign-in' // go to the sign-in page (and come back)
  | 'sign-up-instead'
  | 'sign-in-instead'
  | 'rejoin-queue' // the admission is gone: back to the waiting room
  | 'go-to-seats' // no queue needed / pick seats again
  | 'pick-other-seats'
  | 'retry' // the same action again (a new attempt)
  | 'retry-payment' // another card / method; the hold still lives
  | 'wait' // a timer says when
  | 'my-bookings'
  | 'reload'
  | 'none';

export interface FriendlyError {
  code: string;
  title: string;
  message: string;
  step: NextStep;
  /** Label of the button for `step` (empty when there is no button). */
  action: string;
}

export interface ErrorContext {
  /** `extensions.retryAfterSeconds` of LOGIN_THROTTLED, or a Retry-After header. */
  retryAfterSeconds?: number;
  /** The seat cap of the admission, for HOLD_LIMIT_EXCEEDED. */
  seatCap?: number;
  /** Labels of the seats someone else took (SEAT_TAKEN). */
  seatLabels?: string[];
  /** What the bank said, when it said something useful. */
  failureMessage?: string | null;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listSeats(labels: string[] | undefined): string {
  if (!labels || labels.length === 0) return 'One of your seats';
  if (labels.length === 1) return `Seat ${labels[0]}`;
  if (labels.length <= 3) return `Seats ${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`;
  return `${labels.length} of your seats`;
}

type Entry = Omit<FriendlyError, 'code'> | ((ctx: ErrorContext) => Omit<FriendlyError, 'code'>);

/** A request this page's code got wrong: a newer page knows better. */
const PAGE_NEEDS_UPDATE: Entry = {
  title: 'This page needs an update',
  message: 'Reload the page to carry on; your place in line and any held seats are kept.',
  step: 'reload',
  action: 'Reload',
};

const TABLE: Record<string, Entry> = {
  // --- the sale: seats, holds, bookings, payments
  SEAT_TAKEN: (ctx) => ({
    title: 'Just taken',
    message: `${listSeats(ctx.seatLabels)} ${ctx.seatLabels && ctx.seatLabels.length > 1 ? 'were' : 'was'} taken by another fan a moment ago. We kept the rest of your choice: pick another seat and try again.`,
    step: 'pick-other-seats',
    action: 'Pick other seats',
  }),
  SEAT_NOT_FOUND: {
    title: 'Seat not found',
    message: 'That seat is not part of this event any more. Please choose from the map again.',
    step: 'pick-other-seats',
    action: 'Back to the map',
  },
  HOLD_LIMIT_EXCEEDED: (ctx) => ({
    title: 'Too many seats',
    message: `You can hold up to ${plural(ctx.seatCap ?? 6, 'seat', 'seats')} for this event. Remove some seats and try again.`,
    step: 'pick-other-seats',
    action: 'Change seats',
  }),
  ACTIVE_HOLD_EXISTS: {
    title: 'You already hold seats',
    message: 'You are holding seats for this event already (perhaps in another tab). Here they are: pay for them, or use “Change seats” to pick again.',
    step: 'none',
    action: '',
  },
  HOLD_NOT_FOUND: {
    title: 'Your seats are no longer held',
    message: 'We could not find your hold: it may have ended in another tab. Choose your seats again.',
    step: 'go-to-seats',
    action: 'Choose seats again',
  },
  HOLD_EXPIRED: {
    title: 'Your time ran out',
    message: 'We held your seats for as long as we could, and released them so other fans can buy. You have not been charged. They may still be free: choose again.',
    step: 'go-to-seats',
    action: 'Choose seats again',
  },
  EXTENSION_USED: {
    title: 'No more extra time',
    message: 'You have already used your one extension for these seats. Please finish paying before the timer ends.',
    step: 'none',
    action: '',
  },
  BOOKING_NOT_FOUND: {
    title: 'Booking not found',
    message: 'We could not find that booking. Your bookings are listed on My bookings.',
    step: 'my-bookings',
    action: 'My bookings',
  },
  BOOKING_NOT_PAYABLE: {
    title: 'This booking can no longer be paid',
    message: 'It expired or was cancelled, so nothing more will be charged. Choose seats again to buy.',
    step: 'go-to-seats',
    action: 'Choose seats again',
  },
  ALREADY_PAID: {
    title: 'Already paid',
    message: 'This booking is already paid: you will not be charged twice. Your tickets are in My bookings.',
    step: 'my-bookings',
    action: 'My bookings',
  },
  PAYMENT_DECLINED: (ctx) => ({
    title: 'Payment declined',
    message: `Your bank declined this payment${ctx.failureMessage ? ` (${ctx.failureMessage.replace(/\.$/, '')})` : ''}. You have not been charged and your seats are still held: try another card or payment method.`,
    step: 'retry-payment',
    action: 'Try again',
  }),
  PAYMENT_TIMEOUT: {
    title: 'The bank did not answer in time',
    message: 'Your payment did not go through and you have not been charged. Your seats are still held: please try again.',
    step: 'retry-payment',
    action: 'Try again',
  },
  INVALID_PAYMENT_DETAILS: {
    title: 'Check your payment details',
    message: 'Some of the payment details are not valid. Please check them and try again: nothing was charged.',
    step: 'retry-payment',
    action: 'Check details',
  },
  IDEMPOTENCY_KEY_REUSED: {
    title: 'Please try again',
    message: 'That request crossed with an earlier one. Please try again.',
    step: 'retry',
    action: 'Try again',
  },
  IDEMPOTENCY_IN_PROGRESS: {
    title: 'Still working on it',
    message: 'Your earlier request is still being processed. Give it a few seconds before trying again.',
    step: 'wait',
    action: '',
  },

  // --- the gate and the queue
  QUEUE_TOKEN_REQUIRED: {
    title: 'Join the queue first',
    message: 'This sale is busy, so fans buy in turn. Join the waiting room: we will bring you to the seats when it is your turn.',
    step: 'rejoin-queue',
    action: 'Go to the waiting room',
  },
  TOKEN_EXPIRED: {
    title: 'Your turn has ended',
    message: 'The time to shop that the queue gave you is over. Join the queue again to get a new turn.',
    step: 'rejoin-queue',
    action: 'Join the queue again',
  },
  TOKEN_REVOKED: {
    title: 'Your turn has ended',
    message: 'Your pass to the seats was withdrawn (for example because it was used elsewhere or the sale changed). Join the queue again.',
    step: 'rejoin-queue',
    action: 'Join the queue again',
  },
  TOKEN_INVALID: {
    title: 'We need to check who you are',
    message: 'Your pass could not be read. Join the queue again to get a new one.',
    step: 'rejoin-queue',
    action: 'Join the queue again',
  },
  WRONG_EVENT: {
    title: 'That pass is for another event',
    message: 'Your place in line is for a different show. Join the queue for this one.',
    step: 'rejoin-queue',
    action: 'Join this queue',
  },
  QUEUE_CLOSED: {
    title: 'The sale is over',
    message: 'This event is sold out, closed or cancelled, so there is no queue to join.',
    step: 'none',
    action: '',
  },
  QUEUE_NOT_REQUIRED: {
    title: 'No queue needed',
    message: 'This sale is quiet right now: you can go straight to the seats.',
    step: 'go-to-seats',
    action: 'Choose seats',
  },
  NOT_IN_QUEUE: {
    title: 'You are not in the queue',
    message: 'You left the line or were never in it. Join to get a place.',
    step: 'rejoin-queue',
    action: 'Join the queue',
  },
  GATE_UNAVAILABLE: {
    title: 'One moment',
    message: 'We cannot check passes right now. Your place is safe: we will retry by ourselves.',
    step: 'retry',
    action: 'Retry now',
  },

  // --- accounts
  UNAUTHENTICATED: {
    title: 'Please sign in',
    message: 'Sign in to join the queue and buy tickets. You will come straight back here.',
    step: 'sign-in',
    action: 'Sign in',
  },
  FORBIDDEN: {
    title: 'Not allowed',
    message: 'Your account cannot do that.',
    step: 'none',
    action: '',
  },
  EMAIL_TAKEN: {
    title: 'You already have an account',
    message: 'An account with this email exists. Sign in instead, or use another email.',
    step: 'sign-in-instead',
    action: 'Sign in instead',
  },
  INVALID_CREDENTIALS: {
    title: 'Wrong email or password',
    message: 'That email and password do not match an account. Check them and try again.',
    step: 'retry',
    action: '',
  },
  LOGIN_THROTTLED: (ctx) => ({
    title: 'Too many attempts',
    message: `For your safety, sign-in for this account is paused${ctx.retryAfterSeconds ? ` for ${plural(ctx.retryAfterSeconds, 'second', 'seconds')}` : ' for a short while'}. Then try again.`,
    step: 'wait',
    action: '',
  }),
  INVALID_REFRESH_TOKEN: {
    title: 'Please sign in again',
    message: 'Your session has ended. Sign in again; your place in any queue is kept.',
    step: 'sign-in',
    action: 'Sign in',
  },
  REFRESH_TOKEN_REUSED: {
    title: 'Please sign in again',
    message: 'For your safety we ended this session because it was used from two places at once. Sign in again; your place in any queue is kept.',
    step: 'sign-in',
    action: 'Sign in',
  },
  USER_NOT_FOUND: {
    title: 'Account not found',
    message: 'We could not find that account.',
    step: 'sign-up-instead',
    action: 'Create an account',
  },

  // --- events
  EVENT_NOT_FOUND: {
    title: 'Event not found',
    message: 'We could not find that event. It may have been renamed or removed.',
    step: 'none',
    action: '',
  },

  // --- transport, limits, our side
  RATE_LIMITED: (ctx) => ({
    title: 'Slow down a little',
    message: `Lots of requests came from your connection at once. Wait ${ctx.retryAfterSeconds ? plural(ctx.retryAfterSeconds, 'second', 'seconds') : 'a few seconds'} and try again. Your place in line is safe.`,
    step: 'wait',
    action: '',
  }),
  TOO_MANY_SUBSCRIPTIONS: {
    title: 'Too many live views',
    message: 'This page opened too many live updates at once. Reload the page.',
    step: 'reload',
    action: 'Reload',
  },
  NETWORK: {
    title: 'You seem to be offline',
    message: 'We could not reach Tickets. Check your connection; we will keep trying, and your place in line is kept.',
    step: 'retry',
    action: 'Try again',
  },
  BUSY: {
    title: 'The sale is very busy',
    message: 'We tried a few times and could not get through. Nothing was changed: your seats and payment are as they were. Try again in a few seconds.',
    step: 'retry',
    action: 'Try again',
  },
  GATEWAY_BUSY: {
    title: 'We are very busy',
    message: 'So many fans are here that we need a moment. Your place is safe: try again in a few seconds.',
    step: 'retry',
    action: 'Try again',
  },
  NO_UPSTREAM: {
    title: 'We are having trouble',
    message: 'Our servers are not answering right now. Your place in line is kept; try again in a moment.',
    step: 'retry',
    action: 'Try again',
  },
  UPSTREAM_ERROR: {
    title: 'We are having trouble',
    message: 'Something went wrong on our side. Your place in line is kept; try again in a moment.',
    step: 'retry',
    action: 'Try again',
  },
  UPSTREAM_TIMEOUT: {
    title: 'That took too long',
    message: 'Our servers took too long to answer. If you were paying, check My bookings before paying again: you will never be charged twice.',
    step: 'retry',
    action: 'Try again',
  },
  INTERNAL_ERROR: {
    title: 'Something went wrong on our side',
    message: 'It is not your fault and nothing was charged. Please try again in a moment.',
    step: 'retry',
    action: 'Try again',
  },
  PAYLOAD_TOO_LARGE: {
    title: 'That was too much at once',
    message: 'Please select fewer seats and try again.',
    step: 'pick-other-seats',
    action: 'Change seats',
  },
  GRAPHQL_VALIDATION_FAILED: {
    title: 'This page needs an update',
    message: 'Tickets was updated while you were here. Reload the page to carry on; your place in line and any held seats are kept.',
    step: 'reload',
    action: 'Reload',
  },
  GRAPHQL_PARSE_FAILED: {
    title: 'This page needs an update',
    message: 'Tickets was updated while you were here. Reload the page to carry on; your place in line and any held seats are kept.',
    step: 'reload',
    action: 'Reload',
  },
  QUERY_TOO_DEEP: PAGE_NEEDS_UPDATE,
  QUERY_TOO_COMPLEX: PAGE_NEEDS_UPDATE,
  OPERATION_NAME_REQUIRED: PAGE_NEEDS_UPDATE,
  UNKNOWN_OPERATION: PAGE_NEEDS_UPDATE,
  SUBSCRIPTION_OVER_HTTP: PAGE_NEEDS_UPDATE,
  TOO_MANY_EXPENSIVE_FIELDS: PAGE_NEEDS_UPDATE,
  METHOD_NOT_ALLOWED: PAGE_NEEDS_UPDATE,
  BAD_REQUEST: PAGE_NEEDS_UPDATE,
  NOT_FOUND: {
    title: 'Not found',
    message: 'We could not find what this page asked for. Reload the page; your place in line and any held seats are kept.',
    step: 'reload',
    action: 'Reload',
  },
  BAD_USER_INPUT: {
    title: 'Please check what you entered',
    message: 'Something in the form is not quite right. Check it and try again.',
    step: 'retry',
    action: '',
  },
};

const FALLBACK: Omit<FriendlyError, 'code'> = {
  title: 'Something went wrong',
  message: 'Please try again in a moment. If you were in the queue, your place is kept.',
  step: 'retry',
  action: 'Try again',
};

/** The fan-facing words for an error code. */
export function friendlyError(code: string, ctx: ErrorContext = {}): FriendlyError {
  const entry = TABLE[code];
  const resolved = entry === undefined ? FALLBACK : typeof entry === 'function' ? entry(ctx) : entry;
  return { code, ...resolved };
}

/** Codes for which the whole sale session must start again from the queue. */
export function endsAdmission(code: string): boolean {
  return ['TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_INVALID', 'WRONG_EVENT', 'QUEUE_TOKEN_REQUIRED'].includes(code);
}

/** Codes worth retrying by ourselves (with backoff), without asking the fan. */
export function isTransient(code: string): boolean {
  return ['NETWORK', 'GATEWAY_BUSY', 'NO_UPSTREAM', 'UPSTREAM_ERROR', 'UPSTREAM_TIMEOUT', 'GATE_UNAVAILABLE', 'INTERNAL_ERROR', 'RATE_LIMITED', 'IDEMPOTENCY_IN_PROGRESS'].includes(code);
}

/** Every code with its own entry (for tests and the README). */
export const KNOWN_CODES = Object.keys(TABLE);
