import { pino, type Logger } from 'pino';
import { traceFields } from './tracing.ts';

export type { Logger };

/** JSON logs; human-readable ones when a person is watching the terminal. */
export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: 'evident' },
    mixin: traceFields,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } } : {}),
  });
}
