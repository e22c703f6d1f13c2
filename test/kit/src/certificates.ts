import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate's PEM text. */
  cert: string;
}

/**
 * A self-signed certificate and key made by the real openssl (installed by `make test`), as a
 * kubernetes.io/tls Secret would hold them: for RTMPS and other TLS listeners under test.
 */
export async function selfSignedCertificate(dir: string, name: string, commonName = "localhost"): Promise<TestCertificate> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${commonName}`,
    "-addext", `subjectAltName=DNS:${commonName},IP:127.0.0.1`,
  ], { timeout: 30_000 });
  return { certFile, keyFile, cert: await readFile(certFile, "utf8") };
}
