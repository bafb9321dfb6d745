// StreamChatUpdates / StreamArtifactUpdates as the query service runs them (services/query streams/session.py):
// authorise, SUBSCRIBED (with resume_valid_until), replay after the resume token up to the head seen at the
// start, CAUGHT_UP, then live updates and HEARTBEATs; the stream ends after a deletion and with NOT_FOUND when
// an update takes the caller's access away. An update naming a chat or artifact the subscriber may not read is
// withheld (streams/screening.py): nothing is sent, the next checkpoint covers it. With `include_signals`, a
// snapshot of the live signals follows CAUGHT_UP, and each turn sends the durable updates first, then the signals
// (so a draft's message always precedes its draftCompleted).
import { Code, type ConnectError } from "@connectrpc/connect";

import { type ChatMessage, StreamControl_Kind } from "../gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import { invalidField, rpcError } from "./errors.js";
import { Waker } from "../waker.js";
import type { Feed, FeedEntry } from "./feeds.js";
import type { MockLiveView, SignalCase } from "./live-view.js";
import type { Identity } from "./state.js";
import type { TokenCodec } from "./tokens.js";

/** What a stream needs to know about its resource and update type. */
export interface FeedKind<U> {
  feed: Feed<U>;
  readable(): boolean;
  notFound(): ConnectError;
  /**
   * What this subscriber receives of a feed entry, with its checkpoint token; undefined when it names a resource
   * the subscriber may not read (withheld: the stream's position still moves past it).
   */
  render(entry: FeedEntry<U>, checkpointToken: string): U | undefined;
  control(kind: StreamControl_Kind, checkpointToken: string, validUntil?: Date): U;
  /** The stream ends (normally) after this update (deletion). */
  terminal(update: U): boolean;
  /** Access may have changed with this update: check it again. */
  recheck(update: U): boolean;
  /** The live signals of the resource for this caller (`include_signals`). */
  signals: {
    view(): MockLiveView;
    /** A signal as the stream's update (no checkpoint token). */
    render(signal: SignalCase): U;
    /** The message an update carries, which may complete a shown draft. */
    messageOf(update: U): ChatMessage | undefined;
  };
}

export interface StreamSettings {
  codec: TokenCodec;
  now(): Date;
  resumeTtlMs: number;
  /** Tokens issued before this instant are expired (fault injection). */
  expiredBefore(): number;
  heartbeatMs: number;
}

/** One open stream, as the fault injector sees it. */
export interface OpenStream {
  /** Ends the stream: with `error`, or normally when undefined. */
  cut(error: ConnectError | undefined): void;
  /** Sends a HEARTBEAT now. */
  beat(): void;
}

export function resumeToken(settings: StreamSettings, caller: Identity, feed: string, seq: number): string {
  return settings.codec.encode("resume", { t: caller.tenantId, f: feed, q: seq, i: settings.now().getTime() / 1000 });
}

function parseResumeToken(settings: StreamSettings, caller: Identity, feed: string, token: string): { seq: number; issuedMs: number } {
  const payload = settings.codec.decode("resume", token);
  const seq = payload?.["q"];
  const issued = payload?.["i"];
  if (typeof seq !== "number" || typeof issued !== "number" || seq < 0) {
    throw invalidField("resume_token", "not a valid resume token", "INVALID_RESUME_TOKEN");
  }
  if (payload?.["t"] !== caller.tenantId || payload["f"] !== feed) {
    throw invalidField("resume_token", "token belongs to another stream", "INVALID_RESUME_TOKEN");
  }
  const issuedMs = Math.round(issued * 1000); // seconds with millisecond decimals, as the services write them
  if (settings.now().getTime() > issuedMs + settings.resumeTtlMs || issuedMs < settings.expiredBefore()) {
    throw rpcError(Code.FailedPrecondition, "RESUME_TOKEN_EXPIRED", "resume token expired: reload the state and subscribe again");
  }
  return { seq, issuedMs };
}

export async function* liveUpdates<U>(
  settings: StreamSettings,
  open: Set<OpenStream>,
  caller: Identity,
  kind: FeedKind<U>,
  token: string,
  signal: AbortSignal,
  includeSignals = false,
): AsyncGenerator<U, void, undefined> {
  if (!kind.readable()) {
    throw kind.notFound();
  }
  const feed = kind.feed;
  const head = feed.head;
  const tokenAt = (seq: number): string => resumeToken(settings, caller, feed.key, seq);
  let start = head;
  let validUntil = new Date(settings.now().getTime() + settings.resumeTtlMs);
  let startToken = token;
  if (token) {
    const point = parseResumeToken(settings, caller, feed.key, token);
    start = point.seq;
    validUntil = new Date(point.issuedMs + settings.resumeTtlMs);
  } else {
    startToken = tokenAt(head);
  }

  const waker = new Waker();
  let ended: { error: ConnectError | undefined } | undefined;
  let beatDue = false;
  const stream: OpenStream = {
    cut: (error) => {
      ended = { error };
      waker.fire();
    },
    beat: () => {
      beatDue = true;
      waker.fire();
    },
  };
  const view = includeSignals ? kind.signals.view() : undefined;
  const unlistenFeed = feed.listen(waker.fire);
  const unlistenSignals = view?.listen(waker.fire);
  const unlisten = (): void => {
    unlistenFeed();
    unlistenSignals?.();
  };
  // A client that goes away may leave this generator suspended at a yield for good: forget it at once.
  const onAbort = (): void => {
    open.delete(stream);
    unlisten();
    waker.fire();
  };
  signal.addEventListener("abort", onAbort);
  open.add(stream);
  try {
    let expected = start + 1;
    yield kind.control(StreamControl_Kind.SUBSCRIBED, startToken, validUntil);
    // Replay what existed when the call started; later entries are live.
    for (const entry of feed.after(expected - 1).filter((e) => e.seq <= head)) {
      expected = entry.seq + 1;
      const update = kind.render(entry, tokenAt(entry.seq));
      if (update === undefined) {
        continue;
      }
      yield update;
      if (afterUpdate(kind, update)) {
        return;
      }
    }
    yield kind.control(StreamControl_Kind.CAUGHT_UP, tokenAt(expected - 1));
    for (const update of view?.startOver() ?? []) {
      yield kind.signals.render(update);
    }
    for (;;) {
      if (signal.aborted) {
        return;
      }
      if (ended) {
        if (ended.error) {
          throw ended.error;
        }
        return;
      }
      const pending = feed.after(expected - 1);
      if (pending.length > 0) {
        for (const entry of pending) {
          expected = entry.seq + 1;
          const update = kind.render(entry, tokenAt(entry.seq));
          if (update === undefined) {
            continue;
          }
          yield update;
          if (afterUpdate(kind, update)) {
            return;
          }
          const message = view ? kind.signals.messageOf(update) : undefined;
          const completed = message ? view?.afterMessage(message) : undefined;
          if (completed) {
            yield kind.signals.render(completed);
          }
        }
        continue;
      }
      const signals = view?.pending() ?? [];
      if (signals.length > 0) {
        for (const update of signals) {
          yield kind.signals.render(update);
        }
        continue;
      }
      if (beatDue) {
        beatDue = false;
        if (!kind.readable()) {
          throw kind.notFound();
        }
        yield kind.control(StreamControl_Kind.HEARTBEAT, tokenAt(expected - 1));
        continue;
      }
      if ((await waker.wait(settings.heartbeatMs)) === "timeout") {
        beatDue = true;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    open.delete(stream);
    unlisten();
  }
}

/** True when the stream ends after `update`; throws NOT_FOUND when the update took the caller's access away. */
function afterUpdate<U>(kind: FeedKind<U>, update: U): boolean {
  if (kind.terminal(update)) {
    return true;
  }
  if (kind.recheck(update) && !kind.readable()) {
    throw kind.notFound();
  }
  return false;
}
