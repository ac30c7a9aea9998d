/**
 * instrumentFuseOps over a fake op table: every operation counted and timed whatever it
 * answers, errors counted by errno name and logged with a request id (ENOENT and the
 * other ordinary misses at debug level only, a cause passed after the errno in the log line
 * and not passed on), results passed through untouched, and the handler called synchronously (fuse-native's request context is only valid then).
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { Writable } from 'node:stream';
import pino from 'pino';
import { instrumentFuseOps } from '../../../src/fuse/instrument';
import { Metrics } from '../../../src/metrics/metrics';
import { parseExposition } from '../../helpers/prometheus';

type Cb = (code: number, ...r: unknown[]) => void;

test('FUSE ops are counted, timed, and their failures logged with a request id', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  const log = pino({ level: 'debug' }, sink);
  const metrics = new Metrics();
  let inHandler = false;
  // The durations come from performance.now(): a virtual clock makes them exact.
  let clock = 1000;
  mock.method(performance, 'now', () => clock);
  const raw = {
    init: (cb: Cb) => cb(0),
    getattr: (path: string, cb: Cb) => {
      inHandler = true;
      if (path === '/missing') cb(-constants.errno.ENOENT);
      else setImmediate(() => { clock += 5; cb(0, { size: 1 }); }); // 5 ms of a virtual clock
    },
    read: (_p: string, _fd: number, _buf: Buffer, len: number, _pos: number, cb: Cb) => cb(len),
    readlink: (_p: string, cb: Cb) => cb(-constants.errno.EINVAL),
    unlink: (_p: string, cb: Cb) => cb(-constants.errno.EIO, new Error('disk 3 is gone')),
  };
  const ops = instrumentFuseOps(raw, metrics, log) as typeof raw;
  assert.deepEqual(Object.keys(ops), Object.keys(raw), 'the same operations are implemented');
  assert.equal(ops.init, raw.init);

  const results: unknown[] = [];
  await new Promise<void>((resolve) => ops.getattr('/a', (code, stat) => { results.push([code, stat]); resolve(); }));
  ops.getattr('/missing', (code) => results.push([code]));
  assert.ok(inHandler, 'called synchronously');
  ops.read('/a', 3, Buffer.alloc(8), 8, 0, (n) => results.push([n]));
  ops.readlink('/file', (code) => results.push([code]));
  ops.unlink('/f', (...args) => results.push(args));
  assert.deepEqual(results, [[0, { size: 1 }], [-constants.errno.ENOENT], [8], [-constants.errno.EINVAL], [-constants.errno.EIO]]);

  const m = parseExposition(await metrics.text(), 'dynamicfs_fuse');
  assert.equal(m.get('dynamicfs_fuse_operations_total{op="getattr"}'), 2);
  assert.equal(m.get('dynamicfs_fuse_operations_total{op="read"}'), 1);
  assert.equal(m.get('dynamicfs_fuse_operation_errors_total{op="getattr",code="ENOENT"}'), 1);
  assert.equal(m.get('dynamicfs_fuse_operation_errors_total{op="readlink",code="EINVAL"}'), 1);
  assert.equal(m.get('dynamicfs_fuse_operation_errors_total{op="read",code="EIO"}'), undefined);
  assert.equal(m.get('dynamicfs_fuse_operation_duration_seconds_count{op="getattr"}'), 2);
  assert.equal(m.get('dynamicfs_fuse_operation_duration_seconds_sum{op="getattr"}'), 0.005, 'the slow getattr was timed, the miss took no time');
  mock.restoreAll();

  const failed = lines.filter((l) => l.msg === 'fuse request failed');
  assert.deepEqual(failed.map((l) => [l.level, l.op, l.code, l.path, l.err]), [[20, 'getattr', 'ENOENT', '/missing', undefined],
    [40, 'readlink', 'EINVAL', '/file', undefined], [40, 'unlink', 'EIO', '/f', 'disk 3 is gone']]);
  assert.match(String(failed[1]!.reqId), /^fuse-\d+$/);
  assert.notEqual(failed[0]!.reqId, failed[1]!.reqId);
});
