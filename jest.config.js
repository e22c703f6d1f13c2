// Tests are compiled by `tsc -b` with the sources and run as native ES modules from dist/,
// so what is tested is exactly what ships (no second TypeScript transform).
export default {
  testEnvironment: "node",
  roots: ["<rootDir>"],
  testMatch: ["**/dist/**/*.test.js"],
  testPathIgnorePatterns: ["/node_modules/"],
  transform: {},
  testTimeout: 60000,
  maxWorkers: 2,
  verbose: true,
};
