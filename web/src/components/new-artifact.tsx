// The form that creates an artifact (title, kind, optional content), on the home page and from a chat. Like the
// composer, one idempotency key per user action: submitting the same values again after a failure reuses it, so
// a retry after a lost answer never creates a second artifact.
import { type AmeideError, newKey, toAmeideError } from "@ameide/sdk/react";
import { type FormEvent, useId, useRef, useState } from "react";

import { ARTIFACT_KINDS, type ArtifactKind } from "../app/format";
import { artifactHref } from "../app/routes";
import { ActionError } from "./action-error";

export interface NewArtifactInput {
  title: string;
  kind: ArtifactKind;
  content?: { mimeType: string; body: Uint8Array };
  idempotencyKey: string;
}

const encoder = new TextEncoder();

export function NewArtifactForm({ onCreate, note }: { onCreate: (input: NewArtifactInput) => Promise<{ artifactId: string }>; note?: string }) {
  const ids = { title: useId(), kind: useId(), content: useId() };
  const [title, setTitle] = useState("");
  const [kind, setKind] = useState<ArtifactKind>("bpmn");
  const [content, setContent] = useState("");
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<AmeideError>();
  const [created, setCreated] = useState<{ artifactId: string; title: string }>();
  const attempt = useRef<{ values: string; key: string }>(undefined);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (creating) {
      return;
    }
    const values = JSON.stringify([title, kind, content]);
    if (attempt.current?.values !== values) {
      attempt.current = { values, key: newKey() };
    }
    const mimeType = ARTIFACT_KINDS.find((known) => known.kind === kind)?.mimeType ?? "text/plain";
    const input: NewArtifactInput = {
      title: title.trim(),
      kind,
      idempotencyKey: attempt.current.key,
      ...(content.trim() ? { content: { mimeType, body: encoder.encode(content) } } : {}),
    };
    setCreating(true);
    setError(undefined);
    onCreate(input)
      .then(({ artifactId }) => {
        attempt.current = undefined;
        setCreated({ artifactId, title: input.title });
        setTitle("");
        setContent("");
      })
      .catch((caught: unknown) => setError(toAmeideError(caught)))
      .finally(() => setCreating(false));
  };

  return (
    <form className="new-artifact" onSubmit={onSubmit} aria-busy={creating} data-testid="new-artifact-form">
      {note && <p className="hint">{note}</p>}
      <div className="field">
        <label htmlFor={ids.title}>Title</label>
        <input id={ids.title} name="title" required value={title} onChange={(event) => setTitle(event.target.value)} placeholder="Order process" />
      </div>
      <div className="field">
        <label htmlFor={ids.kind}>Kind</label>
        <select id={ids.kind} name="kind" value={kind} onChange={(event) => setKind(event.target.value as ArtifactKind)}>
          {ARTIFACT_KINDS.map((known) => (
            <option key={known.kind} value={known.kind}>
              {known.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.content}>
          Content <span className="hint">(optional{kind === "bpmn" ? ": BPMN 2.0 XML" : ""})</span>
        </label>
        <textarea id={ids.content} name="content" rows={4} value={content} onChange={(event) => setContent(event.target.value)} spellCheck={kind === "document"} />
      </div>
      <div className="button-row">
        <button type="submit" data-testid="create-artifact">
          {creating ? "Creating…" : "Create artifact"}
        </button>
      </div>
      <ActionError error={error} action="create the artifact" />
      {created && (
        <p className="notice" role="status">
          Created <a href={artifactHref(created.artifactId)}>{created.title}</a>.
        </p>
      )}
    </form>
  );
}
