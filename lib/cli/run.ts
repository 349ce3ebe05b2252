import { PgQueueError } from '../errors';
import { messages } from '../errors/messages';
import { parseInvocation, UsageError, type Invocation } from './arguments';
import { runMigrate } from './migrate-command';
import type { Output } from './output';
import { runSql } from './sql-command';
import { runStatus } from './status-command';
import { usage } from './usage';

/** Exit codes: 0 done, 1 failed (status: migrations pending), 2 bad usage. */
export async function runCli(argv: readonly string[], out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  let invocation: Invocation | undefined;
  try {
    invocation = parseInvocation(argv, env);
    switch (invocation.command) {
      case 'help':
        out.stdout.write(usage(invocation.topic));
        return 0;
      case 'migrate':
        return await runMigrate(invocation, out);
      case 'status':
        return await runStatus(invocation, out);
      case 'sql':
        return runSql(invocation, out);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.stderr.write(`nestjs-pgqueue: ${error.message}\n\n${usage(error.command)}`);
      return 2;
    }
    // The package's own refusals say all there is to say; anything else (PostgreSQL's errors) is named as a failure.
    const text = error instanceof PgQueueError ? error.message : messages.cli.failed(invocation?.command ?? 'nestjs-pgqueue', error);
    out.stderr.write(`nestjs-pgqueue: ${text}\n`);
    return 1;
  }
}
