import { request, type Agent } from "node:http";

class RunEndedError extends Error {}

/** GET on the viewer's keep-alive connection; a request still waiting at `until` is abandoned. */
function get(agent: Agent, url: string, until: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new RunEndedError()), Math.max(0, until - Date.now()));
    req.on("close", () => clearTimeout(timer));
    req.on("error", reject);
    req.end();
  });
}

/**
 * A simulated viewer's GET: the body of a 200, else undefined after calling `onFailure` (a non-200
 * answer or a connection error). A request the run's end cut short is no failure.
 */
export async function viewerGet(agent: Agent, url: string, until: number, onFailure: () => void): Promise<Buffer | undefined> {
  try {
    const res = await get(agent, url, until);
    if (res.status === 200) return res.body;
  } catch (err) {
    if (err instanceof RunEndedError) return undefined;
  }
  onFailure();
  return undefined;
}
