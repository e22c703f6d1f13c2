import { afterEach, describe, expect, test } from "@jest/globals";
import { MissingDependencyError } from "../errors.js";
import { requireFilter, resolveBinary } from "./resolve.js";

const saved = { path: process.env.PATH, ffmpeg: process.env.FFMPEG_PATH };

afterEach(() => {
  process.env.PATH = saved.path;
  if (saved.ffmpeg === undefined) delete process.env.FFMPEG_PATH;
  else process.env.FFMPEG_PATH = saved.ffmpeg;
});

describe("FFmpeg resolution order", () => {
  test("PATH first when FFMPEG_PATH is unset, with its version", async () => {
    delete process.env.FFMPEG_PATH;
    const found = await resolveBinary("ffmpeg");
    expect(found.source).toBe("path");
    expect(found.version).toMatch(/^\d+\.\d+/);
  });

  test("FFMPEG_PATH wins, and a wrong one is a clear error rather than a silent fallback", async () => {
    const onPath = await resolveBinary("ffmpeg");
    process.env.FFMPEG_PATH = onPath.path;
    expect((await resolveBinary("ffmpeg")).source).toBe("env");
    process.env.FFMPEG_PATH = "/nonexistent/ffmpeg";
    await expect(resolveBinary("ffmpeg")).rejects.toThrow(MissingDependencyError);
    await expect(resolveBinary("ffmpeg")).rejects.toThrow("FFMPEG_PATH=/nonexistent/ffmpeg is not an executable file");
  });

  test("with nothing on PATH the static build from npm is used", async () => {
    delete process.env.FFMPEG_PATH;
    process.env.PATH = "/nonexistent";
    const found = await resolveBinary("ffmpeg");
    expect(found.source).toBe("npm");
    expect(found.path).toContain("@ffmpeg-installer");
    expect(found.version).not.toBe("");
  });

  test("a missing filter is reported with the feature that needs it and the fix", async () => {
    delete process.env.FFMPEG_PATH;
    const ffmpeg = await resolveBinary("ffmpeg");
    await expect(requireFilter(ffmpeg, "scale", "scaling")).resolves.toBeUndefined();
    await expect(requireFilter(ffmpeg, "no_such_filter", "360 reprojection")).rejects.toThrow(
      /360 reprojection needs the FFmpeg filter "no_such_filter".*set FFMPEG_PATH/,
    );
  });
});
