import { LoggerService, LogLevel } from '@nestjs/common';

/** One captured log call. */
export interface CapturedLog {
  level: LogLevel;
  context?: string;
  message: string;
}

/** A Nest logger that records every call instead of printing, so tests can assert what was logged. */
export class CapturingLogger implements LoggerService {
  readonly entries: CapturedLog[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.record('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.record('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.record('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.record('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.record('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.record('fatal', message, rest);
  }

  /** Captured lines at these levels, as `LEVEL [context] message`. */
  lines(...levels: LogLevel[]): string[] {
    return this.entries
      .filter((e) => levels.length === 0 || levels.includes(e.level))
      .map((e) => `${e.level.toUpperCase()} [${e.context ?? ''}] ${e.message}`);
  }

  private record(level: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes the context last (and, for errors, a stack before it).
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.entries.push({ level, context, message: typeof message === 'string' ? message : String(message) });
  }
}
