import commonjs from '@rollup/plugin-commonjs'
import json from '@rollup/plugin-json'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import typescript from '@rollup/plugin-typescript'

/** One self-contained ESM file per entry; @actions/artifact and @actions/cache require() their package.json, hence json(). */
const bundle = (entry) => ({
  input: `src/${entry}.ts`,
  output: { file: `dist/${entry}.js`, format: 'es', sourcemap: false, inlineDynamicImports: true },
  plugins: [typescript({ tsconfig: './tsconfig.build.json' }), nodeResolve({ preferBuiltins: true }), commonjs(), json()],
  onwarn(warning, warn) {
    // The toolkit's dependencies use `this` at module scope and circular imports; both are harmless in a bundle.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return
    warn(warning)
  }
})

export default [bundle('main'), bundle('post')]
