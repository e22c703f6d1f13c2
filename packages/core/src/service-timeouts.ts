/**
 * Timeouts and retries of every call to S3 or SQS: a black-holed endpoint (a hung host, a
 * dropped route) must end a call with an error the caller's own retry handles, never leave it
 * waiting forever.
 */
export interface ServiceTimeouts {
  /** TCP connect. */
  connectMs: number;
  /**
   * No byte in either direction for this long ends the attempt. Idle, not total: a large
   * upload that keeps sending is never cut. An SQS long poll waits at most a second less.
   */
  idleMs: number;
  /** Attempts per call, the first included; the SDK backs off between them. */
  attempts: number;
}

export const DEFAULT_SERVICE_TIMEOUTS: ServiceTimeouts = { connectMs: 5000, idleMs: 30_000, attempts: 3 };

/** The SDK client settings for these timeouts (Smithy's Node HTTP handler options). */
export function sdkTimeoutConfig(timeouts: ServiceTimeouts): { requestHandler: { connectionTimeout: number; socketTimeout: number }; maxAttempts: number } {
  return { requestHandler: { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs }, maxAttempts: timeouts.attempts };
}
