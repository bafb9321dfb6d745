// A wake-up signal shared by the mock's streams and the React bindings' retry loops.

/** A wake-up that is never lost: a fire() while nobody waits makes the next wait() return at once. */
export class Waker {
  private fired = false;
  private resolve: ((outcome: "fired" | "timeout") => void) | undefined;

  readonly fire = (): void => {
    this.fired = true;
    this.resolve?.("fired");
  };

  /** Resolves on the next fire(), or with "timeout" after `timeoutMs` (never when it is 0). */
  wait(timeoutMs: number): Promise<"fired" | "timeout"> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve("fired");
    }
    return new Promise((resolve) => {
      const timer = timeoutMs > 0 ? setTimeout(() => finish("timeout"), timeoutMs) : undefined;
      const finish = (outcome: "fired" | "timeout"): void => {
        clearTimeout(timer);
        this.fired = false;
        this.resolve = undefined;
        resolve(outcome);
      };
      this.resolve = finish;
    });
  }
}
