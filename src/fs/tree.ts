/**
 * Whole trees: put a local directory into the pool and get a pool directory back.
 * Each file is its own transaction (put is per-file atomic); directories are created
 * first. Symlinks and special files are skipped and reported, never followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../engine/engine';
import type { Policy } from '../pool/policy';
import { MODE_BITS } from './file-types';
import { getFile, putFile } from './files';
import { ensureDir, resolve } from './namespace';
import { fileSource } from './sources';

export interface TreeResult {
  files: number;
  dirs: number;
  bytes: number;
  skipped: string[];
}

/** Local files under `dir` (depth first) with sizes, for progress totals. */
export function scanLocal(dir: string): { files: { rel: string; size: number }[]; dirs: string[]; skipped: string[] } {
  const out = { files: [] as { rel: string; size: number }[], dirs: [] as string[], skipped: [] as string[] };
  const walk = (rel: string) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        out.dirs.push(r);
        walk(r);
      } else if (ent.isFile()) {
        out.files.push({ rel: r, size: fs.statSync(path.join(dir, r)).size });
      } else {
        out.skipped.push(r);
      }
    }
  };
  walk('');
  return out;
}

const join = (a: string, b: string) => `${a.replace(/\/+$/, '')}/${b}`;

/** Put one local file at poolPath. */
export async function putLocalFile(engine: Engine, src: string, poolPath: string, policy: Policy | undefined, onProgress?: (n: number) => void) {
  const fh = await fs.promises.open(src, 'r');
  try {
    const mode = (await fh.stat()).mode & MODE_BITS;
    return await putFile(engine, poolPath, fileSource(fh), { policy, mode, onProgress });
  } finally {
    await fh.close();
  }
}

export async function putTree(engine: Engine, srcDir: string, poolPath: string, policy: Policy | undefined, onProgress?: (n: number) => void): Promise<TreeResult> {
  const scan = scanLocal(srcDir);
  ensureDir(engine.meta, poolPath, true);
  for (const d of scan.dirs) ensureDir(engine.meta, join(poolPath, d), true);
  let bytes = 0;
  // A few files at once: small files are latency-bound (one commit each), large ones pipeline inside putFile.
  const queue = [...scan.files];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await putLocalFile(engine, path.join(srcDir, f.rel), join(poolPath, f.rel), policy, onProgress);
      bytes += r.size;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { files: scan.files.length, dirs: scan.dirs.length + 1, bytes, skipped: scan.skipped };
}

/** Pool files under the directory `ino` (depth first), with sizes; symlinks and special files are skipped. */
export function scanPool(engine: Engine, ino: number): { files: { rel: string; ino: number; size: number }[]; dirs: string[]; skipped: string[] } {
  const out = { files: [] as { rel: string; ino: number; size: number }[], dirs: [] as string[], skipped: [] as string[] };
  const walk = (dir: number, rel: string) => {
    for (const ent of engine.meta.readdir(dir)) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const inode = engine.meta.getInode(ent.ino);
      if (!inode) continue;
      if (inode.kind === 'dir') {
        out.dirs.push(r);
        walk(ent.ino, r);
      } else if (inode.kind === 'file') {
        out.files.push({ rel: r, ino: ent.ino, size: inode.size });
      } else {
        out.skipped.push(r);
      }
    }
  };
  walk(ino, '');
  return out;
}

/** Write one pool file to a local path (via a temp name, so a failed get leaves no half file). */
export async function getLocalFile(engine: Engine, ino: number, dest: string, mode: number, onProgress?: (n: number) => void): Promise<number> {
  const tmp = `${dest}.dynamicfs-partial-${process.pid}`;
  const out = fs.createWriteStream(tmp, { mode });
  try {
    const n = await getFile(engine, ino, out, onProgress);
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await fs.promises.rename(tmp, dest);
    return n;
  } catch (err) {
    out.destroy();
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

export async function getTree(engine: Engine, poolPath: string, destDir: string, onProgress?: (n: number) => void): Promise<TreeResult> {
  const ino = resolve(engine.meta, poolPath).ino;
  const scan = scanPool(engine, ino);
  fs.mkdirSync(destDir, { recursive: true });
  for (const d of scan.dirs) fs.mkdirSync(path.join(destDir, d), { recursive: true });
  let bytes = 0;
  for (const f of scan.files) {
    const inode = engine.meta.getInode(f.ino)!;
    bytes += await getLocalFile(engine, f.ino, path.join(destDir, f.rel), inode.mode & MODE_BITS, onProgress);
  }
  return { files: scan.files.length, dirs: scan.dirs.length + 1, bytes, skipped: scan.skipped };
}
