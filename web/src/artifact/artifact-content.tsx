// An artifact's content shown as its kind: a BPMN diagram as a diagram (the viewer is a separate chunk, loaded
// only when a diagram is shown), documents as wrapped text, code in a <pre>. Re-renders when the content changes.
import type { ArtifactView } from "@ameide/sdk";
import { Component, type ReactNode, Suspense, lazy } from "react";

import { contentText } from "../app/format";
import { formatBytes } from "../app/limits";
import { SourceText } from "./source-text";

const BpmnDiagram = lazy(() => import("./bpmn-diagram"));

/** Shows `fallback` when the diagram chunk cannot be loaded (e.g. the network dropped while fetching it). */
class ChunkBoundary extends Component<{ fallback: ReactNode; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}

function isBpmn(artifact: ArtifactView): boolean {
  return artifact.kind === "bpmn" || artifact.content?.mimeType === "application/bpmn+xml";
}

export function ArtifactContent({ artifact }: { artifact: ArtifactView }) {
  const body = artifact.content?.body ?? new Uint8Array();
  if (body.length === 0) {
    return (
      <p className="empty" data-testid="artifact-content" data-kind={artifact.kind}>
        This artifact has no content yet.
      </p>
    );
  }
  const text = contentText(body);
  if (text === undefined) {
    return (
      <p className="empty" data-testid="artifact-content" data-kind={artifact.kind}>
        {formatBytes(body.length)} of {artifact.content?.mimeType || "binary content"}, which cannot be shown here.
      </p>
    );
  }
  if (isBpmn(artifact)) {
    const asText = <SourceText text={text} label="BPMN XML" />;
    return (
      <div className="artifact-content artifact-content--bpmn" data-testid="artifact-content" data-kind={artifact.kind}>
        <ChunkBoundary fallback={<div role="alert">The diagram viewer could not be loaded; the diagram's XML follows. {asText}</div>}>
          <Suspense fallback={<div className="diagram diagram--loading">Loading the diagram viewer…</div>}>
            <BpmnDiagram xml={text} version={artifact.version} />
          </Suspense>
        </ChunkBoundary>
      </div>
    );
  }
  return (
    <div className={`artifact-content artifact-content--${artifact.kind === "code" ? "code" : "text"}`} data-testid="artifact-content" data-kind={artifact.kind}>
      {artifact.kind === "code" ? (
        <pre className="code">
          <code>{text}</code>
        </pre>
      ) : (
        <div className="document">{text}</div>
      )}
    </div>
  );
}
