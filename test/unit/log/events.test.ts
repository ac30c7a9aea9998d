/**
 * The event sink (POOL/run/events.jsonl): whole lines under concurrent writers, 0600, rotation to one previous file, damaged lines
 * skipped; an event it cannot write goes to its drop listeners, and the log's warning of it comes at most once a minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { DROP_WARNING_EVERY_MS, warnOfDrops } from '../../../src/log/drop-warning';
import { EventSink, readEvents } from '../../../src/log/events';
import { withTmpDir } from '../../helpers/tmp';

const MODULE = path.resolve(__dirname, '../../../src/log/events.js');

/** A child process appending `n` events tagged `who` through its own EventSink. */
function writer(file: string, who: string, n: number): Promise<number | null> {
  const script = `const { EventSink } = require(${JSON.stringify(MODULE)});
    const s = new EventSink(${JSON.stringify(file)}, 1 << 30);
    for (let i = 0; i < ${n}; i++) s.record({ kind: 'job', subject: '${who}', message: '${who} ' + i + ' ' + 'x'.repeat(i % 300), details: { i } });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

test('two processes appending at once: every line whole, in each writer\'s order; the file is 0600', async () => {
  await withTmpDir(async (dir) => {
    const file = path.join(dir, 'run', 'events.jsonl');
    assert.deepEqual(await Promise.all([writer(file, 'a', 2000), writer(file, 'b', 2000)]), [0, 0]);
    const read = readEvents(file);
    assert.deepEqual(read.skipped, []);
    for (const who of ['a', 'b']) {
      assert.deepEqual(read.events.filter((e) => e.subject === who).map((e) => e.details.i), Array.from({ length: 2000 }, (_, i) => i));
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });
});

test('past its size the file moves to .1 (one previous kept); readers read both, oldest first', async () => {
  await withTmpDir((dir) => {
    const file = path.join(dir, 'events.jsonl');
    const sink = new EventSink(file, 1000);
    for (let i = 0; i < 40; i++) assert.ok(sink.record({ kind: 'scrub', subject: '/f', message: `finding ${i}`, timeMs: i }));
    for (const f of [file, `${file}.1`]) assert.ok(fs.statSync(f).size <= 1000, f);
    const seen = readEvents(file).events.map((e) => e.timeMs);
    // Both files hold whole consecutive runs ending at the last event; older ones rotated away.
    assert.equal(seen.at(-1), 39);
    assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => 40 - seen.length + i));
    assert.ok(seen.length > fs.readFileSync(file, 'utf8').split('\n').length - 1, 'some come from .1');
    assert.ok(seen.length < 40, 'a second rotation dropped the oldest');
  });
});

test('a damaged or torn line is skipped and named; the next append starts a line of its own', async () => {
  await withTmpDir((dir) => {
    const file = path.join(dir, 'events.jsonl');
    const sink = new EventSink(file);
    sink.record({ kind: 'heal', subject: 'meta.db', message: 'one', reqId: 'r1' });
    fs.appendFileSync(file, '{"timeMs":1,"kind":"bogus","subject":"x","message":"y","details":{},"reqId":null}\n{"timeMs":17');
    sink.record({ kind: 'repair', subject: 'extent ab', message: 'two' });
    const read = readEvents(file);
    assert.deepEqual(read.events.map((e) => [e.kind, e.message, e.reqId]), [['heal', 'one', 'r1'], ['repair', 'two', null]]);
    assert.deepEqual(read.skipped, [{ file, line: 2 }, { file, line: 3 }]);
  });
});

test('a sink that cannot write says so and does not throw', async () => {
  await withTmpDir((dir) => {
    fs.writeFileSync(path.join(dir, 'run'), 'a file where the run directory should be');
    assert.equal(new EventSink(path.join(dir, 'run', 'events.jsonl')).record({ kind: 'job', subject: 'job 1', message: 'x' }), false);
  });
});

test('an event not written goes to the drop listeners; the log warns of drops once a minute, naming the file, the cause and the fix', async () => {
  await withTmpDir((dir) => {
    const file = path.join(dir, 'run', 'events.jsonl');
    fs.mkdirSync(file, { recursive: true }); // a directory where the file should be
    const sink = new EventSink(file);
    const heard: string[] = [];
    sink.onDropped((err) => heard.push((err as NodeJS.ErrnoException).code!));
    sink.onDropped(() => { throw new Error('a failing listener changes nothing'); });
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => { lines.push(JSON.parse(l) as Record<string, unknown>); } });
    let now = 1_000_000;
    warnOfDrops(sink, log, DROP_WARNING_EVERY_MS, () => now);
    const drop = (): boolean => sink.record({ kind: 'job', subject: 'job 1', message: 'x' });

    assert.deepEqual([drop(), drop(), drop()], [false, false, false]);
    assert.deepEqual(heard, ['EISDIR', 'EISDIR', 'EISDIR']);
    assert.equal(lines.length, 1, 'one warning for three drops within the minute');
    assert.deepEqual([lines[0]!.level, lines[0]!.file, lines[0]!.code, lines[0]!.dropped], [40, file, 'EISDIR', 1]);
    assert.match(lines[0]!.msg as string, new RegExp(`^events cannot be written to ${file} \\(EISDIR: .*\\); 1 dropped since the last warning, `
      + `and \`dynamicfs events\` will not show them; free space on the filesystem holding ${path.dirname(file)}, make it writable by the pool's owner `
      + 'and events\\.jsonl a regular file \\(dynamicfs_events_dropped_total counts them\\)$'));
    now += DROP_WARNING_EVERY_MS - 1;
    drop();
    assert.equal(lines.length, 1);
    now += 1;
    drop();
    assert.equal(lines.length, 2, 'a minute after the first');
    assert.equal(lines[1]!.dropped, 4, 'the drops since the last warning are counted in it');

    // Written again once the cause is gone: no listener hears of it.
    fs.rmdirSync(file);
    assert.equal(drop(), true);
    assert.equal(heard.length, 5);
  });
});
