// A scripted in-process Connect server (gRPC protocol over HTTP/2) standing in for the services in unit tests.
import { type AddressInfo } from "node:net";
import { type Http2Session, createServer } from "node:http2";

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";

import {
  ChatCommandService,
  ChatQueryService,
  type ChatUpdate,
  ChatUpdateSchema,
  type EnsureChatForArtifactAndSendMessageRequest,
  type EnsureChatForArtifactAndSendMessageResponse,
  EnsureChatForArtifactAndSendMessageResponseSchema,
} from "../../src/gen/ameide_core_proto/threads/v1/threads_service_pb.js";
import { StreamControl_Kind } from "../../src/gen/ameide_core_proto/threads/v1/threads_types_pb.js";
import {
  ArtifactQueryService,
  ArtifactUpdateSchema,
} from "../../src/gen/ameide_core_proto/artifacts/v1/artifacts_service_pb.js";

export function makeToken(seq: number, issuedAt = 1): string {
  return `${Buffer.from(JSON.stringify({ f: "feed", i: issuedAt, q: seq, t: "tenant" })).toString("base64url")}.bWFj`;
}

export function tokenSeq(token: string): number {
  if (!token) {
    return 0;
  }
  return (JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as { q: number }).q;
}

export interface Script {
  /** Codes the next EnsureChat... calls fail with, in order. */
  failures: Code[];
  calls: { request: EnsureChatForArtifactAndSendMessageRequest; authorization: string | null }[];
  responses: Map<string, EnsureChatForArtifactAndSendMessageResponse>;
  /** Stream: data updates 1..length; connection i breaks with breaks[i] = [code, after n updates]. */
  length: number;
  breaks: [Code, number][];
  /** A resumed stream re-sends this many updates before the resume point (at-least-once). */
  overlap: number;
  resumeTokens: string[];
  /** The consistencyToken of every chat and artifact stream opened, in order. */
  consistencyTokens: string[];
  /** The artifactId of every artifact stream opened (each sends SUBSCRIBED and one content update). */
  artifactIds: string[];
  /** A resume token below this seq is refused as RESUME_TOKEN_EXPIRED (0 = never). */
  expireBelow: number;
  /** GetMessages: ids of the chat's messages (the page token is the offset). */
  messages: string[];
}

/** google.rpc.ErrorInfo{reason} in protobuf binary (field 1, length-delimited). */
function errorInfo(reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason);
  return new Uint8Array([0x0a, text.length, ...text]);
}

function control(kind: StreamControl_Kind, seq: number): ChatUpdate {
  return create(ChatUpdateSchema, {
    update: { case: "control", value: { kind } },
    checkpointToken: makeToken(seq, 2),
  });
}

function routes(script: Script) {
  return (router: ConnectRouter): void => {
    router.rpc(ChatCommandService.method.ensureChatForArtifactAndSendMessage, async (request, context) => {
      script.calls.push({ request, authorization: context.requestHeader.get("authorization") });
      const failure = script.failures.shift();
      if (failure !== undefined) {
        throw new ConnectError("scripted", failure);
      }
      let response = script.responses.get(request.idempotencyKey);
      if (!response) {
        response = create(EnsureChatForArtifactAndSendMessageResponseSchema, {
          threadsId: request.threadsId || crypto.randomUUID(),
          persistedMessage: { id: crypto.randomUUID(), role: "user" },
          threadsCreated: !request.threadsId,
        });
        script.responses.set(request.idempotencyKey, response);
      }
      return response;
    });
    router.rpc(ChatQueryService.method.getMessages, (request) => {
      const start = Number(request.pageToken || "0");
      const size = request.pageSize || 50;
      const more = start + size < script.messages.length;
      return {
        messages: script.messages.slice(start, start + size).map((id) => ({ id })),
        nextPageToken: more ? String(start + size) : "",
        hasMore: more,
        totalCount: script.messages.length,
      };
    });
    router.rpc(ChatQueryService.method.streamChatUpdates, async function* (request) {
      const connection = script.resumeTokens.length;
      script.resumeTokens.push(request.resumeToken);
      script.consistencyTokens.push(request.consistencyToken);
      const after = tokenSeq(request.resumeToken);
      if (request.resumeToken && after < script.expireBelow) {
        // As the services answer: the reason travels as a google.rpc.ErrorInfo detail, not in the message.
        const error = new ConnectError("scripted", Code.FailedPrecondition);
        error.details.push({ type: "google.rpc.ErrorInfo", value: errorInfo("RESUME_TOKEN_EXPIRED") });
        throw error;
      }
      yield control(StreamControl_Kind.SUBSCRIBED, after);
      const [code, cutAfter] = script.breaks[connection] ?? [undefined, -1];
      let sent = 0;
      for (let seq = Math.max(1, after + 1 - script.overlap); seq <= script.length; seq++) {
        if (code !== undefined && sent === cutAfter) {
          throw new ConnectError("scripted", code);
        }
        yield create(ChatUpdateSchema, {
          update: { case: "message", value: { id: `m${seq}`, sequence: BigInt(seq) } },
          checkpointToken: makeToken(seq),
        });
        sent += 1;
      }
      yield control(StreamControl_Kind.CAUGHT_UP, script.length);
    });
    router.rpc(ArtifactQueryService.method.streamArtifactUpdates, async function* (request) {
      script.artifactIds.push(request.artifactId);
      script.consistencyTokens.push(request.consistencyToken);
      yield create(ArtifactUpdateSchema, { update: { case: "control", value: { kind: StreamControl_Kind.SUBSCRIBED } } });
      yield create(ArtifactUpdateSchema, {
        update: { case: "contentUpdated", value: { mimeType: "text/plain" } },
        checkpointToken: makeToken(1),
        version: 2n,
      });
    });
  };
}

export interface FakeServer {
  baseUrl: string;
  script: Script;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  const script: Script = {
    failures: [],
    calls: [],
    responses: new Map(),
    length: 10,
    breaks: [],
    overlap: 0,
    resumeTokens: [],
    consistencyTokens: [],
    artifactIds: [],
    expireBelow: 0,
    messages: [],
  };
  const server = createServer(connectNodeAdapter({ routes: routes(script) }));
  // Clients keep their HTTP/2 session open; close() would wait for them forever.
  const sessions = new Set<Http2Session>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) {
          session.destroy();
        }
      }),
  };
}

export function grpcTransport(baseUrl: string, interceptors: Parameters<typeof createGrpcTransport>[0]["interceptors"] = []) {
  return createGrpcTransport({ baseUrl, interceptors });
}

export { Code };
