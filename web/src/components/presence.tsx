// Who else is here (initials and names, typing shown on each) and who is typing (a line above the composer). The
// names are what each user declared, or their user id; both are rendered as text. Each `presence-item` holds only
// the name: the initials are drawn by CSS from `data-initials`, so the hook's text is the name alone.
import type { LiveParticipant, PresenceStateName } from "@ameide/sdk/react";

const AVATAR_COLOURS = 8;

export function nameOf(person: LiveParticipant): string {
  return person.displayName || person.userId;
}

function initials(name: string): string {
  const words = name.split(/[\s._@-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[1]] : [name];
  return letters.map((word) => [...(word ?? "")][0] ?? "").join("").toUpperCase() || "?";
}

/** A colour per user, stable across pages and tabs (a class: the page's CSP allows no inline styles to rely on). */
function colourOf(userId: string): number {
  let hash = 0;
  for (const char of userId) {
    hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  }
  return hash % AVATAR_COLOURS;
}

export interface PresentPerson {
  person: LiveParticipant;
  state: PresenceStateName;
}

/** The people on the page's subject, as avatars with their names; typing ones say so. Nothing when alone. */
export function PresenceList({ people, label }: { people: readonly PresentPerson[]; label: string }) {
  if (people.length === 0) {
    return null;
  }
  return (
    <ul className="presence" aria-label={label}>
      {people.map(({ person, state }) => {
        const name = nameOf(person);
        return (
          <li
            key={person.userId}
            className={`presence__item presence__item--${state} avatar--c${colourOf(person.userId)}`}
            data-testid="presence-item"
            data-user-id={person.userId}
            data-state={state}
            data-initials={initials(name)}
            title={state === "typing" ? `${name} is typing…` : `${name} is here`}
          >
            {name}
          </li>
        );
      })}
    </ul>
  );
}

/** "Ada is typing…", "Ada and Bo are typing…", "3 people are typing…"; nothing when nobody is. */
export function TypingIndicator({ people }: { people: readonly LiveParticipant[] }) {
  const names = people.map(nameOf);
  const text =
    names.length === 0
      ? ""
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are typing…`
          : `${names.length} people are typing…`;
  return (
    <p className="typing-indicator" role="status" aria-live="polite">
      {text && <span data-testid="typing-indicator">{text}</span>}
    </p>
  );
}

/** Who is typing in any of these groups (a user once, however many they type in). */
export function typingIn(...groups: (readonly LiveParticipant[])[]): LiveParticipant[] {
  const typing = new Map<string, LiveParticipant>();
  for (const person of groups.flat()) {
    if (person.state === "typing" && !typing.has(person.userId)) {
      typing.set(person.userId, person);
    }
  }
  return [...typing.values()];
}
