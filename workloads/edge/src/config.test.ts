import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "@live360/core";
import { parseOriginVerifyValues, parseSigningKeys, resolveEdgeConfig, type EdgeConfigInput } from "./config.js";

const ORIGINS = ["http://10.0.0.1:8080", "http://10.0.0.2:8080"];

function rejection(input: EdgeConfigInput): ConfigError {
  try {
    resolveEdgeConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe("resolveEdgeConfig", () => {
  test("names origins by priority and fills every default", () => {
    const config = resolveEdgeConfig({ origins: [...ORIGINS, "http://origin-c.live.svc"] });
    expect(config.origins).toEqual([
      { name: "primary", hostPort: "10.0.0.1:8080", isIpLiteral: true },
      { name: "backup", hostPort: "10.0.0.2:8080", isIpLiteral: true },
      { name: "backup-2", hostPort: "origin-c.live.svc:80", isIpLiteral: false },
    ]);
    expect(config.listenPort).toBe(8080);
    expect(config.ttl).toEqual({ playlistSeconds: 1, segmentSeconds: 86_400, overrideOrigin: false });
    expect(config.cache.dir.startsWith("/")).toBe(true);
    expect(config.signingKeys).toBeUndefined();
    expect(config.signedUrls).toBe(false);
    expect(config.signingMaxLifetimeSeconds).toBe(86_400);
  });

  test("accepts IPv6 origins", () => {
    const config = resolveEdgeConfig({ origins: ["http://[::1]:9000"] });
    expect(config.origins[0]).toEqual({ name: "primary", hostPort: "[::1]:9000", isIpLiteral: true });
  });

  test("no origins: names the field and shows how to give them", () => {
    for (const origins of [undefined, []]) {
      const err = rejection({ origins });
      expect(err.field).toBe("origins (--origin)");
      expect(err.message).toContain("give at least one origin URL, primary first");
    }
  });

  test.each([
    [0, "listenPort (--listen)"],
    [70_000, "listenPort (--listen)"],
    [80.5, "listenPort (--listen)"],
  ])("invalid port %p is refused with the range", (listenPort, field) => {
    const err = rejection({ origins: ORIGINS, listenPort });
    expect(err.field).toBe(field);
    expect(err.value).toBe(listenPort);
    expect(err.message).toContain("use a whole number from 1 to 65535");
  });

  test.each([
    ["not a url", "not a URL"],
    ["https://origin:8443", "use http://"],
    ["http://origin:8080/hls", "remove the path"],
    ["http://origin:8080/?x=1", "remove the path"],
    ["http://user:pw@origin:8080", "remove the user:password"],
    ["", "give the origin's base URL"],
  ])("bad origin URL %p: %p", (url, fix) => {
    const err = rejection({ origins: [ORIGINS[0]!, url] });
    expect(err.field).toBe("origins[1] (--origin)");
    expect(err.value).toBe(url);
    expect(err.message).toContain(fix);
  });

  test("the same origin twice is refused", () => {
    const err = rejection({ origins: ["http://10.0.0.1:8080", "http://10.0.0.1:8080/"] });
    expect(err.message).toContain("10.0.0.1:8080 is listed twice");
  });

  test("two listeners on one port are refused", () => {
    const err = rejection({ origins: ORIGINS, listenPort: 9000, metricsPort: 9000 });
    expect(err.field).toBe("metricsPort (--metrics-port)");
    expect(err.message).toContain("listenPort (--listen) already uses port 9000");
  });

  test("a path that would break out of its nginx directive is refused", () => {
    const err = rejection({ origins: ORIGINS, cache: { dir: "/tmp/x; include /etc/passwd" } });
    expect(err.field).toBe("cache.dir (--cache-dir)");
    expect(err.message).toContain("without spaces, quotes, ';'");
  });

  test("a short signing secret is refused without echoing it", () => {
    const err = rejection({ origins: ORIGINS, signingKeys: new Map([["k1", "hunter2"]]) });
    expect(err.message).toContain("at least 32 random characters");
    expect(err.message).not.toContain("hunter2");
  });

  test("origin-verify values: one per line, two during a rotation; a bad one is named by its position and length, never its text", () => {
    const value = "v".repeat(32);
    expect(parseOriginVerifyValues("values", `# rotation\n${value}\n ${value}x \n`)).toEqual([value, `${value}x`]);
    expect(() => parseOriginVerifyValues("values", "short-value")).toThrow(/values entry 1="<11 characters>": use at least 32/);
    expect(() => parseOriginVerifyValues("values", `${value}\n${value} ${value}`)).toThrow(/values entry 2="<65 characters>": use letters, digits/);
    expect(() => parseOriginVerifyValues("values", "\n")).toThrow(/give at least one value/);
    expect(resolveEdgeConfig({ origins: ORIGINS, originVerifyValues: [value] }).cdnOnly).toBe(true);
    expect(resolveEdgeConfig({ origins: ORIGINS }).cdnOnly).toBe(false);
    expect(rejection({ origins: ORIGINS, originVerifyValues: ["hunter2"] }).message).not.toContain("hunter2");
  });

  test("signing keys: keyId=secret lines, two at once for a rotation; a bad entry is named by its id, never its secret", () => {
    const secret = "s".repeat(32);
    expect([...parseSigningKeys("keys", `# rotation\nk1=${secret}\nk2 = ${secret}x\n`)]).toEqual([["k1", secret], ["k2", `${secret}x`]]);
    expect(() => parseSigningKeys("keys", `K1=${secret}`)).toThrow(/keys entry 1="K1=<32 characters>": write keyId=secret/);
    expect(() => parseSigningKeys("keys", "k1=short-secret")).toThrow(/keys entry 1="k1=<12 characters>": use at least 32/);
    expect(() => parseSigningKeys("keys", secret)).toThrow(/keys entry 1="<hidden>"/);
    expect(() => parseSigningKeys("keys", "# nothing\n")).toThrow(/give at least one keyId=secret line/);
    expect(rejection({ origins: ORIGINS, signingMaxLifetimeSeconds: 10 }).message).toMatch(/signingMaxLifetimeSeconds \(--signing-max-lifetime\)=10/);
  });

  test("timing relations are checked", () => {
    expect(rejection({ origins: ORIGINS, lockTimeoutMs: 1000, lockAgeMs: 2000 }).field).toBe("lockAgeMs");
    expect(rejection({ origins: ORIGINS, readTimeoutMs: 1000, playlistReadTimeoutMs: 1500 }).field).toBe("playlistReadTimeoutMs");
    expect(rejection({ origins: ORIGINS, drainDelaySeconds: 30, shutdownGraceSeconds: 25 }).field).toBe("drainDelaySeconds (--drain-delay)");
    expect(rejection({ origins: ORIGINS, resolver: { addresses: [], validSeconds: 10 } }).field).toBe("resolver.addresses (--resolver)");
  });
  test("viewer insight is off by default and needs a port of its own", () => {
    expect(resolveEdgeConfig({ origins: ORIGINS }).insightPort).toBeUndefined();
    expect(resolveEdgeConfig({ origins: ORIGINS, insightPort: 8082 }).insightPort).toBe(8082);
    expect(rejection({ origins: ORIGINS, insightPort: 8081 }).field).toBe("insightPort (--insight-port)");
    expect(rejection({ origins: ORIGINS, insightPort: 0 }).field).toBe("insightPort (--insight-port)");
  });
});
