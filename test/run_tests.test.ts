/**
 * `npm test` (scripts/run_tests.js) on a machine without Chromium or SoftHSM2, simulated by pointing
 * the suites at paths that do not exist: outside CI the suites that need them are skipped, saying
 * the command that installs each, the runner lists them as not run, the rest pass, and node's own
 * summary still ends the output (CI reads it); under CI a missing package fails the run.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { repoRoot } from './support/cli.ts'

/** A suite that needs SoftHSM2, one that needs Chromium, and one that needs neither. */
const subset = ['test/e2e/cards_pkcs11.test.ts', 'test/e2e/browser.test.ts', 'packages/oidc/test/acr.test.ts']
const missing = { CAREID_CHROMIUM: '/nonexistent/chromium', CAREID_SOFTHSM2: '/nonexistent/libsofthsm2.so' }

/** Runs the runner on `subset`; `CI` is set only when `ci` is (this test itself may run under CI). */
function runTests(ci: boolean): Promise<{ code: number | null; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...missing }
  delete env['CI']
  delete env['CAREID_NOT_RUN']
  // Set in test processes by node's runner; left in, the inner run would report to this one's.
  delete env['NODE_TEST_CONTEXT']
  if (ci) env['CI'] = 'true'
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run_tests.js', ...subset], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.resume()
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout }))
  })
}

describe('npm test without the system packages some suites need', { concurrency: 1 }, () => {
  it('outside CI: the suites are skipped with the install command, listed as not run before node\'s summary, and the rest pass', async () => {
    const { code, stdout } = await runTests(false)
    assert.equal(code, 0, stdout)
    assert.match(stdout, /^﹣ a new user in a real browser \([\d.]+ms\) # Chromium is not installed at \/nonexistent\/chromium \(apt-get install chromium\)$/m)
    assert.match(stdout, /^﹣ a smartcard on a PKCS#11 token \(SoftHSM2\) \([\d.]+ms\) # SoftHSM2 is not installed at \/nonexistent\/libsofthsm2\.so \(apt-get install softhsm2\)$/m)
    const notRun = [
      'Not run, for want of a system package:',
      '  Chromium (apt-get install chromium): test/e2e/browser.test.ts',
      '  SoftHSM2 (apt-get install softhsm2): test/e2e/cards_pkcs11.test.ts',
      '',
    ].join('\n')
    assert.ok(stdout.includes(notRun), stdout)
    const summary = stdout.indexOf('\nℹ tests ')
    assert.ok(stdout.indexOf(notRun) < summary, 'the list comes before node\'s summary')
    const last = stdout.trimEnd().split('\n').slice(-8).map((line) => line.split(' ').slice(0, 2).join(' '))
    assert.deepEqual(last, ['ℹ tests', 'ℹ suites', 'ℹ pass', 'ℹ fail', 'ℹ cancelled', 'ℹ skipped', 'ℹ todo', 'ℹ duration_ms'])
    assert.match(stdout, /^ℹ fail 0$/m)
    assert.doesNotMatch(stdout, /^ℹ pass 0$/m)
  })

  it('under CI: a missing package fails the run, saying which and how to install it', async () => {
    const { code, stdout } = await runTests(true)
    assert.notEqual(code, 0)
    assert.ok(stdout.includes('Chromium is not installed at /nonexistent/chromium (apt-get install chromium): CI must run this suite'), stdout)
    assert.ok(stdout.includes('SoftHSM2 is not installed at /nonexistent/libsofthsm2.so (apt-get install softhsm2): CI must run this suite'), stdout)
    assert.doesNotMatch(stdout, /Not run, for want of a system package/)
    assert.match(stdout, /^ℹ fail [1-9]/m)
  })
})
