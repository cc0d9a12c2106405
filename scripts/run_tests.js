// Runs the test suite: node:test through tsx, over an explicit list of files, so node's own
// summary ends the run. A test file missing from the list fails the run: a bare `node --test` on
// Node 20 finds no .ts files and still exits 0, so nothing may depend on discovery.
// `node scripts/run_tests.js <files>` runs only those.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export const files = [
  'packages/store/test/sqlite/sqlite_store.test.ts',
  'packages/store/test/postgres/postgres_store.test.ts',
  'packages/store/test/redis/redis_store.test.ts',
  'packages/store/test/events/events.test.ts',
  'packages/store/test/guard.test.ts',
  'packages/store/test/migrations.test.ts',
  'packages/store/test/key_encryption_key.test.ts',
  'packages/pds/test/nhs_number.test.ts',
  'packages/pds/test/search_keys.test.ts',
  'packages/pds/test/patient_record.test.ts',
  'packages/pds/test/population.test.ts',
  'packages/pds/test/patient_read.test.ts',
  'packages/pds/test/patient_search.test.ts',
  'packages/pds/test/fuzzy_match.test.ts',
  'packages/pds/test/patient_patch.test.ts',
  'packages/pds/test/related_person.test.ts',
  'packages/pds/test/gateway_refusals.test.ts',
  'packages/pds/test/patient_api_http.test.ts',
  'packages/cli/test/seed.test.ts',
  'packages/cli/test/api_platform_settings.test.ts',
  'packages/cli/test/webauthn_settings.test.ts',
  'packages/admin/test/admin_services.test.ts',
  'packages/apim/test/application.test.ts',
  'packages/apim/test/catalogue.test.ts',
  'packages/apim/test/authorize_route.test.ts',
  'packages/apim/test/callback_route.test.ts',
  'packages/apim/test/backchannel_logout_route.test.ts',
  'packages/apim/test/userinfo_route.test.ts',
  'packages/apim/test/health_routes.test.ts',
  'packages/apim/test/token_request.test.ts',
  'packages/apim/test/token_authorization_code.test.ts',
  'packages/apim/test/token_refresh.test.ts',
  'packages/apim/test/token_client_credentials.test.ts',
  'packages/apim/test/token_exchange.test.ts',
  'packages/apim/test/gateway.test.ts',
  'packages/domain/test/directory.test.ts',
  'packages/domain/test/person.test.ts',
  'packages/domain/test/demo_workforce.test.ts',
  'packages/domain/test/claims.test.ts',
  'packages/cards/test/certificate_authority.test.ts',
  'packages/cards/test/virtual/reader.test.ts',
  'packages/cards/test/virtual/unlock_secrets.test.ts',
  'packages/authenticators/test/password/authenticator.test.ts',
  'packages/authenticators/test/totp/authenticator.test.ts',
  'packages/authenticators/test/totp/enroller.test.ts',
  'packages/authenticators/test/enrolment.test.ts',
  'packages/agent/test/agent.test.ts',
  'packages/agent/test/peer_owner.test.ts',
  'packages/oidc/test/acr.test.ts',
  'packages/oidc/test/params.test.ts',
  'packages/oidc/test/client_key_sets.test.ts',
  'packages/oidc/test/errors.test.ts',
  'packages/smartcard/test/agent_protocol.test.ts',
  'packages/mobile/test/mobile.test.ts',
  'packages/admin/test/devices.test.ts',
  'packages/webauthn/test/registration.test.ts',
  'packages/webauthn/test/sign_in.test.ts',
  'packages/webauthn/test/mds.test.ts',
  'packages/webauthn/test/trust.test.ts',
  'packages/oidc/test/authorization_request.test.ts',
  'packages/oidc/test/login_policy.test.ts',
  'packages/oidc/test/authorize.test.ts',
  'packages/oidc/test/account_area.test.ts',
  'packages/oidc/test/client_registration.test.ts',
  'packages/oidc/test/config.test.ts',
  'packages/oidc/test/tokens.test.ts',
  'packages/oidc/test/discovery.test.ts',
  'packages/oidc/test/backchannel_logout.test.ts',
  'packages/oidc/test/keys/secret_box.test.ts',
  'packages/oidc/test/keys/jwt_signer.test.ts',
  'packages/oidc/test/keys/key_service.test.ts',
  'packages/oidc/test/journey_state.test.ts',
  'packages/oidc/test/code_payload.test.ts',
  'packages/oidc/test/journey_remembered_method.test.ts',
  'packages/ui/test/render.test.ts',
  'packages/ui/test/webauthn_pages.test.ts',
  'packages/http/test/service_server.test.ts',
  'test/e2e/openid_client_journey.test.ts',
  'test/e2e/bad_input.test.ts',
  'test/e2e/stored_journey.test.ts',
  'test/e2e/client_auth.test.ts',
  'test/e2e/cors.test.ts',
  'test/e2e/journey_policies.test.ts',
  'test/e2e/remembered_method.test.ts',
  'test/e2e/step_up.test.ts',
  'test/e2e/sessions.test.ts',
  'test/e2e/session_end.test.ts',
  'test/e2e/claims.test.ts',
  'test/e2e/cli.test.ts',
  'test/e2e/cards_cli.test.ts',
  'test/e2e/people_cli.test.ts',
  'test/e2e/account.test.ts',
  'test/e2e/enrol_cli.test.ts',
  'test/e2e/enrolment_codes.test.ts',
  'test/e2e/apps_cli.test.ts',
  'test/e2e/cards_pkcs11.test.ts',
  'test/e2e/browser.test.ts',
  'test/e2e/accessibility.test.ts',
  'test/e2e/agent_protocol.test.ts',
  'test/e2e/card_session_lifetime.test.ts',
  'test/e2e/smartcard_browser.test.ts',
  'test/e2e/agent_handoff.test.ts',
  'test/e2e/smartcard_handoff_browser.test.ts',
  'test/e2e/webauthn_browser.test.ts',
  'test/e2e/webauthn_refusals_browser.test.ts',
  'test/e2e/step_up_browser.test.ts',
  'test/e2e/seed_journey_browser.test.ts',
  'test/e2e/mobile_browser.test.ts',
  'test/e2e/account_browser.test.ts',
  'test/e2e/migrate.test.ts',
  'test/e2e/scaled.test.ts',
  'test/e2e/multinode.test.ts',
  'test/e2e/rate_limits.test.ts',
  'test/e2e/metrics.test.ts',
  'test/e2e/authenticator_plugin.test.ts',
  'test/e2e/webauthn_metadata.test.ts',
  'test/e2e/grant_registry.test.ts',
  'test/e2e/api_platform_combined.test.ts',
  'test/e2e/api_platform_nodes.test.ts',
  'test/e2e/api_platform_scaled.test.ts',
  'test/e2e/api_platform_patterns.test.ts',
  'test/e2e/native_app_separate_pattern.test.ts',
  'test/build.test.ts',
  'test/architecture.test.ts',
  'test/run_tests.test.ts',
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

// `node scripts/run_tests.js <files>` runs only those (each must be in the list).
const chosen = process.argv.slice(2)
const unknown = chosen.filter((f) => !files.includes(f))
if (unknown.length > 0) {
  console.error(`Not in the list in scripts/run_tests.js:\n  ${unknown.join('\n  ')}`)
  process.exit(1)
}

// Tests that run the `careid` command run dist/: built here once, not by many test processes at once.
const build = spawnSync(process.execPath, [join(root, 'scripts/build.js')], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

// Suites whose system package (Chromium, SoftHSM2) is missing are skipped outside CI; each names
// itself in this file (test/support/system_packages.ts), and the list of what did not run, with the
// command that installs each package, is printed just before node's summary: the summary stays the
// last lines of the run, which CI reads.
const notRunDir = mkdtempSync(join(tmpdir(), 'careid-tests-'))
const notRunFile = join(notRunDir, 'not_run.jsonl')
writeFileSync(notRunFile, '')

const inListOrder = (a, b) => files.indexOf(a) - files.indexOf(b)

function notRunList() {
  const byPackage = new Map()
  for (const line of readFileSync(notRunFile, 'utf8').split('\n')) {
    if (line === '') continue
    const { file, name, install } = JSON.parse(line)
    const key = `${name} (${install})`
    const files = byPackage.get(key) ?? new Set()
    files.add(file)
    byPackage.set(key, files)
  }
  if (byPackage.size === 0) return ''
  const lines = [...byPackage].sort(([a], [b]) => a.localeCompare(b)).map(([key, files]) => `  ${key}: ${[...files].sort(inListOrder).join(', ')}`)
  return `Not run, for want of a system package:\n${lines.join('\n')}\n`
}

const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...(chosen.length > 0 ? chosen : files)]
const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, CAREID_NOT_RUN: notRunFile }, stdio: ['inherit', 'pipe', 'inherit'] })
let listed = false
const insertList = () => {
  if (listed) return
  listed = true
  process.stdout.write(notRunList())
}
// The spec reporter's summary begins with "ℹ tests <n>" at the start of a line (nested ones are indented).
createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
  if (/^(\x1b\[[0-9;]*m)*ℹ tests \d+/.test(line)) insertList()
  process.stdout.write(line + '\n')
})
child.on('close', (code) => {
  insertList()
  rmSync(notRunDir, { recursive: true, force: true })
  process.exitCode = code ?? 1
})
