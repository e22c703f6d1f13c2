// Builds the static site into dist/: one content-hashed JS bundle (A-Frame, three, hls.js and the
// player), its CSS, hls.js's transmuxing worker, and index.html pointing at them with relative
// paths, so the site works under any prefix (/player/ on the origin, a CDN path, a file share).
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const dist = path.join(root, "dist");
const require = createRequire(import.meta.url);

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

// The ESM build of hls.js does not inline its worker; ship the published one next to the bundle.
const workerSource = path.join(path.dirname(require.resolve("hls.js")), "hls.worker.js");
const workerBytes = await readFile(workerSource);
const workerFile = `hls.worker-${createHash("sha256").update(workerBytes).digest("hex").slice(0, 8)}.js`;
await copyFile(workerSource, path.join(dist, workerFile));

const result = await build({
  absWorkingDir: root,
  entryPoints: { player: "src/main.ts", style: "src/player.css" },
  bundle: true,
  minify: true,
  sourcemap: "linked",
  format: "esm",
  // What hls.js and three.js themselves need; anything older lacks WebGL 2 or MSE features anyway.
  target: "es2020",
  outdir: dist,
  entryNames: "[name]-[hash]",
  define: { __HLS_WORKER_FILE__: JSON.stringify(`./${workerFile}`) },
  metafile: true,
  logLevel: "warning",
  legalComments: "linked",
});

const outputs = Object.entries(result.metafile.outputs);
const output = (entry) => path.basename(outputs.find(([, o]) => o.entryPoint === entry)[0]);
const html = (await readFile(path.join(root, "src/index.html"), "utf8"))
  .replace("%SCRIPT%", `./${output("src/main.ts")}`)
  .replace("%STYLE%", `./${output("src/player.css")}`);
await writeFile(path.join(dist, "index.html"), html);

// What a first visit downloads (source maps and licences are not fetched by browsers).
const shipped = [path.join(dist, "index.html"), path.join(dist, workerFile), ...outputs.map(([file]) => path.join(root, file))]
  .filter((file) => !file.endsWith(".map") && !file.endsWith(".LEGAL.txt"));
let raw = 0;
let gzipped = 0;
for (const file of shipped) {
  const bytes = await readFile(file);
  raw += bytes.length;
  gzipped += gzipSync(bytes, { level: 9 }).length;
}
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`player: dist/ ${kb(raw)} (${kb(gzipped)} gzipped) in ${shipped.length} files`);
