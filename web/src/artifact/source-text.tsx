// An artifact's source text, folded away under a summary (e.g. the XML under a diagram).
export function SourceText({ text, label }: { text: string; label: string }) {
  return (
    <details className="source">
      <summary>{label}</summary>
      <pre className="code">
        <code>{text}</code>
      </pre>
    </details>
  );
}
