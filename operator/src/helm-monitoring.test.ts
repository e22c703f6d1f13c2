/**
 * The chart's monitoring (issue #16): the PrometheusRule checked and unit-tested by a pinned promtool
 * built from the Go module proxy (test/promtool/build.sh), the PodMonitors, and the Grafana dashboards
 * linted — valid JSON, unique ids, the datasource variable everywhere, every PromQL expression parsed
 * by promtool and every metric it names defined by the code's prom-client metrics. No cluster needed;
 * a missing helm or promtool fails the tests (they build on first use).
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { copyFile, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "@live360/testkit";
import { parse, parseAllDocuments, stringify } from "yaml";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../", import.meta.url));
const chart = path.join(repo, "charts/live360-operator");
const dashboardsDir = path.join(chart, "dashboards");
const RULE_UNIT_TESTS = path.join(repo, "test/promtool/rules.test.yaml");
const RELEASE = "live360-operator";
const NAMESPACE = "live360-system";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}
interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  options?: { content?: string };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  definition?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface UnitTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const SOURCE_DIRS = ["workloads", "operator", "packages"];
/** Grafana's own variables, which need no definition in the dashboard. */
const GRAFANA_VARIABLES = new Set(["__rate_interval", "__range", "__interval"]);
/** PromQL words that are neither functions (always followed by "(") nor metrics. */
const PROMQL_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf", "nan"]);

/** Runs a binary for what it prints on stdout and stderr; a failure carries both (promtool reports failed cases on stdout). */
async function runTool(binary: string, args: string[]): Promise<string> {
  return (await runToolOutput(binary, args)).join("");
}

async function runToolOutput(binary: string, args: string[]): Promise<[stdout: string, stderr: string]> {
  try {
    const { stdout, stderr } = await run(binary, args, { maxBuffer: 16 * 1024 * 1024 });
    return [stdout, stderr];
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(binary)} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`, { cause: err });
  }
}

/**
 * Every metric name the code defines with prom-client (histograms with their _bucket/_sum/_count
 * series), and how many constructors were seen against how many were read.
 */
async function definedMetrics(): Promise<{ names: Set<string>; constructors: number; read: number }> {
  const names = new Set<string>();
  let constructors = 0;
  let read = 0;
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!["node_modules", "dist"].includes(entry.name)) await visit(full);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && full.split(path.sep).includes("src")) {
        const text = await readFile(full, "utf8");
        constructors += [...text.matchAll(/\bnew (Counter|Gauge|Histogram|Summary)\(/g)].length;
        for (const [, kind, name] of text.matchAll(/\bnew (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"/g)) {
          read += 1;
          names.add(name!);
          if (kind === "Histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name! + suffix);
          if (kind === "Summary") for (const suffix of ["_sum", "_count"]) names.add(name! + suffix);
        }
      }
    }
  };
  for (const dir of SOURCE_DIRS) await visit(path.join(repo, dir));
  return { names, constructors, read };
}

/** The metric names a PromQL expression selects: identifiers left once strings, matchers, ranges, grouping and function calls are taken out. */
function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || PROMQL_KEYWORDS.has(name!)) continue;
    names.add(name!);
  }
  return [...names];
}

/** Grafana's variables in an expression or text: $name, ${name}, ${name:format}. */
function variablesIn(text: string): string[] {
  return [...text.matchAll(/\$(?:\{(\w+)(?::\w+)?\}|(\w+))/g)].map((m) => (m[1] ?? m[2])!);
}

/** An expression as Prometheus would receive it from Grafana, with every variable given a plausible value. */
function substituted(expr: string): string {
  return expr.replace(/\$(?:\{(\w+)(?::\w+)?\}|(\w+))/g, (_all, braced: string | undefined, bare: string | undefined) =>
    GRAFANA_VARIABLES.has((braced ?? bare)!) ? "5m" : ".*",
  );
}

describe("chart monitoring: PrometheusRule, PodMonitors, Grafana dashboards", () => {
  let helm: string;
  let promtool: string;
  let dir: string;
  let metrics: Set<string>;
  let definitions: Awaited<ReturnType<typeof definedMetrics>>;

  const template = async (values: object): Promise<Manifest[]> => {
    const file = path.join(dir, `values-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(values));
    const out = await runTool(helm, ["template", RELEASE, chart, "--namespace", NAMESPACE, "--values", file]);
    return parseAllDocuments(out)
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  };
  const ruleGroups = async (values: object): Promise<RuleGroup[]> => {
    const rule = (await template(values)).find((m) => m.kind === "PrometheusRule");
    expect(rule).toBeDefined();
    return (rule!.spec as { groups: RuleGroup[] }).groups;
  };
  const ENABLED = { metrics: { prometheusRule: { enabled: true } } };

  beforeAll(async () => {
    // Both build on first use (from the Go module proxy) and print where the cached binaries are;
    // a failed build fails every test here: these checks are never skipped.
    helm = (await runToolOutput("bash", [path.join(repo, "test/helm/build.sh")]))[0].trim();
    promtool = (await runToolOutput("bash", [path.join(repo, "test/promtool/build.sh")]))[0].trim();
    expect(await runTool(promtool, ["--version"])).toMatch(/^promtool, version 3\./);
    dir = await tempDir("helm-monitoring");
    definitions = await definedMetrics();
    metrics = definitions.names;
  }, 60 * 60_000);

  test("the code's metric definitions were found (origin, edge, insight, VOD worker, operator)", () => {
    // Every constructor was read: a definition written another way would otherwise drop out of the list.
    expect(definitions.read).toBe(definitions.constructors);
    for (const name of [
      "live360_origin_streams_live",
      "nginx_http_requests_total",
      "live360_edge_viewer_startup_seconds_bucket",
      "live360_vod_job_progress_ratio",
      "live360_operator_vod_jobs",
    ]) {
      expect(metrics).toContain(name);
    }
  });

  test("off by default: no PrometheusRule, PodMonitor or dashboard ConfigMap", async () => {
    const kinds = (await template({})).map((m) => m.kind);
    expect(kinds).not.toContain("PrometheusRule");
    expect(kinds).not.toContain("PodMonitor");
    expect(kinds).not.toContain("ConfigMap");
  });

  test("helm lint --strict passes with all of it on", async () => {
    const file = path.join(dir, "all-on.json");
    await writeFile(
      file,
      JSON.stringify({
        watchNamespaces: ["media"],
        metrics: {
          serviceMonitor: { enabled: true },
          podMonitor: { enabled: true, labels: { release: "kube-prometheus-stack" } },
          prometheusRule: { enabled: true, labels: { release: "kube-prometheus-stack" }, alertLabels: { team: "video" } },
          grafanaDashboards: { enabled: true, annotations: { grafana_folder: "live360" } },
        },
      }),
    );
    await runTool(helm, ["lint", "--strict", chart, "--values", file]);
  }, 60_000);

  describe("PrometheusRule", () => {
    let groups: RuleGroup[];
    let alerts: Rule[];

    beforeAll(async () => {
      groups = await ruleGroups(ENABLED);
      alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
    });

    test("promtool check rules passes on the rendered rules", async () => {
      const file = path.join(dir, "check-rules.yaml");
      await writeFile(file, stringify({ groups }));
      expect(await runTool(promtool, ["check", "rules", file])).toMatch(new RegExp(`SUCCESS: ${alerts.length} rules found`));
    });

    test("the issue's alerts are all there, each with a severity, a summary and a description", () => {
      expect(alerts.map((a) => a.alert).sort()).toEqual(
        [
          "Live360FfmpegRestarting",
          "Live360FfmpegSlow",
          "Live360FfmpegStalled",
          "Live360NoPublisher",
          "Live360EdgeErrorRatio",
          "Live360OriginErrorRatio",
          "Live360OriginOffloadLow",
          "Live360RecordingsPendingUpload",
          "Live360SegmentsNotProduced",
          "Live360VodDeadLetter",
          "Live360VodDeadLetterQueueNotEmpty",
          "Live360ViewerFatalErrors",
          "Live360ViewerRebufferRatioHigh",
        ].sort(),
      );
      for (const alert of alerts) {
        expect([alert.alert, alert.labels?.severity]).toEqual([alert.alert, expect.stringMatching(/^(critical|warning)$/)]);
        expect(Object.keys(alert.annotations ?? {}).sort()).toEqual(["description", "summary"]);
      }
    });

    test("every metric the rules use is defined by the code", () => {
      const used = alerts.flatMap((a) => metricsIn(a.expr).map((metric) => ({ alert: a.alert, metric })));
      expect(used.length).toBeGreaterThan(alerts.length);
      expect(used.filter(({ metric }) => !metrics.has(metric))).toEqual([]);
    });

    test("promtool test rules: every alert fires on its condition after its `for:` and stays silent on healthy series", async () => {
      const unitTests = parse(await readFile(RULE_UNIT_TESTS, "utf8")) as UnitTests;
      // Each alert has a case that expects it and one that expects nothing.
      const cases = unitTests.tests.flatMap((t) => t.alert_rule_test ?? []);
      for (const { alert } of alerts) {
        const own = cases.filter((c) => c.alertname === alert);
        expect([alert, own.some((c) => c.exp_alerts.length > 0), own.some((c) => c.exp_alerts.length === 0)]).toEqual([alert, true, true]);
      }
      expect(cases.filter((c) => !alerts.some((a) => a.alert === c.alertname))).toEqual([]);
      // The unit tests read the rendered rules from beside themselves.
      expect(unitTests.rule_files).toEqual(["prometheus-rules.yaml"]);
      await writeFile(path.join(dir, "prometheus-rules.yaml"), stringify({ groups }));
      await copyFile(RULE_UNIT_TESTS, path.join(dir, "rules.test.yaml"));
      expect(await runTool(promtool, ["test", "rules", path.join(dir, "rules.test.yaml")])).toMatch(/SUCCESS/);
    }, 120_000);

    test("thresholds, durations and labels come from the values", async () => {
      const rule = (await template({
        metrics: {
          prometheusRule: {
            enabled: true,
            labels: { release: "kube-prometheus-stack" },
            alertLabels: { team: "video" },
            noPublisher: { for: "30s", lookback: "6h" },
            ffmpegSlow: { minSpeed: 0.75, for: "10m" },
            offload: { window: "30m", minRatio: 0.6, minEdgeRequestsPerSecond: 100, for: "1h" },
            rebuffer: { maxRatio: 0.05 },
          },
        },
      })).find((m) => m.kind === "PrometheusRule")!;
      expect(rule.metadata.labels).toMatchObject({ release: "kube-prometheus-stack" });
      const byName = new Map((rule.spec as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
      expect(byName.get("Live360NoPublisher")).toMatchObject({ for: "30s", expr: expect.stringContaining("[6h]") });
      expect(byName.get("Live360FfmpegSlow")).toMatchObject({ for: "10m", expr: "live360_origin_ffmpeg_speed < 0.75" });
      expect(byName.get("Live360OriginOffloadLow")).toMatchObject({ for: "1h", expr: expect.stringMatching(/\[30m\][\s\S]*< 0\.6[\s\S]*> 100$/) });
      expect(byName.get("Live360ViewerRebufferRatioHigh")?.expr).toMatch(/> 0\.05\n/);
      expect(byName.get("Live360FfmpegSlow")?.annotations?.description).toContain("below 0.75 for 10m");
      for (const alert of byName.values()) expect(alert.labels).toMatchObject({ team: "video" });
      const file = path.join(dir, "custom-rules.yaml");
      await writeFile(file, stringify({ groups: (rule.spec as { groups: RuleGroup[] }).groups }));
      await runTool(promtool, ["check", "rules", file]);
    });
  });

  test("PodMonitors: origins on their HTTP port, edges and VOD workers on their metrics port, labelled with the event", async () => {
    const monitors = async (values: object) => (await template({ ...values, metrics: { podMonitor: { enabled: true, labels: { release: "prom" } } } })).filter((m) => m.kind === "PodMonitor");
    const all = await monitors({});
    expect(all.map((m) => m.metadata.name)).toEqual(["live360-operator-origins", "live360-operator-edges-vod"]);
    const [origins, edges] = all.map((m) => m.spec as { namespaceSelector: object; selector: { matchExpressions: { values: string[] }[] }; podMetricsEndpoints: { port: string; relabelings: { targetLabel: string }[] }[] });
    expect(origins!.namespaceSelector).toEqual({ any: true });
    expect([origins!.selector.matchExpressions[0]!.values, origins!.podMetricsEndpoints[0]!.port]).toEqual([["origin"], "http"]);
    expect([edges!.selector.matchExpressions[0]!.values, edges!.podMetricsEndpoints[0]!.port]).toEqual([["edge", "vod-worker"], "metrics"]);
    expect(origins!.podMetricsEndpoints[0]!.relabelings.map((r) => r.targetLabel)).toEqual(["event", "role", "component", "vodjob"]);
    expect(all[0]!.metadata.labels).toMatchObject({ release: "prom" });
    const namespaced = await monitors({ watchNamespaces: ["media", "sports"] });
    expect(namespaced.map((m) => (m.spec as { namespaceSelector: object }).namespaceSelector)).toEqual([{ matchNames: ["media", "sports"] }, { matchNames: ["media", "sports"] }]);
  });

  describe("Grafana dashboards", () => {
    let files: string[];
    let dashboards: Map<string, Dashboard>;

    beforeAll(async () => {
      files = (await readdir(dashboardsDir)).filter((f) => f.endsWith(".json")).sort();
      dashboards = new Map();
      for (const file of files) dashboards.set(file, JSON.parse(await readFile(path.join(dashboardsDir, file), "utf8")) as Dashboard);
    });

    test("one per area, each a ConfigMap labelled for Grafana's sidecar holding the file as it is", async () => {
      expect(files).toEqual(["live360-edge.json", "live360-ingest.json", "live360-operator.json", "live360-packaging.json", "live360-viewers.json", "live360-vod.json"]);
      const maps = (await template({ metrics: { grafanaDashboards: { enabled: true, annotations: { grafana_folder: "live360" } } } })).filter((m) => m.kind === "ConfigMap");
      expect(maps.map((m) => m.metadata.name)).toEqual(files.map((f) => `live360-operator-dashboard-${f.replace(/^live360-|\.json$/g, "")}`));
      for (const [i, map] of maps.entries()) {
        expect(map.metadata).toMatchObject({ namespace: NAMESPACE, labels: { grafana_dashboard: "1" }, annotations: { grafana_folder: "live360" } });
        expect(map.data).toEqual({ [files[i]!]: (await readFile(path.join(dashboardsDir, files[i]!), "utf8")).trimEnd() });
      }
      const custom = (await template({ metrics: { grafanaDashboards: { enabled: true, label: "dashboards.example/grafana", labelValue: "live", namespace: "monitoring" } } })).filter((m) => m.kind === "ConfigMap");
      for (const map of custom) expect(map.metadata).toMatchObject({ namespace: "monitoring", labels: { "dashboards.example/grafana": "live" } });
      expect(custom[0]!.metadata.labels).not.toHaveProperty("grafana_dashboard");
    });

    test("unique uids and panel ids, panels inside the 24-column grid", () => {
      expect(new Set([...dashboards.values()].map((d) => d.uid)).size).toBe(dashboards.size);
      for (const [file, dashboard] of dashboards) {
        const ids = dashboard.panels.map((p) => p.id);
        expect([file, new Set(ids).size]).toEqual([file, ids.length]);
        for (const panel of dashboard.panels) expect([file, panel.id, panel.gridPos.x + panel.gridPos.w <= 24]).toEqual([file, panel.id, true]);
      }
    });

    test("a datasource variable, namespace and stream variables, and every panel and query on ${datasource}", () => {
      for (const [file, dashboard] of dashboards) {
        const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
        expect([file, variables.get("datasource")?.type, variables.get("datasource")?.query]).toEqual([file, "datasource", "prometheus"]);
        expect([file, variables.has("namespace")]).toEqual([file, true]);
        if (!["live360-vod.json", "live360-operator.json"].includes(file)) expect([file, variables.has("stream")]).toEqual([file, true]);
        for (const variable of variables.values()) {
          if (variable.type === "query") expect([file, variable.name, variable.datasource?.uid]).toEqual([file, variable.name, "${datasource}"]);
        }
        for (const panel of dashboard.panels) {
          expect([file, panel.title, panel.datasource]).toEqual([file, panel.title, { type: "prometheus", uid: "${datasource}" }]);
          for (const target of panel.targets ?? []) expect([file, panel.title, target.datasource?.uid]).toEqual([file, panel.title, "${datasource}"]);
          if (panel.type !== "text") expect([file, panel.title, (panel.targets ?? []).length > 0]).toEqual([file, panel.title, true]);
        }
        // Every variable used is defined (or one of Grafana's own).
        const used = [
          ...dashboard.panels.flatMap((p) => [...(p.targets ?? []).map((t) => t.expr), p.options?.content ?? ""]),
          ...dashboard.templating.list.map((v) => v.definition ?? ""),
        ].flatMap(variablesIn);
        expect([file, used.filter((name) => !variables.has(name) && !GRAFANA_VARIABLES.has(name))]).toEqual([file, []]);
      }
    });

    test("every metric the dashboards query is defined by the code", () => {
      const used: { file: string; metric: string }[] = [];
      for (const [file, dashboard] of dashboards) {
        for (const panel of dashboard.panels) for (const target of panel.targets ?? []) used.push(...metricsIn(target.expr).map((metric) => ({ file, metric })));
        for (const variable of dashboard.templating.list) {
          const metric = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(variable.definition ?? "")?.[1];
          if (variable.type === "query") used.push({ file, metric: metric ?? `(no metric in ${variable.name})` });
        }
      }
      expect(used.length).toBeGreaterThan(50);
      expect(used.filter(({ metric }) => !metrics.has(metric))).toEqual([]);
    });

    test("every PromQL expression parses (promtool check rules, one recording rule per query)", async () => {
      const rules = [...dashboards.values()].flatMap((dashboard) =>
        dashboard.panels.flatMap((panel) =>
          (panel.targets ?? []).map((target) => ({ record: `dashboard:${dashboard.uid.replaceAll("-", "_")}:panel_${panel.id}_${target.refId}`, expr: substituted(target.expr) })),
        ),
      );
      const file = path.join(dir, "dashboard-queries.yaml");
      await writeFile(file, stringify({ groups: [{ name: "dashboard-queries", rules }] }));
      expect(await runTool(promtool, ["check", "rules", file])).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    });

    test("the viewers dashboard links to the player's heatmap overlay (Grafana cannot read heatmap.json)", () => {
      const viewers = dashboards.get("live360-viewers.json")!;
      const text = viewers.panels.find((p) => p.type === "text" && /heatmap/i.test(p.title));
      expect(text?.options?.content).toContain("/player/?url=/hls/${stream}/master.m3u8&heatmap=1");
      expect(text?.options?.content).toContain("heatmap.json");
    });
  });

  test("metricsIn finds the metrics of an expression and nothing else", () => {
    expect(
      metricsIn(
        'sum by (namespace, le) (rate(a_total{kind=~"x|y", status="5.."}[5m])) / on (job) group_left (pod) b offset 15m unless histogram_quantile(0.9, c_bucket) > bool 0.5 and d',
      ).sort(),
    ).toEqual(["a_total", "b", "c_bucket", "d"]);
  });
});
