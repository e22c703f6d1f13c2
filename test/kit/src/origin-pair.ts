import path from "node:path";
import { freePort } from "./net.js";
import { startOriginProcess, type OriginProcess } from "./origin-process.js";
import type { Cleanup } from "./process.js";
import { publishFileToAll } from "./publish-many.js";
import { waitFor } from "./wait.js";

export type OriginRole = "primary" | "backup";
export type OriginPorts = { httpPort: number; rtmpPort: number };

/**
 * One origin of a primary/backup pair as the operator runs them: each names the other as its
 * peer (segment numbering), the backup waits for the primary's numbering.
 */
export function startPeeredOrigin(role: OriginRole, ports: OriginPorts, dataDir: string, peer: OriginPorts, options: { stream: string; adminToken?: string; args?: readonly string[] }): Promise<OriginProcess> {
  const peerArgs = ["--peer", `http://127.0.0.1:${peer.httpPort}`, ...(role === "backup" ? ["--wait-for-peers"] : [])];
  return startOriginProcess({ name: role, ...ports, dataDir, stream: options.stream, adminToken: options.adminToken, args: [...(options.args ?? []), ...peerArgs] });
}

export interface FedOriginPair {
  primary: OriginProcess;
  backup: OriginProcess;
  /** Each origin's ports, and its peer's. */
  ports: Record<OriginRole, OriginPorts>;
}

/**
 * A primary and a backup origin fed `clip` (looped) by one encoder pushing to both (FFmpeg tee),
 * started in `dir`, every process registered with `cleanup`; resolves once `ready` holds for both.
 */
export async function startFedOriginPair(options: {
  dir: string;
  clip: string;
  stream: string;
  cleanup: Cleanup;
  ready: (origin: OriginProcess) => Promise<boolean>;
  adminToken?: string;
  args?: readonly string[];
}): Promise<FedOriginPair> {
  const { dir, clip, cleanup } = options;
  const ports: Record<OriginRole, OriginPorts> = {
    primary: { httpPort: await freePort(), rtmpPort: await freePort() },
    backup: { httpPort: await freePort(), rtmpPort: await freePort() },
  };
  const start = async (role: OriginRole, peer: OriginRole): Promise<OriginProcess> => {
    const origin = await startPeeredOrigin(role, ports[role], path.join(dir, role), ports[peer], options);
    cleanup.add(null, () => origin.process.stop());
    return origin;
  };
  const primary = await start("primary", "backup");
  const backup = await start("backup", "primary");
  cleanup.add(await publishFileToAll(clip, [primary.rtmp, backup.rtmp], { loop: true }), (p) => p.stop());
  for (const origin of [primary, backup]) await waitFor(`${origin.name} live playlist`, () => options.ready(origin), { timeoutMs: 60_000, intervalMs: 200 });
  return { primary, backup, ports };
}
