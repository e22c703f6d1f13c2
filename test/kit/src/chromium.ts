import { access, chmod, constants, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { MissingDependencyError } from "@live360/core";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { tempDir } from "./media.js";

/**
 * Flags with which Debian's Chromium renders WebGL (A-Frame) and plays video with sound in
 * headless mode on a machine without a GPU: SwiftShader for GL, autoplay without a gesture,
 * and no background traffic that could disturb a test or reach the internet.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--use-gl=swiftshader",
  "--enable-unsafe-swiftshader",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

export interface ChromiumOptions {
  /** `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
  executablePath?: string;
  viewport?: { width: number; height: number };
  /** Extra flags after CHROMIUM_FLAGS. */
  args?: readonly string[];
}

export interface ChromiumSession {
  readonly context: BrowserContext;
  /** A new tab whose console output and page errors are kept (see `log`). */
  newPage(): Promise<Page>;
  /** Console lines and uncaught errors of every page so far, for failure messages. */
  log(): string;
  /** Closes the browser and deletes its profile. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Chromium raises its GPU process to nice -8 when it may (as root, with CAP_SYS_NICE): measured
 * taking 50–80 % of a core at that priority while the servers under test (origins' FFmpegs, kind's
 * nodes) shared the same two cores and fell behind real time. Started through `setpriv` without
 * CAP_SYS_NICE its raise fails (silently, as it does for any user) and it competes at nice 0 like
 * everything else. Not root: nothing to drop, the binary itself.
 */
async function withoutPriorityBoost(executablePath: string, dir: string): Promise<string> {
  if (process.getuid?.() !== 0) return executablePath;
  const wrapper = path.join(dir, "chromium-without-sys-nice");
  const quoted = `'${executablePath.replace(/'/g, `'\\''`)}'`;
  await writeFile(wrapper, `#!/bin/sh\nexec setpriv --bounding-set -sys_nice --inh-caps -sys_nice -- ${quoted} "$@"\n`);
  await chmod(wrapper, 0o755);
  return wrapper;
}

/**
 * Starts a real headless Chromium (the system one: `npx playwright install` cannot download
 * here) with a fresh profile, so no cache, permission or storage leaks between tests.
 */
export async function launchChromium(options: ChromiumOptions = {}): Promise<ChromiumSession> {
  const executablePath = options.executablePath ?? process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  try {
    await access(executablePath, constants.X_OK);
  } catch {
    throw new MissingDependencyError(
      `Chromium not found at ${executablePath}: run scripts/install-system-deps.sh as root (make test does), ` +
        `apt-get install chromium, or set CHROMIUM_PATH`,
    );
  }
  const profile = await tempDir("chromium");
  await mkdir(path.join(profile, "data"), { recursive: true });
  const context = await chromium.launchPersistentContext(path.join(profile, "data"), {
    executablePath: await withoutPriorityBoost(executablePath, profile),
    headless: true,
    args: [...CHROMIUM_FLAGS, ...(options.args ?? [])],
    viewport: options.viewport ?? { width: 960, height: 540 },
  });
  const lines: string[] = [];
  let closed: Promise<void> | undefined;
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.on("console", (message) => lines.push(`[${message.type()}] ${message.text()}`));
      page.on("pageerror", (error) => lines.push(`[pageerror] ${error.message}`));
      return page;
    },
    log: () => lines.join("\n"),
    close() {
      closed ??= (async () => {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
