// The services' default limits on a message (design: a text part <= 64 KiB, a whole message <= 1 MiB), checked
// before sending so the user learns at once, in their terms, why a message cannot go. The services check again
// (their limits are configurable): what they refuse comes back as INVALID_ARGUMENT field violations, which the
// composer shows too.

export const MAX_TEXT_PART_BYTES = 64 * 1024;
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} bytes`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1).replace(/\.0$/, "")} KiB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MiB`;
}

/** Why a text message cannot be sent as it is, or undefined when it can. The app sends one text part. */
export function messageTooLarge(text: string): string | undefined {
  const bytes = utf8Bytes(text);
  const limit = Math.min(MAX_TEXT_PART_BYTES, MAX_MESSAGE_BYTES);
  if (bytes <= limit) {
    return undefined;
  }
  return `This message is ${formatBytes(bytes)}; a message can hold at most ${formatBytes(limit)} of text. Shorten it or split it into several messages.`;
}
