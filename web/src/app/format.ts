// Small formatting helpers shared by the pages: dates, relation and visibility names, artifact content as text.
import { ChatVisibility, RelationType } from "@ameide/sdk";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** "14:05" today, "3 Mar 2025, 14:05" otherwise; "" when unknown. */
export function when(timestamp: Timestamp | undefined): string {
  if (!timestamp) {
    return "";
  }
  const date = timestampDate(timestamp);
  return date.toDateString() === new Date().toDateString() ? timeOfDay.format(date) : dayAndTime.format(date);
}

/** ISO form for <time dateTime>. */
export function isoTime(timestamp: Timestamp | undefined): string | undefined {
  return timestamp ? timestampDate(timestamp).toISOString() : undefined;
}

export function relationName(relation: RelationType): string {
  switch (relation) {
    case RelationType.CREATED:
      return "created here";
    case RelationType.MODIFIED:
      return "modified here";
    case RelationType.REFERENCED:
      return "referenced";
    default:
      return "linked";
  }
}

export const VISIBILITY_CHOICES = [
  { value: ChatVisibility.PRIVATE, label: "Private", hint: "only you" },
  { value: ChatVisibility.TEAM, label: "Team", hint: "everyone in your workspace can read and write" },
  { value: ChatVisibility.PUBLIC, label: "Public", hint: "as Team, and anyone signed in can read it by link" },
] as const;

export function visibilityName(visibility: ChatVisibility): string {
  return VISIBILITY_CHOICES.find((choice) => choice.value === visibility)?.label ?? "Private";
}

/** The artifact kinds the app creates, with the content type their text is stored as. */
export const ARTIFACT_KINDS = [
  { kind: "bpmn", label: "BPMN diagram", mimeType: "application/bpmn+xml" },
  { kind: "document", label: "Document", mimeType: "text/markdown" },
  { kind: "code", label: "Code", mimeType: "text/plain" },
] as const;

export type ArtifactKind = (typeof ARTIFACT_KINDS)[number]["kind"];

export function kindLabel(kind: string): string {
  return ARTIFACT_KINDS.find((known) => known.kind === kind)?.label ?? kind;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The content as text, or undefined when it is not UTF-8 text (binary content is described, not shown). */
export function contentText(body: Uint8Array): string | undefined {
  try {
    return decoder.decode(body);
  } catch {
    return undefined;
  }
}
