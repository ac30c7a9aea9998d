/**
 * The contract between main.ts and the verbs. A verb file registers one commander
 * command; its action computes plain data (no printing) and hands it, with a
 * function that renders it for humans, to `ctx.emit`. main.ts prints it through
 * output.ts after the parse, so no verb decides between text and JSON.
 *
 * Verbs that touch a pool open it with `withEngine`, which takes the pool lock and
 * always closes the engine, whatever the verb throws.
 */
import type { Command } from 'commander';
import { Engine } from '../engine/engine';

export interface CliContext {
  /** Hand over the verb's result; called once per run, by the action. */
  emit<T extends object>(data: T, human: (data: T) => string): void;
}

/** What each file in commands/ exports as `register`. */
export type RegisterVerb = (program: Command, ctx: CliContext) => void;

/** Open the pool (taking its lock), run fn, and close the pool whatever happens. */
export async function withEngine<T>(poolDir: string, fn: (engine: Engine) => Promise<T> | T): Promise<T> {
  const engine = Engine.open(poolDir);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

