/**
 * Human formatting for the CLI: sizes, tables, modes, times, and parsing of size
 * arguments. Pure functions over plain data; only output paths for humans use them
 * (`--json` prints raw numbers).
 */
import type { InodeKind } from '../meta/records';
import { DfsError } from '../errors';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; bytes below 1 KiB print exactly ("512 B"). */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const sign = n < 0 ? '-' : '';
  if (u === 0 || Number.isInteger(v)) return `${sign}${v} ${UNITS[u]}`;
  return `${sign}${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

const SIZE = /^(\d+)\s*(k|kib|m|mib|g|gib)?$/i;

/**
 * Parse a byte count from the command line: "4194304", "4M", "4MiB", "64k".
 * Suffixes are binary (1k = 1024), as extent sizes are. EINVAL names the option.
 */
export function parseBytes(text: string, option: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new DfsError('EINVAL', `${option} "${text}" is not a size (bytes, or with a suffix: 64k, 4M, 1G)`);
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').charAt(0).toLowerCase()] ?? 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new DfsError('EINVAL', `${option} "${text}" is too large`);
  return n;
}

export type Align = 'left' | 'right';

/**
 * An aligned text table: a header row, then rows. Columns whose header is in
 * `right` are right-aligned (numbers and sizes read better that way).
 */
export function table(headers: string[], rows: (string | number)[][], right: string[] = []): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r
    .map((cell, c) => (right.includes(headers[c]!) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
    .join('  ')
    .trimEnd();
  return cells.map(line).join('\n');
}

/** Aligned "key  value" lines, for single records (stat, status). */
export function keyValues(pairs: [string, string | number][], indent = ''): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`).join('\n');
}

const TYPE_CHAR: Record<InodeKind, string> = { file: '-', dir: 'd', symlink: 'l', fifo: 'p', socket: 's', chardev: 'c', blockdev: 'b' };

/** What `stat` calls each kind. */
export const KIND_NAME: Record<InodeKind, string> = { file: 'file', dir: 'directory', symlink: 'symbolic link', fifo: 'fifo',
  socket: 'socket', chardev: 'character device', blockdev: 'block device' };

/** ls -l style: "drwxr-xr-x" / "-rw-r--r--". */
export function modeString(kind: InodeKind, mode: number): string {
  const bits = 'rwxrwxrwx';
  let s = TYPE_CHAR[kind];
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

/** Local time "2024-05-01 13:45", the width ls -l users expect. */
export function timeString(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** "1 file" / "3 files". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
