/**
 * The README's main job: a demo pool of six directory disks under ./demo, mounted at
 * ./demo/mnt in the foreground. It writes a few files through the mount, reads them
 * back, prints `status`, and says what to try next; Ctrl-C unmounts cleanly.
 *
 *   npm run demo               wait for Ctrl-C
 *   npm run demo -- --check    run every step, unmount, exit 0 only if all worked
 *   npm run demo -- --dir D    use D instead of ./demo (recreated each run)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const args = process.argv.slice(2);
const check = args.includes('--check');
const root = path.resolve(args.includes('--dir') ? args[args.indexOf('--dir') + 1]! : 'demo');
const bin = path.resolve(__dirname, '../../bin/dynamicfs.js');
const pool = path.join(root, 'pool');
const mnt = path.join(root, 'mnt');
const rel = (p: string) => path.relative(process.cwd(), p) || '.';

function dfs(...a: string[]): string {
  console.log(`$ dynamicfs ${a.map((x) => (x.startsWith(root) ? rel(x) : x)).join(' ')}`);
  const r = spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dynamicfs ${a[0]} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function mounted(): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);
}

async function waitFor(cond: () => boolean, what: string, child: ChildProcess): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (child.exitCode !== null) throw new Error(`the coordinator exited (${child.exitCode}) before ${what}`);
    if (i > 400) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function unmount(child: ChildProcess): Promise<void> {
  if (mounted()) dfs('unmount', mnt);
  await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'the coordinator to exit', child).catch(() => undefined);
}

async function main(): Promise<void> {
  if (fs.existsSync(mnt) && mounted()) spawnSync('umount', ['-l', mnt]);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(mnt, { recursive: true });
  dfs('init', pool, '--redundancy', 'rs:4+2');
  for (let i = 0; i < 6; i++) {
    fs.mkdirSync(path.join(root, `disk${i}`));
    dfs('add-disk', pool, path.join(root, `disk${i}`));
  }
  console.log(`$ dynamicfs mount ${rel(pool)} ${rel(mnt)} --foreground`);
  // Its own process group: Ctrl-C reaches the demo, which unmounts in order.
  const child = spawn(process.execPath, [bin, 'mount', pool, mnt, '--foreground'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nunmounting...');
    await unmount(child);
    console.log(mounted() ? 'still mounted!' : 'unmounted cleanly');
    process.exit(mounted() ? 1 : code);
  };
  try {
    await waitFor(mounted, 'the mount', child);
    console.log(`mounted ${rel(pool)} at ${rel(mnt)}\n`);

    // Ordinary file operations through the mount.
    fs.writeFileSync(path.join(mnt, 'hello.txt'), 'Hello from DynamicFS: every byte here is erasure-coded and checksummed.\n');
    fs.cpSync(path.resolve(__dirname, '../../src'), path.join(mnt, 'source-code'), { recursive: true });
    const big = randomBytes(64 * 1024 * 1024);
    fs.writeFileSync(path.join(mnt, 'random-64MiB.bin'), big);
    const same = createHash('sha256').update(fs.readFileSync(path.join(mnt, 'random-64MiB.bin'))).digest('hex')
      === createHash('sha256').update(big).digest('hex');
    console.log(`wrote hello.txt, source-code/ and random-64MiB.bin; read back identical: ${same}`);
    if (!same) throw new Error('the 64 MiB file did not read back identical');
    console.log(spawnSync('ls', ['-la', mnt], { encoding: 'utf8' }).stdout);
    process.stdout.write(dfs('status', pool));
    process.stdout.write(dfs('stat', pool, '/random-64MiB.bin').split('\n').slice(0, 12).join('\n') + '\n  ...\n');

    if (check) {
      await stop(0);
      return;
    }
    console.log(`
Try, in another terminal:
  ls -l ${rel(mnt)}                         # an ordinary filesystem
  cp -r /usr/share/doc ${rel(mnt)}/docs     # write through FUSE
  ./bin/dynamicfs.js status ${rel(pool)}    # the pool, through the coordinator
  ./bin/dynamicfs.js disks ${rel(pool)}
  rm -rf ${rel(root)}/disk1 ${rel(root)}/disk4 && md5sum ${rel(mnt)}/random-64MiB.bin
                                            # two disks gone: still readable
Press Ctrl-C to unmount.`);
    process.on('SIGINT', () => void stop(0));
    process.on('SIGTERM', () => void stop(0));
    child.on('exit', (code) => {
      if (!stopping) {
        console.error(`the coordinator exited (${code})`);
        process.exit(1);
      }
    });
  } catch (err) {
    console.error(`demo failed: ${(err as Error).message}`);
    await stop(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
