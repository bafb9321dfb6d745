// A BPMN diagram rendered with bpmn-js's NavigatedViewer (pan and zoom, no editing). This module is its own
// chunk (artifact-content.tsx imports it lazily), so pages without a diagram never download bpmn-js.
//
// Under the page's Content-Security-Policy (style-src 'self' 'unsafe-inline'), bpmn-js's stylesheets are bundled
// as files (the "?url" imports, see build.mjs) and linked when the first diagram is shown. A process without
// diagram interchange (BPMNDI: shapes and positions), as generated documents often are, is laid out first with
// bpmn-auto-layout, so it still shows as a diagram.
import { layoutProcess } from "bpmn-auto-layout";
import bpmnStyles from "bpmn-js/dist/assets/bpmn-js.css?url";
import diagramStyles from "bpmn-js/dist/assets/diagram-js.css?url";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import type Canvas from "diagram-js/lib/core/Canvas";
import type { Point } from "diagram-js/lib/util/Types";
import { useEffect, useRef, useState } from "react";

import { SourceText } from "./source-text";

let stylesheets: Promise<void> | undefined;

/** Links bpmn-js's stylesheets once per page; resolves when they apply (or failed: the diagram still renders). */
function loadStylesheets(): Promise<void> {
  stylesheets ??= Promise.all(
    [diagramStyles, bpmnStyles].map(
      (href) =>
        new Promise<void>((resolve) => {
          const link = document.createElement("link");
          link.rel = "stylesheet";
          link.href = href;
          link.onload = () => resolve();
          link.onerror = () => resolve();
          document.head.append(link);
        }),
    ),
  ).then(() => undefined);
  return stylesheets;
}

// Canvas.zoom("fit-viewport", center) centers the diagram for any truthy center (bpmn-js's own examples pass
// "auto"); its types ask for a Point.
const CENTERED = "auto" as unknown as Point;

function fitToView(viewer: NavigatedViewer): void {
  viewer.get<Canvas>("canvas").zoom("fit-viewport", CENTERED);
}

const HAS_DIAGRAM_INTERCHANGE = /<([\w.-]+:)?BPMNDiagram[\s>/]/;

type DiagramState = { phase: "rendering" } | { phase: "rendered"; laidOut: boolean } | { phase: "failed"; reason: string };

export default function BpmnDiagram({ xml, version }: { xml: string; version: bigint }) {
  const container = useRef<HTMLDivElement>(null);
  const viewer = useRef<NavigatedViewer>(null);
  const [state, setState] = useState<DiagramState>({ phase: "rendering" });

  useEffect(() => {
    if (!container.current) {
      return undefined;
    }
    const created = new NavigatedViewer({ container: container.current });
    viewer.current = created;
    return () => {
      created.destroy();
      viewer.current = null;
    };
  }, []);

  useEffect(() => {
    let current = true;
    const shown = viewer.current;
    if (!shown) {
      return undefined;
    }
    (async () => {
      await loadStylesheets();
      const laidOut = !HAS_DIAGRAM_INTERCHANGE.test(xml);
      const diagram = laidOut ? await layoutProcess(xml) : xml;
      if (!current) {
        return;
      }
      await shown.importXML(diagram);
      if (current) {
        fitToView(shown);
        setState({ phase: "rendered", laidOut });
      }
    })().catch((caught: unknown) => {
      if (current) {
        setState({ phase: "failed", reason: caught instanceof Error ? caught.message : String(caught) });
      }
    });
    return () => {
      current = false;
    };
  }, [xml, version]);

  const fit = () => viewer.current && fitToView(viewer.current);
  return (
    <div className="bpmn">
      <div
        ref={container}
        className={`diagram diagram--${state.phase}`}
        data-testid="bpmn-diagram"
        data-state={state.phase}
        role="img"
        aria-label="BPMN diagram (drag to pan, scroll to zoom)"
      />
      {state.phase === "rendered" && (
        <div className="diagram__tools">
          <button type="button" className="button--quiet" onClick={fit}>
            Fit to view
          </button>
          {state.laidOut && <span className="hint">Laid out automatically: the document has no diagram positions.</span>}
        </div>
      )}
      {state.phase === "failed" && (
        <div className="form-error" role="alert">
          This diagram cannot be drawn: {state.reason}
        </div>
      )}
      <SourceText text={xml} label="BPMN XML" />
    </div>
  );
}
