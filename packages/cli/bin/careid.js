#!/usr/bin/env node
// The `careid` command. It runs Careid compiled into dist/ (scripts/build.js), building it first
// when a source file is newer than the build, so a checkout edited since the last build never runs
// stale code.
import { execFileSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'

const build = fileURLToPath(new URL('../../../scripts/build.js', import.meta.url))
const { entryFile, isStale } = await import(build)
if (isStale()) {
  try {
    execFileSync(process.execPath, [build], { stdio: 'inherit' })
  } catch {
    // esbuild has printed what is wrong, with the file and line.
    process.stderr.write('careid: could not build Careid from its sources (see above)\n')
    process.exit(1)
  }
}
// Stack traces name the TypeScript sources.
process.setSourceMapsEnabled(true)
await import(pathToFileURL(entryFile).href)
