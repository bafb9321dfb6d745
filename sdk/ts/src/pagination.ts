/** A response carrying the next page's token ("" on the last page). */
export interface PagedResponse {
  nextPageToken: string;
}

/** A paginated call: one request (with an AIP-158 `pageToken`) in, one page out. Extra arguments are not passed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the request type is taken from the call itself
export type PagedCall = (request: any) => Promise<PagedResponse>;

/**
 * Yields every page of `call`, starting at `request`, until the server says there are no more.
 * `request` is not modified.
 *
 * ```ts
 * for await (const page of pageThrough(client.threadsQueries.getMessages, { threadsId, pageSize: 50 })) {
 *   render(page.messages);
 * }
 * ```
 */
export async function* pageThrough<F extends PagedCall>(
  call: F,
  request: Parameters<F>[0],
): AsyncGenerator<Awaited<ReturnType<F>>, void, undefined> {
  const seen = new Set<string>();
  let current: Parameters<F>[0] = { ...request };
  for (;;) {
    const page = (await call(current)) as Awaited<ReturnType<F>>;
    yield page;
    const token = page.nextPageToken;
    if (!token) {
      return;
    }
    if (seen.has(token)) {
      throw new Error("the server repeated a page token; stopping to avoid an endless loop");
    }
    seen.add(token);
    current = { ...current, pageToken: token };
  }
}
