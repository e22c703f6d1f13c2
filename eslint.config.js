// Lint the TypeScript sources with the type-aware recommended rules; generated output is ignored.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // test-artifacts holds what tests leave for people to look at, MPEG-TS segments (.ts) among them.
  { ignores: ["**/dist/**", "**/node_modules/**", "**/*.js", "**/*.cjs", "**/*.mjs", "test-artifacts/**"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
);
