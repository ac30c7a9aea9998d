/**
 * Writing and reading manifests (manifest-format.ts). A manifest is written to REPO/tmp
 * and renamed into backups/ once its end record is on disk (fsynced, the directory
 * too), so a manifest in backups/ is whole; reading verifies every record and the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { blake3Hasher } from '../native';
import type { Blake3HasherInstance } from '../native/types';
import { fsyncDir } from '../pool/durable-file';
import {
  encodeRecord, entryBody, entryFromBody, manifestFileHeader, ManifestDecoder, RecordType,
  type ManifestEnd, type ManifestEntry, type ManifestHeader, type RawRecord,
} from './manifest-format';

const FLUSH_BYTES = 1 << 20;

export class ManifestWriter {
  private chunks: Buffer[] = [];
  private pending = 0;
  private readonly hasher: Blake3HasherInstance = blake3Hasher();
  private entries = 0;

  private constructor(private readonly fh: fs.promises.FileHandle, private readonly tmp: string, private readonly final: string) {}

  /** Start a manifest at `tmp`, to become `final`, with its header record. */
  static async create(tmp: string, final: string, header: ManifestHeader): Promise<ManifestWriter> {
    const fh = await fs.promises.open(tmp, 'w', 0o644);
    const w = new ManifestWriter(fh, tmp, final);
    w.chunks.push(manifestFileHeader(), encodeRecord(RecordType.Header, header));
    return w;
  }

  /** Add an entry; a promise (to await) only when the buffered records are written out. */
  add(e: ManifestEntry): Promise<void> | undefined {
    return this.addFrame(encodeRecord(RecordType.Entry, entryBody(e)));
  }

  /**
   * An entry record as another manifest holds it (verified when it was read). Returns a
   * promise only when it writes: an incremental copies thousands of frames a second, and a
   * promise each cost more than the copy.
   */
  addFrame(frame: Buffer): Promise<void> | undefined {
    this.hasher.update(frame.subarray(frame.length - 16));
    this.entries++;
    this.chunks.push(frame);
    this.pending += frame.length;
    return this.pending >= FLUSH_BYTES ? this.flush() : undefined;
  }

  get count(): number {
    return this.entries;
  }

  private async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.pending = 0;
    await this.fh.writev(chunks);
  }

  /** Write the end record, make the file durable and rename it into place. */
  async finish(end: Omit<ManifestEnd, 'entries' | 'entriesHash'>): Promise<void> {
    this.chunks.push(encodeRecord(RecordType.End, { ...end, entries: this.entries, entriesHash: this.hasher.digest() }));
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    await fs.promises.rename(this.tmp, this.final);
    fsyncDir(path.dirname(this.final));
  }

  /** Give up: the temporary file goes. */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await fs.promises.rm(this.tmp, { force: true });
  }
}

export interface ManifestRead {
  header: ManifestHeader;
  end: ManifestEnd;
}

/**
 * Every record of manifest `file`, verified, in order: the header first, then each entry
 * (with its frame, to copy unchanged), and the end checked against them. EFORMAT naming
 * the file and offset when anything is wrong.
 */
export async function* readManifest(file: string): AsyncGenerator<{ header: ManifestHeader } | { entry: ManifestEntry; raw: RawRecord } | { end: ManifestEnd }> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DfsError(code === 'ENOENT' ? 'ENOENT' : 'EIO', `manifest ${file} cannot be read: ${(err as Error).message}`, file);
  }
  const dec = new ManifestDecoder(file);
  const hasher = blake3Hasher();
  let header: ManifestHeader | undefined;
  let end: ManifestEnd | undefined;
  let entries = 0;
  const bad = (why: string, offset = dec.offset): DfsError => new DfsError('EFORMAT', `manifest ${file} ${why} at offset ${offset}`, file, { offset });
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      for (const r of dec.push(Buffer.from(buf.subarray(0, bytesRead)))) {
        if (end) throw bad('has records after its end', r.offset);
        if (r.type === RecordType.Header) {
          if (header) throw bad('has a second header', r.offset);
          header = r.body as ManifestHeader;
          if (header?.format !== 'dynamicfs-backup-manifest' || typeof header.id !== 'string') throw bad('has a header that is not a manifest\'s', r.offset);
          yield { header };
        } else if (!header) {
          throw bad('does not start with its header', r.offset);
        } else if (r.type === RecordType.Entry) {
          entries++;
          hasher.update(r.hash);
          yield { entry: entryFromBody(r.body, `manifest ${file} at offset ${r.offset}`), raw: r };
        } else {
          end = r.body as ManifestEnd;
          if (end?.entries !== entries || !Buffer.isBuffer(end.entriesHash) || !end.entriesHash.equals(hasher.digest())) {
            throw bad(`has an end record that does not match its ${entries} entries`, r.offset);
          }
        }
      }
    }
  } finally {
    await fh.close();
  }
  if (!end) throw bad(dec.leftover ? `is cut short (${dec.leftover} bytes of a partial record)` : 'is cut short (no end record)');
  yield { end };
}

/** Just the header and end of a manifest (reading it through, verified). */
export async function manifestSummary(file: string): Promise<ManifestRead> {
  let header: ManifestHeader | undefined;
  let end: ManifestEnd | undefined;
  for await (const r of readManifest(file)) {
    if ('header' in r) header = r.header;
    else if ('end' in r) end = r.end;
  }
  return { header: header!, end: end! };
}

/** The entries of manifest `file`, verified (the header and end checked, not returned). */
export async function* manifestEntries(file: string): AsyncGenerator<ManifestEntry> {
  for await (const r of readManifest(file)) if ('entry' in r) yield r.entry;
}
