// Opaque tokens shaped as the services make them: base64url(JSON payload, keys sorted) "." base64url(mac).
// The SDK reads a resume token's `q` (feed sequence) to drop replayed updates, so the payload keys match the
// services' ({t: tenant, f: feed, q: seq, i: issued_at seconds}). The mac is a keyed checksum, not a signature:
// enough to answer a tampered or foreign token as the services do, in memory and synchronously.
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";

export type TokenKind = "resume" | "page" | "consistency";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function sortedJson(payload: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(payload).sort()) {
    sorted[key] = payload[key];
  }
  return JSON.stringify(sorted);
}

export class TokenCodec {
  constructor(private readonly secret: string) {}

  private mac(kind: TokenKind, body: string): string {
    const text = `${this.secret}\0${kind}\0${body}`;
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, fnv1a(text, 0x811c9dc5));
    view.setUint32(4, fnv1a(text, 0x01000193));
    return base64Encode(bytes, "url");
  }

  encode(kind: TokenKind, payload: Record<string, unknown>): string {
    const body = sortedJson(payload);
    return `${base64Encode(encoder.encode(body), "url")}.${this.mac(kind, body)}`;
  }

  /** The payload of a genuine token of `kind`, or undefined for anything else. */
  decode(kind: TokenKind, token: string): Record<string, unknown> | undefined {
    const [bodyText, macText, ...rest] = token.split(".");
    if (!bodyText || !macText || rest.length > 0) {
      return undefined;
    }
    try {
      const body = decoder.decode(base64Decode(bodyText));
      if (this.mac(kind, body) !== macText) {
        return undefined;
      }
      const payload: unknown = JSON.parse(body);
      return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}
