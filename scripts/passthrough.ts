/**
 * A do-nothing FUSE filesystem mirroring a backing directory, mounted with exactly the
 * options DynamicFS uses (src/fuse/mount-options.ts). It is the ceiling of the FUSE path:
 * whatever DynamicFS does costs on top of this.
 *
 *   node dist/scripts/passthrough.js BACKING MOUNTPOINT [--stats FILE] [--read-only]
 *
 * Prints `mounted <MOUNTPOINT>` once the mount is usable; unmounts on SIGINT/SIGTERM.
 * With --stats FILE (or DFS_PASSTHROUGH_STATS=FILE) it writes the sizes of the read and
 * write callbacks it served as JSON to FILE on every flush, fsync and exit, so a test
 * can check that writes arrive in 128 KiB pieces.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fuseErrno } from '../src/fuse/errno';
import { Fuse } from '../src/fuse/fuse-native';
import type { FuseOps, FuseStat } from '../src/fuse/fuse-types';
import { fuseMountOptions } from '../src/fuse/mount-options';
import { isFuseMounted, waitForFuseMount } from '../src/fuse/proc-mounts';
import { forceUnmount } from '../src/fuse/unmount';

/** Counts of callback sizes: bytes → number of calls. */
export interface PassthroughStats {
  writes: number;
  writeBytes: number;
  writeSizes: Record<string, number>;
  reads: number;
  readBytes: number;
  readSizes: Record<string, number>;
}

function usage(): never {
  process.stderr.write('usage: passthrough BACKING MOUNTPOINT [--stats FILE] [--read-only]\n');
  process.exit(2);
}

function toStat(st: fs.Stats): FuseStat {
  return {
    mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, nlink: st.nlink, ino: st.ino,
    dev: st.dev, rdev: st.rdev, blksize: st.blksize, blocks: st.blocks,
    atime: st.atimeMs, mtime: st.mtimeMs, ctime: st.ctimeMs,
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const positional: string[] = [];
  let statsFile = process.env.DFS_PASSTHROUGH_STATS || undefined;
  let readOnly = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--stats') statsFile = args[++i] ?? usage();
    else if (a === '--read-only') readOnly = true;
    else if (a.startsWith('-')) usage();
    else positional.push(a);
  }
  if (positional.length !== 2) usage();
  const backing = path.resolve(positional[0]!);
  const mnt = path.resolve(positional[1]!);
  const real = (p: string): string => path.join(backing, p);

  const stats: PassthroughStats = { writes: 0, writeBytes: 0, writeSizes: {}, reads: 0, readBytes: 0, readSizes: {} };
  const dumpStats = (): void => {
    if (statsFile) fs.writeFileSync(statsFile, JSON.stringify(stats));
  };
  const done = (cb: (status: number) => void) => (err: NodeJS.ErrnoException | null): void => cb(err ? fuseErrno(err) : 0);

  const ops: FuseOps = {
    getattr: (p, cb) => fs.lstat(real(p), (err, st) => (err ? cb(fuseErrno(err)) : cb(0, toStat(st)))),
    readdir: (p, cb) => fs.readdir(real(p), (err, names) => (err ? cb(fuseErrno(err)) : cb(0, names))),
    statfs: (_p, cb) => fs.statfs(backing, (err, s) => {
      if (err) return cb(fuseErrno(err));
      cb(0, {
        bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail,
        files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: 255,
      });
    }),
    open: (p, flags, cb) => fs.open(real(p), flags, (err, fd) => (err ? cb(fuseErrno(err)) : cb(0, fd))),
    create: (p, mode, cb) => fs.open(real(p), fs.constants.O_CREAT | fs.constants.O_RDWR, mode, (err, fd) => (err ? cb(fuseErrno(err)) : cb(0, fd))),
    read: (_p, fd, buf, len, pos, cb) => fs.read(fd, buf, 0, len, pos, (err, n) => {
      if (err) return cb(fuseErrno(err));
      stats.reads++;
      stats.readBytes += n;
      stats.readSizes[len] = (stats.readSizes[len] ?? 0) + 1;
      cb(n);
    }),
    write: (_p, fd, buf, len, pos, cb) => fs.write(fd, buf, 0, len, pos, (err, n) => {
      if (err) return cb(fuseErrno(err));
      stats.writes++;
      stats.writeBytes += n;
      stats.writeSizes[len] = (stats.writeSizes[len] ?? 0) + 1;
      cb(n);
    }),
    flush: (_p, _fd, cb) => {
      dumpStats();
      cb(0);
    },
    fsync: (_p, datasync, fd, cb) => {
      dumpStats();
      (datasync ? fs.fdatasync : fs.fsync)(fd, done(cb));
    },
    release: (_p, fd, cb) => fs.close(fd, done(cb)),
    truncate: (p, size, cb) => fs.truncate(real(p), size, done(cb)),
    ftruncate: (_p, fd, size, cb) => fs.ftruncate(fd, size, done(cb)),
    unlink: (p, cb) => fs.unlink(real(p), done(cb)),
    mkdir: (p, mode, cb) => fs.mkdir(real(p), { mode }, done(cb)),
    rmdir: (p, cb) => fs.rmdir(real(p), done(cb)),
    rename: (src, dest, cb) => fs.rename(real(src), real(dest), done(cb)),
    // Times come as epoch ms, 'now' or 'omit' (keep the current one). lstat and lutimes:
    // the kernel sends a symlink's own utimensat(AT_SYMLINK_NOFOLLOW) here, and following
    // it would restamp the target (tar's `tk -> tcl8.6` moved the directory's mtime) or
    // fail with ENOENT while the target is not extracted yet ("Cannot utime").
    utimens: (p, atime, mtime, cb) => fs.lstat(real(p), (err, st) => {
      if (err) return cb(fuseErrno(err));
      const secs = (t: number | 'now' | 'omit', old: number) => (t === 'now' ? Date.now() : t === 'omit' ? old : t) / 1000;
      fs.lutimes(real(p), secs(atime, st.atimeMs), secs(mtime, st.mtimeMs), done(cb));
    }),
    chmod: (p, mode, cb) => fs.chmod(real(p), mode, done(cb)),
    chown: (p, uid, gid, cb) => fs.lchown(real(p), uid, gid, done(cb)),
    readlink: (p, cb) => fs.readlink(real(p), (err, target) => (err ? cb(fuseErrno(err)) : cb(0, target))),
    symlink: (target, p, cb) => fs.symlink(target, real(p), done(cb)),
  };

  const fuse = new Fuse(mnt, ops, fuseMountOptions({ fsname: `passthrough:${backing}`, readOnly }));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    dumpStats();
    fuse.unmount((err) => {
      if (err) process.stderr.write(`passthrough: unmount ${mnt}: ${err.message}\n`);
      process.exit(err ? 1 : 0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  fuse.mount((err) => {
    if (err) {
      process.stderr.write(`passthrough: ${err.message}\n`);
      process.exit(1);
    }
    dumpStats();
    process.stdout.write(`mounted ${mnt}\n`);
  });
}

/** A passthrough running in a child process (see {@link spawnPassthrough}). */
export interface PassthroughProcess {
  child: ChildProcess;
  mountpoint: string;
  /** What the child wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (it unmounts itself), then SIGKILL and forceUnmount if it does not; never throws. */
  stop(): Promise<void>;
}

/**
 * Start `node passthrough.js BACKING MOUNTPOINT` and resolve once /proc/mounts shows the
 * mount. The caller must `stop()` it (in a finally).
 */
export async function spawnPassthrough(
  backing: string, mountpoint: string, opts: { stats?: string; readOnly?: boolean; timeoutMs?: number } = {},
): Promise<PassthroughProcess> {
  const args = [__filename, backing, mountpoint];
  if (opts.stats) args.push('--stats', opts.stats);
  if (opts.readOnly) args.push('--read-only');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pt: PassthroughProcess = {
    child,
    mountpoint: path.resolve(mountpoint),
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      if (isFuseMounted(mountpoint)) await forceUnmount(mountpoint).catch(() => undefined);
    },
  };
  try {
    await waitForFuseMount(mountpoint, { child, timeoutMs: opts.timeoutMs ?? 15_000 });
  } catch (e) {
    await pt.stop();
    throw new Error(`passthrough did not mount ${mountpoint}: ${(e as Error).message}${err ? `; stderr: ${err.trim()}` : ''}`);
  }
  return pt;
}

if (require.main === module) main();
