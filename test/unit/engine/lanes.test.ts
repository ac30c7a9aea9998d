/**
 * lanes.ts's eachInLanes, driven by hand-opened gates (no timing): items start in order,
 * never more than the width at once, a new width applies at the next start, a failure
 * lets what is in flight finish and starts nothing more. And a job paused while several
 * of its steps wait resumes every one of them (the rebuild's extents in flight).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobRunner, type JobContext } from '../../../src/engine/jobs';
import { eachInLanes } from '../../../src/engine/lanes';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

/** A promise per item that the test resolves or rejects when it chooses. */
class Gates {
  private readonly open = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  readonly started: number[] = [];
  wait(i: number): Promise<void> {
    this.started.push(i);
    return new Promise((resolve, reject) => this.open.set(i, { resolve, reject }));
  }
  pass(i: number): void {
    this.open.get(i)!.resolve();
  }
  fail(i: number, e: Error): void {
    this.open.get(i)!.reject(e);
  }
}

/** Let every pending callback run (the lanes start their next items in them). */
const settle = () => new Promise((r) => setImmediate(r));

test('eachInLanes: in order, at most the width at once, a new width at the next start', async () => {
  const g = new Gates();
  let width = 2;
  const peaks: number[] = [];
  const done = eachInLanes([0, 1, 2, 3, 4, 5], () => width, (i) => g.wait(i), (n) => peaks.push(n));
  assert.deepEqual(g.started, [0, 1]);
  g.pass(1);
  await settle();
  assert.deepEqual(g.started, [0, 1, 2], 'one finished, one more started');
  width = 4;
  g.pass(0);
  await settle();
  assert.deepEqual(g.started, [0, 1, 2, 3, 4, 5], 'the wider width at the next start');
  for (const i of [2, 3, 4, 5]) g.pass(i);
  await done;
  assert.equal(Math.max(...peaks), 4);
  await eachInLanes([], () => 3, () => assert.fail('no item'));
});

test('eachInLanes: after a failure nothing starts, what is in flight finishes, then the first failure is thrown', async () => {
  const g = new Gates();
  let finished = 0;
  const done = eachInLanes([0, 1, 2, 3], () => 2, async (i) => {
    await g.wait(i);
    finished++;
  });
  g.fail(0, new Error('first'));
  await settle();
  assert.deepEqual(g.started, [0, 1], 'no item started after the failure');
  let settled = false;
  void done.catch(() => { settled = true; });
  await settle();
  assert.equal(settled, false, 'item 1 is still in flight');
  g.pass(1);
  await assert.rejects(done, /first/);
  assert.equal(finished, 1);
});

test('a job paused while several steps wait resumes all of them', async () => {
  await withTmpDir(async (dir) => {
    const { engine } = dirPool(dir, [0, 1, 2], { extentSize: 65536, policy: 'rs:2+1' });
    try {
      const g = new Gates();
      const runner = new JobRunner(engine, {
        lanes: (_e, ctx: JobContext) => eachInLanes([0, 1, 2, 3, 4, 5, 6, 7], () => 4, async (i) => {
          await ctx.step();
          await g.wait(i);
        }),
      });
      const id = runner.submit('lanes', {});
      const run = runner.runToEnd(id);
      await settle();
      assert.deepEqual(g.started, [0, 1, 2, 3]);
      runner.pause(id);
      for (const i of [0, 1, 2, 3]) g.pass(i);
      await settle();
      assert.deepEqual(g.started, [0, 1, 2, 3], 'four more started, each waiting at its step');
      runner.resume(id);
      await settle();
      assert.deepEqual(g.started, [0, 1, 2, 3, 4, 5, 6, 7], 'every waiting step went on');
      for (const i of [4, 5, 6, 7]) g.pass(i);
      assert.equal((await run).state, 'done');
    } finally {
      await engine.close();
    }
  });
});
