// One client's network, switchable: while down its calls fail with UNAVAILABLE and its open streams break, as
// when a browser tab loses its connection while the backend keeps running for everyone else.
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";

export class MockNetwork {
  private up = true;
  private readonly onCut = new Set<() => void>();

  /** The connection drops: open streams fail, new calls fail, until restore(). */
  cut(): void {
    this.up = false;
    for (const notify of [...this.onCut]) {
      notify();
    }
  }

  restore(): void {
    this.up = true;
  }

  get isUp(): boolean {
    return this.up;
  }

  private failure(): ConnectError {
    return new ConnectError("network connection lost", Code.Unavailable);
  }

  /** Client interceptor applying this network to a transport (MockBackend.transport({ network })). */
  readonly interceptor: Interceptor = (next) => async (req) => {
    if (!this.up) {
      throw this.failure();
    }
    const response = await next(req);
    if (!response.stream) {
      return response;
    }
    return { ...response, message: this.guard(response) } as StreamResponse;
  };

  private async *guard(response: StreamResponse): AsyncGenerator<unknown> {
    const iterator = response.message[Symbol.asyncIterator]();
    let notify: () => void = () => undefined;
    const cut = new Promise<"cut">((resolve) => {
      notify = () => resolve("cut");
    });
    this.onCut.add(notify);
    try {
      for (;;) {
        if (!this.up) {
          throw this.failure();
        }
        const next = await Promise.race([iterator.next(), cut]);
        if (next === "cut") {
          throw this.failure();
        }
        if (next.done) {
          return;
        }
        yield next.value;
      }
    } finally {
      this.onCut.delete(notify);
      void iterator.return?.();
    }
  }
}
