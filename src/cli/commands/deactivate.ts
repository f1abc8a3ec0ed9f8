import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { usageError } from '../errors.ts';
import { resolveOperator, resolveUser, userCommands } from '../operator.ts';

export function register(program: Command, ctx: CliContext): void {
  program.command('deactivate')
    .description('deactivate a user (their sessions end, they cannot log in), recorded in the log with the operator as actor')
    .argument('<user>', 'user id or email address')
    .requiredOption('--as <admin>', 'the operator: an active admin, by id or email address')
    .option('--reason <text>', 'why (recorded in the event)')
    .action(async (user: string, options: { as: string; reason?: string }) => {
      const operator = await resolveOperator(ctx, options.as);
      const target = await resolveUser(ctx, user, 'user');
      if (target.userId === operator.userId) throw usageError('An operator cannot deactivate their own account');
      const users = await userCommands(ctx);
      const result = await users.deactivate({ userId: target.userId, reason: options.reason ?? null }, ctx.commandContext(operator.userId));
      const recorded = result.position !== null;
      ctx.out.result({ userId: target.userId, actorId: operator.userId, recorded, position: result.position?.toString() ?? null }, () => {
        ctx.out.line(recorded
          ? `deactivated ${target.userId} (UserDeactivated at position ${result.position}, actor ${operator.userId})`
          : `${target.userId} was already ${target.state.status}: nothing recorded`);
      });
    });
}
