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

const output = (dir) => ({ dir, format: 'es', sourcemap: false, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js' })

export default [
  { input: { main: 'src/main.ts', post: 'src/post.ts' }, output: output('dist'), plugins: plugins(), onwarn },
  { input: { main: 'src/apply/main.ts' }, output: output('dist/apply'), plugins: plugins(), onwarn }
]
