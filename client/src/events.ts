// Events by slug, cached for the session (they change rarely; the sale data never is).
import { EventBySlugDocument, EventsDocument, type EventFieldsFragment } from './gql/public/graphql';
import { pub } from './api/api';

export type EventInfo = EventFieldsFragment;

const bySlug = new Map<string, EventInfo>();

export async function loadEvents(signal?: AbortSignal): Promise<EventInfo[]> {
  const data = await pub(EventsDocument, {}, { signal, retries: 3 });
  for (const e of data.events) bySlug.set(e.slug, e);
  return data.events;
}

export async function loadEvent(slug: string, signal?: AbortSignal, fresh = false): Promise<EventInfo> {
  const cached = bySlug.get(slug);
  if (cached && !fresh) return cached;
  const data = await pub(EventBySlugDocument, { slug }, { signal, retries: 3 });
  bySlug.set(slug, data.eventBySlug);
  return data.eventBySlug;
}

export function cachedEvent(slug: string): EventInfo | undefined {
  return bySlug.get(slug);
}

export function lowestPrice(e: EventInfo): string | null {
  const cats = [...e.categories].sort((a, b) => a.price.amountMinor - b.price.amountMinor);
  return cats[0]?.price.formatted ?? null;
}
