import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * AWS Secrets Manager cannot run here, so the tests talk to this stand-in through the real SDK:
 * the same JSON 1.1 protocol (`X-Amz-Target: secretsmanager.GetSecretValue`), the same response
 * and error shapes. It answers only what live360 calls (GetSecretValue of the current version),
 * counts the calls, and can hang (accept, never answer) like an unreachable endpoint.
 */
export class SecretsManagerStandIn {
  private readonly secrets = new Map<string, string>();
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private readonly held = new Set<ServerResponse>();
  private versions = 0;
  /** Requests received, answered or not. */
  requests = 0;
  private hung = false;

  private constructor() {
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<SecretsManagerStandIn> {
    const standIn = new SecretsManagerStandIn();
    await new Promise<void>((resolve) => standIn.server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get endpoint(): string {
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("not listening");
    return `http://127.0.0.1:${address.port}`;
  }

  /** From now on requests are held unanswered, as by an unreachable endpoint. */
  hang(): void {
    this.hung = true;
  }

  /** Answers again; the requests held so far are cut, so their clients fail and retry at once. */
  answer(): void {
    this.hung = false;
    for (const res of this.held) res.socket?.destroy();
    this.held.clear();
  }

  /** Stores a new current version of the secret. */
  put(secretId: string, secretString: string): void {
    this.secrets.set(secretId, secretString);
    this.versions++;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    this.requests++;
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.hung) return void this.held.add(res);
    const target = String(req.headers["x-amz-target"] ?? "");
    const reply = (status: number, body: object): void => void res.writeHead(status, { "Content-Type": "application/x-amz-json-1.1" }).end(JSON.stringify(body));
    if (target !== "secretsmanager.GetSecretValue") return reply(400, { __type: "InvalidRequestException", message: `unsupported operation ${target}` });
    let input: { SecretId?: string };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { SecretId?: string };
    } catch {
      return reply(400, { __type: "InvalidRequestException", message: "the request body is not JSON" });
    }
    const value = this.secrets.get(input.SecretId ?? "");
    if (value === undefined) return reply(400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." });
    reply(200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${input.SecretId}`, Name: input.SecretId, SecretString: value, VersionId: `v${this.versions}`, VersionStages: ["AWSCURRENT"] });
  }
}
