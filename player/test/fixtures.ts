/**
 * Media for the player's browser tests, made by real FFmpeg: an ABR VOD set from the test
 * pattern, and "coded" 360 stills whose colour says where in the sphere a pixel comes from
 * (red grows with longitude, green with latitude, blue a fine pattern), as equirectangular and
 * as EAC made by FFmpeg's v360. Rendering them shows whether the player maps the sphere right.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { resolveBinary, runOnce, type Projection } from "@live360/core";

export interface Rung {
  width: number;
  height: number;
  kbps: number;
}

export const VOD_RUNGS: readonly Rung[] = [
  { width: 640, height: 320, kbps: 900 },
  { width: 480, height: 240, kbps: 500 },
  { width: 320, height: 160, kbps: 250 },
];

async function ffmpeg(args: string[]): Promise<void> {
  await runOnce(await resolveBinary("ffmpeg"), ["-hide_banner", "-loglevel", "error", "-y", ...args], { timeoutMs: 180_000 });
}

async function writeAssetManifest(dir: string, projection: Projection): Promise<void> {
  await writeFile(path.join(dir, "asset.json"), JSON.stringify({ stream: "test", projection }, null, 2));
}

/** A VOD asset with one variant per rung (`<height>p/index.m3u8`), FFmpeg's master playlist and an asset manifest. */
export async function writeAbrVod(dir: string, seconds = 20): Promise<void> {
  await mkdir(dir, { recursive: true });
  const split = VOD_RUNGS.map((_, i) => `[v${i}]`).join("");
  const scales = VOD_RUNGS.map((r, i) => `[v${i}]scale=${r.width}:${r.height}[s${i}]`).join(";");
  const args = ["-f", "lavfi", "-i", "testsrc2=size=640x320:rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"];
  args.push("-t", String(seconds), "-filter_complex", `[0:v]split=${VOD_RUNGS.length}${split};${scales}`);
  VOD_RUNGS.forEach((_, i) => args.push("-map", `[s${i}]`));
  VOD_RUNGS.forEach(() => args.push("-map", "1:a"));
  args.push("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0");
  VOD_RUNGS.forEach((r, i) => args.push(`-b:v:${i}`, `${r.kbps}k`, `-maxrate:v:${i}`, `${r.kbps}k`, `-bufsize:v:${i}`, `${r.kbps * 2}k`));
  args.push("-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod");
  args.push("-hls_segment_filename", path.join(dir, "%v/seg_%05d.ts"), "-master_pl_name", "master.m3u8");
  args.push("-var_stream_map", VOD_RUNGS.map((r, i) => `v:${i},a:${i},name:${r.height}p`).join(" "));
  args.push(path.join(dir, "%v/index.m3u8"));
  await ffmpeg(args);
  await writeAssetManifest(dir, "equirectangular");
}

/** Red: longitude ramp; green: latitude ramp; blue: a fine pattern that shows any misplacement. */
export const CODED_EQUIRECT_FILTER =
  "format=gbrp,geq=r='255*(X+0.5)/W':g='255*(Y+0.5)/H':b='128+100*sin(2*PI*12*X/W)*cos(2*PI*6*Y/H)'";

/**
 * A still coded 360 picture as a short VOD (`master.m3u8` → `v/index.m3u8`): equirectangular
 * 1024x512, or the same through `v360=e:eac` as a 768x512 equi-angular cubemap.
 */
export async function writeCodedVod(dir: string, projection: "equirectangular" | "cubemap"): Promise<void> {
  await mkdir(path.join(dir, "v"), { recursive: true });
  const reproject = projection === "cubemap" ? ",v360=e:eac:w=768:h=512" : "";
  await ffmpeg([
    "-f", "lavfi", "-i", "nullsrc=size=1024x512:rate=10",
    "-t", "30",
    "-vf", `${CODED_EQUIRECT_FILTER}${reproject},format=yuv420p`,
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-g", "10",
    "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
    "-hls_segment_filename", path.join(dir, "v/seg_%05d.ts"),
    path.join(dir, "v/index.m3u8"),
  ]);
  const [width, height] = projection === "cubemap" ? [768, 512] : [1024, 512];
  await writeFile(
    path.join(dir, "master.m3u8"),
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=${width}x${height},CODECS="avc1.640020"\nv/index.m3u8\n`,
  );
  await writeAssetManifest(dir, projection);
}
