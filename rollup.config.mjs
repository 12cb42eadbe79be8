import commonjs from '@rollup/plugin-commonjs'
import json from '@rollup/plugin-json'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'

/**
 * Two bundles that share nothing, so neither job loads the other's code at start-up:
 * - the agent's job: dist/main.js and dist/post.js, with what they load only on demand (the
 *   artifact and cache clients) in chunks beside them;
 * - the landing job (the apply action): dist/apply/main.js and its own chunks.
 * @actions/artifact and @actions/cache require() their package.json, hence json().
 */
const plugins = () => [typescript({ tsconfig: './tsconfig.build.json' }), nodeResolve({ preferBuiltins: true }), commonjs(), json()]

function onwarn(warning, warn) {
  // The toolkit's dependencies use `this` at module scope and circular imports; both are harmless in a bundle.
  if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return
  warn(warning)
}

/**
 * @actions/http-client imports undici at its top for one method, the proxy dispatcher that only
 * Octokit asks for (@actions/github, in the apply bundle). Nothing in the agent's job calls it, and
 * evaluating undici was about half of the agent job's start-up, in main and in post. In that bundle
 * the client's `undici` is this stand-in, which says so if anything ever does call it. (The artifact
 * client's own use of undici, through Octokit, stays: it loads only when the artifact is uploaded.)
 */
const undiciNotBundled = {
  name: 'undici-not-bundled',
  resolveId: (source, importer) => (source === 'undici' && importer?.includes('/@actions/http-client/') ? '\0undici-not-bundled' : null),
  load: (id) =>
    id === '\0undici-not-bundled'
      ? "export class ProxyAgent { constructor() { throw new Error('undici is not part of the codex-action agent bundle: its proxy dispatcher is not available here.') } }\n"
      : null
}

const output = (dir) => ({ dir, format: 'es', sourcemap: false, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js' })

export default [
  { input: { main: 'src/main.ts', post: 'src/post.ts' }, output: output('dist'), plugins: [undiciNotBundled, ...plugins()], onwarn },
  { input: { main: 'src/apply/main.ts' }, output: output('dist/apply'), plugins: plugins(), onwarn }
]
