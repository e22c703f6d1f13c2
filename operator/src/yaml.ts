import { stringify } from "yaml";

/**
 * YAML as the project writes it for people to read and for kubectl to apply: no line folding and
 * multi-line strings as literal blocks (an nginx.conf inside a ConfigMap stays an nginx.conf).
 */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, blockQuote: "literal" });
}

/** Several objects as one multi-document stream (`kubectl apply -f` takes it as is). */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((value) => `---\n${toYaml(value)}`).join("");
}
