// Compiles Careid's TypeScript into `dist/`, the JavaScript the `careid` command runs. One bundle
// of Careid's own packages, split at its dynamic imports so what a run never uses is never loaded
// (PostgreSQL and Redis on the embedded store, the card authority until a card is used); every
// npm dependency stays an import of node_modules. Running compiled code rather than through a
// TypeScript loader keeps the compiler out of the server: about 35 MB less resident memory per node
// and a faster start.
//
// `node scripts/build.js` builds when a source file is newer than the last build; `--force` always.
// npm runs it on install (`prepare`), `npm test` before the tests; the `careid` command runs it when
// the build is out of date, so an edited checkout never runs stale code.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
export const distDir = join(root, 'dist')
/** What the `careid` command imports. */
export const entryFile = join(distDir, 'careid.js')

/**
 * What is compiled into the bundle rather than imported from node_modules at run time: Careid's
 * own packages, and zod, whose functional API (`zod/mini`) is made to be tree-shaken, so only the
 * few checks the settings and card files use are loaded, not the whole library (about 7 MB of
 * memory when imported whole).
 */
function compiledIn(path) {
  return path.startsWith('@careid/') || path === 'zod' || path.startsWith('zod/')
}

/**
 * Bundles `entryPoints` ({ name: source }) into `outdir`: Careid's packages (`@careid/*` and
 * relative imports) and zod compiled in, every other bare import left to node_modules.
 */
export async function bundle(entryPoints, outdir) {
  const { build } = await import('esbuild')
  await build({
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    // Error names and stack traces read as in the sources (a thrown error's stack maps back to the
    // .ts file once source maps are enabled, which the `careid` command does).
    keepNames: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'node-modules-external',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => (compiledIn(args.path) ? undefined : { path: args.path, external: true }))
        },
      },
    ],
  })
}

/** The newest modification time of a file under `dir`, in ms. */
function newestUnder(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs)
  }
  return newest
}

/**
 * Whether the build under `dir` (the checkout's root unless told) is missing or older than a source
 * of the command: a file under a package's src/, or a package's package.json.
 */
export function isStale(dir = root) {
  let built
  try {
    built = statSync(join(dir, 'dist', 'careid.js')).mtimeMs
  } catch {
    return true
  }
  const packages = join(dir, 'packages')
  for (const name of readdirSync(packages)) {
    const packageDir = join(packages, name)
    if (statSync(join(packageDir, 'package.json')).mtimeMs > built) return true
    if (newestUnder(join(packageDir, 'src')) > built) return true
  }
  return false
}

/**
 * Builds the command into `dist/`. Chunks of earlier builds are left in place (their names carry a
 * content hash, so none is overwritten): a server started from an earlier build may still load one.
 */
export async function buildCareid() {
  await bundle({ careid: join(root, 'packages/cli/src/main.ts') }, distDir)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--force') || isStale()) {
    // esbuild has already printed each error with its file and line; its exception adds nothing.
    await buildCareid().catch(() => process.exit(1))
  }
}
