/**
 * A typed event emitter for the browser bundle, after hls.js's `Hls.on(Events.X, handler)`:
 * listeners and emitters agree on payloads at compile time. (Core's TypedEmitter wraps
 * node:events, which a browser does not have.)
 */
export class EventBus<Events extends { [K in keyof Events]: unknown[] }> {
  // Stored loosely; on() and emit() are the typed doors in and out.
  private readonly listeners = new Map<keyof Events, Set<(...args: unknown[]) => void>>();

  /** Returns the function that removes this listener. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const stored = listener as unknown as (...args: unknown[]) => void;
    set.add(stored);
    return () => set.delete(stored);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (err) {
        // One broken listener (a UI widget) must not stop playback logic listening after it.
        console.error(`live360 player: ${String(event)} listener failed`, err);
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
