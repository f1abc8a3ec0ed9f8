/** A time for people, in the page's language; '—' when there is none. */
export function formatTime(iso: string | null | undefined, language: string): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
}

/**
 * The last characters of an id, to tell ids apart at a glance (the whole id is one click away). The
 * end, not the start: ids made at about the same time (UUIDv7) share their first characters.
 */
export function shortId(id: string): string {
  return id.length > 10 ? `…${id.slice(-8)}` : id;
}

/** A datetime-local input's value as an ISO time (its local time), or null when empty or invalid. */
export function localToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Copies text to the clipboard; false where the browser offers none (an insecure origin) or refuses. */
export async function copyText(text: string): Promise<boolean> {
  if (!navigator.clipboard) return false;
  return navigator.clipboard.writeText(text).then(() => true, () => false);
}
