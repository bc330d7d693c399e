/**
 * The admin commands' text output: aligned tables and key-value blocks, hand-written (a few lines of
 * padding; no dependency). Every command prints the API's JSON instead with `--json`.
 */

/** A cell: nothing is `-`, a yes/no is `yes`/`no`, a time is ISO to the second (UTC). */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value instanceof Date) return time(value);
  if (typeof value === 'string') return value === '' ? '-' : oneLine(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(', ');
  return oneLine(JSON.stringify(value));
}

/** A time as `2026-12-03 02:35:57Z`, or `never`. */
export function time(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return 'never';
  if (value === '') return '-';
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');

/** Columns padded to their widest cell, two spaces apart; the first row is the header. The last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `key: value` lines with the values aligned. */
export function keyValue(entries: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...entries.map(([key]) => key.length + 1));
  return entries.map(([key, value]) => `${`${key}:`.padEnd(width)}  ${value}`.trimEnd()).join('\n');
}

/** An object's fields as a key-value block (nested values on one line). */
export function fields(value: object): string {
  return keyValue(Object.entries(value).map(([key, v]) => [key, cell(v)] as const));
}

/** A count with its noun: `1 record`, `3 records`. */
export const count = (n: number, noun: string, plural = `${noun}s`): string => `${n} ${n === 1 ? noun : plural}`;

/** What a topology change queued, per site: `site 2: 14, site 3: 0`, or `nothing`. */
export function queuedText(queued: Readonly<Record<string, number>>): string {
  const entries = Object.entries(queued);
  return entries.length === 0 ? 'nothing' : entries.map(([site, n]) => `site ${site}: ${n}`).join(', ');
}
