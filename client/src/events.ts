// Events by slug, cached for the session (they change rarely; the sale data never is).
import { EventBySlugDocument, EventsDocument, type EventFieldsFragment } from './gql/public/graphql';
import { pub } from './api/api';

export type EventInfo = EventFieldsFragment;

const bySlug = new Map<string, EventInfo>();
const STORE = 'tix.events';
const MAX_AGE_MS = 10 * 60_000;

// Events seen recently are kept in localStorage, so a reload of the seat map starts fetching
// the map at once instead of after the event (refreshed in the background).
function stored(slug: string): EventInfo | undefined {
  try {
    const all = JSON.parse(localStorage.getItem(STORE) ?? '{}') as Record<string, { at: number; e: EventInfo }>;
    const hit = all[slug];
    return hit && Date.now() - hit.at < MAX_AGE_MS ? hit.e : undefined;
  } catch {
    return undefined;
  }
}

function remember(e: EventInfo): void {
  bySlug.set(e.slug, e);
  try {
    const all = JSON.parse(localStorage.getItem(STORE) ?? '{}') as Record<string, { at: number; e: EventInfo }>;
    all[e.slug] = { at: Date.now(), e };
    localStorage.setItem(STORE, JSON.stringify(all));
  } catch {
    /* ignore */
  }
}

export async function loadEvents(signal?: AbortSignal): Promise<EventInfo[]> {
  const data = await pub(EventsDocument, {}, { signal, retries: 3 });
  for (const e of data.events) remember(e);
  return data.events;
}

export async function loadEvent(slug: string, signal?: AbortSignal, fresh = false): Promise<EventInfo> {
  const cached = bySlug.get(slug) ?? stored(slug);
  if (cached && !fresh) {
    if (!bySlug.has(slug)) {
      bySlug.set(slug, cached);
      void pub(EventBySlugDocument, { slug }).then((d) => remember(d.eventBySlug), () => undefined);
    }
    return cached;
  }
  const data = await pub(EventBySlugDocument, { slug }, { signal, retries: 3 });
  remember(data.eventBySlug);
  return data.eventBySlug;
}

export function cachedEvent(slug: string): EventInfo | undefined {
  return bySlug.get(slug);
}

export function lowestPrice(e: EventInfo): string | null {
  const cats = [...e.categories].sort((a, b) => a.price.amountMinor - b.price.amountMinor);
  return cats[0]?.price.formatted ?? null;
}
