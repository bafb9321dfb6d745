// The message composer: a text area and a send button over the SDK's useComposer (one idempotency key per user
// action: a double click sends once, a retry after a failure never duplicates). Enter sends, Shift+Enter breaks
// the line. The send button is never disabled: a click while sending joins the send in flight. Leaving the text
// area tells the others the user stopped typing (useComposer's presence says when they type).
import type { Composer as ComposerState } from "@ameide/sdk/react";
import { type FormEvent, type KeyboardEvent, useId, useState } from "react";

import { explain } from "../app/errors";
import { messageTooLarge } from "../app/limits";
import { Violations } from "./violations";

export function Composer<R>({ composer, label, placeholder }: { composer: ComposerState<R>; label: string; placeholder: string }) {
  const inputId = useId();
  const problemId = useId();
  const [tooLarge, setTooLarge] = useState<string>();
  const submit = () => {
    const problem = messageTooLarge(composer.text);
    setTooLarge(problem);
    if (!problem) {
      void composer.submit();
    }
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    submit();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };
  const failure = composer.error ? explain(composer.error, "send the message") : undefined;
  const problem = tooLarge ?? failure?.message;
  return (
    <form className="composer" onSubmit={onSubmit} aria-busy={composer.sending}>
      <label htmlFor={inputId} className="visually-hidden">
        {label}
      </label>
      <textarea
        id={inputId}
        data-testid="message-input"
        className="composer__input"
        rows={2}
        placeholder={placeholder}
        value={composer.text}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? problemId : undefined}
        onChange={(event) => {
          composer.setText(event.target.value);
          if (tooLarge) {
            setTooLarge(messageTooLarge(event.target.value));
          }
        }}
        onKeyDown={onKeyDown}
        onBlur={composer.onBlur}
      />
      <button type="submit" data-testid="send-button" className="composer__send">
        {composer.sending ? "Sending…" : "Send"}
      </button>
      {problem && (
        <div id={problemId} className="form-error composer__error" role="alert" data-testid="composer-error">
          {problem}
          {failure && !tooLarge && <Violations violations={failure.violations} />}
        </div>
      )}
    </form>
  );
}
