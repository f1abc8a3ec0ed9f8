/** The CLI's exit codes: stable, documented in docs/audit.md ("Command line"). */
export const EXIT = {
  ok: 0,
  /** A check found a difference (replay --compare). */
  checkFailed: 1,
  /** A bad argument or option (commander's own errors too), or a refusal of the arguments given. */
  usage: 2,
  /** A store cannot be opened: unreachable, missing, or locked by a running server. */
  unavailable: 3,
  /** What was named does not exist (a user, a projection, a stream). */
  notFound: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line on stderr and an exit code, never a stack trace. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new CliError(EXIT.usage, message);
export const notFound = (message: string) => new CliError(EXIT.notFound, message);
export const unavailable = (message: string) => new CliError(EXIT.unavailable, message);
