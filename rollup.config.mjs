import commonjs from '@rollup/plugin-commonjs'
import json from '@rollup/plugin-json'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'

/**
 * dist/main.js and dist/post.js (the agent's job) and dist/apply/main.js (the landing job), with what they load only on demand (the artifact and cache clients)
 * in shared chunks beside them. @actions/artifact and @actions/cache require() their package.json,
 * hence json().
 */
export default {
  input: { main: 'src/main.ts', post: 'src/post.ts', 'apply/main': 'src/apply/main.ts' },
  output: { dir: 'dist', format: 'es', sourcemap: false, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js' },
  plugins: [typescript({ tsconfig: './tsconfig.build.json' }), nodeResolve({ preferBuiltins: true }), commonjs(), json()],
  onwarn(warning, warn) {
    // The toolkit's dependencies use `this` at module scope and circular imports; both are harmless in a bundle.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return
    warn(warning)
  }
}
