import { useRef, useState } from 'preact/hooks';
import type { ApiError, Model } from '../../api';
import { perMillion, usdAmount } from '../../money';
import { EmptyState } from '../../ui/states';
import { asApiError } from '../../ui/useApi';
import type { ChatCall } from './snippets';
import { Snippets } from './Snippets';
import { sseData } from './sse';
import { StudioError } from './StudioError';
import { errorOf, generation, v1Error, type V1Fetch } from './v1';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  state?: 'streaming' | 'done' | 'stopped' | 'failed';
  error?: ApiError;
  requestId?: string;
  tokens?: { prompt: number; completion: number };
  cost?: string;                 // exact decimal USD, from GET /v1/generation
  costError?: string;
}

const PARAMS = [
  { name: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.1, hint: '0 to 2' },
  { name: 'max_tokens', label: 'Max tokens', min: 1, max: undefined, step: 1, hint: 'The longest reply' },
  { name: 'top_p', label: 'Top P', min: 0, max: 1, step: 0.05, hint: '0 to 1' },
] as const;
type Param = (typeof PARAMS)[number]['name'];

/** Chat with any chat model: a streamed reply, its tokens and exact cost, and the call as code. */
export function ChatPlayground({ models, call }: { models: Model[]; call: V1Fetch }) {
  const [model, setModel] = useState(models[0]?.id ?? '');
  const [system, setSystem] = useState('');
  const [params, setParams] = useState<Record<Param, string>>({ temperature: '', max_tokens: '', top_p: '' });
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState('');
  const stop = useRef<AbortController | null>(null);
  const streaming = turns.some((turn) => turn.state === 'streaming');

  if (!models.length) return <EmptyState title="No chat models are available to your account." />;

  const chatCall = (next?: string): ChatCall => ({
    model,
    messages: [
      ...(system.trim() ? [{ role: 'system', content: system }] : []),
      ...turns.filter((turn) => turn.role === 'user' || turn.content).map(({ role, content }) => ({ role, content })),
      ...(next ? [{ role: 'user', content: next }] : []),
    ],
    params: Object.fromEntries(PARAMS.filter((p) => params[p.name].trim() !== '')
      .map((p) => [p.name, Number(params[p.name])])),
  });

  const update = (index: number, change: Partial<Turn> | ((turn: Turn) => Partial<Turn>)) =>
    setTurns((all) => all.map((turn, i) => i === index ? { ...turn, ...(typeof change === 'function' ? change(turn) : change) }
      : turn));

  const send = async () => {
    const text = draft.trim();
    if (!text || streaming) return;
    const request = chatCall(text);
    const index = turns.length + 1;
    setTurns([...turns, { role: 'user', content: text }, { role: 'assistant', content: '', state: 'streaming' }]);
    setDraft('');
    const abort = new AbortController();
    stop.current = abort;
    try {
      const response = await call('/v1/chat/completions', {
        method: 'POST', signal: abort.signal, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: request.model, messages: request.messages, ...request.params, stream: true,
          stream_options: { include_usage: true } }),
      });
      if (!response.ok || !response.body) throw await v1Error(response);
      const requestId = response.headers.get('x-request-id') ?? undefined;
      update(index, { requestId });
      for await (const data of sseData(response.body)) {
        if (data === '[DONE]') break;
        const chunk = JSON.parse(data);
        if (chunk.error) throw errorOf(chunk.error, 502, 'The provider failed during the reply.');
        const piece: string = chunk.choices?.[0]?.delta?.content ?? '';
        const usage = chunk.usage;
        if (piece) update(index, (turn) => ({ content: turn.content + piece }));
        if (usage) update(index, { tokens: { prompt: usage.prompt_tokens, completion: usage.completion_tokens } });
      }
      update(index, { state: 'done' });
      if (requestId) await showCost(index, requestId);
    } catch (failure) {
      if (abort.signal.aborted) update(index, { state: 'stopped' });
      else update(index, { state: 'failed', error: asApiError(failure) });
    }
    stop.current = null;
  };

  const showCost = async (index: number, requestId: string) => {
    try {
      update(index, { cost: (await generation(call, requestId)).cost_usd });
    } catch (failure) {
      update(index, { costError: `The cost could not be read: ${asApiError(failure).message}` });
    }
  };

  const submit = (event: Event) => {
    event.preventDefault();
    send();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  };
  const chosen = models.find((m) => m.id === model);

  return (
    <div class="studio-chat">
      <section class="card studio-settings" aria-labelledby="chat-settings-heading">
        <h2 id="chat-settings-heading">Model and parameters</h2>
        <div class="field">
          <label for="chat-model">Model</label>
          <select id="chat-model" value={model} onChange={(event) => setModel(event.currentTarget.value)}>
            {models.map((m) => <option key={m.id} value={m.id}>{m.name} ({m.id})</option>)}
          </select>
          {chosen?.pricing.prompt && chosen.pricing.completion &&
            <p class="hint">${perMillion(chosen.pricing.prompt)} in, ${perMillion(chosen.pricing.completion)} out per
              million tokens{chosen.context_length ? `; ${chosen.context_length.toLocaleString()} tokens of context` : ''}.
            </p>}
        </div>
        <div class="field">
          <label for="chat-system">System prompt (optional)</label>
          <textarea id="chat-system" rows={3} value={system} onInput={(event) => setSystem(event.currentTarget.value)}
            placeholder="You are a helpful assistant." />
        </div>
        <div class="studio-params">
          {PARAMS.map((p) => (
            <div class="field" key={p.name}>
              <label for={`chat-${p.name}`}>{p.label}</label>
              <input id={`chat-${p.name}`} type="number" inputMode="decimal" min={p.min} max={p.max} step={p.step}
                value={params[p.name]} placeholder="Default" aria-describedby={`chat-${p.name}-hint`}
                onInput={(event) => setParams({ ...params, [p.name]: event.currentTarget.value })} />
              <p class="hint" id={`chat-${p.name}-hint`}>{p.hint}; empty: the model's default.</p>
            </div>
          ))}
        </div>
      </section>

      <section class="card studio-conversation" aria-labelledby="conversation-heading">
        <div class="toolbar">
          <h2 id="conversation-heading">Conversation</h2>
          <button type="button" class="button" disabled={!turns.length || streaming} onClick={() => setTurns([])}>
            Clear
          </button>
        </div>
        <div role="log" aria-live="polite" aria-label="Conversation">
          {turns.length === 0 ? <p class="hint">Nothing yet: write a message below.</p>
            : <ol class="turns">{turns.map((turn, i) => <TurnView key={i} turn={turn} />)}</ol>}
        </div>
        <form class="composer" onSubmit={submit}>
          <label for="chat-message">Message</label>
          <textarea id="chat-message" rows={3} value={draft} onInput={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={onKeyDown} aria-describedby="chat-message-hint" />
          <p class="hint" id="chat-message-hint">Enter sends; Shift+Enter starts a new line.</p>
          <div class="actions">
            {streaming
              ? <button type="button" class="button button-danger" onClick={() => stop.current?.abort()}>Stop</button>
              : <button type="submit" class="button button-primary studio-send" disabled={!draft.trim() || !model}>
                  Send
                </button>}
          </div>
        </form>
      </section>

      <Snippets call={chatCall(draft.trim())} />
    </div>
  );
}

function TurnView({ turn }: { turn: Turn }) {
  const streaming = turn.state === 'streaming';
  return (
    <li class={`turn turn-${turn.role}`} aria-busy={streaming}>
      <p class="turn-role">{turn.role === 'user' ? 'You' : 'Assistant'}</p>
      <div class="turn-text" data-testid={turn.role === 'assistant' ? 'reply' : undefined}>
        {turn.content || (streaming ? <span class="hint">Waiting for the first words…</span> : null)}
      </div>
      {turn.role === 'assistant' && <TurnMeta turn={turn} />}
      {turn.error && <StudioError error={turn.error} />}
    </li>
  );
}

function TurnMeta({ turn }: { turn: Turn }) {
  if (turn.state === 'streaming') return <p class="turn-meta hint">Streaming…</p>;
  if (turn.state === 'stopped') return <p class="turn-meta hint">Stopped. What the provider had produced is billed;
    see the Billing page.</p>;
  if (turn.state !== 'done') return null;
  return (
    <p class="turn-meta hint">
      {turn.tokens && <span>{turn.tokens.prompt} tokens in, {turn.tokens.completion} out</span>}
      {turn.cost !== undefined && <span class="turn-cost">Cost {usdAmount(turn.cost)}</span>}
      {turn.costError && <span>{turn.costError}</span>}
      {turn.requestId && <code>{turn.requestId}</code>}
    </p>
  );
}
