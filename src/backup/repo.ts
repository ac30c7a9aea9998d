/**
 * A backup repository: a plain directory, readable without any pool (docs/FORMAT.md,
 * "Backup repositories").
 *
 *   config.json       sealed JSON: format, version, repository id, pack size
 *   lock              flock held by the one process working on it (create, verify, restore, prune)
 *   index.db          where each object lives (object-index.ts); rebuilt from the packs when missing or damaged
 *   packs/ab/<id>.pack     objects, content-addressed by BLAKE3 (pack-format.ts)
 *   backups/<id>.manifest  each backup's tree (manifest-format.ts); backups/<id>.json its state
 *   jobs/<kind>-<key>.json restores and verifies under way (their cursor)
 *   tmp/              packs and manifests being written; emptied by the next writer
 *
 * Opening one to work on it takes the lock and finishes what a killed writer left
 * (pending pack writes and deletions journalled in the index, files in tmp/).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { lockAcquire, lockRelease } from '../native';
import { fsyncDir, openJson, sealJson, writeFileDurable } from '../pool/durable-file';
import { lockHolder } from '../pool/pool-lock';
import { ObjectIndex } from './object-index';
import { readPackIndex, scanPack } from './pack-reader';

export const REPO_FORMAT = 'dynamicfs-backup-repository';
export const REPO_VERSION = 1;
export const DEFAULT_PACK_BYTES = 32 << 20;
export const MIN_PACK_BYTES = 64 << 10;
export const MAX_PACK_BYTES = 1 << 30;

export interface RepoConfig {
  id: string;
  createdMs: number;
  /** A pack is sealed once its objects reach this many bytes. */
  packBytes: number;
}

export function newPackId(): string {
  return randomBytes(16).toString('hex');
}

/** What opening a repository had to do first. */
export interface RepoRecovery {
  /** Packs a killed writer had written but not indexed, now indexed. */
  packsIndexed: number;
  /** Packs a killed prune had dropped from the index but not deleted, now deleted. */
  packsDeleted: number;
  /** Why the index was rebuilt from the packs, if it was. */
  indexRebuilt: string | null;
}

export class Repository {
  private idx: ObjectIndex | undefined;
  readonly recovery: RepoRecovery = { packsIndexed: 0, packsDeleted: 0, indexRebuilt: null };

  private constructor(readonly dir: string, readonly config: RepoConfig, private lockFd: number) {}

  /** Make `dir` a repository: it must not exist or be empty. */
  static init(dir: string, packBytes = DEFAULT_PACK_BYTES): RepoConfig {
    const abs = path.resolve(dir);
    if (fs.existsSync(path.join(abs, 'config.json'))) throw new DfsError('EEXIST', `${abs} is a backup repository already`, abs);
    if (fs.existsSync(abs)) {
      if (!fs.statSync(abs).isDirectory()) throw new DfsError('ENOTDIR', `${abs} is not a directory; give a new or empty directory for the repository`, abs);
      if (fs.readdirSync(abs).length > 0) throw new DfsError('ENOTEMPTY', `${abs} is not empty and not a backup repository; give a new or empty directory`, abs);
    }
    if (!Number.isInteger(packBytes) || packBytes < MIN_PACK_BYTES || packBytes > MAX_PACK_BYTES) {
      throw new DfsError('EINVAL', `--pack-size ${packBytes}: give 64K to 1G (bytes, or with K, M, G)`);
    }
    for (const sub of ['packs', 'backups', 'jobs', 'tmp']) fs.mkdirSync(path.join(abs, sub), { recursive: true });
    const config: RepoConfig = { id: randomUUID(), createdMs: Date.now(), packBytes };
    ObjectIndex.open(path.join(abs, 'index.db'), true).close();
    writeFileDurable(path.join(abs, 'config.json'), sealJson({ format: REPO_FORMAT, version: REPO_VERSION, ...config }));
    fsyncDir(path.dirname(abs));
    return config;
  }

  /** Whether `dir` holds a repository (its config.json). */
  static exists(dir: string): boolean {
    return fs.existsSync(path.join(dir, 'config.json'));
  }

  /** The repository's configuration, checked; ENOTREPO when `dir` is not one. */
  static readConfig(dir: string): RepoConfig {
    const file = path.join(dir, 'config.json');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new DfsError('ENOTREPO', `${dir} is not a backup repository (no config.json); create one with \`dynamicfs backup init --repo ${dir}\``, dir);
    }
    const doc = openJson(text, 'repository configuration', file);
    if (doc.format !== REPO_FORMAT) throw new DfsError('ENOTREPO', `${file} is not a backup repository's configuration`, dir);
    if (doc.version !== REPO_VERSION) throw new DfsError('EFORMAT', `repository ${dir} is of version ${String(doc.version)}; this DynamicFS reads version ${REPO_VERSION}`, dir);
    const { id, createdMs, packBytes } = doc as unknown as RepoConfig;
    if (typeof id !== 'string' || typeof createdMs !== 'number' || typeof packBytes !== 'number') throw new DfsError('EFORMAT', `${file} lacks a field of the repository's configuration`, file);
    return { id, createdMs, packBytes };
  }

  /**
   * Open `dir` to work on it: its lock taken (EBUSY naming the holder), what a killed
   * writer left finished, the index opened (rebuilt from the packs when missing or
   * unreadable).
   */
  static async open(dir: string): Promise<Repository> {
    const abs = path.resolve(dir);
    const config = Repository.readConfig(abs);
    const lockFile = path.join(abs, 'lock');
    let fd: number;
    try {
      fd = lockAcquire(lockFile);
    } catch (err) {
      if ((err as DfsError).code === 'EBUSY') {
        const pid = lockHolder(lockFile);
        throw new DfsError('EBUSY', `backup repository ${abs} is in use by PID ${pid ?? 'unknown'} (a backup, restore, verify or prune); wait for it to end and retry`, abs, { pid });
      }
      throw err;
    }
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${process.pid}\n`, 0);
    const repo = new Repository(abs, config, fd);
    try {
      for (const sub of ['packs', 'backups', 'jobs', 'tmp']) fs.mkdirSync(path.join(abs, sub), { recursive: true });
      await repo.openIndex();
      await repo.recover();
    } catch (err) {
      repo.close();
      throw err;
    }
    return repo;
  }

  get index(): ObjectIndex {
    if (!this.idx) throw new DfsError('EINTERNAL', 'the repository index is not open');
    return this.idx;
  }

  get tmpDir(): string {
    return path.join(this.dir, 'tmp');
  }

  get backupsDir(): string {
    return path.join(this.dir, 'backups');
  }

  get jobsDir(): string {
    return path.join(this.dir, 'jobs');
  }

  packFile(id: string): string {
    return path.join(this.dir, 'packs', id.slice(0, 2), `${id}.pack`);
  }

  /** Every pack file in packs/, by id. */
  packIds(): string[] {
    const root = path.join(this.dir, 'packs');
    const out: string[] = [];
    for (const sub of fs.readdirSync(root).sort()) {
      const d = path.join(root, sub);
      if (!/^[0-9a-f]{2}$/.test(sub) || !fs.statSync(d).isDirectory()) continue;
      for (const f of fs.readdirSync(d).sort()) if (/^[0-9a-f]{32}\.pack$/.test(f)) out.push(f.slice(0, 32));
    }
    return out;
  }

  private async openIndex(): Promise<void> {
    const file = path.join(this.dir, 'index.db');
    if (!fs.existsSync(file)) {
      await this.rebuildIndex('index.db was missing');
      return;
    }
    try {
      this.idx = ObjectIndex.open(file, false);
    } catch (err) {
      await this.rebuildIndex(`index.db could not be opened (${(err as Error).message})`);
    }
  }

  /**
   * Build index.db anew from the packs' own indexes (a pack whose index is damaged is
   * read front to back, keeping the objects that verify). Returns what was found.
   */
  async rebuildIndex(why: string): Promise<{ packs: number; objects: number; damagedPacks: string[] }> {
    this.idx?.close();
    this.idx = undefined;
    const file = path.join(this.dir, 'index.db');
    const fresh = path.join(this.tmpDir, `index-${process.pid}.db`);
    for (const f of [fresh, `${fresh}-wal`, `${fresh}-shm`]) fs.rmSync(f, { force: true });
    const idx = ObjectIndex.open(fresh, true);
    const damagedPacks: string[] = [];
    let objects = 0;
    const ids = this.packIds();
    try {
      for (const id of ids) {
        const pf = this.packFile(id);
        let entries;
        let size;
        try {
          ({ entries, size } = await readPackIndex(pf));
        } catch (err) {
          if ((err as DfsError).code !== 'EFORMAT') throw err;
          damagedPacks.push(pf);
          const scan = await scanPack(pf);
          size = scan.size;
          entries = scan.objects.filter((o) => o.ok);
        }
        idx.addPack(id, size, entries);
        objects += entries.length;
      }
    } finally {
      idx.close();
    }
    for (const f of [`${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    fs.renameSync(fresh, file);
    fsyncDir(this.dir);
    this.idx = ObjectIndex.open(file, false);
    this.recovery.indexRebuilt = why;
    return { packs: ids.length, objects, damagedPacks };
  }

  /** Finish pack writes and deletions a killed process journalled, and empty tmp/. */
  private async recover(): Promise<void> {
    for (const p of this.index.pending()) {
      const file = this.packFile(p.id);
      if (p.op === 'delete') {
        fs.rmSync(file, { force: true });
        fsyncDir(path.dirname(file));
        this.recovery.packsDeleted++;
        this.index.clearPending(p.id);
      } else if (fs.existsSync(file) && !this.index.hasPack(p.id)) {
        // Renamed into place only once whole and synced: its own index is sound.
        const { size, entries } = await readPackIndex(file);
        this.index.addPack(p.id, size, entries);
        this.recovery.packsIndexed++;
      } else {
        this.index.clearPending(p.id);
      }
    }
    for (const f of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, f), { recursive: true, force: true });
  }

  close(): void {
    this.idx?.close();
    this.idx = undefined;
    if (this.lockFd >= 0) {
      lockRelease(this.lockFd);
      this.lockFd = -1;
    }
  }
}
