const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** An API time (ISO 8601) in the reader's own time zone and language. */
export function when(iso: string): string {
  return WHEN.format(new Date(iso));
}
