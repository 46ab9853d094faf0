// The layers of src/, lowest first: a module may import from its own folder and from the layers
// below its own, never from one above; the CLI only from the package's entry points, as any
// application would (docs/CONTRIBUTING.md, "Layers"). ESLint's own no-restricted-imports
// enforces it folder by folder, so `npm run lint`, and with it CI, fails on an import that points up.
const LAYERS = [
  // The modules at the root of src/ that everything shares: errors, options, constants.
  ['.'],
  ['crypto'],
  // The box-stream codecs, under the handshake, which seals early data with them.
  ['boxstream'],
  ['handshake'],
  // The sans-IO connection machine.
  ['connection'],
  // What every transport's adapter shares: the handshake driver, the SecureStream driver, the types.
  ['driver'],
  // The adapters, one folder per way in.
  ['net', 'duplex', 'node-stream', 'ws', 'libp2p'],
  // Scuttlebutt's formats and dialling (over net and ws), then its plugins and the conformance suite.
  ['ssb'],
  ['multiserver'],
  ['secret-stack'],
  ['conformance']
]

/** Imports allowed across folders of one layer: the WebSocket server and libp2p share the TCP server's admission (and ws its callbacks). */
const SAME_LAYER = { ws: ['net'], libp2p: ['net'] }

/** The package's entry points, above every layer. */
const ENTRIES = ['index', 'portable', 'browser']

const FOLDERS = LAYERS.flat().filter((folder) => folder !== '.')

/** An import that reaches into one of `folders` of src/ (or an entry point), from a file `depth` folders below src/. */
function reaching (folders, depth) {
  const up = depth === 0 ? '\\./' : `(\\.\\./){${depth}}`
  return `^${up}((${folders.join('|')})/|(${ENTRIES.join('|')})\\.ts$)`
}

function rule (regex, message) {
  return { 'no-restricted-imports': ['error', { patterns: [{ regex, message }] }] }
}

/** How deep below src/ a layer's folder reaches (src/conformance/wire/*.ts is 2). */
const DEPTHS = [1, 2, 3]

const layered = LAYERS.flatMap((folders, layer) => folders.flatMap((folder) => {
  const above = LAYERS.slice(layer + 1).flat()
  const beside = folders.filter((other) => other !== folder && !(SAME_LAYER[folder] ?? []).includes(other))
  const forbidden = [...above, ...beside].filter((name) => name !== '.')
  const message = `src/${folder === '.' ? '' : `${folder}/`} may import only from its own folder and the layers below it ` +
    '(eslint.layers.js): move the shared piece down, or the importing one up'
  if (folder === '.') {
    return [{ files: ['src/*.ts'], ignores: ENTRIES.map((entry) => `src/${entry}.ts`), rules: rule(reaching(forbidden, 0), message) }]
  }
  return DEPTHS.map((depth) => ({
    files: [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: [`src/${folder}/index.ts`],
    rules: rule(reaching(forbidden, depth), message)
  }))
}))

/** The CLI uses the library as an application would: through the entry points (src/index.ts, a subpath's index.ts). */
const cli = [1, 2].map((depth) => ({
  files: depth === 1 ? ['src/cli/*.ts'] : ['src/cli/*/*.ts'],
  rules: rule(`^(\\.\\./){${depth}}(${FOLDERS.join('|')})/(?!index\\.ts$)`,
    'the CLI uses the library through its entry points (src/index.ts, or a subpath\'s index.ts), as any application would')
}))

export const layers = [...layered, ...cli]
