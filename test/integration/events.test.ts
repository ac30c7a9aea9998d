/**
 * `dynamicfs events`, through the real CLI, offline and through a running coordinator: a
 * job started with `--request-id` shows its transitions, the repair it made and its scrub
 * finding carrying that id, and `--request` selects exactly them; a disk health change is
 * a disk event; `--kind`, `--since`, `--until`, `--limit` select exactly; the text, jsonl
 * and CSV (RFC 4180, a path holding a comma and a quote) exports carry the same events;
 * bad filters are refused naming the option; a damaged line is skipped and counted; the
 * history reads across a rotation of POOL/run/events.jsonl. Events the sink cannot write are
 * counted (dynamicfs_events_dropped_total) and warned of once in the coordinator's log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runFiles } from '../../src/rpc/run-files';
import { fails, makePool, ok, run, type Json } from '../helpers/cli';
import { startServe, stopChild } from '../helpers/daemon';
import { waitFor } from '../helpers/mount';
import { parseCsv, withEventRotation } from '../helpers/events';
import { parseExposition } from '../helpers/prometheus';
import { withTmpDir } from '../helpers/tmp';

/** A path with a comma and a double quote: CSV must quote it. */
const ODD = '/a,b"c';

/** Flip bytes in the payload (past the 4 KiB header) of one fragment file, on the first of `disks` holding any; returns that disk and the file's "extent.index". */
function corruptOne(disks: string[]): { disk: string; frag: string } {
  const files = (d: string): string[] => {
    const top = path.join(d, 'frags');
    if (!fs.existsSync(top)) return [];
    return (fs.readdirSync(top, { recursive: true }) as string[]).filter((f) => /\.\d+$/.test(f)).map((f) => path.join(top, f)).sort();
  };
  const disk = disks.find((d) => files(d).length > 0)!;
  const file = files(disk)[0]!;
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(16);
    fs.readSync(fd, b, 0, 16, 4096 + 100);
    for (let i = 0; i < b.length; i++) b[i] ^= 0xff;
    fs.writeSync(fd, b, 0, 16, 4096 + 100);
  } finally {
    fs.closeSync(fd);
  }
  return { disk, frag: path.basename(file) };
}

function events(pool: string, ...args: string[]): Json[] {
  return ok('events', pool, ...args).events as Json[];
}

/** [kind, subject, state-or-outcome-or-code] per event: what the request-id assertions compare. */
function shape(list: Json[]): [string, string, string][] {
  return list.map((e) => [e.kind, e.subject, String(e.details.state ?? e.details.outcome ?? e.details.code ?? e.details.result)]);
}

/** Put a file at ODD in a fresh rs:2+1 pool of four disks; the disk ids by path. */
function seeded(root: string): { pool: string; disks: string[]; ids: Map<string, number> } {
  const { pool, disks } = makePool(root, 4, '--redundancy', 'rs:2+1');
  const local = path.join(root, 'f');
  fs.writeFileSync(local, randomBytes(300_000));
  ok('put', pool, local, ODD);
  const ids = new Map((ok('disks', pool).disks as Json[]).map((d) => [d.path as string, d.id as number]));
  return { pool, disks, ids };
}

test('offline: a scrub with a request id shows its transitions, repair and finding under that id; filters and formats are exact', async () => {
  await withTmpDir((root) => {
    const { pool, disks, ids } = seeded(root);
    fails('EUSAGE', ['scrub', pool, '--request-id', 'not an id']);
    ok('scrub', pool, '--request-id', 'clean-1');
    const { disk: bad, frag } = corruptOne(disks);
    const [extent, index] = frag.split('.');
    const scrub = ok('scrub', pool, '--repair', '--request-id', 'fix-1');
    assert.equal(scrub.extents.repaired, 1);
    ok('set-disk-health', pool, '2', 'degraded', '--reason', 'events test', '--request-id', 'health-1');

    // The request's own events, and nothing else: the repair's note on the disk it rewrote is a disk event of the request.
    const fixAll = events(pool, '--request', 'fix-1');
    const fixNotes = fixAll.filter((e) => e.kind === 'disk');
    assert.deepEqual(fixNotes.map((e) => [e.subject, e.details.source, e.details.from, e.details.to, e.reqId]),
      [[`disk ${ids.get(bad)}`, 'repair', 'healthy', 'healthy', 'fix-1']]);
    assert.match(fixNotes[0]!.details.reason, new RegExp(`^fragment ${index} of extent ${extent}: `));
    const fix = fixAll.filter((e) => e.kind !== 'disk');
    assert.deepEqual(shape(fix), [
      ['job', 'job 2', 'queued'], ['job', 'job 2', 'running'], ['repair', `extent ${extent}`, 'repaired'],
      ['scrub', ODD, 'EDIGEST'], ['job', 'job 2', 'done'], ['audit', 'op scrub', 'ok'],
    ]);
    assert.ok(fix.every((e) => e.reqId === 'fix-1'));
    const [repair, finding] = [fix[2]!, fix[3]!];
    assert.deepEqual([repair.details.path, repair.details.by, repair.details.targets.map((t: Json) => [t.index, t.from, t.to, t.inPlace])],
      [ODD, 'scrub job 2', [[Number(index), ids.get(bad), ids.get(bad), true]]]);
    assert.deepEqual([finding.details.extent, finding.details.index, finding.details.diskId, finding.details.repaired, finding.details.job],
      [extent, Number(index), ids.get(bad), true, 2]);
    assert.equal(finding.message, `EDIGEST in fragment ${index} on disk ${ids.get(bad)} of extent ${extent} (${ODD} at 0); repaired: rewritten in place on disk ${ids.get(bad)} (healthy)`);
    assert.deepEqual(shape(events(pool, '--request', 'clean-1')), [['job', 'job 1', 'queued'], ['job', 'job 1', 'running'], ['job', 'job 1', 'done'], ['audit', 'op scrub', 'ok']]);

    // A disk health change is a disk event of its request, before the request's audit line.
    const all = events(pool);
    const diskEvents = events(pool, '--kind', 'disk');
    const lastDisk = diskEvents.at(-1)!;
    assert.deepEqual([lastDisk.subject, lastDisk.details.from, lastDisk.details.to, lastDisk.details.source, lastDisk.details.reason, lastDisk.reqId],
      ['disk 2', 'healthy', 'degraded', 'operator', 'events test', 'health-1']);
    assert.equal(lastDisk.message, `disk 2 (${disks[1]}) healthy -> degraded (operator): events test`);
    assert.deepEqual(events(pool, '--request', 'health-1').map((e) => [e.kind, e.subject]), [['disk', 'disk 2'], ['audit', 'op set-disk-health']]);
    // Without --request-id a local run makes one up: each add-disk's event and audit line share it.
    const added = diskEvents.filter((e) => e.details.from === null);
    const addAudits = events(pool, '--kind', 'audit').filter((e) => e.details.op === 'add-disk');
    assert.equal(added.length, 4);
    for (const e of added) assert.match(e.reqId, /^[0-9a-f]{12}$/);
    assert.deepEqual(added.map((e) => e.reqId), addAudits.map((e) => e.reqId));
    for (const e of all) assert.equal(e.time, new Date(e.timeMs).toISOString());
    assert.deepEqual(all.map((e) => e.timeMs), [...all.map((e) => e.timeMs)].sort((a, b) => a - b), 'in time order');

    // Filters select exactly.
    assert.deepEqual(events(pool, '--kind', 'scrub,repair'), all.filter((e) => e.kind === 'scrub' || e.kind === 'repair'));
    assert.deepEqual(events(pool, '--kind', 'job', '--kind', 'heal'), all.filter((e) => e.kind === 'job'));
    const mid = all[Math.floor(all.length / 2)]!;
    assert.deepEqual(events(pool, '--since', mid.time), all.filter((e) => e.timeMs >= mid.timeMs));
    assert.deepEqual(events(pool, '--until', mid.time), all.filter((e) => e.timeMs <= mid.timeMs));
    assert.deepEqual(events(pool, '--since', '1h'), all, 'everything happened within the hour');
    assert.deepEqual(events(pool, '--until', '1h'), [], 'nothing is older than an hour');
    assert.deepEqual(events(pool, '--since', '2099-01-01'), []);
    assert.deepEqual(events(pool, '--limit', '2'), all.slice(-2));
    assert.equal(ok('events', pool, '--kind', 'job', '--limit', '1').matched, all.filter((e) => e.kind === 'job').length);

    // Bad filters: refused, naming the option and the fix.
    assert.match(fails('EINVAL', ['events', pool, '--since', 'yesterday']).message, /^--since "yesterday" is neither an ISO 8601 time \(such as 2026-12-04T10:00:00Z\) nor a duration back from now \(such as 30m, 2h or 7d\)$/);
    assert.match(fails('EINVAL', ['events', pool, '--until', '5x']).message, /^--until "5x"/);
    assert.equal(fails('EINVAL', ['events', pool, '--kind', 'job,bogus']).message, '--kind "bogus" is not an event kind; use one or more of disk, job, repair, heal, scrub, snapshot, tier, audit (comma-separated)');
    assert.match(fails('EINVAL', ['events', pool, '--since', '1m', '--until', '2h']).message, /is after --until/);
    assert.match(fails('EUSAGE', ['events', pool, '--format', 'xml']).message, /--format "xml" is not one of text, jsonl, csv/);
    assert.match(fails('EUSAGE', ['events', pool, '--limit', '0']).message, /--limit "0"/);

    assert.deepEqual(events(pool, '--format', 'csv', '--kind', 'scrub'), all.filter((e) => e.kind === 'scrub'), '--json wins over --format');

    // jsonl: one object per line, the same events.
    const jsonl = run(['events', pool, '--format', 'jsonl']);
    assert.equal(jsonl.code, 0);
    assert.deepEqual(jsonl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Json), all);

    // CSV: RFC 4180, the path's comma and quote inside a quoted field.
    const csv = run(['events', pool, '--format', 'csv', '--kind', 'scrub,repair,job']);
    assert.equal(csv.code, 0);
    assert.ok(csv.stdout.includes(`,"${ODD.replace(/"/g, '""')}",`), 'the path is quoted, its quote doubled');
    const rows = parseCsv(csv.stdout);
    const some = all.filter((e) => ['scrub', 'repair', 'job'].includes(e.kind));
    assert.deepEqual(rows[0], ['time', 'timeMs', 'kind', 'subject', 'message', 'reqId', 'details']);
    assert.deepEqual(rows.slice(1), some.map((e) => [e.time, String(e.timeMs), e.kind, e.subject, e.message, e.reqId ?? '', JSON.stringify(e.details)]));
    assert.ok(csv.stdout.endsWith('\r\n'));

    // Text: aligned columns, every event's message whole at the MESSAGE column.
    const text = run(['events', pool]);
    assert.equal(text.code, 0);
    const lines = text.stdout.trimEnd().split('\n');
    const head = lines[0]!;
    assert.match(head, /^TIME +KIND +SUBJECT +REQUEST +MESSAGE$/);
    const col = (name: string): number => head.indexOf(name);
    assert.equal(lines.length, all.length + 1);
    all.forEach((e, i) => {
      const l = lines[i + 1]!;
      assert.equal(l.slice(0, e.time.length), e.time);
      assert.equal(l.slice(col('KIND')).split(' ')[0], e.kind);
      assert.equal(l.slice(col('REQUEST')).split(' ')[0], e.reqId ?? '-');
      assert.equal(l.slice(col('MESSAGE')), e.message);
    });
    assert.equal(run(['events', pool, '--kind', 'heal']).stdout, 'no events\n');
    assert.equal(fs.statSync(path.join(runFiles(pool).dir, 'events.jsonl')).mode & 0o777, 0o600);

    // A job verb's output names its request; a local run without --request-id makes one up.
    const txt = run(['scrub', pool, '--request-id', 'txt-1']);
    assert.equal(txt.code, 0, txt.stderr);
    assert.match(txt.stdout, /^scrub job 3 done \(request txt-1\): /);
    const rb = run(['rebuild', pool, '--request-id', 'rb-1']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /^job 4 rebuild done, .*, request rb-1$/m);
    assert.deepEqual(shape(events(pool, '--request', 'rb-1')), [['job', 'job 4', 'queued'], ['job', 'job 4', 'running'], ['job', 'job 4', 'done'], ['audit', 'op rebuild', 'ok']]);
    const made = ok('scrub', pool).reqId as string;
    assert.match(made, /^[0-9a-f]{12}$/);
    assert.deepEqual(shape(events(pool, '--request', made)).map((x) => x[2]), ['queued', 'running', 'done', 'ok']);

    // A heal: meta.db lost, rebuilt from the disks' copies when the pool is next opened.
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) fs.rmSync(path.join(pool, f), { force: true });
    const heals = events(pool, '--kind', 'heal');
    assert.deepEqual(heals.map((e) => [e.subject, e.details.reason, e.reqId]), [['meta.db', 'meta.db is missing', null]]);
    assert.match(heals[0]!.message, /^metadata rebuilt from the disks: meta\.db is missing; now generation \d+/);
  });
});

test('a damaged line is skipped and counted; the history reads across a rotation of events.jsonl', async () => {
  await withTmpDir(async (root) => {
    const { pool } = seeded(root);
    const file = path.join(runFiles(pool).dir, 'events.jsonl');
    const previous = `${file}.1`;
    // Each scrub writes three job lines of ~250 bytes: with 2 KiB files the scrub after the
    // first rotation ends well before a second one would happen.
    const scrubs = await withEventRotation(2048, () => {
      let n = 0;
      while (!fs.existsSync(previous)) {
        ok('scrub', pool, '--request-id', `s-${++n}`);
        assert.ok(n < 20, 'events.jsonl rotated');
      }
      ok('scrub', pool, '--request-id', `s-${++n}`);
      return n;
    });
    assert.ok(fs.statSync(previous).size <= 2048 && fs.statSync(file).size <= 2048);
    assert.deepEqual([fs.statSync(previous).mode & 0o777, fs.statSync(file).mode & 0o777], [0o600, 0o600]);
    const jobs = events(pool, '--kind', 'job');
    const expected = Array.from({ length: scrubs }, (_, i) => ['queued', 'running', 'done'].map((s) => [`job ${i + 1}`, s, `s-${i + 1}`])).flat();
    assert.deepEqual(jobs.map((e) => [e.subject, e.details.state, e.reqId]), expected, 'every transition, from both files, in order');
    const inPrevious = fs.readFileSync(previous, 'utf8').trimEnd().split('\n').length;
    assert.ok(inPrevious > 0 && inPrevious < jobs.length, 'the events straddle the rotation');
    assert.equal(ok('events', pool).skipped, 0);

    // Tear the last line of the current file (a write cut short) and put garbage in the audit log.
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    const torn = lines.at(-1)!;
    fs.writeFileSync(file, [...lines.slice(0, -1), torn.slice(0, torn.length >> 1)].join('\n'));
    fs.appendFileSync(path.join(runFiles(pool).dir, 'audit.log'), 'not json\n');
    const after = ok('events', pool);
    assert.equal(after.skipped, 2);
    assert.deepEqual(after.skippedLines, [{ file: 'events.jsonl', line: lines.length }, { file: 'audit.log', line: after.skippedLines[1].line }]);
    assert.deepEqual((after.events as Json[]).filter((e) => e.kind === 'job').map((e) => [e.subject, e.details.state]), expected.slice(0, -1).map(([s, st]) => [s, st]),
      'only the torn event is missing');
    const text = run(['events', pool, '--kind', 'job']);
    assert.equal(text.code, 0);
    assert.equal(text.stderr, `dynamicfs: skipped 2 damaged lines (events.jsonl:${lines.length}, audit.log:${after.skippedLines[1].line})\n`);
    // The sink starts its next line on a line of its own: only the torn event is lost.
    ok('scrub', pool, '--request-id', 'after-tear');
    assert.deepEqual(shape(events(pool, '--request', 'after-tear')).map((s) => s[2]), ['queued', 'running', 'done', 'ok']);
    assert.equal(ok('events', pool).skipped, 2);
  });
});

test('through a coordinator: the request id of a scrub reaches its transitions, repair and finding; a disk change is a disk event of its request, and so is the rebuild it starts', async () => {
  await withTmpDir(async (root) => {
    const { pool, disks, ids } = seeded(root);
    const served = await startServe(pool);
    try {
      const { disk: bad, frag } = corruptOne([...disks].reverse());
      const [extent] = frag.split('.');
      assert.equal(ok('scrub', pool, '--repair', '--request-id', 'srv-fix').extents.repaired, 1);
      ok('set-disk-health', pool, String(ids.get(disks[3]!)), 'suspect', '--reason', 'served', '--request-id', 'srv-health');
      const fixAll = events(pool, '--request', 'srv-fix');
      assert.deepEqual(fixAll.filter((e) => e.kind === 'disk').map((e) => [e.subject, e.details.source]), [[`disk ${ids.get(bad)}`, 'repair']]);
      const fix = fixAll.filter((e) => e.kind !== 'disk');
      assert.deepEqual(shape(fix), [
        ['job', 'job 1', 'queued'], ['job', 'job 1', 'running'], ['repair', `extent ${extent}`, 'repaired'],
        ['scrub', ODD, 'EDIGEST'], ['job', 'job 1', 'done'], ['audit', 'op scrub', 'ok'],
      ]);
      assert.equal(fix[5]!.details.via, 'socket');
      const lastDisk = events(pool, '--kind', 'disk').at(-1)!;
      assert.deepEqual([lastDisk.subject, lastDisk.details.to, lastDisk.details.reason, lastDisk.reqId], [`disk ${ids.get(disks[3]!)}`, 'suspect', 'served', 'srv-health']);
      assert.deepEqual(events(pool, '--request', 'srv-health').map((e) => [e.kind, e.subject, e.details.via ?? null]),
        [['disk', `disk ${ids.get(disks[3]!)}`, null], ['audit', 'op set-disk-health', 'socket']]);
      // Failing a disk that holds fragments makes the coordinator start a rebuild: it carries the request's id.
      ok('set-disk-health', pool, String(ids.get(bad)), 'failed', '--request-id', 'srv-fail');
      const rebuilt = (): Json | undefined => (ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'rebuild' && j.params.reqId === 'srv-fail' && j.state === 'done');
      await waitFor(() => rebuilt() !== undefined, 20_000, 'the rebuild the failed disk starts');
      const failed = events(pool, '--request', 'srv-fail');
      const job = `job ${rebuilt()!.id as number}`;
      assert.deepEqual(failed.filter((e) => e.kind === 'disk' && e.details.source === 'operator').map((e) => [e.subject, e.details.to]), [[`disk ${ids.get(bad)}`, 'failed']]);
      assert.deepEqual(failed.filter((e) => e.kind === 'job').map((e) => [e.subject, e.details.state]), [[job, 'queued'], [job, 'running'], [job, 'done']]);
      // The coordinator's log line of the job carries the id too.
      const log = fs.readFileSync(runFiles(pool).log, 'utf8').split('\n').filter((l) => l.includes('"msg":"job state"') && l.includes('"reqId":"srv-fix"'));
      assert.equal(log.length, 3);
    } finally {
      await stopChild(served.child);
    }
    // Offline again, the same history.
    assert.equal(events(pool, '--request', 'srv-fix').length, 7);
  });
});

test('through a coordinator: events the sink cannot write are counted in dynamicfs_events_dropped_total and warned of once in its log', async () => {
  await withTmpDir(async (root) => {
    const { pool } = makePool(root, 3, '--redundancy', 'rs:2+1');
    const served = await startServe(pool);
    try {
      const dropped = (): number | undefined => parseExposition(run(['metrics', pool]).stdout).get('dynamicfs_events_dropped_total');
      assert.equal(dropped(), 0);
      const file = path.join(runFiles(pool).dir, 'events.jsonl');
      fs.rmSync(file, { force: true });
      fs.mkdirSync(file); // the sink's open fails with EISDIR, as on a full or read-only run directory
      ok('scrub', pool, '--request-id', 'lost-1');
      assert.equal(dropped(), 3, 'the job\'s three transitions (queued, running, done)');
      const warnings = fs.readFileSync(runFiles(pool).log, 'utf8').split('\n').filter((l) => l.includes('events cannot be written'))
        .map((l) => JSON.parse(l) as Json);
      assert.deepEqual(warnings.map((w) => [w.level, w.file, w.code, w.dropped]), [[40, file, 'EISDIR', 1]], 'one warning a minute, not one per event');
      assert.match(warnings[0]!.msg, /make it writable by the pool's owner and events\.jsonl a regular file/);
      // The request itself is audited; only its job's events are missing.
      assert.deepEqual(shape(events(pool, '--request', 'lost-1')), [['audit', 'op scrub', 'ok']]);

      fs.rmdirSync(file);
      ok('scrub', pool, '--request-id', 'kept-1');
      assert.equal(dropped(), 3, 'written again: nothing more dropped');
      assert.deepEqual(shape(events(pool, '--request', 'kept-1')).map((x) => x[2]), ['queued', 'running', 'done', 'ok']);
    } finally {
      await stopChild(served.child);
    }
  });
});

test('offline: add-disk, drain, remove-disk and probe-disks given --request-id record it on the disk events they cause', async () => {
  await withTmpDir((root) => {
    const { pool, disks } = makePool(root, 3, '--redundancy', 'rs:2+1');
    const extra = path.join(root, 'extra');
    fs.mkdirSync(extra);
    fails('EUSAGE', ['add-disk', pool, extra, '--request-id', 'no spaces']);
    const id = ok('add-disk', pool, extra, '--request-id', 'add-x').disk.id as number;
    ok('drain', pool, String(id), '--request-id', 'drain-x');
    ok('remove-disk', pool, String(id), '--request-id', 'rm-x');
    fs.rmSync(path.join(disks[2]!, 'dynamicfs.label'));
    ok('probe-disks', pool, '--request-id', 'probe-x');

    const of = (req: string): [string, string, string | null, string][] => events(pool, '--request', req)
      .map((e) => [e.kind, e.subject, e.kind === 'disk' ? e.details.to : e.details.state ?? null, e.kind === 'disk' ? e.details.source : e.details.result ?? '']);
    assert.deepEqual(of('add-x'), [['disk', `disk ${id}`, 'healthy', 'pool'], ['audit', 'op add-disk', null, 'ok']]);
    const drainJob = `job ${(ok('jobs', pool).jobs as Json[]).find((j) => j.kind === 'drain')!.id as number}`;
    assert.deepEqual(of('drain-x'), [['disk', `disk ${id}`, 'draining', 'operator'], ['job', drainJob, 'queued', ''], ['job', drainJob, 'running', ''],
      ['job', drainJob, 'done', ''], ['audit', 'op drain', null, 'ok']]);
    assert.deepEqual(of('rm-x'), [['disk', `disk ${id}`, 'draining', 'operator'], ['audit', 'op remove-disk', null, 'ok']]);
    assert.equal(events(pool, '--request', 'rm-x')[0]!.message, `disk ${id} stays draining (operator): removed from the pool`);
    assert.deepEqual(of('probe-x'), [['disk', 'disk 3', 'failed', 'probe'], ['audit', 'op probe-disks', null, 'ok']]);
    // disk-events shows the request too.
    assert.deepEqual((ok('disk-events', pool, '3').events as Json[]).at(-1)!.reqId, 'probe-x');
    const text = run(['disk-events', pool, '3']);
    assert.match(text.stdout.split('\n')[0]!, /^TIME +DISK +PATH +FROM +TO +BY +REQUEST +REASON$/);
    assert.match(text.stdout.trimEnd().split('\n').at(-1)!, / probe +probe-x +disk directory/);
  });
});
