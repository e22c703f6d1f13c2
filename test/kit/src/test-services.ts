import { access, constants, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MissingDependencyError } from "@live360/core";

/**
 * Where test/services/install.sh put the S3 and SQS servers. The pinned versions are read from
 * the same versions.env the script reads, so harness and installer cannot disagree.
 */
export interface TestServicePaths {
  versitygw: string;
  /** Directory of ElasticMQ's jars (a Java classpath entry `<dir>/*`). */
  elasticmqLib: string;
  /** Written by install.sh after the last jar, so a half-finished download is not used. */
  elasticmqComplete: string;
}

const servicesDir = fileURLToPath(new URL("../../services/", import.meta.url));
export const INSTALL_HINT = "run `make test-services` (or `bash test/services/install.sh`) to install it";

export async function testServicePaths(): Promise<TestServicePaths> {
  const versions = parseEnv(await readFile(join(servicesDir, "versions.env"), "utf8"));
  const cache = process.env.LIVE360_CACHE ?? join(homedir(), ".cache", "live360");
  return {
    versitygw: join(cache, "versitygw", need(versions, "VERSITYGW_VERSION"), "versitygw"),
    elasticmqLib: join(cache, "elasticmq", need(versions, "ELASTICMQ_VERSION"), "lib"),
    elasticmqComplete: join(cache, "elasticmq", need(versions, "ELASTICMQ_VERSION"), "complete"),
  };
}

/** Fails loudly, with the way to fix it, when an installed file is missing. */
export async function requireInstalled(what: string, file: string, mode = constants.R_OK): Promise<void> {
  try {
    await access(file, mode);
  } catch {
    throw new MissingDependencyError(`${what} is not installed (${file} is missing): ${INSTALL_HINT}`);
  }
}

function parseEnv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1]!, match[2]!);
  }
  return values;
}

function need(values: Map<string, string>, name: string): string {
  const value = values.get(name);
  if (!value) throw new Error(`${name} is missing from ${join(servicesDir, "versions.env")}`);
  return value;
}
