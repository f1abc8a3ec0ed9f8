/** True on CI (`.ci/run` runs with CI=true), where every suite must run. */
export const ON_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * For a suite that needs something this machine may lack (`missing` says what, or is undefined when
 * nothing is). Locally it prints the one visible line a skipped suite owes the reader and returns
 * it, for `describe.skipIf`; with CI=true it throws, so the run fails instead of passing with less.
 */
export function skipReason(suite: string, missing: string | undefined): string | undefined {
  if (missing === undefined) return undefined;
  if (ON_CI) throw new Error(`${suite}: ${missing}, and CI=true requires this suite to run`);
  const reason = `${suite}: skipped, ${missing}`;
  console.warn(reason);
  return reason;
}
