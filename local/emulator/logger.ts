// Leveled, one-line logging for the emulator. Callers never pass keys or tokens: messages name
// entities, ports and conditions only.
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  level: LogLevel;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export type LogSink = (line: string, level: LogLevel) => void;

const defaultSink: LogSink = (line, level) => {
  if (level === 'error' || level === 'warn') process.stderr.write(line + '\n');
  else process.stdout.write(line + '\n');
};

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function createLogger(level: LogLevel = 'info', sink: LogSink = defaultSink): Logger {
  const rank = (l: LogLevel) => LOG_LEVELS.indexOf(l);
  const write = (l: LogLevel) => (message: string) => {
    if (rank(l) <= rank(logger.level))
      sink(`${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${message}`, l);
  };
  const logger: Logger = {
    level,
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
  };
  return logger;
}
