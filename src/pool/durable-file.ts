/** Small files that must survive a crash whole: tmp → fsync → rename → fsync(dir). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3 } from '../native';
import { DfsError } from '../errors';

export function writeFileDurable(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    if (typeof data === "string") fs.writeSync(fd, data);
    else fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A JSON document with its own BLAKE3: `{ ...body, checksum }` where checksum is the
 * hex BLAKE3 of JSON.stringify(body). Callers build `body` with a fixed key order.
 */
export function sealJson(body: Record<string, unknown>): string {
  const checksum = blake3(Buffer.from(JSON.stringify(body))).toString('hex');
  return `${JSON.stringify({ ...body, checksum }, null, 2)}\n`;
}

/** Parse and verify a sealed document; what names the file in errors. */
export function openJson(text: string, what: string, file: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new DfsError('EFORMAT', `${what} ${file} is not valid JSON`, file);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new DfsError('EFORMAT', `${what} ${file} is not a JSON object (damaged or replaced)`, file);
  }
  const { checksum, ...body } = doc;
  const want = blake3(Buffer.from(JSON.stringify(body))).toString('hex');
  if (checksum !== want) throw new DfsError('EFORMAT', `${what} ${file} fails its checksum (damaged or edited by hand)`, file);
  return body;
}
