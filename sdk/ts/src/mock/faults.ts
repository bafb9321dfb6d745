// Fault injection for frontend tests: failed calls, a backend that is down, live streams that end, heartbeats on
// demand, expired resume tokens, and presence and drafts whose time runs out, so retry, reconnect, reload and
// expiry paths can be driven deterministically.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

import { rpcError, unavailable } from "./errors.js";
import type { MockLive } from "./live-state.js";
import type { OpenStream } from "./streams.js";

export interface FailOptions {
  /** Status of the injected failure (default UNAVAILABLE, reason STORE_UNAVAILABLE). */
  code?: Code;
  /** ErrorInfo reason of the failure (default: UNAVAILABLE's STORE_UNAVAILABLE, else the code's name). */
  reason?: string;
  /** Only calls of these RPCs fail (proto names, e.g. "EnsureChatForArtifactAndSendMessage"); default: any. */
  methods?: string[];
  /**
   * The call is carried out, then its response is lost (the client sees the failure): a retry with the same
   * idempotency key must get the first call's result.
   */
  afterApply?: boolean;
}

interface Pending {
  remaining: number;
  options: FailOptions;
}

/** UPPER_SNAKE name of a code, as the services' default ErrorInfo reasons read (NOT_FOUND, ...). */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function injected(options: FailOptions): ConnectError {
  const code = options.code ?? Code.Unavailable;
  if (code === Code.Unavailable && !options.reason) {
    return unavailable();
  }
  return rpcError(code, options.reason ?? codeName(code), "injected failure");
}

export class Faults {
  private readonly pending: Pending[] = [];
  private down = false;
  /** Resume tokens issued before this instant (ms) are expired. */
  expiredBefore = 0;

  constructor(
    private readonly streams: Set<OpenStream>,
    private readonly now: () => Date,
    private readonly live: MockLive,
  ) {}

  /** The next `count` calls (of `options.methods`, if given) fail with `options.code` (default UNAVAILABLE). */
  failNext(count = 1, options: FailOptions = {}): void {
    this.pending.push({ remaining: count, options });
  }

  /** While down, every call fails with UNAVAILABLE, as when the services are stopped; open streams end too. */
  setUnavailable(down: boolean): void {
    this.down = down;
    if (down) {
      this.endStreams();
    }
  }

  get unavailable(): boolean {
    return this.down;
  }

  /**
   * Ends every open live stream, with UNAVAILABLE (reason SHUTTING_DOWN, as a stopping server does) by default,
   * with another code, or normally (`null`). Returns how many streams ended.
   */
  endStreams(code: Code | null = Code.Unavailable): number {
    const open = [...this.streams];
    const error = code === null ? undefined : rpcError(code, code === Code.Unavailable ? "SHUTTING_DOWN" : codeName(code), "stream ended");
    for (const stream of open) {
      stream.cut(error);
    }
    return open.length;
  }

  /** Every open stream sends a HEARTBEAT now (instead of after the quiet period). */
  heartbeat(): void {
    for (const stream of this.streams) {
      stream.beat();
    }
  }

  /** Every resume token issued so far is expired (FAILED_PRECONDITION, RESUME_TOKEN_EXPIRED): clients must reload. */
  expireResumeTokens(): void {
    this.expiredBefore = this.now().getTime() + 1;
  }

  /** Every client's presence runs out now: subscribers see each user LEFT (`expired`), as when tabs vanish. */
  expirePresence(): void {
    this.live.expirePresence();
  }

  /** Every client's typing runs out now: subscribers see TYPING_STOPPED (`expired`). */
  lapseTyping(): void {
    this.live.lapseTyping();
  }

  /** Every open draft's agent is taken as gone: subscribers see each draft abandoned (REASON_EXPIRED). */
  expireDrafts(): void {
    this.live.expireDrafts();
  }

  /** Clears pending failures and brings the backend back up. */
  reset(): void {
    this.pending.length = 0;
    this.down = false;
  }

  /** Server interceptor: applies the faults to each call before (or after) the handler runs. */
  readonly interceptor: Interceptor = (next) => async (req) => {
    if (this.down) {
      throw unavailable();
    }
    const fault = this.take(req.method.name);
    if (fault && !fault.afterApply) {
      throw injected(fault);
    }
    const response = await next(req);
    if (fault) {
      throw injected(fault);
    }
    return response;
  };

  private take(method: string): FailOptions | undefined {
    const index = this.pending.findIndex((p) => !p.options.methods || p.options.methods.includes(method));
    const found = this.pending[index];
    if (!found) {
      return undefined;
    }
    found.remaining -= 1;
    if (found.remaining <= 0) {
      this.pending.splice(index, 1);
    }
    return found.options;
  }
}
