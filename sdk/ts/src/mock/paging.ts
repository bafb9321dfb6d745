// AIP-158 pages as the services serve them: keyset (a walk while items arrive neither skips nor repeats), an
// opaque token bound to the caller and the query, exact total_count, default and maximum page sizes.
import { invalidField } from "./errors.js";
import type { Identity } from "./state.js";
import type { TokenCodec } from "./tokens.js";

export type Key = (string | number)[];
export type Direction = "asc" | "desc";

export interface PageQuery<T> {
  /** Names the query: RPC, resource, filter, sort. A token from another query is refused. */
  binding: string;
  items: T[];
  keyOf(item: T): Key;
  order: Direction[];
  defaultSize: number;
  maxSize: number;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
  totalCount: number;
}

export function compareKeys(a: Key, b: Key, order: Direction[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x !== y) {
      const sign = x < y ? -1 : 1;
      return order[i] === "desc" ? -sign : sign;
    }
  }
  return 0;
}

export function paginate<T>(
  codec: TokenCodec,
  caller: Identity,
  request: { pageSize: number; pageToken: string },
  query: PageQuery<T>,
): Page<T> {
  if (request.pageSize < 0) {
    throw invalidField("page_size", "must not be negative");
  }
  const size = Math.min(request.pageSize || query.defaultSize, query.maxSize);
  const bound = `${caller.tenantId}|${caller.userId}|${query.binding}`;
  const sorted = [...query.items].sort((a, b) => compareKeys(query.keyOf(a), query.keyOf(b), query.order));
  let rest = sorted;
  if (request.pageToken) {
    const payload = codec.decode("page", request.pageToken);
    const after = payload?.["k"];
    if (payload?.["b"] !== bound || !Array.isArray(after)) {
      throw invalidField("page_token", "not a page token of this query and caller", "INVALID_PAGE_TOKEN");
    }
    rest = sorted.filter((item) => compareKeys(query.keyOf(item), after as Key, query.order) > 0);
  }
  const items = rest.slice(0, size);
  const last = items[items.length - 1];
  const more = rest.length > size && last !== undefined;
  return {
    items,
    nextPageToken: more ? codec.encode("page", { b: bound, k: query.keyOf(last) }) : "",
    totalCount: sorted.length,
  };
}
