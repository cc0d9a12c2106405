// Runs the test suite: node:test through tsx, over an explicit list of files, so node's own
// summary ends the run. A test file missing from the list fails the run: a bare `node --test` on
// Node 20 finds no .ts files and still exits 0, so nothing may depend on discovery.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export const files = [
  'packages/store/test/sqlite.test.ts',
  'packages/store/test/postgres.test.ts',
  'packages/store/test/redis.test.ts',
  'packages/store/test/events.test.ts',
  'packages/store/test/guard.test.ts',
  'packages/store/test/migrations.test.ts',
  'packages/store/test/key_encryption_key.test.ts',
  'packages/domain/test/directory.test.ts',
  'packages/domain/test/person.test.ts',
  'packages/domain/test/workforce.test.ts',
  'packages/domain/test/claims.test.ts',
  'packages/cards/test/certificate_authority.test.ts',
  'packages/cards/test/virtual_card.test.ts',
  'packages/cards/test/lockout.test.ts',
  'packages/authenticators/test/password.test.ts',
  'packages/authenticators/test/totp.test.ts',
  'packages/agent/test/agent.test.ts',
  'packages/agent/test/peer_owner.test.ts',
  'packages/oidc/test/acr.test.ts',
  'packages/oidc/test/params.test.ts',
  'packages/oidc/test/authorization_request.test.ts',
  'packages/oidc/test/login_policy.test.ts',
  'packages/oidc/test/authorize.test.ts',
  'packages/oidc/test/client_registration.test.ts',
  'packages/oidc/test/config.test.ts',
  'packages/oidc/test/tokens.test.ts',
  'packages/oidc/test/discovery.test.ts',
  'packages/oidc/test/backchannel_logout.test.ts',
  'packages/oidc/test/keys_secret_box.test.ts',
  'packages/oidc/test/keys.test.ts',
  'packages/oidc/test/journey_state.test.ts',
  'packages/oidc/test/code_payload.test.ts',
  'packages/ui/test/render.test.ts',
  'test/e2e/openid_client_journey.test.ts',
  'test/e2e/bad_input.test.ts',
  'test/e2e/stored_journey.test.ts',
  'test/e2e/client_auth.test.ts',
  'test/e2e/cors.test.ts',
  'test/e2e/journey_policies.test.ts',
  'test/e2e/sessions.test.ts',
  'test/e2e/session_end.test.ts',
  'test/e2e/claims.test.ts',
  'test/e2e/cli.test.ts',
  'test/e2e/cards_cli.test.ts',
  'test/e2e/people_cli.test.ts',
  'test/e2e/cards_pkcs11.test.ts',
  'test/e2e/browser.test.ts',
  'test/e2e/accessibility.test.ts',
  'test/e2e/agent_protocol.test.ts',
  'test/e2e/card_session_lifetime.test.ts',
  'test/e2e/smartcard_browser.test.ts',
  'test/e2e/migrate.test.ts',
  'test/e2e/scaled.test.ts',
  'test/e2e/multinode.test.ts',
  'test/e2e/rate_limits.test.ts',
  'test/e2e/metrics.test.ts',
  'test/build.test.ts',
  'test/architecture.test.ts',
  'test/conformance/oidcc_basic.test.ts',
  'test/conformance/oidcc_config.test.ts',
  'test/conformance/oidcc_rp_initiated_logout.test.ts',
  'test/conformance/oidcc_backchannel_logout.test.ts',
]

function find(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...find(path))
    else if (name.endsWith('.test.ts')) out.push(relative(root, path).split(sep).join('/'))
  }
  return out
}

const missing = [...find(join(root, 'packages')), ...find(join(root, 'test'))].filter((f) => !files.includes(f))
if (missing.length > 0) {
  console.error(`Test files not listed in scripts/run_tests.js:\n  ${missing.join('\n  ')}`)
  process.exit(1)
}

// Tests that run the `careid` command run dist/: built here once, not by many test processes at once.
const build = spawnSync(process.execPath, [join(root, 'scripts/build.js')], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
process.exit(result.status ?? 1)
