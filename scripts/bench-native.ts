/**
 * Native hot-path benchmark (single thread, hot buffers): Reed-Solomon encode and
 * two-fragment rebuild, BLAKE3, a memcpy ceiling, and durable fragment I/O. When
 * Intel ISA-L is installed (Debian libisal-dev) its RS figures are measured in the
 * same run and reported as ratios.
 *
 *   npm run bench:native -- [--json] [--dir DIR] [--quick]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { blake3, blake3Into, fragRead, fragWrite, isa, rsEncode, rsReconstruct } from '../src/native';
import { measureAsync, measureSync, round } from './lib/timing';

interface RsRow { k: number; m: number; fragment_bytes: number; encode_gbps: number; reconstruct2_gbps: number }

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const dirArg = args.indexOf('--dir') >= 0 ? args[args.indexOf('--dir') + 1] : undefined;
const sampleSeconds = quick ? 0.05 : 0.2;

function alloc(n: number): Buffer {
  const b = Buffer.allocUnsafeSlow(n);
  for (let i = 0; i < n; i += 4096) b[i] = (i * 2654435761) >>> 24;
  return b;
}

function benchRs(k: number, m: number, size: number): RsRow {
  const data = Array.from({ length: k }, () => alloc(size));
  const parity = Array.from({ length: m }, () => alloc(size));
  rsEncode(k, m, data, parity);
  const enc = measureSync(() => rsEncode(k, m, data, parity), 5, sampleSeconds);
  // Lose data fragments 0 and 1; rebuild them from data 2..k-1 and parity 0..1.
  const shards: (Buffer | null)[] = [...data, ...parity];
  for (let i = 2 + k; i < k + m; i++) shards[i] = null;
  const rec = measureSync(() => rsReconstruct(k, m, shards, [0, 1]), 5, sampleSeconds);
  const dataBytes = k * size;
  return { k, m, fragment_bytes: size, encode_gbps: round((enc.opsPerSec * dataBytes) / 1e9), reconstruct2_gbps: round((rec.opsPerSec * dataBytes) / 1e9) };
}

function benchBlake3(bytes: number): { bytes: number; gbps: number } {
  const buf = alloc(bytes);
  const out = Buffer.alloc(32);
  const r = measureSync(() => blake3Into(buf, out), 5, sampleSeconds);
  return { bytes, gbps: round((r.opsPerSec * bytes) / 1e9) };
}

function benchMemcpy(): number {
  const src = alloc(1 << 20);
  const dst = Buffer.allocUnsafeSlow(1 << 20);
  const r = measureSync(() => { src.copy(dst); }, 5, sampleSeconds);
  return round((r.opsPerSec * (1 << 20)) / 1e9);
}

async function benchFragmentIo(dir: string): Promise<{ write_mbps: number; read_mbps: number; direct: boolean }> {
  const disk = fs.mkdtempSync(path.join(dir, '.dfs-bench-'));
  try {
    const payload = alloc(1 << 20);
    const header = { poolUuid: Buffer.alloc(16, 1), extentId: Buffer.alloc(16), index: 0, k: 1, m: 0, scheme: 0 as const, payloadHash: blake3(payload) };
    let n = 0;
    let direct = false;
    const paths: string[] = [];
    const w = await measureAsync(async () => {
      header.extentId = Buffer.alloc(16);
      header.extentId.writeUInt32LE(n++);
      const r = await fragWrite(disk, header, payload);
      direct = r.direct;
      paths.push(r.path);
    }, 3, quick ? 0.2 : 0.5);
    let i = 0;
    const r = await measureAsync(async () => { await fragRead(paths[i++ % paths.length]!, header.payloadHash); }, 3, quick ? 0.2 : 0.5);
    return { write_mbps: round((w.opsPerSec * (1 << 20)) / 1e6, 1), read_mbps: round((r.opsPerSec * (1 << 20)) / 1e6, 1), direct };
  } finally {
    fs.rmSync(disk, { recursive: true, force: true });
  }
}

/** ISA-L's figures for the same shapes, if the library is installed; else null. */
function isalReference(): { rs: RsRow[] } | null {
  if (!fs.existsSync('/usr/include/isa-l.h')) return null;
  const src = path.resolve(__dirname, '../../scripts/reference/isal_bench.cc');
  const bin = path.join(os.tmpdir(), `dfs-isal-bench-${process.pid}`);
  try {
    execFileSync('g++', ['-O3', '-o', bin, src, '-lisal'], { stdio: 'pipe' });
    return JSON.parse(execFileSync(bin, quick ? ['--quick'] : [], { encoding: 'utf8' })) as { rs: RsRow[] };
  } catch (err) {
    process.stderr.write(`ISA-L reference skipped: ${(err as Error).message.split('\n')[0]}\n`);
    return null;
  } finally {
    fs.rmSync(bin, { force: true });
  }
}

async function main(): Promise<void> {
  const rs: RsRow[] = [];
  for (const [k, m] of [[4, 2], [8, 3], [10, 4]] as const) {
    for (const size of [65536, 1048576]) rs.push(benchRs(k, m, size));
  }
  const result = {
    isa: isa(),
    rs,
    blake3: [4096, 65536, 1048576].map(benchBlake3),
    memcpy_gbps: benchMemcpy(),
    fragment_io: await benchFragmentIo(dirArg ?? process.cwd()),
    reference: { isal: isalReference() },
  };
  const ratios = result.reference.isal?.rs.map((ref) => {
    const ours = rs.find((r) => r.k === ref.k && r.m === ref.m && r.fragment_bytes === ref.fragment_bytes)!;
    return { k: ref.k, m: ref.m, fragment_bytes: ref.fragment_bytes,
      encode_vs_isal: round(ours.encode_gbps / ref.encode_gbps), reconstruct2_vs_isal: round(ours.reconstruct2_gbps / ref.reconstruct2_gbps) };
  }) ?? null;
  const out = { ...result, ratios: { rs_vs_isal: ratios, blake3_1mib_vs_memcpy: round(result.blake3[2]!.gbps / result.memcpy_gbps) } };
  if (json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  console.log(`SIMD: rs=${out.isa.rs} blake3=${out.isa.blake3}\n`);
  console.log('Reed-Solomon (GB/s of data bytes)');
  console.table(rs.map((r) => {
    const ref = out.reference.isal?.rs.find((x) => x.k === r.k && x.m === r.m && x.fragment_bytes === r.fragment_bytes);
    return { shape: `${r.k}+${r.m}`, fragment: r.fragment_bytes, encode: r.encode_gbps, reconstruct2: r.reconstruct2_gbps,
      'isal encode': ref?.encode_gbps ?? '-', 'isal rec2': ref?.reconstruct2_gbps ?? '-' };
  }));
  console.log('BLAKE3 (GB/s)');
  console.table(out.blake3);
  console.log(`memcpy 1 MiB: ${out.memcpy_gbps} GB/s`);
  console.log(`fragment I/O (1 MiB, durable write / verified read): ${out.fragment_io.write_mbps} / ${out.fragment_io.read_mbps} MB/s (O_DIRECT: ${out.fragment_io.direct})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
