import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

/** A secret the server shows this once: selectable, with a copy button, and a way to put it away. */
export function SecretOnce({ title, secret, children, onDone }: {
  title: string; secret: string; children?: ComponentChildren; onDone: () => void;
}) {
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the key and copy it yourself.');
    }
  };
  return (
    <section class="card secret" aria-labelledby="secret-heading">
      <h2 id="secret-heading">{title}</h2>
      <p>Copy it now: this is the only time it is shown. AllToken keeps only a hash of it.</p>
      <div class="secret-row">
        <label class="visually-hidden" for="new-secret">The new secret</label>
        <input id="new-secret" class="secret-value" readOnly value={secret}
          onFocus={(event) => event.currentTarget.select()} />
        <button type="button" class="button button-primary" onClick={copy}>Copy</button>
      </div>
      <p class="hint" role="status">{copied}</p>
      {children}
      <button type="button" class="button" onClick={onDone}>I have copied it</button>
    </section>
  );
}
