// MockBackend: the four services in memory, behind a Connect router transport, for frontend tests.
import { type ConnectRouter, type Interceptor, type Transport, createContextKey, createRouterTransport } from "@connectrpc/connect";

import { type TokenSource, bearerAuth } from "../auth.js";
import { AmeideClient, type AmeideClientOptions } from "../client.js";
import { ArtifactCommandService, ArtifactQueryService } from "../gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";
import { ChatCommandService, ChatQueryService } from "../gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import { DraftService, PresenceService } from "../gen/ameide_core_proto/live/v1/live_service_pb.js";
import { artifactCommands } from "./artifact-commands.js";
import { artifactQueries } from "./artifact-queries.js";
import { chatCommands } from "./chat-commands.js";
import { chatQueries } from "./chat-queries.js";
import { draftService } from "./draft-service.js";
import { presenceService } from "./presence-service.js";
import type { Faults } from "./faults.js";
import type { MockNetwork } from "./network.js";
import { CALLER, type MockUser } from "./identity.js";
import { type MockBackendOptions, MockRuntime, type RecordedCall } from "./runtime.js";
import type { Identity } from "./state.js";

const RECORDED = createContextKey<RecordedCall | undefined>(undefined, { description: "the call as recorded" });

export interface MockTransportOptions {
  /** Bearer token of the caller (e.g. `user.token`, or `() => localStorage.getItem("ameide.token")`). */
  token?: TokenSource;
  /** Client interceptors (run before the call reaches the mock). */
  interceptors?: Interceptor[];
  /** This client's network: `network.cut()` drops its streams and fails its calls until `network.restore()`. */
  network?: MockNetwork;
}

/**
 * An in-memory Ameide Threads: ChatCommandService, ChatQueryService, ArtifactCommandService,
 * ArtifactQueryService, PresenceService and DraftService with the services' rules (tenancy, visibility,
 * pagination, idempotency, live streams with checkpoints and live signals), served through `createRouterTransport`,
 * so requests and responses go through real protobuf serialization and Connect's error model.
 *
 * ```ts
 * const backend = new MockBackend();
 * const alice = backend.signIn();                       // a user of a new tenant
 * const client = backend.client(alice.token);           // AmeideClient over the in-memory transport
 * backend.faults.failNext(2);                           // the next two calls fail with UNAVAILABLE
 * ```
 */
export class MockBackend {
  private readonly runtime: MockRuntime;

  constructor(options: MockBackendOptions = {}) {
    this.runtime = new MockRuntime(options);
  }

  /**
   * Failure injection: failNext, setUnavailable, endStreams, heartbeat, expireResumeTokens, expirePresence,
   * lapseTyping, expireDrafts, reset.
   */
  get faults(): Faults {
    return this.runtime.faults;
  }

  /** Every call received, oldest first (also those that failed). */
  get calls(): readonly RecordedCall[] {
    return this.runtime.calls;
  }

  /** Number of live streams open now. */
  get openStreams(): number {
    return this.runtime.open.size;
  }

  /** A caller: `tenantId` / `userId` default to fresh UUIDs (a new tenant each time unless given). */
  signIn(identity: Partial<Identity> = {}): MockUser {
    return this.runtime.identities.issue({
      userId: identity.userId ?? crypto.randomUUID(),
      tenantId: identity.tenantId ?? crypto.randomUUID(),
    });
  }

  /** From now on the token is refused (UNAUTHENTICATED, TOKEN_EXPIRED). */
  expireToken(token: string): void {
    this.runtime.identities.expire(token);
  }

  /**
   * The mock as Connect handler options, to serve it over HTTP (e.g. `connectNodeAdapter(backend.handlerOptions())`
   * speaks gRPC, gRPC-Web and Connect): a page under test can then use the real web transport against it.
   */
  handlerOptions(): { routes: (router: ConnectRouter) => void; interceptors: Interceptor[] } {
    return { routes: (router) => this.routes(router), interceptors: this.serverInterceptors() };
  }

  private routes(router: ConnectRouter): void {
    const rt = this.runtime;
    router.service(ChatCommandService, chatCommands(rt));
    router.service(ChatQueryService, chatQueries(rt));
    router.service(ArtifactCommandService, artifactCommands(rt));
    router.service(ArtifactQueryService, artifactQueries(rt));
    router.service(PresenceService, presenceService(rt));
    router.service(DraftService, draftService(rt));
  }

  private serverInterceptors(): Interceptor[] {
    const rt = this.runtime;
    // Outermost first: every call is recorded, then faults apply (a stopped backend fails before auth), then auth.
    const record: Interceptor = (next) => (req) => {
      const call: RecordedCall = { method: req.method.name, request: req.message as RecordedCall["request"], caller: undefined };
      rt.calls.push(call);
      req.contextValues.set(RECORDED, call);
      if (!req.stream) {
        return next(req);
      }
      // A server-streaming call's request arrives as a stream of one message: note it as it is read.
      const messages = req.message;
      async function* noted(): AsyncGenerator<RecordedCall["request"]> {
        for await (const message of messages) {
          call.request = message;
          yield message;
        }
      }
      return next({ ...req, message: noted() });
    };
    const authenticate: Interceptor = (next) => (req) => {
      const caller = rt.identities.authenticate(req.header);
      const call = req.contextValues.get(RECORDED);
      if (call) {
        call.caller = caller;
      }
      req.contextValues.set(CALLER, caller);
      return next(req);
    };
    return [record, rt.faults.interceptor, authenticate];
  }

  /** A Connect transport to the mock; the caller is whoever its bearer token names. */
  transport(options: MockTransportOptions = {}): Transport {
    const clientInterceptors = [
      ...(options.network ? [options.network.interceptor] : []),
      ...(options.token === undefined ? [] : [bearerAuth(options.token)]),
      ...(options.interceptors ?? []),
    ];
    return createRouterTransport((router) => this.routes(router), {
      router: { interceptors: this.serverInterceptors() },
      transport: { interceptors: clientInterceptors },
    });
  }

  /** The spec's AmeideClient over the mock, calling as the owner of `token`. */
  client(token: TokenSource, options: AmeideClientOptions & Omit<MockTransportOptions, "token"> = {}): AmeideClient {
    return new AmeideClient(this.transport({ ...options, token }), options);
  }

  /** Ends every open stream (as a server shutting down) and the expiry timer; call after a test so nothing keeps running. */
  close(): void {
    this.runtime.faults.endStreams();
    this.runtime.live.close();
  }
}
