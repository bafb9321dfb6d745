// A paginated list (the caller's chats, artifacts, search results): first page on start, more on loadMore(),
// transient failures retried with backoff, other failures shown until reload().
import { backoffMs } from "../retry.js";
import { Waker } from "../waker.js";
import { withNextPage } from "./merge.js";
import { type AmeideError, type ListStatus, failureStatus, toAmeideError } from "./status.js";

export interface Page<T> {
  items: T[];
  nextPageToken: string;
  totalCount: number;
}

export interface ListState<T> {
  status: ListStatus;
  error: AmeideError | undefined;
  items: T[];
  totalCount: number;
  hasMore: boolean;
  loadingMore: boolean;
}

export function idleList<T>(): ListState<T> {
  return { status: "idle", error: undefined, items: [], totalCount: 0, hasMore: false, loadingMore: false };
}

export class PagedList<T> {
  private state: ListState<T> = { ...idleList<T>(), status: "loading" };
  private readonly listeners = new Set<() => void>();
  private readonly wake = new Waker();
  private nextToken = "";
  private running: AbortController | undefined;

  constructor(
    private readonly fetchPage: (pageToken: string) => Promise<Page<T>>,
    private readonly idOf: (item: T) => string,
    private readonly backoff: { initialBackoffMs: number; maxBackoffMs: number },
  ) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): ListState<T> => this.state;

  private set(patch: Partial<ListState<T>>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) {
      listener();
    }
  }

  start(): void {
    if (!this.running) {
      this.running = new AbortController();
      void this.loadFirst(this.running.signal);
    }
  }

  stop(): void {
    this.running?.abort();
    this.running = undefined;
    this.wake.fire();
  }

  /** Loads the first page again (after an error, or to refresh). */
  reload(): void {
    this.stop();
    this.set({ status: "loading", error: undefined });
    this.start();
  }

  private async loadFirst(signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; ) {
      try {
        const page = await this.fetchPage("");
        if (signal.aborted) {
          return;
        }
        this.nextToken = page.nextPageToken;
        this.set({ status: "ready", error: undefined, items: page.items, totalCount: page.totalCount, hasMore: page.nextPageToken !== "" });
        return;
      } catch (error) {
        const failure = toAmeideError(error);
        this.set({ status: failureStatus(failure), error: failure });
        if (failure.kind !== "unavailable") {
          return;
        }
        failures += 1;
        await this.wake.wait(backoffMs(failures, this.backoff.initialBackoffMs, this.backoff.maxBackoffMs));
      }
    }
  }

  /** Appends the next page; a failure leaves the list as it was and is thrown (as an AmeideError). */
  async loadMore(): Promise<void> {
    if (!this.state.hasMore || this.state.loadingMore) {
      return;
    }
    this.set({ loadingMore: true });
    try {
      const page = await this.fetchPage(this.nextToken);
      this.nextToken = page.nextPageToken;
      const items = withNextPage(this.state.items, page.items, this.idOf);
      this.set({ items, totalCount: page.totalCount, hasMore: page.nextPageToken !== "", loadingMore: false });
    } catch (error) {
      this.set({ loadingMore: false });
      throw toAmeideError(error);
    }
  }
}
