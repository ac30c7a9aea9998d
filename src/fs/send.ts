/**
 * `send`: a snapshot's tree as a stream (stream-format.ts). Full: every entry of the tree
 * (tree-entries.ts walkView at the snapshot's root), each file's extents as data records
 * after its entry. Incremental (`from` an earlier snapshot of the same tree): only what
 * changed between the two, from the keys that changed (tree-changes.ts): delete records
 * for the names the base had and the snapshot has not, then an entry for every changed
 * inode at each of its names (a second name as a link), carrying where the inode was in
 * the base, and data records only for extents the base did not hold (by extent id).
 *
 * Extents are read verified (engine/extent-reader.ts), a few ahead of the writer.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { readExtent } from '../engine/extent-reader';
import type { NamespaceView } from '../meta/store';
import type { Snapshot } from '../meta/records';
import { parsePath } from './paths';
import { snapshotNamed } from './snapshots';
import { RecordWriter, type StreamEntry, type StreamRecord } from './stream-format';
import { changedInodes } from './tree-changes';
import { entryOf, resolveView, walkView, type TreeEntry } from './tree-entries';

/** Extents read ahead of the one being written out. */
const READ_AHEAD = 4;

export interface SendSummary {
  snapshot: string;
  guid: string;
  /** The base of an incremental stream, or null. */
  from: string | null;
  fromGuid: string | null;
  /** Where the tree is in the sending pool. */
  root: string;
  bytes: number;
  records: number;
  entries: number;
  deletes: number;
  dataRecords: number;
  dataBytes: number;
}

/** A record to write, or an extent whose bytes become a data record (of the entry just before it). */
type Item = { record: StreamRecord; data?: undefined } | { data: { path: string; offset: number; length: number; hash: Buffer; id: Buffer } };

/** Records read ahead at most (entries among them): bounds the window over a tree of many small entries. */
const WINDOW = 64;

/** The snapshot (and base) a send names, checked: the base older, of the same tree. */
export function sendSnapshots(engine: Pick<Engine, 'meta'>, name: string, from?: string): { snap: Snapshot; base: Snapshot | undefined } {
  const snap = snapshotNamed(engine.meta, name);
  if (from === undefined) return { snap, base: undefined };
  const base = snapshotNamed(engine.meta, from);
  if (base.gen >= snap.gen || base.name === snap.name) {
    throw new DfsError('EINVAL', `--from ${from} must be a snapshot taken before ${name} (generation ${base.gen} is not before ${snap.gen})`, from);
  }
  if (base.root !== snap.root) {
    throw new DfsError('EINVAL', `--from ${from} holds the tree at ${base.root}, ${name} the one at ${snap.root}: an incremental stream is between two snapshots of one tree`, from);
  }
  return { snap, base };
}

/** A stream entry from a tree entry: every extent travels (a full stream, or an inode the base did not have). */
/** The entry's fields a stream carries (FORMAT.md): a walk's link count is not one of them. */
function streamFields(e: TreeEntry): TreeEntry {
  const out: TreeEntry & { nlink?: number } = { ...e };
  delete out.nlink;
  return out;
}

const fullEntry = (e: TreeEntry, base: string | null = null): StreamEntry => ({ ...streamFields(e), base, extents: e.extents.map((x) => ({ offset: x.offset, length: x.length, hash: x.hash, data: true })) });

/** The full stream's items: every entry of `view` at `root`, each file's extents after it. */
function* fullItems(view: NamespaceView, root: string): Generator<Item> {
  for (const e of walkView(view, root)) {
    yield { record: { type: 'entry', body: fullEntry(e) } };
    for (const x of e.extents) yield { data: { path: e.path, offset: x.offset, length: x.length, hash: x.hash, id: x.id } };
  }
}

/** The path of `ino` in `view` relative to the tree at `rootPath` ('' for the root), or undefined when outside it (or unreachable). */
function relativeTo(rootPath: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const root = parsePath(rootPath), names = parsePath(path);
  if (names.length < root.length || root.some((n, i) => names[i] !== n)) return undefined;
  return names.slice(root.length).join('/');
}

/** Component-wise path order: a parent before its children. */
function byPath(x: string, y: string): number {
  const a = x === '' ? [] : x.split('/'), b = y === '' ? [] : y.split('/');
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

/** Every name of `ino` in `v` inside the tree at `root`, relative, in path order. */
function namesIn(v: NamespaceView, root: string, rootIno: number, ino: number): string[] {
  if (ino === rootIno) return [''];
  const out: string[] = [];
  for (const l of v.linksOf(ino)) {
    const parent = l.parent === rootIno ? '' : relativeTo(root, v.pathOf(l.parent));
    if (parent !== undefined) out.push(parent === '' ? l.name : `${parent}/${l.name}`);
  }
  return out.sort(byPath);
}

/** The incremental stream's items, from base view `a` to `b`, of the tree at `root`. */
function* incrementalItems(a: NamespaceView, b: NamespaceView, keys: ReturnType<Engine['meta']['changedBetween']>, root: string): Generator<Item> {
  const rootA = resolveView(a, root), rootB = resolveView(b, root);
  if (rootA !== rootB) throw new DfsError('EINVAL', `the directory at ${root} was replaced between the two snapshots; send a full stream`, root);
  const deletes = new Set<string>();
  for (const d of keys.dirents) {
    const was = a.lookup(d.parent, d.name);
    if (was === undefined || was === b.lookup(d.parent, d.name)) continue;
    const parent = d.parent === rootA ? '' : relativeTo(root, a.pathOf(d.parent));
    if (parent !== undefined) deletes.add(parent === '' ? d.name : `${parent}/${d.name}`);
  }
  for (const path of [...deletes].sort(byPath)) yield { record: { type: 'delete', body: { path } } };
  const changed: { ino: number; names: string[] }[] = [];
  for (const ino of changedInodes(keys, a, b)) {
    const names = namesIn(b, root, rootB, ino);
    if (names.length > 0 && b.getInode(ino)) changed.push({ ino, names });
  }
  changed.sort((x, y) => byPath(x.names[0]!, y.names[0]!));
  // Links come after the first name of their inode; every first name in path order, so parents lead.
  const links: { path: string; first: string; entry: TreeEntry }[] = [];
  const flushLinks = function* (upTo: string | undefined): Generator<Item> {
    links.sort((x, y) => byPath(x.path, y.path));
    while (links.length > 0 && (upTo === undefined || byPath(links[0]!.path, upTo) < 0)) {
      const l = links.shift()!;
      yield { record: { type: 'entry', body: { ...fullEntry({ ...l.entry, path: l.path, link: l.first, extents: [] }), base: null } } };
    }
  };
  for (const { ino, names } of changed) {
    yield* flushLinks(names[0]);
    const i = b.getInode(ino)!;
    const inBase = a.getInode(ino) ? namesIn(a, root, rootA, ino) : [];
    const base = inBase[0] ?? null;
    const e = entryOf(b, i, names[0]!, null);
    const had = new Set(base === null ? [] : a.extentsOf(ino).map((x) => x.id.toString('hex')));
    yield { record: { type: 'entry', body: { ...streamFields(e), base, extents: e.extents.map((x) => ({ offset: x.offset, length: x.length, hash: x.hash, data: !had.has(x.id.toString('hex')) })) } } };
    for (const x of e.extents) {
      if (!had.has(x.id.toString('hex'))) yield { data: { path: e.path, offset: x.offset, length: x.length, hash: x.hash, id: x.id } };
    }
    for (const other of names.slice(1)) links.push({ path: other, first: names[0]!, entry: e });
  }
  yield* flushLinks(undefined);
}

/**
 * Write snapshot `name`'s stream (incremental from `from` when given) to `out`, which
 * resolves once it can take more. `onData` hears each data record's bytes (progress).
 */
export async function sendStream(engine: Engine, name: string, from: string | undefined, out: (chunk: Buffer) => Promise<void>,
  onData?: (bytes: number) => void): Promise<SendSummary> {
  const { snap, base } = sendSnapshots(engine, name, from);
  const meta = engine.meta;
  const w = new RecordWriter();
  const summary: SendSummary = { snapshot: snap.name, guid: snap.guid.toString('hex'), from: base?.name ?? null, fromGuid: base?.guid.toString('hex') ?? null,
    root: snap.root, bytes: 0, records: 0, entries: 0, deletes: 0, dataRecords: 0, dataBytes: 0 };
  const emit = async (r: StreamRecord): Promise<void> => {
    if (r.type === 'entry') summary.entries++;
    else if (r.type === 'delete') summary.deletes++;
    await out(w.encode(r));
  };
  await out(w.start());
  await emit({ type: 'header', body: { name: snap.name, guid: snap.guid, createdMs: snap.createdMs, from: base?.guid ?? null, fromName: base?.name ?? null,
    pool: engine.pool.superblock.uuid, extentSize: engine.pool.superblock.extentSize, sentMs: Date.now() } });
  const view = meta.viewAt(snap.gen);
  const items = base === undefined ? fullItems(view, snap.root)
    : incrementalItems(meta.viewAt(base.gen), view, meta.changedBetween(base.gen, snap.gen), snap.root);
  // Extents are read a few ahead: each read starts as its item enters the window. Each
  // item is one record, numbered as it is pulled; a data record names the entry before it.
  const window: { item: Item; entry: number; bytes?: Promise<Buffer> }[] = [];
  let nextRecord = 1;
  let lastEntry = 0;
  let reading = 0;
  let more = true;
  const pull = (): void => {
    const next = items.next();
    if (next.done) {
      more = false;
      return;
    }
    const item = next.value;
    const number = nextRecord++;
    if (item.data === undefined) {
      if (item.record.type === 'entry') lastEntry = number;
      window.push({ item, entry: number });
      return;
    }
    const extent = meta.getExtent(item.data.id);
    if (!extent) throw new DfsError('ENOENT', `extent ${item.data.id.toString('hex')} of ${item.data.path} is gone (was snapshot ${snap.name} deleted meanwhile?)`);
    const bytes = readExtent(engine, extent);
    bytes.catch(() => undefined); // awaited in order below
    reading++;
    window.push({ item, entry: lastEntry, bytes });
  };
  while (more || window.length > 0) {
    while (more && (window.length === 0 || (reading < READ_AHEAD && window.length < WINDOW))) pull();
    const w0 = window.shift();
    if (!w0) break;
    if (w0.item.data === undefined) {
      await emit(w0.item.record);
      continue;
    }
    reading--;
    const d = w0.item.data;
    const bytes = await w0.bytes!;
    await emit({ type: 'data', body: { entry: w0.entry, path: d.path, offset: d.offset, hash: d.hash, bytes } });
    summary.dataRecords++;
    summary.dataBytes += bytes.length;
    onData?.(bytes.length);
  }
  await out(w.encode({ type: 'end', body: { records: w.count, entries: summary.entries, deletes: summary.deletes, data: summary.dataRecords, dataBytes: summary.dataBytes } }));
  summary.records = w.count;
  summary.bytes = w.offset;
  return summary;
}

/** The data bytes a stream of `name` (from `from`) carries, for a progress bar's total: one more walk of the metadata. */
export function sendDataBytes(engine: Engine, name: string, from?: string): number {
  const { snap, base } = sendSnapshots(engine, name, from);
  const meta = engine.meta;
  const view = meta.viewAt(snap.gen);
  const items = base === undefined ? fullItems(view, snap.root)
    : incrementalItems(meta.viewAt(base.gen), view, meta.changedBetween(base.gen, snap.gen), snap.root);
  let total = 0;
  for (const it of items) if (it.data) total += it.data.length;
  return total;
}
