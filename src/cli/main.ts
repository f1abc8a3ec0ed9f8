// The `evident` command line (bin/evident.mjs). Each command is one module in ./commands that
// registers itself on the program; see docs/audit.md, "Command line".
import { Command, CommanderError } from 'commander';
import { DomainError } from '../domain/decider.ts';
import { loadDotEnv } from '../infra/config.ts';
import { StoreUnavailableError } from '../infra/store-unavailable.ts';
import { createCliContext, type CliContext } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { createOutput } from './output.ts';
import * as asOf from './commands/as-of.ts';
import * as deactivate from './commands/deactivate.ts';
import * as erase from './commands/erase.ts';
import * as events from './commands/events.ts';
import * as exportLog from './commands/export.ts';
import * as importLog from './commands/import.ts';
import * as projections from './commands/projections.ts';
import * as replay from './commands/replay.ts';
import * as seal from './commands/seal.ts';
import * as verify from './commands/verify.ts';

export interface CliCommand {
  register(program: Command, ctx: CliContext): void;
}

/** Every command, in the order `--help` lists them. Adding a command: one module, one line here. */
export const COMMANDS: readonly CliCommand[] = [events, projections, replay, asOf, verify, seal, exportLog, importLog, erase, deactivate];

const DOMAIN_EXIT: Record<string, number> = { NOT_FOUND: EXIT.notFound };

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('evident')
    .description('Audit and replay tooling for an Evident installation: opens the same stores as the server, from the same configuration (environment and .env).')
    .option('--json', 'machine-readable output: one JSON document per command (NDJSON for streams)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.split('\n').find((line) => line.trim() !== '')!.concat('\n')) });
  program.addHelpText('after', `
Exit codes: 0 ok, 1 check failed, 2 usage error, 3 store unavailable or locked, 4 not found.`);
  for (const command of COMMANDS) command.register(program, ctx);
  // Subcommands report usage errors the same way as the program.
  for (const sub of program.commands) sub.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** One line for anything that goes wrong, and its exit code. */
function failure(error: unknown): { code: number; message: string | null } {
  if (error instanceof CommanderError) {
    // commander printed its own line already; help and --version end with 0.
    return { code: error.exitCode === 0 ? EXIT.ok : EXIT.usage, message: null };
  }
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (error instanceof DomainError) return { code: DOMAIN_EXIT[error.code] ?? EXIT.usage, message: error.message };
  if (error instanceof StoreUnavailableError) return { code: EXIT.unavailable, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: EXIT.unavailable, message: `Unexpected error: ${message.split('\n')[0]}` };
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    loadDotEnv();
  } catch (error) {
    process.stderr.write(`Cannot read .env: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const holder: { program?: Command } = {};
  const out = createOutput({ json: () => holder.program?.opts<{ json?: boolean }>().json === true });
  const ctx = createCliContext({ out });
  const program = buildProgram(ctx);
  holder.program = program;
  let code: number = EXIT.ok;
  try {
    await program.parseAsync([...argv]);
    code = process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (error) {
    const { code: exit, message } = failure(error);
    if (message) process.stderr.write(`evident: ${message}\n`);
    code = exit;
  } finally {
    await ctx.close();
  }
  return code;
}
