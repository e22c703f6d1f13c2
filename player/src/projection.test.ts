import { describe, expect, test } from "@jest/globals";
import { assetManifestUrl, chooseProjection, parseAssetManifest, parseProjection, projectionForVariant } from "./projection.js";

const master = "http://h/vod/test/20260101T000000Z/master.m3u8";

describe("projection choice", () => {
  test("names and aliases", () => {
    expect(parseProjection("equirect")).toBe("equirectangular");
    expect(parseProjection(" Cubemap ")).toBe("cubemap");
    expect(parseProjection("eac")).toBe("cubemap");
    expect(parseProjection("flat")).toBe("flat");
    expect(parseProjection("fisheye")).toBeUndefined();
    expect(parseProjection(3)).toBeUndefined();
  });

  test("the manifest sits beside the master playlist", () => {
    expect(assetManifestUrl(master)).toBe("http://h/vod/test/20260101T000000Z/asset.json");
    expect(assetManifestUrl("http://h/hls/test/master.m3u8?x=1")).toBe("http://h/hls/test/asset.json");
  });

  test("parameter beats manifest beats default", () => {
    const manifest = parseAssetManifest({ projection: "cubemap" }, master);
    expect(chooseProjection("flat", manifest)).toEqual({ projection: "flat", source: "param" });
    expect(chooseProjection(undefined, manifest)).toEqual({ projection: "cubemap", source: "manifest" });
    expect(chooseProjection(undefined, undefined)).toEqual({ projection: "equirectangular", source: "default" });
    expect(chooseProjection(undefined, parseAssetManifest({ projection: "weird" }, master))).toEqual({
      projection: "equirectangular",
      source: "default",
    });
  });

  test("malformed manifests are ignored, not fatal", () => {
    for (const junk of [null, "text", 42, [], { variants: "x" }, { variants: [null, 1, { projection: "eac" }] }]) {
      expect(parseAssetManifest(junk, master)).toEqual(expect.objectContaining({ variants: [] }));
    }
  });

  test("a rung's own projection, matched by playlist URL or directory name", () => {
    const manifest = parseAssetManifest(
      {
        projection: "equirectangular",
        variants: [
          { uri: "540p/index.m3u8", projection: "eac" },
          { name: "480p", projection: "cubemap" },
        ],
      },
      master,
    );
    const choice = chooseProjection(undefined, manifest);
    const base = "http://h/vod/test/20260101T000000Z/";
    expect(projectionForVariant(choice, manifest, `${base}540p/index.m3u8`)).toBe("cubemap");
    expect(projectionForVariant(choice, manifest, `${base}480p/index.m3u8?t=1`)).toBe("cubemap");
    expect(projectionForVariant(choice, manifest, `${base}source/index.m3u8`)).toBe("equirectangular");
    // A forced projection applies to every rung.
    expect(projectionForVariant(chooseProjection("flat", manifest), manifest, `${base}540p/index.m3u8`)).toBe("flat");
  });
});
