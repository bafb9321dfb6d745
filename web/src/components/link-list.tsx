// A list of links to chats or artifacts (home page, a chat's artifacts), each with a line of details. The link
// itself carries the test hook and holds only the title.
import { artifactHref, threadHref } from "../app/routes";

export interface LinkRow {
  kind: "chat" | "artifact";
  id: string;
  title: string;
  details: string;
}

function Link({ row }: { row: LinkRow }) {
  if (row.kind === "chat") {
    return (
      <a data-testid="chat-item" data-chat-id={row.id} href={threadHref(row.id)}>
        {row.title || "Untitled chat"}
      </a>
    );
  }
  return (
    <a data-testid="artifact-item" data-artifact-id={row.id} href={artifactHref(row.id)}>
      {row.title || "Untitled artifact"}
    </a>
  );
}

export function LinkList({ rows }: { rows: LinkRow[] }) {
  return (
    <ul className="links">
      {rows.map((row) => (
        <li key={row.id} className="links__item">
          <Link row={row} />
          <span className="links__meta">{row.details}</span>
        </li>
      ))}
    </ul>
  );
}
