/**
 * The SIMD paths must give the bytes the portable paths give. Runs the RS and BLAKE3
 * suites again in child processes, each with the faster instruction sets switched off
 * through the environment, and checks each child really ran on the path it was given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { isa } from '../../src/native';

const here = __dirname;
const suites = [path.join(here, 'rs.test.js'), path.join(here, 'blake3.test.js')];
const nativeIndex = path.resolve(here, '../../src/native/index.js');

function runWith(env: Record<string, string>): { isa: { rs: string; blake3: string } } {
  const probe = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(nativeIndex)}).isa()))`],
    { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
  const r = spawnSync(process.execPath, ['--test', ...suites], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, `suites failed with ${JSON.stringify(env)}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  return { isa: JSON.parse(probe.stdout) };
}

const best = isa();
const cpu = (flag: string) => require('node:fs').readFileSync('/proc/cpuinfo', 'utf8').includes(` ${flag}`);

test('the portable paths pass every RS and BLAKE3 test', () => {
  const r = runWith({ DYNAMICFS_RS_ISA: 'scalar', DYNAMICFS_BLAKE3_ISA: 'portable' });
  assert.deepEqual(r.isa, { rs: 'scalar', blake3: 'portable' });
});

test('the SSSE3 / SSE4.1 paths pass every RS and BLAKE3 test', () => {
  const r = runWith({ DYNAMICFS_RS_ISA: 'ssse3', DYNAMICFS_BLAKE3_ISA: 'sse41' });
  assert.deepEqual(r.isa, { rs: 'ssse3', blake3: 'sse41' });
});

test('the default path is the widest the CPU has', () => {
  if (cpu('avx2')) assert.deepEqual(best, { rs: 'avx2', blake3: 'avx2' });
  else if (cpu('sse4_1')) assert.deepEqual(best, { rs: 'ssse3', blake3: 'sse41' });
});
