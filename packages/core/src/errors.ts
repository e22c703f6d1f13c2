/** Base class so callers can tell live360's own, explained failures from unexpected ones. */
export class Live360Error extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A configuration value is wrong. The message always names the field, the value that was
 * given and how to fix it, because start-up is the cheapest moment to explain a mistake.
 */
export class ConfigError extends Live360Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly fix: string,
  ) {
    super(`invalid configuration: ${field}=${value === undefined ? "(not set)" : JSON.stringify(value)}: ${fix}`);
  }
}

/** A binary the workload needs (ffmpeg, ffprobe, nginx) is missing or lacks a feature. */
export class MissingDependencyError extends Live360Error {}

/** A port could not be bound (typically EADDRINUSE). */
export class ListenError extends Live360Error {
  constructor(
    readonly service: string,
    readonly port: number,
    cause: Error,
  ) {
    super(`${service} cannot listen on port ${port}: ${cause.message}`, { cause });
  }
}
