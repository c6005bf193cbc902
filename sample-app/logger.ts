import { ConsoleLogger, LogLevel } from '@nestjs/common';

/**
 * Nest's console logger, but on stderr: stdout then carries only the
 * `nestjs-im ready ...` line that scripts wait for (the library logs its own
 * "nestjs-im ready {...}" line, which must not be mistaken for it).
 */
export class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _stream?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

/** LOG_LEVEL=debug|verbose adds detail; the default keeps startup to a few lines. */
export function logLevels(env: NodeJS.ProcessEnv = process.env): LogLevel[] {
  const levels: LogLevel[] = ['fatal', 'error', 'warn', 'log'];
  const extra = env.LOG_LEVEL?.trim();
  if (extra === 'debug') levels.push('debug');
  if (extra === 'verbose') levels.push('debug', 'verbose');
  return levels;
}

/**
 * Colour codes only on a terminal: redirected logs (files, CI, journald) stay
 * plain. `NO_COLOR` turns them off, `FORCE_COLOR` (not "0") on.
 */
export function logColors(env: NodeJS.ProcessEnv = process.env, stream: { isTTY?: boolean } = process.stderr): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}
