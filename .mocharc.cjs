// Mocha's settings. The whole suite runs only when no test file is named: mocha adds a
// configured `spec` to the files given on its command line, so `npm test -- test/x.test.ts`
// (or `npx mocha test/x.test.ts`) would otherwise run everything.
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /\.(ts|js|mjs|cjs)$/.test(arg))

function isNode () {
  return process.versions.deno === undefined && process.versions.bun === undefined
}

module.exports = {
  extension: ['ts'],
  timeout: 20000,
  exit: false,
  reporter: 'spec',
  // Under Node, src/ resolves #crypto-backend to its own TypeScript, not to the built dist/
  // (package.json imports). Deno and Bun take no Node options (mocha would respawn with them and
  // fail): there #crypto-backend resolves to dist/, which npm test builds first.
  ...(isNode() ? { 'node-option': ['conditions=shs-source'] } : {}),
  ...(named ? {} : { spec: ['test/**/*.test.ts'] })
}
