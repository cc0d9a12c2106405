/**
 * The build the `careid` command runs (scripts/build.js): when it counts as out of date, and that
 * the compiled server still finds the files it serves from the ui package (views and assets are
 * found by package name, not by the compiled module's place).
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { isStale } from '../scripts/build.js'
import { freePort } from './support/careid.ts'
import { repoRoot, startCareidProcess } from './support/cli.ts'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A checkout in miniature: two packages with sources, and a build whose files are all at `builtAt`. */
function checkout(builtAt: Date | undefined): string {
  const root = mkdtempSync(join(tmpdir(), 'careid-build-'))
  dirs.push(root)
  const past = new Date(Date.now() - 60_000)
  for (const name of ['oidc', 'ui']) {
    mkdirSync(join(root, 'packages', name, 'src', 'keys'), { recursive: true })
    for (const file of ['package.json', 'src/index.ts', 'src/keys/jwt_signer.ts']) {
      const path = join(root, 'packages', name, file)
      writeFileSync(path, '{}')
      utimesSync(path, past, past)
    }
  }
  if (builtAt !== undefined) {
    mkdirSync(join(root, 'dist'))
    writeFileSync(join(root, 'dist', 'careid.js'), '')
    utimesSync(join(root, 'dist', 'careid.js'), builtAt, builtAt)
  }
  return root
}

function touch(path: string): void {
  const now = new Date()
  utimesSync(path, now, now)
}

describe('scripts/build.js: when the build is out of date', () => {
  it('never built: out of date', () => {
    assert.equal(isStale(checkout(undefined)), true)
  })

  it('built after every source: up to date', () => {
    assert.equal(isStale(checkout(new Date(Date.now() - 30_000))), false)
  })

  it('a source file edited after the build, however deep in src/: out of date', () => {
    const root = checkout(new Date(Date.now() - 30_000))
    touch(join(root, 'packages', 'ui', 'src', 'keys', 'jwt_signer.ts'))
    assert.equal(isStale(root), true)
  })

  it("a package's package.json changed after the build (its exports, say): out of date", () => {
    const root = checkout(new Date(Date.now() - 30_000))
    touch(join(root, 'packages', 'oidc', 'package.json'))
    assert.equal(isStale(root), true)
  })
})

describe('the compiled server', () => {
  it('serves the stylesheet and nhsuk-frontend assets from the ui package', async () => {
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), 'careid-build-'))
    dirs.push(dataDir)
    const server = await startCareidProcess(['--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'silent'], { ready: 'clients add --help' })
    try {
      const css = await fetch(`http://127.0.0.1:${port}/assets/careid.css`)
      assert.equal(css.status, 200)
      assert.match(css.headers.get('content-type') ?? '', /^text\/css/)
      // Bytes, not text: the file starts with a byte order mark, which text() drops.
      assert.ok(Buffer.from(await css.arrayBuffer()).equals(readFileSync(join(repoRoot, 'packages/ui/public/careid.css'))), 'the served stylesheet is the built one')
      const icon = await fetch(`http://127.0.0.1:${port}/assets/nhsuk/images/favicon.svg`)
      assert.equal(icon.status, 200)
      assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/)
      await icon.body?.cancel()
      // A page rendered from the ui package's views.
      const demo = await fetch(`http://127.0.0.1:${port}/demo/`)
      assert.equal(demo.status, 200)
      assert.match(await demo.text(), /<link rel="stylesheet" href="\/assets\/careid.css">/)
    } finally {
      assert.equal((await server.stop('SIGTERM')).code, 0)
    }
  })
})
