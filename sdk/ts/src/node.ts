// Node entry (@ameide/sdk/node): the typed clients over gRPC (HTTP/2) with @connectrpc/connect-node.
import type { Interceptor, Transport } from "@connectrpc/connect";
import { type Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";

import { type TokenSource, bearerAuth } from "./auth.js";
import { AmeideClient, type AmeideClientOptions } from "./client.js";

export interface NodeTransportOptions {
  /** `http://host:port` of a deployable (command 50051, query 50052) or of a gRPC gateway in front of both. */
  baseUrl: string;
  /** Bearer token, or a function returning the current one. */
  token?: TokenSource;
  interceptors?: Interceptor[];
  /** Own HTTP/2 session manager, e.g. to close idle sessions with `abort()` when done. */
  sessionManager?: Http2SessionManager;
}

/** A gRPC transport (HTTP/2 with prior knowledge, as the services speak it). */
export function createNodeTransport(options: NodeTransportOptions): Transport {
  const auth = options.token === undefined ? [] : [bearerAuth(options.token)];
  return createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors: [...auth, ...(options.interceptors ?? [])],
    ...(options.sessionManager ? { sessionManager: options.sessionManager } : {}),
  });
}

export interface NodeClientOptions extends AmeideClientOptions {
  /** The command deployable, or a gateway serving all four services. */
  commandUrl: string;
  /** The query deployable; default: `commandUrl` (a gateway). */
  queryUrl?: string;
  token?: TokenSource;
  interceptors?: Interceptor[];
}

/** The spec's AmeideClient on Node, talking to the command and query deployables (or one gateway). */
export function createNodeClient(options: NodeClientOptions): AmeideClient {
  const common = { token: options.token, interceptors: options.interceptors };
  const commands = createNodeTransport({ baseUrl: options.commandUrl, ...common });
  const queries = options.queryUrl ? createNodeTransport({ baseUrl: options.queryUrl, ...common }) : commands;
  return AmeideClient.withTransports({ commands, queries }, { retry: options.retry });
}

export { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
