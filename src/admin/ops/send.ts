/**
 * `send`: snapshot SNAP's tree (incremental from `from` when given) as a send stream
 * (fs/send.ts, docs/FORMAT.md "Send streams") into a local file, made durable before the
 * operation answers, or the caller's stdout (local runs only). A stream that fails
 * half-way leaves no file behind.
 */
import { open, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { DfsError, toDfsError } from '../../errors';
import { sendDataBytes, sendSnapshots, sendStream, type SendSummary } from '../../fs/send';
import { localPath, optStr, str } from '../args';
import { progressOf, type AdminOp } from '../context';

export interface SendArgs {
  snapshot: string;
  /** The base snapshot of an incremental stream. */
  from?: string;
  /** Absolute path of the file to write, or `-` for the caller's stdout (local runs only). */
  output: string;
}

export interface SendData extends SendSummary {
  output: string;
}

export const send: AdminOp<SendArgs, SendData> = async (engine, args, ctx) => {
  const snapshot = str('send', args, 'snapshot');
  const from = optStr('send', args, 'from');
  const output = localPath('send', args, 'output', true);
  sendSnapshots(engine, snapshot, from); // a bad name fails before the output is touched
  if (output === '-' && !ctx.stdio) {
    throw new DfsError('EPOOLSERVED', 'send to stdout needs the caller\'s stdout, which a coordinator cannot write to; give -o FILE');
  }
  const bar = progressOf(ctx, `sending ${snapshot}`, 0);
  if (bar.shown) bar.grow(sendDataBytes(engine, snapshot, from));
  try {
    if (output === '-') {
      const stdout = ctx.stdio!.stdout;
      let failed: Error | undefined;
      const onError = (err: Error): void => { failed = err; };
      stdout.on('error', onError);
      try {
        const summary = await sendStream(engine, snapshot, from, async (chunk) => {
          if (failed) throw new DfsError('EIO', `cannot write the stream to stdout: ${failed.message}`);
          if (!stdout.write(chunk)) await Promise.race([once(stdout, 'drain'), once(stdout, 'error')]);
        }, (n) => bar.add(n));
        if (failed) throw new DfsError('EIO', `cannot write the stream to stdout: ${(failed as Error).message}`);
        return { ...summary, output };
      } finally {
        stdout.off('error', onError);
      }
    }
    let fh;
    try {
      fh = await open(output, 'w');
    } catch (err) {
      const e = toDfsError(err);
      throw new DfsError(e.code, `cannot write the stream to ${output}: ${e.message}`, output);
    }
    try {
      const summary = await sendStream(engine, snapshot, from, async (chunk) => { await fh.write(chunk); }, (n) => bar.add(n));
      await fh.sync();
      await fh.close();
      return { ...summary, output };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(output, { force: true });
      throw err;
    }
  } finally {
    bar.stop();
  }
};
