import { useState } from 'preact/hooks';
import { type ChatCall, type Language, snippet } from './snippets';
import { TabList, TabPanel } from './Tabs';

const LANGUAGES: { id: Language; label: string }[] = [
  { id: 'python', label: 'Python' }, { id: 'javascript', label: 'JavaScript' }, { id: 'curl', label: 'curl' },
];

/** The current chat call as code to copy, in each language. */
export function Snippets({ call }: { call: ChatCall }) {
  const [language, setLanguage] = useState<Language>('python');
  const [copied, setCopied] = useState<string>();
  const baseUrl = `${location.origin}/v1`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(snippet(language, call, baseUrl));
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the code and copy it yourself.');
    }
  };
  return (
    <section class="card" aria-labelledby="snippet-heading">
      <div class="toolbar">
        <h2 id="snippet-heading">The same call in code</h2>
        <button type="button" class="button" onClick={copy}>Copy code</button>
      </div>
      <p class="hint">With your own API key in <code>ALLTOKEN_API_KEY</code> (make one on the API keys page). The
        conversation so far, and the message you are writing, are in it.</p>
      <TabList name="snippet" label="Language" tabs={LANGUAGES} selected={language}
        select={(id) => { setLanguage(id); setCopied(undefined); }} />
      {LANGUAGES.map((tab) => (
        <TabPanel key={tab.id} name="snippet" id={tab.id} selected={tab.id === language}>
          <pre class="code snippet"><code>{snippet(tab.id, call, baseUrl)}</code></pre>
        </TabPanel>
      ))}
      <p class="hint" role="status">{copied}</p>
    </section>
  );
}
