/**
 * Scrub worker (Piscina): read and verify the fragments of one extent, off the main
 * thread. Each fragment file is read by the addon, which checks its header checksum and
 * the payload's BLAKE3 against the hash the metadata holds before any byte reaches
 * JavaScript; here we also check that the header names this extent and index and that
 * the payload has the length the extent's layout calls for.
 *
 * Only verdicts travel back ({ ok } or { ok: false, code, message } per fragment): the
 * payloads stay in this thread and are dropped, so a scrub moves no data through the
 * main thread that serves the mount. Reads go a few at a time, so a scrub never takes
 * over the libuv pool that foreground reads share.
 *
 * Imports native/ only (and errors/, which native/ uses).
 */
import { fragRead } from '../native';

export interface FragmentCheck {
  /** Absolute path of the fragment file. */
  file: string;
  /** BLAKE3 of the payload, from the metadata. */
  hash: Uint8Array;
  extentId: Uint8Array;
  index: number;
  /** Payload length the extent's layout calls for. */
  length: number;
}

export interface ScrubTask {
  checks: FragmentCheck[];
  /** Fragment reads in flight at once. */
  concurrency: number;
}

export type CheckResult = { ok: true } | { ok: false; code: string; message: string };

async function check(c: FragmentCheck): Promise<CheckResult> {
  try {
    const { header, payload } = await fragRead(c.file, c.hash);
    if (!Buffer.from(header.extentId).equals(Buffer.from(c.extentId)) || header.index !== c.index) {
      return { ok: false, code: 'EFORMAT', message: `${c.file} holds fragment ${header.index} of extent ${Buffer.from(header.extentId).toString('hex')}, not this one` };
    }
    if (payload.length !== c.length) {
      return { ok: false, code: 'EFORMAT', message: `${c.file} has a ${payload.length}-byte payload; the extent's layout needs ${c.length}` };
    }
    return { ok: true };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, code: e.code ?? 'EIO', message: e.message ?? String(err) };
  }
}

export default async function scrub(task: ScrubTask): Promise<CheckResult[]> {
  const out: CheckResult[] = new Array<CheckResult>(task.checks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < task.checks.length) {
      const i = next++;
      out[i] = await check(task.checks[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(task.concurrency, task.checks.length)) }, lane));
  return out;
}
