/**
 * The README's main job: a demo pool of six directory-backed disks, driven through the
 * real CLI. It stores a tree, reads it back verified, removes two disks' directories
 * and reads everything back again from the survivors, then prints the pool status.
 *
 *   npm run demo [-- DIR]      (default ./demo-pool; recreated on each run)
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(process.argv[2] ?? 'demo-pool');
const bin = path.resolve(__dirname, '../../bin/dynamicfs.js');

function dfs(...args: string[]): string {
  console.log(`\n$ dynamicfs ${args.map((a) => a.replace(root, '$DEMO')).join(' ')}`);
  const out = execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(out);
  return out;
}

function digestTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      h.update(path.relative(dir, p));
      if (e.isDirectory()) walk(p);
      else h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

fs.rmSync(root, { recursive: true, force: true });
const disks = Array.from({ length: 6 }, (_, i) => path.join(root, `disk${i}`));
disks.forEach((d) => fs.mkdirSync(d, { recursive: true }));
const src = path.join(root, 'sample');
fs.cpSync(path.resolve(__dirname, '../../src'), path.join(src, 'source-code'), { recursive: true });
fs.writeFileSync(path.join(src, 'random-100MiB.bin'), randomBytes(100 * 1024 * 1024));
fs.writeFileSync(path.join(src, 'empty'), '');

dfs('init', path.join(root, 'pool'), '--redundancy', 'rs:4+2');
for (const d of disks) dfs('add-disk', path.join(root, 'pool'), d);
dfs('put', path.join(root, 'pool'), src, '/sample');
dfs('ls', path.join(root, 'pool'), '/sample', '-l');
dfs('stat', path.join(root, 'pool'), '/sample/random-100MiB.bin');

const want = digestTree(src);
dfs('get', path.join(root, 'pool'), '/sample', path.join(root, 'copy1'));
console.log(`\nread back identical: ${digestTree(path.join(root, 'copy1')) === want}`);

console.log('\nRemoving two disks\' directories entirely (rs:4+2 survives any two):');
fs.rmSync(disks[1]!, { recursive: true });
fs.rmSync(disks[4]!, { recursive: true });
dfs('get', path.join(root, 'pool'), '/sample', path.join(root, 'copy2'));
const same = digestTree(path.join(root, 'copy2')) === want;
console.log(`\nread back identical with two disks gone: ${same}`);
dfs('status', path.join(root, 'pool'));
dfs('disks', path.join(root, 'pool'));
if (!same) process.exit(1);
console.log(`\nDemo pool left at ${root} — try: ./bin/dynamicfs.js --help`);
