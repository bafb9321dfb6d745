/** A request with an AIP-158 page token. */
export interface PagedRequest {
  pageToken?: string;
}

/** A response carrying the next page's token ("" on the last page). */
export interface PagedResponse {
  nextPageToken: string;
}

/**
 * Yields every page of `call`, starting at `request`, until the server says there are no more.
 *
 * ```ts
 * for await (const page of pageThrough((r) => client.threadsQueries.getMessages(r), { threadsId, pageSize: 50 })) {
 *   render(page.messages);
 * }
 * ```
 */
export async function* pageThrough<Req extends PagedRequest, Res extends PagedResponse>(
  call: (request: Req) => Promise<Res>,
  request: Req,
): AsyncGenerator<Res, void, undefined> {
  const seen = new Set<string>();
  let current: Req = { ...request };
  for (;;) {
    const page = await call(current);
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
