// Merging a page into what a list shows, by id: a refreshed first page replaces its items and keeps the rest; a
// next page adds only items not shown yet (a live update may have added some already).

export function withFirstPage<T>(shown: T[], page: T[], idOf: (item: T) => string): T[] {
  const fresh = new Set(page.map(idOf));
  return [...page, ...shown.filter((item) => !fresh.has(idOf(item)))];
}

export function withNextPage<T>(shown: T[], page: T[], idOf: (item: T) => string): T[] {
  const known = new Set(shown.map(idOf));
  return [...shown, ...page.filter((item) => !known.has(idOf(item)))];
}
