/**
 * A deliberately small structured logger: one JSON object per line on stderr, so that
 * `kubectl logs` and local terminals both stay readable and machine-parsable without a
 * logging framework in every image.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(component: string, fields?: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; tests capture them, production writes to stderr. */
  sink?: (line: string) => void;
}

function parseLevel(raw: string | undefined): LogLevel {
  return raw === "debug" || raw === "warn" || raw === "error" ? raw : "info";
}

function serializeError(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export function createLogger(component: string, options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = options.level ?? parseLevel(process.env.LIVE360_LOG_LEVEL);
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + "\n"));
  const write = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVEL_ORDER[lvl] < LEVEL_ORDER[level]) return;
    const record: LogFields = { time: new Date().toISOString(), level: lvl, component, msg, ...bound };
    for (const [key, value] of Object.entries(fields ?? {})) record[key] = serializeError(value);
    sink(JSON.stringify(record));
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (sub, fields) => createLogger(`${component}.${sub}`, { level, sink }, { ...bound, ...fields }),
  };
}
