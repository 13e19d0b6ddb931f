import { useEffect, useRef, useState } from 'preact/hooks';

const TYPES: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', jpg: 'image/jpeg', webp: 'image/webp' };

/** One image from an API answer, drawn on a canvas from its base64 bytes (the console's Content-Security-
 * Policy loads images from this origin only, and AllToken stores no image: it lives in this page only),
 * with a link that saves it. */
export function ImageView({ b64, format, label, fileName, number }: {
  b64: string; format: string; label: string; fileName: string; number: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [href, setHref] = useState<string>();
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    const blob = new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: TYPES[format] ?? 'image/png' });
    const url = URL.createObjectURL(blob);
    setHref(url);
    let cancelled = false;
    createImageBitmap(blob).then((bitmap) => {
      const target = canvas.current;
      if (cancelled || !target) return;
      target.width = bitmap.width;
      target.height = bitmap.height;
      target.getContext('2d')?.drawImage(bitmap, 0, 0);
      bitmap.close();
    }, () => setProblem('This browser cannot show this image; save it to open it.'));
    return () => {
      cancelled = true;
      URL.revokeObjectURL(url);
    };
  }, [b64, format]);

  return (
    <figure class="studio-image">
      <canvas ref={canvas} role="img" aria-label={label} width={256} height={256} />
      <figcaption>
        {problem && <span class="field-error">{problem} </span>}
        {href && <a href={href} download={fileName}>Save image {number}</a>}
      </figcaption>
    </figure>
  );
}
