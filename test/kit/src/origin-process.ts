import { fileURLToPath } from "node:url";
import { httpGet } from "./http.js";
import { startProcess, type ManagedProcess } from "./process.js";

/** The built `live360` command of this checkout (test/kit/dist → packages/cli/dist). */
export const LIVE360_CLI = fileURLToPath(new URL("../../../packages/cli/dist/main.js", import.meta.url));

export interface OriginProcessOptions {
  /** A label for logs and assertions (`primary`, `backup`). */
  name: string;
  httpPort: number;
  rtmpPort: number;
  dataDir: string;
  /** Stream name the URLs below point at; `test` by default. */
  stream?: string;
  /** `--ladder`; `source` (pass-through, no transcoding) by default. */
  ladder?: string;
  /** Bearer token for `/control/*` and the full `/stat`, passed in LIVE360_ADMIN_TOKEN (the origin refuses it as a flag). */
  adminToken?: string;
  /** Further `live360 origin` flags. */
  args?: readonly string[];
}

export interface OriginProcess {
  readonly name: string;
  readonly httpPort: number;
  readonly rtmpPort: number;
  readonly dataDir: string;
  readonly process: ManagedProcess;
  /** `http://127.0.0.1:<httpPort>` */
  readonly http: string;
  /** `rtmp://127.0.0.1:<rtmpPort>/live/<stream>`, where an encoder publishes. */
  readonly rtmp: string;
}

/**
 * A real `live360 origin` as its own process (not in the test's process), so a test can
 * SIGKILL or SIGSTOP it the way a Spot reclaim or a lost node would. Resolves once it is ready.
 */
export async function startOriginProcess(options: OriginProcessOptions): Promise<OriginProcess> {
  const stream = options.stream ?? "test";
  const args = [
    LIVE360_CLI, "origin",
    "--rtmp-port", String(options.rtmpPort),
    "--http-port", String(options.httpPort),
    "--bind", "127.0.0.1",
    "--data-dir", options.dataDir,
    "--ladder", options.ladder ?? "source",
    ...(options.args ?? []),
  ];
  const child = startProcess(process.execPath, args, options.adminToken ? { env: { ...process.env, LIVE360_ADMIN_TOKEN: options.adminToken } } : {});
  try {
    await child.waitForOutput(/"msg":"origin ready"/, 60_000);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    name: options.name,
    httpPort: options.httpPort,
    rtmpPort: options.rtmpPort,
    dataDir: options.dataDir,
    process: child,
    http: `http://127.0.0.1:${options.httpPort}`,
    rtmp: `rtmp://127.0.0.1:${options.rtmpPort}/live/${stream}`,
  };
}

/**
 * Requests the origin itself counted (`live360_origin_http_requests_total`), summed over the
 * series that match: a `kind` (`master`, `playlist`, `segment`…) and/or a `status`; all when
 * neither is given. What an edge in front of it really cost, independent of the edge's view.
 */
export async function originRequestCount(originHttp: string, filter: { kind?: string; status?: string } = {}): Promise<number> {
  const text = (await httpGet(`${originHttp}/metrics`)).body.toString();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("live360_origin_http_requests_total{")) continue;
    if (filter.kind !== undefined && !line.includes(`kind="${filter.kind}"`)) continue;
    if (filter.status !== undefined && !line.includes(`status="${filter.status}"`)) continue;
    total += Number(line.split(" ").pop());
  }
  return total;
}
