import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "./errors.js";
import { parsePublishKeys, secretsEqual } from "./secrets.js";

describe("secretsEqual", () => {
  test("the same secret matches", () => {
    expect(secretsEqual("let-me-in-0123456789", "let-me-in-0123456789")).toBe(true);
    expect(secretsEqual("ünïcødé ✓", "ünïcødé ✓")).toBe(true);
  });

  test("a different secret of the same length does not", () => {
    expect(secretsEqual("let-me-in-0123456788", "let-me-in-0123456789")).toBe(false);
    expect(secretsEqual("LET-ME-IN-0123456789", "let-me-in-0123456789")).toBe(false);
  });

  test("secrets of different lengths do not match, either way round, and do not throw", () => {
    expect(secretsEqual("let-me-in", "let-me-in-0123456789")).toBe(false);
    expect(secretsEqual("let-me-in-0123456789-and-more", "let-me-in-0123456789")).toBe(false);
    // The same number of characters, not of bytes: "é" is 2 bytes in UTF-8.
    expect(secretsEqual("e", "é")).toBe(false);
  });

  test("empty: nothing matches an empty secret, and an empty guess matches no secret", () => {
    expect(secretsEqual("", "")).toBe(false);
    expect(secretsEqual("anything", "")).toBe(false);
    expect(secretsEqual("", "let-me-in-0123456789")).toBe(false);
  });
});

describe("publish keys", () => {
  test("parses stream=secret lines and names the bad entry, never its secret", () => {
    expect([...parsePublishKeys("keys.txt", "# comment\nevent-1 = a\n\nother=b\n")]).toEqual([
      ["event-1", "a"],
      ["other", "b"],
    ]);
    expect(() => parsePublishKeys("keys.txt", "event-1=a\nBAD=b")).toThrow(ConfigError);
    expect(() => parsePublishKeys("keys.txt", "event-1=a\nBAD=s3cret-value")).toThrow(/keys\.txt entry 2="BAD=<hidden>"/);
    expect(() => parsePublishKeys("keys.txt", "just-a-secret")).toThrow(/keys\.txt entry 1="<hidden>"/);
    expect(() => parsePublishKeys("env", "nosecret=")).toThrow(/stream=secret/);
  });
});
