/**
 * The Debian packages some suites need beyond npm's: Chromium for the browser journeys, SoftHSM2
 * (a PKCS#11 token in software) for smartcards on a token. On a developer's machine a suite whose
 * package is missing is skipped, saying the one command that installs it, and scripts/run_tests.js
 * lists it as not run; under CI (`CI` set) a missing package fails the run instead, where a skipped
 * suite would pass untested (as packages/store/test/support/services.ts does for PostgreSQL and Redis).
 *
 * CAREID_CHROMIUM and CAREID_SOFTHSM2 point the suites at another install.
 */
import { appendFileSync, existsSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface SystemPackage {
  readonly name: string
  /** The file the suites use: the browser, or the PKCS#11 library. */
  readonly path: string
  /** The one command that installs it. */
  readonly install: string
}

export const chromium: SystemPackage = {
  name: 'Chromium',
  path: process.env['CAREID_CHROMIUM'] ?? '/usr/bin/chromium',
  install: 'apt-get install chromium',
}

export const softhsm2: SystemPackage = {
  name: 'SoftHSM2',
  path: process.env['CAREID_SOFTHSM2'] ?? '/usr/lib/softhsm/libsofthsm2.so',
  install: 'apt-get install softhsm2',
}

/**
 * The options of a suite that needs `packages`: `{ skip: false }` when they are installed; when
 * one is not, `{ skip: reason }`, or under CI an error (thrown where the suite is declared, so the
 * run fails saying what is missing).
 */
export function requires(...packages: SystemPackage[]): { skip: string | false } {
  const missing = packages.filter((p) => !existsSync(p.path))
  if (missing.length === 0) return { skip: false }
  const reason = missing.map((p) => `${p.name} is not installed at ${p.path} (${p.install})`).join('; ')
  if (process.env['CI'] !== undefined) throw new Error(`${reason}: CI must run this suite`)
  reportNotRun(missing)
  return { skip: reason }
}

/**
 * Tells scripts/run_tests.js (through the file it names in CAREID_NOT_RUN) which test file did not
 * run for want of which package, one JSON line each, for its list at the end of the run.
 */
function reportNotRun(missing: SystemPackage[]): void {
  const file = process.env['CAREID_NOT_RUN']
  if (file === undefined) return
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const testFile = relative(root, process.argv[1] ?? '')
  for (const p of missing) appendFileSync(file, JSON.stringify({ file: testFile, name: p.name, install: p.install }) + '\n')
}
