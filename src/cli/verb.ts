/**
 * The contract between main.ts and the verbs. A verb file registers one commander
 * command; its action parses and checks its arguments, makes local paths absolute, runs
 * the admin operation through `invoke` (admin/client.ts: over the coordinator's socket
 * when one holds the pool, in this process otherwise) and hands the data, with a
 * function that renders it for humans, to `ctx.emit`. main.ts prints it through
 * output.ts after the parse, so no verb decides between text and JSON.
 */
import type { Command } from 'commander';
import type { OpContext } from '../admin/context';
import { byteProgress } from './progress';

export interface CliContext {
  /**
   * Hand over the verb's result; called once per run, by the action. `exitCode` (default
   * 0) is for a verb whose successful answer is a bad verdict (`health` on a critical pool).
   */
  emit<T extends object>(data: T, human: (data: T) => string, exitCode?: number): void;
}

/** What each file in commands/ exports as `register`. */
export type RegisterVerb = (program: Command, ctx: CliContext) => void;

/** Whether `--json` is on (a global option, so read through the command's parents). */
export function jsonOf(cmd: Command): boolean {
  return !!cmd.optsWithGlobals().json;
}

/**
 * What a local run of an operation may use: progress bars on a terminal (never with
 * --json) and, when `stdio` is set, this process's stdin and stdout.
 */
export function localContext(json: boolean, stdio = false): OpContext {
  return {
    progress: (label, total) => byteProgress(label, total, json),
    onPhase: (phase) => {
      if (!json && process.stderr.isTTY) process.stderr.write(`${phase}\n`);
    },
    ...(stdio ? { stdio: { stdin: process.stdin, stdout: process.stdout } } : {}),
  };
}
