/**
 * An incremental or differential backup's tree without walking the whole snapshot: the
 * parent backup's manifest (the tree at the parent's snapshot, in walk order) with what
 * changed since applied. The store says which keys changed between the two generations
 * (changedBetween); only those inodes are read from the new snapshot, a directory that
 * appeared or moved with its whole subtree. Every other entry is the parent's record,
 * copied as it is — its inode's rows did not change, so neither did its entry.
 */
import { DfsError } from '../errors';
import { entryOf, walkView } from '../fs/tree-entries';
import { changedInodes } from '../fs/tree-changes';
import { ROOT_INO, type MetaStore, type NamespaceView } from '../meta/store';
import type { ManifestEntry } from './manifest-format';
import type { RawRecord } from './manifest-format';

/**
 * Walk order: '/' below every other character, names by their UTF-8 bytes (readdir's
 * order), which is code point order. Compared in place, with no key built: a merge
 * compares every entry of the parent's manifest.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  // At the first unit that differs, code points order as UTF-8 bytes do (UTF-16 units would not past U+FFFF).
  const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
  return (x === SLASH ? -1 : x) - (y === SLASH ? -1 : y);
}

const SLASH = 0x2f;

/** What changed between the parent's snapshot and this one, as manifest edits. */
export interface TreeChanges {
  /** Paths of the parent's manifest to leave out (changed or gone). */
  dropPaths: Set<string>;
  /** Directories of the parent's manifest whose whole subtree goes (removed, moved or replaced). */
  dropTrees: Set<string>;
  /** The new entries, in walk order. */
  entries: ManifestEntry[];
  /** Inodes looked at. */
  inodes: number;
}

const rel = (p: string): string => (p === '/' ? '' : p.slice(1));
const join = (dir: string, name: string): string => (dir === '' ? name : name === '' ? dir : `${dir}/${name}`);

/** Every path naming `ino` in `view` (the root: ''). */
function pathsOf(view: NamespaceView, ino: number): string[] {
  if (ino === ROOT_INO) return [''];
  const out: string[] = [];
  for (const l of view.linksOf(ino)) {
    const parent = l.parent === ROOT_INO ? '/' : view.pathOf(l.parent);
    if (parent !== undefined) out.push(join(rel(parent), l.name));
  }
  return out.sort(comparePaths);
}

/** The edits that turn the tree at generation `from` into the tree of view `b` (a later generation's). */
export function treeChanges(meta: MetaStore, from: number, b: NamespaceView): TreeChanges {
  const keys = meta.changedBetween(from, b.gen);
  const a = meta.viewAt(from);
  const inos = changedInodes(keys, a, b);
  const dropPaths = new Set<string>();
  const dropTrees = new Set<string>();
  const fresh = new Map<string, ManifestEntry>();
  const walks: string[] = [];
  for (const ino of inos) {
    const ia = a.getInode(ino), ib = b.getInode(ino);
    const pa = ia ? pathsOf(a, ino) : [], pb = ib ? pathsOf(b, ino) : [];
    for (const p of pa) dropPaths.add(p);
    const moved = pa[0] !== pb[0];
    if (ia?.kind === 'dir' && pa.length > 0 && (moved || ib?.kind !== 'dir')) dropTrees.add(pa[0]!);
    if (!ib || pb.length === 0) continue;
    if (ib.kind === 'dir' && (moved || ia?.kind !== 'dir')) walks.push(pb[0]!);
    else for (const p of pb) fresh.set(p, entryOf(b, ib, p));
  }
  for (const root of walks) {
    for (const e of walkView(b, `/${root}`)) {
      const path = join(root, e.path);
      // A link's first path may lie outside this subtree: the entry carries its extents, mergeTree settles which path does.
      fresh.set(path, e.link === null ? { ...e, path } : entryOf(b, b.getInode(e.ino)!, path));
    }
  }
  const entries = [...fresh.values()].sort((x, y) => comparePaths(x.path, y.path));
  return { dropPaths, dropTrees, entries, inodes: inos.size };
}

/** Whether `p` is one of `trees` or below one. */
function underTree(p: string, trees: Set<string>): boolean {
  if (trees.size === 0) return false;
  if (trees.has(p)) return true;
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (trees.has(p.slice(0, i))) return true;
  return trees.has('') && p !== '';
}

/** An entry of the merged tree: a parent's record copied as it is (`raw`), or an entry to encode. */
export type MergedEntry = { entry: ManifestEntry; raw?: RawRecord };

/**
 * The parent's entries (its manifest's records as readManifest gives them, in walk order)
 * with `changes` applied, in walk order. Hard links
 * are settled on the way: the first path of an inode with several links carries its
 * extents (read from `view` when that changed), every later one names it.
 */
export async function* mergeTree(parent: AsyncIterable<{ entry: ManifestEntry; raw: RawRecord } | { header: unknown } | { end: unknown }>, changes: TreeChanges,
  view: NamespaceView): AsyncGenerator<MergedEntry> {
  const first = new Map<number, string>();
  const settle = (m: MergedEntry): MergedEntry => {
    const e = m.entry;
    if (e.kind === 'dir' || (e.nlink <= 1 && e.link === null)) return m;
    const f = first.get(e.ino);
    if (f === undefined) {
      first.set(e.ino, e.path);
      if (e.link === null) return m;
      const i = view.getInode(e.ino);
      if (!i) throw new DfsError('EMETACORRUPT', `inode ${e.ino} at ${e.path} is named but missing`, e.path);
      return { entry: { ...entryOf(view, i, e.path) } };
    }
    return e.link === f && e.extents.length === 0 ? m : { entry: { ...e, link: f, extents: [] } };
  };
  const fresh = changes.entries;
  let k = 0;
  for await (const p of parent) {
    if (!('entry' in p)) continue; // the manifest's header and end (readManifest checks them)
    const path = p.entry.path;
    if (changes.dropPaths.has(path) || underTree(path, changes.dropTrees)) continue;
    while (k < fresh.length && comparePaths(fresh[k]!.path, path) < 0) yield settle({ entry: fresh[k++]! });
    if (k < fresh.length && fresh[k]!.path === path) continue; // replaced: the fresh one comes next
    yield settle(p);
  }
  while (k < fresh.length) yield settle({ entry: fresh[k++]! });
}
