/**
 * Progress bars for long operations, on stderr and only when stderr is a terminal and
 * the output is not JSON, so pipes, logs and scripts never see control characters.
 */
import type * as CliProgress from 'cli-progress';
import type { ProgressSink } from '../admin/context';
import { humanBytes } from './format';

export type Progress = ProgressSink;

const silent: Progress = { add: () => undefined, grow: () => undefined, stop: () => undefined };

/** A byte-counting bar labelled `what`; a no-op where no one is watching. */
export function byteProgress(what: string, total: number, json: boolean): Progress {
  if (json || !process.stderr.isTTY) return silent;
  // Loaded when a bar is drawn (a terminal): scripted runs never pay for its load.
  const { SingleBar, Presets } = require('cli-progress') as typeof CliProgress;
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${what} [{bar}] {percentage}% {done}/{size} {rate}/s eta {eta_formatted}`,
    hideCursor: true,
  }, Presets.shades_classic);
  let done = 0;
  const start = Date.now();
  const fields = () => ({ done: humanBytes(done), size: humanBytes(total), rate: humanBytes(done / Math.max(0.001, (Date.now() - start) / 1000)) });
  bar.start(Math.max(total, 1), 0, fields());
  return {
    shown: true,
    add(bytes) {
      done += bytes;
      bar.update(done, fields());
    },
    grow(t) {
      total = t;
      bar.setTotal(Math.max(t, 1));
    },
    stop() {
      bar.stop();
    },
  };
}
