/**
 * The admin layer: every operation an operator runs against a pool (`status`, `put`,
 * `gc`, ...) is ONE function over the engine, in ops/, called the same way whether the
 * CLI opened the pool itself or a coordinator runs it for a request on its admin socket.
 * Arguments and results are plain data (msgpack-able: no class instances, no streams),
 * and every local path in the arguments is absolute: a coordinator's working directory
 * is not the caller's.
 *
 * Imports rpc/, engine/, fs/, pool/, meta/; never cli/ or daemon/ (client.ts speaks the
 * admin socket's wire through rpc/, and loads ops/ only for local runs).
 */
import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../engine/engine';
import type { Logger } from '../log/logger';

/** A byte counter the caller may show as a progress bar. */
export interface ProgressSink {
  add(bytes: number): void;
  /** The total was unknown (stdin) or changed. */
  grow(total: number): void;
  stop(): void;
  /** Someone sees it (a terminal): only then is a total that costs work to know worth computing. */
  readonly shown?: boolean;
}

/**
 * What only a local caller can give an operation: its own stdin/stdout (put/get with
 * `-`) and progress display. Over the socket the context carries only the request's
 * logger and id, and operations must work without any of it.
 */
export interface OpContext {
  stdio?: { stdin: Readable; stdout: Writable };
  progress?: (label: string, total: number) => ProgressSink;
  /** A long operation moved to its next phase (benchmark). */
  onPhase?: (phase: string) => void;
  /** In a coordinator: the request's logger, a child carrying its `reqId`; pass it to the work the operation starts. */
  log?: Logger;
  /** The id of this request (a coordinator's, or one a local run made up or was given): in its log lines, audit entry, the jobs it starts and their events. */
  reqId?: string;
}

export type AdminOp<A, R> = (engine: Engine, args: A, ctx: OpContext) => Promise<R>;

const silent: ProgressSink = { add: () => undefined, grow: () => undefined, stop: () => undefined };

/** The context's progress bar for `label`, or one that shows nothing. */
export function progressOf(ctx: OpContext, label: string, total: number): ProgressSink {
  return ctx.progress ? ctx.progress(label, total) : silent;
}
