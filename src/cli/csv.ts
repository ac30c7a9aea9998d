/**
 * CSV as RFC 4180 has it: records end in CRLF; a field holding a comma, a double quote,
 * CR or LF is enclosed in double quotes, and a double quote inside one is doubled.
 */
export function csvField(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record per row, the header first, each ending in CRLF. */
export function csv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return [header, ...rows].map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}
