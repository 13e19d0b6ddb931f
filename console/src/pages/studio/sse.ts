// Server-sent events from a fetch() response body, as they arrive: the data of each event, in order.
// (EventSource cannot POST or send an Authorization header, so the Studio reads the stream itself.)

/** Each event's `data` (its data lines joined), until the body ends; `[DONE]` included as sent. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = eventData(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data !== null) yield data;
      }
    }
    const last = eventData(buffer);
    if (last !== null) yield last;
  } finally {
    reader.releaseLock();
  }
}

function eventData(event: string): string | null {
  const lines = event.split('\n').filter((line) => line.startsWith('data:'));
  if (!lines.length) return null;
  return lines.map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
}
