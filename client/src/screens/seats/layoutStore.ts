// An event's seat layout, fetched once per event and kept across reloads. Seats never move
// once an event is seeded, so the API serves the layout as a file named by a hash of its
// content (`/events/{id}/layout/{version}.json`, immutable) and the states apart
// (`seatStates`, which names the layout version they follow). The page keeps the file in
// the Cache API under its versioned name (localStorage remembers which version an event
// has), so a reload reads it from disk without asking the network at all; the browser's
// HTTP cache (ETag, `immutable`) is the second line where the Cache API is missing.
import type { RawSeatMap } from '../../lib/seatModel';

/** The layout half of the seat map: everything but the states. */
export type RawLayout = Omit<RawSeatMap, 'status'>;

/** Where a layout came from: the page's own store, or the network (or the HTTP cache). */
export type LayoutSource = 'stored' | 'network';

export interface LoadedLayout {
  layout: RawLayout;
  version: string;
  source: LayoutSource;
}

const CACHE_NAME = 'tix-layouts-v1';
const versionKey = (eventId: string) => `tix.layout.${eventId}`;
export const layoutPath = (eventId: string) => `/events/${encodeURIComponent(eventId)}/layout.json`;
export const versionedLayoutPath = (eventId: string, version: string) =>
  `/events/${encodeURIComponent(eventId)}/layout/${encodeURIComponent(version)}.json`;

/** The version an ETag names: `"v"` and `"v-gzip"` (and weak forms) are the same content. */
export function versionOfEtag(etag: string | null): string | null {
  if (!etag) return null;
  const m = /^(?:W\/)?"([0-9a-f]+)(?:-gzip)?"$/.exec(etag.trim());
  return m ? m[1] : null;
}

function cacheStorage(): CacheStorage | null {
  try {
    return typeof caches === 'undefined' ? null : caches;
  } catch {
    return null;
  }
}

function rememberedVersion(eventId: string): string | null {
  try {
    return localStorage.getItem(versionKey(eventId));
  } catch {
    return null;
  }
}

/** The layout this page kept for an event, if any (never touches the network). */
export async function storedLayout(eventId: string): Promise<LoadedLayout | null> {
  const version = rememberedVersion(eventId);
  const store = cacheStorage();
  if (!version || !store) return null;
  try {
    const cache = await store.open(CACHE_NAME);
    const hit = await cache.match(versionedLayoutPath(eventId, version));
    if (!hit) return null;
    return { layout: (await hit.json()) as RawLayout, version, source: 'stored' };
  } catch {
    return null;
  }
}

/**
 * Fetches an event's layout: a known version by its immutable name, else the current one
 * (whose ETag names its version). The answer is kept for the next reload.
 */
export async function fetchLayout(eventId: string, version?: string): Promise<LoadedLayout> {
  const url = version ? versionedLayoutPath(eventId, version) : layoutPath(eventId);
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`the seat layout answered ${res.status}`);
  const got = version ?? versionOfEtag(res.headers.get('etag'));
  const body = await res.text();
  const layout = JSON.parse(body) as RawLayout;
  if (got) void keep(eventId, got, body);
  return { layout, version: got ?? '', source: 'network' };
}

/** Keeps one version per event: the new one replaces the old (best effort). */
async function keep(eventId: string, version: string, body: string): Promise<void> {
  const store = cacheStorage();
  if (!store) return;
  try {
    const cache = await store.open(CACHE_NAME);
    const old = rememberedVersion(eventId);
    await cache.put(versionedLayoutPath(eventId, version), new Response(body, { headers: { 'content-type': 'application/json' } }));
    localStorage.setItem(versionKey(eventId), version);
    if (old && old !== version) await cache.delete(versionedLayoutPath(eventId, old));
  } catch {
    // A full or private store: the HTTP cache still has it.
  }
}

/** Fetches and keeps an event's layout ahead of time (the waiting room), unless it is kept. */
export async function prefetchLayout(eventId: string): Promise<void> {
  if (await storedLayout(eventId)) return;
  await fetchLayout(eventId).catch(() => undefined);
}

/**
 * The layout that goes with states of layout version `wanted`, from the store when it has
 * that version, else from the network.
 */
export async function layoutFor(eventId: string, have: LoadedLayout | null, wanted: string): Promise<LoadedLayout> {
  if (have && have.version === wanted) return have;
  return fetchLayout(eventId, wanted);
}
