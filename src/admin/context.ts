/**
 * The admin layer: every operation an operator runs against a pool (`status`, `put`,
 * `gc`, ...) is ONE function over the engine, in ops/, called the same way whether the
 * CLI opened the pool itself or a coordinator runs it for a request on its admin socket.
 * Arguments and results are plain data (msgpack-able: no class instances, no streams),
 * and every local path in the arguments is absolute: a coordinator's working directory
 * is not the caller's.
 *
 * Imports engine/, fs/, pool/, meta/; never cli/ or daemon/ (the client in client.ts
 * is the one exception: it is the transport, and it loads ops/ only for local runs).
 */
import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../engine/engine';

/** A byte counter the caller may show as a progress bar. */
export interface ProgressSink {
  add(bytes: number): void;
  /** The total was unknown (stdin) or changed. */
  grow(total: number): void;
  stop(): void;
}

/**
 * What only a local caller can give an operation: its own stdin/stdout (put/get with
 * `-`) and progress display. Over the socket the context is empty, and operations must
 * work without it.
 */
export interface OpContext {
  stdio?: { stdin: Readable; stdout: Writable };
  progress?: (label: string, total: number) => ProgressSink;
  /** A long operation moved to its next phase (benchmark). */
  onPhase?: (phase: string) => void;
}

export type AdminOp<A, R> = (engine: Engine, args: A, ctx: OpContext) => Promise<R>;

const silent: ProgressSink = { add: () => undefined, grow: () => undefined, stop: () => undefined };

/** The context's progress bar for `label`, or one that shows nothing. */
export function progressOf(ctx: OpContext, label: string, total: number): ProgressSink {
  return ctx.progress ? ctx.progress(label, total) : silent;
}
