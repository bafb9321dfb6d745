// Live-update feeds (`thread:{id}`, `artifact:{id}`): a gapless sequence of updates per feed, as the projector
// writes them, and the wake-ups that streams wait on.

export interface FeedEntry<U> {
  /** 1, 2, 3, ... within the feed. */
  seq: number;
  /** The update without its checkpoint token (that is issued per subscriber, for the subscriber's tenant). */
  update: U;
  /**
   * For an artifact feed's update reporting that a chat left (made PRIVATE, deleted, unlinked): the chat's
   * visibility just before, so only the readers it had learn that it is gone (0 = unspecified).
   */
  chatVisibilityBefore: number;
}

export class Feed<U> {
  readonly entries: FeedEntry<U>[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly key: string) {}

  /** Sequence of the newest entry (0 when there is none). */
  get head(): number {
    return this.entries.length;
  }

  append(update: U, chatVisibilityBefore = 0): number {
    const seq = this.entries.length + 1;
    this.entries.push({ seq, update, chatVisibilityBefore });
    for (const listener of this.listeners) {
      listener();
    }
    return seq;
  }

  /** Entries with seq > after, oldest first. */
  after(after: number): FeedEntry<U>[] {
    return this.entries.slice(Math.max(0, after));
  }

  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
