import { useState } from 'preact/hooks';
import type { ApiError, Model } from '../../api';
import { usdAmount } from '../../money';
import { EmptyState } from '../../ui/states';
import { asApiError } from '../../ui/useApi';
import { ImageView } from './ImageView';
import { StudioError } from './StudioError';
import { generation, v1Error, type V1Fetch } from './v1';
import { UploadWarranty, useUploadWarranty } from './Warranty';

type Mode = 'generations' | 'edits' | 'variations';
const MODES: { id: Mode; label: string; hint: string }[] = [
  { id: 'generations', label: 'Generate', hint: 'New images from a prompt.' },
  { id: 'edits', label: 'Edit', hint: 'Change uploaded images as the prompt says; a mask marks where.' },
  { id: 'variations', label: 'Variation', hint: 'Variations of one uploaded image (DALL-E 2 and the demo model).' },
];
const SIZES = ['256x256', '512x512', '1024x1024', '1536x1024', '1024x1536', 'auto'];
const QUALITIES = ['low', 'medium', 'high', 'auto', 'standard'];
const MODERATION = [['', 'Provider default (not sent)'], ['auto', 'auto'], ['low', 'low']];

interface Result {
  images: { b64?: string; url?: string }[];
  format: string;
  requestId: string | null;
  tokens?: { input: number; output: number };
  cost?: string;
  costError?: string;
}

/** Generate, edit and vary images; the moderation level goes to the provider exactly as chosen. */
export function ImagePlayground({ models, call }: { models: Model[]; call: V1Fetch }) {
  const [mode, setMode] = useState<Mode>('generations');
  const [model, setModel] = useState(models[0]?.id ?? '');
  const [prompt, setPrompt] = useState('');
  const [size, setSize] = useState('');
  const [quality, setQuality] = useState('');
  const [n, setN] = useState('1');
  const [moderation, setModeration] = useState('');
  const [images, setImages] = useState<File[]>([]);
  const [mask, setMask] = useState<File>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [result, setResult] = useState<Result>();
  const warranty = useUploadWarranty(mode !== 'generations');

  if (!models.length) return <EmptyState title="No image models are available to your account." />;

  const body = (): { body: BodyInit; headers?: Record<string, string> } => {
    const fields: Record<string, string | number> = { model, n: Number(n) };
    if (mode !== 'variations') fields.prompt = prompt;
    if (size) fields.size = size;
    if (quality) fields.quality = quality;
    if (mode === 'generations') {
      if (moderation) fields.moderation = moderation;        // left out when the user leaves it to the provider
      return { body: JSON.stringify(fields), headers: { 'content-type': 'application/json' } };
    }
    const form = new FormData();
    Object.entries(fields).forEach(([name, value]) => form.append(name, String(value)));
    const part = mode === 'edits' && images.length > 1 ? 'image[]' : 'image';
    images.forEach((file) => form.append(part, file, file.name));
    if (mode === 'edits' && mask) form.append('mask', mask, mask.name);
    return { body: form };
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const response = await call(`/v1/images/${mode}`, { method: 'POST', ...body() });
      if (!response.ok) throw await v1Error(response);
      const answer = await response.json();
      const requestId = response.headers.get('x-request-id');
      const usage = answer.usage;
      const shown: Result = {
        images: answer.data.map((item: { b64_json?: string; url?: string }) => ({ b64: item.b64_json, url: item.url })),
        format: answer.output_format ?? 'png', requestId,
        tokens: usage ? { input: usage.input_tokens, output: usage.output_tokens } : undefined,
      };
      setResult(shown);
      if (requestId) {
        try {
          setResult({ ...shown, cost: (await generation(call, requestId)).cost_usd });
        } catch (failure) {
          setResult({ ...shown, costError: `The cost could not be read: ${asApiError(failure).message}` });
        }
      }
    } catch (failure) {
      const refused = asApiError(failure);
      if (refused.code === 'image_upload_terms_not_accepted') warranty.refused();
      setError(refused);
    }
    setBusy(false);
  };

  const uploads = mode !== 'generations';
  const blocked = uploads && warranty.state !== 'given';
  return (
    <div class="studio-images">
      <section class="card" aria-labelledby="images-heading">
        <h2 id="images-heading">Make images</h2>
        <form onSubmit={submit} class="studio-image-form">
          <fieldset class="modes">
            <legend>What to do</legend>
            {MODES.map((m) => (
              <label key={m.id} class="mode">
                <input type="radio" name="image-mode" value={m.id} checked={mode === m.id}
                  onChange={() => { setMode(m.id); setError(undefined); }} />
                <span><strong>{m.label}</strong> <span class="hint">{m.hint}</span></span>
              </label>
            ))}
          </fieldset>
          {uploads && <UploadWarranty warranty={warranty} />}
          <div class="field">
            <label for="image-model">Model</label>
            <select id="image-model" value={model} onChange={(event) => setModel(event.currentTarget.value)}>
              {models.map((m) => <option key={m.id} value={m.id}>{m.name} ({m.id})</option>)}
            </select>
          </div>
          {mode !== 'variations' && <div class="field">
            <label for="image-prompt">Prompt</label>
            <textarea id="image-prompt" rows={3} required value={prompt}
              onInput={(event) => setPrompt(event.currentTarget.value)} placeholder="A lighthouse at dusk" />
          </div>}
          {uploads && <div class="field">
            <label for="image-files">{mode === 'edits' ? 'Images' : 'Image'}</label>
            <input id="image-files" type="file" accept="image/png,image/jpeg,image/webp" required
              multiple={mode === 'edits'} aria-describedby="image-files-hint"
              onChange={(event) => setImages([...(event.currentTarget.files ?? [])])} />
            <p class="hint" id="image-files-hint">PNG, JPEG or WebP. They go to the provider and nowhere else.</p>
          </div>}
          {mode === 'edits' && <div class="field">
            <label for="image-mask">Mask (optional)</label>
            <input id="image-mask" type="file" accept="image/png" aria-describedby="image-mask-hint"
              onChange={(event) => setMask(event.currentTarget.files?.[0])} />
            <p class="hint" id="image-mask-hint">A PNG the size of the first image; its transparent pixels mark where
              to edit.</p>
          </div>}
          <div class="studio-params">
            <Choice id="image-size" label="Size" value={size} set={setSize} options={SIZES} />
            <Choice id="image-quality" label="Quality" value={quality} set={setQuality} options={QUALITIES} />
            <div class="field">
              <label for="image-n">Number of images</label>
              <input id="image-n" type="number" min={1} max={10} step={1} value={n} required
                onInput={(event) => setN(event.currentTarget.value)} />
            </div>
          </div>
          <details class="advanced">
            <summary>Advanced settings</summary>
            <div class="field">
              <label for="image-moderation">Moderation</label>
              <select id="image-moderation" value={uploads ? '' : moderation} disabled={uploads}
                aria-describedby="image-moderation-hint" onChange={(event) => setModeration(event.currentTarget.value)}>
                {MODERATION.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
              </select>
              <p class="hint" id="image-moderation-hint">
                {uploads ? 'Providers take a moderation level on generations only.'
                  : 'Sent to the provider exactly as chosen (terms §4.7), and recorded, without your prompt or '
                    + 'images, in the moderation log. “Provider default” sends none. At low, the provider’s '
                    + 'permanent safety lines still apply, and you are responsible for what you make.'}
              </p>
            </div>
          </details>
          {error && <StudioError error={error} />}
          <div class="actions">
            <button type="submit" class="button button-primary studio-send" disabled={busy || blocked || !model}
              aria-busy={busy}>
              {busy ? 'Working…' : MODES.find((m) => m.id === mode)!.label}
            </button>
          </div>
        </form>
      </section>
      <section class="card" aria-labelledby="image-results-heading" aria-busy={busy}>
        <h2 id="image-results-heading">Results</h2>
        {!result ? <p class="hint">Your images show here. AllToken does not keep them: save the ones you want.</p>
          : <ResultView result={result} prompt={mode === 'variations' ? 'variation' : prompt} />}
      </section>
    </div>
  );
}

function Choice({ id, label, value, set, options }: {
  id: string; label: string; value: string; set: (value: string) => void; options: string[];
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => set(event.currentTarget.value)}>
        <option value="">Model default</option>
        {options.map((option) => <option key={option} value={option}>{option}</option>)}
      </select>
    </div>
  );
}

function ResultView({ result, prompt }: { result: Result; prompt: string }) {
  return (
    <>
      <p class="turn-meta hint">
        {result.tokens && <span>{result.tokens.input} tokens in, {result.tokens.output} out</span>}
        {result.cost !== undefined && <span class="turn-cost">Cost {usdAmount(result.cost)}</span>}
        {result.costError && <span>{result.costError}</span>}
        {result.requestId && <code>{result.requestId}</code>}
      </p>
      <div class="studio-gallery">
        {result.images.map((image, i) => image.b64
          ? <ImageView key={`${result.requestId}-${i}`} b64={image.b64} format={result.format}
              label={`Image ${i + 1} of ${result.images.length}: ${prompt}`} number={i + 1}
              fileName={`${result.requestId ?? 'image'}-${i + 1}.${result.format}`} />
          : image.url && <p key={i}><a href={image.url} target="_blank" rel="noopener noreferrer">Open image {i + 1}
              </a> (the provider's link; it expires)</p>)}
      </div>
    </>
  );
}
