/**
 * Runs until SIGTERM or SIGINT, then closes once and exits 0; a second signal while closing
 * is ignored, because the shutdown grace already bounds how long closing may take.
 */
export function closeOnSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) return;
      closing = true;
      process.stderr.write(`live360: ${signal} received, shutting down\n`);
      void close().then(() => {
        // A library handle left open must not hold the pod past its grace period.
        setTimeout(() => process.exit(0), 2000).unref();
        resolve();
      });
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
