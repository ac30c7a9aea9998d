/**
 * The `dynamicfs` command line: builds the commander program from the verbs in
 * commands/, runs one, and prints its outcome through output.ts. Returns the exit
 * code instead of exiting, so bin/dynamicfs.js and tests decide what to do with it.
 *
 * Commander never prints errors or exits here: its errors become EUSAGE (exit 2),
 * in JSON too when `--json` is on the command line.
 */
import { Command, CommanderError } from 'commander';
import { DfsError } from '../errors';
import { Output, processStreams, wantsJson, EXIT_OK, type Streams } from './output';
import type { CliContext, RegisterVerb } from './verb';

/**
 * The verbs, loaded on first use rather than imported: they pull in the native addon,
 * and a missing or broken addon must come out as a clean error (JSON with --json),
 * not a stack trace from module loading.
 */
function loadVerbs(): Record<string, RegisterVerb> {
  // The annotation is the compile-time check that every export is a RegisterVerb.
  const verbs: Record<string, RegisterVerb> = require('./commands') as typeof import('./commands');
  return verbs;
}

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/** Build the program; `ctx` receives the verb's result. Exported for tests and docs. */
export function buildProgram(ctx: CliContext, io: Streams = processStreams): Command {
  const program = new Command('dynamicfs');
  program
    .description('DynamicFS pools directories ("disks") into one redundant, checksummed store.\n'
      + 'Commands take the pool directory first (unmount: the mountpoint) and accept --json for one machine-readable JSON object.')
    .version(VERSION, '-V, --version', 'print the DynamicFS version')
    .option('--json', 'print one JSON object: {"ok":true,...} or {"ok":false,"error":{code,message}}')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Errors are printed by Output (as text or JSON), not by commander.
      outputError: () => undefined,
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nRun `dynamicfs <command> --help` for a command\'s arguments and options.');
  // Settings above are copied into each subcommand when it is created, so they come first.
  for (const register of Object.values(loadVerbs())) register(program, ctx);
  return program;
}

/** Run the CLI on process.argv-style arguments ([node, script, ...args]); resolves to the exit code. */
export async function main(argv: string[], io: Streams = processStreams): Promise<number> {
  const args = argv.slice(2);
  const out = new Output(wantsJson(args), io);
  let result: { data: object; human: (d: object) => string; exitCode?: number } | undefined;
  const ctx: CliContext = {
    emit: (data, human, exitCode) => { result = { data, human: human as (d: object) => string, exitCode }; },
  };
  let program: Command;
  try {
    program = buildProgram(ctx, io);
  } catch (err) {
    return out.failure(err);
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return usageError(err, out, args, program);
    return out.failure(err);
  }
  if (!result) return EXIT_OK;
  const code = out.success(result.data, result.human);
  return result.exitCode ?? code;
}

function usageError(err: CommanderError, out: Output, args: string[], program: Command): number {
  // --help and --version end the parse with an "error" whose exit code is 0.
  if (err.exitCode === 0) return EXIT_OK;
  const verb = program.commands.find((c) => args.includes(c.name()));
  const message = err.code === 'commander.help'
    ? 'no command given; run `dynamicfs --help` for the list of commands'
    : err.message.replace(/^error:\s*/, '').trim();
  const hint = verb ? `Run \`dynamicfs ${verb.name()} --help\` for usage.` : 'Run `dynamicfs --help` for usage.';
  return out.failure(new DfsError('EUSAGE', message, undefined, { commander: err.code }), hint);
}
