/**
 * The `careid` command as a person runs it: settings refused with clear messages and exit code 2,
 * the admin commands (clients, keys, people) on a data directory, and `careid start` as a real
 * child process: what it prints, health and readiness, SIGTERM, a restart on the same data, and
 * the demo relying party it registers, signed in to through a scripted browser.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { generateKeyPairSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { sha256 } from '@careid/oidc'
import { Browser } from '../support/browser.ts'
import { freePort } from '../support/careid.ts'
import { ok, refused, runCareid, startCareidProcess, withStore, type CliResult, type StartedCareid } from '../support/cli.ts'
import { h1, signIn } from '../support/journey.ts'

const realmPath = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'careid-cli-'))
  dirs.push(dir)
  return dir
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * Runs tasks in turn, or at most `limit` at a time. Commands on the same data directory run one at
 * a time: two `careid` processes opening one database together can fail with SQLITE_BUSY (the
 * store sets busy_timeout only after `journal_mode = WAL`), which is a store bug, not what these
 * tests are about. Only commands refused before they open anything run side by side.
 */
async function inTurn<T>(tasks: (() => Promise<T>)[], limit = 1): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++
        results[i] = await (tasks[i] as () => Promise<T>)()
      }
    }),
  )
  return results
}



// The four parts are independent (each has its own data directory), so two run at a time: most of
// the time is spent starting `careid` processes, one after another within a part. Each part says
// `concurrency: 1` because node:test hands a suite's concurrency down to nested suites, and the
// tests within a part depend on each other.
describe('the careid command', { concurrency: 2 }, () => {
  describe('careid start', { concurrency: 1 }, () => {
    const dataDir = tempDir()
    let port = 0
    let origin = ''
    let server: StartedCareid | undefined
    /** The multi-role person's authenticator-app secret, as `people show` printed it at first start. */
    let totpSecret = ''
    const d = () => ['--data-dir', dataDir]
    const start = async () => startCareidProcess(['--data-dir', dataDir, '--port', String(port), '--host', 'localhost', '--log-level', 'silent'], { ready: 'clients add --help' })

    before(async () => {
      port = await freePort()
      origin = `http://localhost:${port}`
      server = await start()
    })
    after(async () => {
      await server?.stop('SIGTERM')
    })

    /** Signs in to the demo app with a scripted browser and returns its signed-in page. */
    async function demoSignIn(query: string, person: { username: string; uid: string }, options: { code?: () => Promise<string>; role?: string } = {}) {
      const browser = new Browser(origin)
      const { location, pages } = await signIn(browser, `${origin}/demo/login?${query}`, {
        username: person.username,
        password: demoCredentials[person.uid]?.password as string,
        method: options.code === undefined ? 'password' : 'totp',
        code: options.code,
        role: options.role,
      })
      assert.ok(location.startsWith(`${origin}/demo/callback?code=`), location)
      const callback = await browser.go(location)
      assert.equal(callback.location, `${origin}/demo/signed-in`, callback.page?.html.slice(0, 500))
      const signedIn = await browser.go(`${origin}/demo/signed-in`)
      assert.equal(signedIn.page?.status, 200)
      return { html: signedIn.page?.html ?? '', pages }
    }

    it('prints the demo URL, the issuer and every demo person', () => {
      const out = server?.stdout() ?? ''
      assert.match(out, new RegExp(`Careid is running \\(data in ${dataDir.replaceAll('.', '\\.')}\\)`))
      assert.ok(out.includes(`Try it:      ${origin}/demo/`), out)
      assert.ok(out.includes(`Issuer:      ${origin}${realmPath}`), out)
      assert.ok(out.includes(`Discovery:   ${origin}${realmPath}/.well-known/openid-configuration`), out)
      for (const p of demoWorkforce) {
        assert.match(out, new RegExp(`^ +${p.username.replaceAll('.', '\\.')} +${demoCredentials[p.uid]?.password} +${p.positions.length} role\\(s\\) +${p.display_name}$`, 'm'), p.username)
      }
      assert.equal(server?.stderr(), '')
    })

    it('answers /health and /ready with 200', async () => {
      const health = await fetch(`${origin}/health`)
      assert.equal(health.status, 200)
      assert.deepEqual(await health.json(), { status: 'ok' })
      const ready = await fetch(`${origin}/ready`)
      assert.equal(ready.status, 200)
      assert.deepEqual(await ready.json(), { status: 'ready' })
    })

    it('people list shows every demo person; people show gives roles and a current 6-digit code', async () => {
      const person = demoWorkforce.find((p) => p.positions.length >= 2 && p.positions.length <= 5)
      assert.ok(person)
      const [list, show] = await inTurn([() => runCareid(['people', 'list', ...d()]), () => runCareid(['people', 'show', person.username, ...d()])])
      const lines = ok(list as CliResult).trim().split('\n')
      assert.equal(lines.length, demoWorkforce.length)
      for (const p of demoWorkforce) {
        assert.equal(lines.filter((l) => l.startsWith(`${p.uid}  ${p.username} `) && l.endsWith(p.display_name) && l.includes(` ${p.positions.length} role(s)`)).length, 1, p.username)
      }
      const out = ok(show as CliResult)
      assert.match(out, new RegExp(`^  uid: +${person.uid}$`, 'm'))
      assert.match(out, new RegExp(`^  username: +${person.username.replaceAll('.', '\\.')}$`, 'm'))
      assert.match(out, new RegExp(`^  roles \\(${person.positions.length}\\):$`, 'm'))
      for (const position of person.positions) assert.match(out, new RegExp(`^    ${position.person_roleid}  .+ at .+ \\(${position.org_code}\\)$`, 'm'))
      assert.match(out, /^  current code: +\d{6} \(changes every 30 seconds\)$/m)
      totpSecret = /^  authenticator app secret: ([A-Z2-7]+=*)$/m.exec(out)?.[1] ?? ''
      assert.notEqual(totpSecret, '', out)
    })

    it('the demo client registered at first start signs in, with the code `people show` prints', async () => {
      const person = demoWorkforce.find((p) => p.positions.length >= 2 && p.positions.length <= 5)
      assert.ok(person)
      const role = person.positions[1]?.person_roleid as string
      const code = async () => /current code: +(\d{6})/.exec(ok(await runCareid(['people', 'show', person.username, ...d()])))?.[1] as string
      const { html, pages } = await demoSignIn('acr_values=AAL2_OR_AAL3_ANY&scope=profile&scope=nationalrbacaccess&scope=selectedrole', person, { code, role })
      // AAL2_OR_AAL3_ANY is met by the authenticator app and by a smartcard: the person chooses.
      assert.deepEqual(pages.map(h1).map((t) => t.replace(/\s+/g, ' ')), [
        `Sign in to Demo clinical app How do you want to sign in?`,
        `Sign in to Demo clinical app Enter your username and password`,
        `Sign in to Demo clinical app Enter the code from your authenticator app`,
        `${person.display_name} Choose your role`,
      ])
      assert.ok(html.includes(`Careid signed you in as <strong>${person.given_name} ${person.family_name}</strong>`), 'the demo app names the person')
      for (const value of ['AAL2_OR_AAL3_ANY', 'TOTP', role, person.uid]) assert.ok(html.includes(value), value)
    })

    it('sessions end <uid> ends every sign-in of that person and nobody else\'s; it refuses a malformed or unknown UID', async () => {
      const [ended, other] = [demoWorkforce[0], demoWorkforce[1]]
      assert.ok(ended && other)
      const sessionsOf = async (uid: string) => (await withStore(dataDir, (store) => store.sessions.listBySub(uid))).length
      const before = { ended: await sessionsOf(ended.uid), other: await sessionsOf(other.uid) }
      await demoSignIn('acr_values=AAL1_USERPASS', ended)
      await demoSignIn('acr_values=AAL1_USERPASS', ended)
      await demoSignIn('acr_values=AAL1_USERPASS', other)
      const count = before.ended + 2
      assert.equal(await sessionsOf(ended.uid), count)
      assert.equal(ok(await runCareid(['sessions', 'end', ended.uid, ...d()])), `Ended ${count} sign-in(s) of ${ended.uid}; their applications are being told.\n`)
      assert.equal(await sessionsOf(ended.uid), 0)
      assert.equal(await sessionsOf(other.uid), before.other + 1, 'the other person is still signed in')
      assert.equal(ok(await runCareid(['sessions', 'end', ended.uid, ...d()])), `${ended.uid} has no sign-in to end.\n`)
      const audit = await withStore(dataDir, (store) => store.audit.recent(50))
      assert.ok(audit.some((e) => e.type === 'sessions.ended_by_admin' && e.subject === ended.uid && e.detail?.sessions_ended === count), 'the action is audited')
      refused(await runCareid(['sessions', 'end', '12345', ...d()]), /^careid: a UID is 12 digits\n$/)
      refused(await runCareid(['sessions', 'end', '999999999999', ...d()]), /^careid: no person with UID 999999999999\n$/)
    })

    it('clients added while it runs are seen by it, and the printed secret authenticates', async () => {
      const out = ok(await runCareid(['clients', 'add', '--name', 'Late app', '--redirect-uri', 'https://late.example.test/cb', ...d()]))
      const clientId = /client_id:\s+(\S+)/.exec(out)?.[1] as string
      const secret = /client_secret: (\S+)/.exec(out)?.[1] as string
      const token = (clientSecret: string) =>
        fetch(`${origin}${realmPath}/access_token`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'https://late.example.test/cb', client_id: clientId, client_secret: clientSecret }),
        })
      // The right secret gets past client authentication and fails on the (made-up) code.
      const right = await token(secret)
      assert.equal(right.status, 400)
      assert.equal(right.headers.get('location'), null)
      assert.equal(((await right.json()) as { error: string }).error, 'invalid_grant')
      const wrong = await token(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)
      assert.equal(wrong.status, 401)
      assert.equal(wrong.headers.get('location'), null)
      assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client')
    })

    it('exits 0 on SIGTERM; a restart on the same data keeps the signing key, the demo client and the people', async () => {
      const jwks = async () => ((await (await fetch(`${origin}${realmPath}/connect/jwk_uri`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)
      const kidsBefore = await jwks()
      assert.equal(kidsBefore.length, 1)
      const demoFile = readFileSync(join(dataDir, 'demo-client.json'), 'utf8')

      const stopped = await (server as StartedCareid).stop('SIGTERM')
      assert.deepEqual(stopped, { code: 0, signal: null }, 'a clean exit, not a kill')
      assert.equal(server?.stderr(), '')
      await assert.rejects(fetch(`${origin}/health`), 'it no longer listens')

      server = await start()
      assert.deepEqual(await jwks(), kidsBefore, 'the same signing key, and no new one')
      const multiRole = demoWorkforce.find((p) => p.positions.length >= 2 && p.positions.length <= 5)
      assert.ok(multiRole)
      const [clientList, shown] = await inTurn([() => runCareid(['clients', 'list', ...d()]), () => runCareid(['people', 'show', multiRole.username, ...d()])])
      const demoLines = ok(clientList as CliResult).split('\n').filter((l) => l.startsWith('100000000001.apps.national '))
      assert.equal(demoLines.length, 1, 'one demo client')
      // Seeding again would enrol a new authenticator-app secret and break everyone's phone.
      assert.ok(ok(shown as CliResult).includes(`  authenticator app secret: ${totpSecret}\n`), 'the people keep their authenticator-app secrets')
      assert.equal(readFileSync(join(dataDir, 'demo-client.json'), 'utf8'), demoFile, 'the demo client keeps its secret')

      // The kept secret still matches what is stored: the demo app can still sign people in.
      const person = demoWorkforce.find((p) => p.positions.length === 1)
      assert.ok(person)
      const { html } = await demoSignIn('acr_values=AAL1_USERPASS&scope=profile&scope=selectedrole', person)
      for (const value of [`${person.given_name} ${person.family_name}`, 'AAL1_USERPASS', 'USERPASS', person.positions[0]?.person_roleid as string]) assert.ok(html.includes(value), value)

      assert.deepEqual(await (server as StartedCareid).stop('SIGTERM'), { code: 0, signal: null })
    })
  })

  describe('settings are validated before anything is touched', { concurrency: 1 }, () => {
    const portMessage = /--port \(CAREID_PORT\): must be a number/
    const rangeMessage = /--port \(CAREID_PORT\): must be between 1 and 65535/
    const issuerMessage = /--issuer \(CAREID_ISSUER\): must be an absolute http\(s\) URL without query, fragment or trailing slash/
    const logMessage = /--log-level \(CAREID_LOG_LEVEL\): must be one of fatal, error, warn, info, debug, trace or silent$/m

    it('refuses bad flags and bad environment variables alike, with exit code 2, naming each bad setting', async () => {
      const dataDir = join(tempDir(), 'never-created')
      const d = ['--data-dir', dataDir]
      // Each run has several bad settings: all are reported at once, so one run checks several messages.
      const cases: { args: string[]; env?: Record<string, string>; messages: RegExp[] }[] = [
        { args: ['start', '--port', 'abc', '--issuer', `https://op.example.test${realmPath}/`, '--log-level', 'loud', ...d], messages: [portMessage, issuerMessage, logMessage] },
        {
          args: ['keys', 'list', '--port', '70000', '--issuer', `https://op.example.test${realmPath}?tenant=a`, '--db-pool-size', '2.5', ...d],
          env: { CAREID_DEMO: 'maybe' },
          messages: [rangeMessage, issuerMessage, /--db-pool-size \(CAREID_DB_POOL_SIZE\): must be a whole number$/m, /--no-demo \(CAREID_DEMO\): must be true or false$/m],
        },
        { args: ['start', ...d], env: { CAREID_PORT: 'abc', CAREID_ISSUER: 'https://op.example.test/x/', CAREID_LOG_LEVEL: 'loud' }, messages: [portMessage, issuerMessage, logMessage] },
        {
          args: ['start', '--sign-in-rate-limit', '0', '--agent-handoff', 'sometimes', ...d],
          env: { CAREID_TOKEN_RATE_LIMIT: 'lots' },
          messages: [
            /--sign-in-rate-limit \(CAREID_SIGN_IN_RATE_LIMIT\): must be between 1 and 1000000/,
            /--token-rate-limit \(CAREID_TOKEN_RATE_LIMIT\): must be a number/,
            /--agent-handoff \(CAREID_AGENT_HANDOFF\): must be one of hinted, always, never$/m,
          ],
        },
        // A flag wins over its environment variable: the good --issuer hides the bad CAREID_ISSUER.
        { args: ['people', 'list', '--issuer', `https://op.example.test${realmPath}`], env: { CAREID_DATA_DIR: dataDir, CAREID_PORT: '70000', CAREID_ISSUER: 'https://op.example.test/x?a=1' }, messages: [rangeMessage] },
      ]
      const results = await inTurn(cases.map((c) => () => runCareid(c.args, { env: c.env })), 2)
      for (const [i, result] of results.entries()) {
        const c = cases[i] as (typeof cases)[number]
        refused(result, /^careid: Invalid settings:\n/)
        for (const message of c.messages) assert.match(result.stderr, message, `${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}`)
        assert.equal(result.stderr.trim().split('\n').length, 1 + c.messages.length, 'one line per bad setting, nothing else')
      }
      assert.equal(existsSync(dataDir), false, 'a refused command creates no data directory')
    })

    it('refuses bad metrics settings, naming each, and never prints the metrics token', async () => {
      const dataDir = join(tempDir(), 'never-created')
      const d = ['--data-dir', dataDir]
      const secretish = 'metrics token with spaces'
      const badTokenFile = join(tempDir(), 'bad-token')
      writeFileSync(badTokenFile, `${secretish}\n`)
      const missingFile = join(tempDir(), 'no-such-token-file')
      const tokenMessage = 'must be at least 32 characters of letters, digits and - . _ ~ + / (for example from: openssl rand -hex 32)'
      const cases: { args: string[]; env?: Record<string, string>; messages: string[] }[] = [
        {
          args: ['start', '--metrics-port', '0', '--metrics-token-file', missingFile, ...d],
          messages: ['--metrics-port (CAREID_METRICS_PORT): must be between 1 and 65535', `--metrics-token-file (CAREID_METRICS_TOKEN_FILE): cannot read the file ${missingFile} (ENOENT)`],
        },
        {
          args: ['start', '--metrics-host', '0.0.0.0', ...d],
          env: { CAREID_METRICS_TOKEN: secretish },
          messages: [`CAREID_METRICS_TOKEN: ${tokenMessage}`, '--metrics-host (CAREID_METRICS_HOST): needs --metrics-port (CAREID_METRICS_PORT) as well'],
        },
        { args: ['start', '--port', '9464', '--metrics-token-file', badTokenFile, ...d], env: { CAREID_METRICS_PORT: '9464' }, messages: [`--metrics-token-file (CAREID_METRICS_TOKEN_FILE): the token in it ${tokenMessage}`, '--metrics-port (CAREID_METRICS_PORT): must differ from --port (CAREID_PORT), where Careid serves everything else'] },
        {
          args: ['start', '--metrics-token-file', badTokenFile, ...d],
          env: { CAREID_METRICS_TOKEN: 'a'.repeat(40) },
          messages: ['--metrics-token-file (CAREID_METRICS_TOKEN_FILE): give the metrics token once, in a file or in CAREID_METRICS_TOKEN, not both'],
        },
      ]
      const results = await inTurn(cases.map((c) => () => runCareid(c.args, { env: c.env })), 2)
      for (const [i, result] of results.entries()) {
        const c = cases[i] as (typeof cases)[number]
        refused(result, /^careid: Invalid settings:\n/)
        assert.deepEqual(result.stderr.trim().split('\n').slice(1).map((l) => l.trim()).sort(), [...c.messages].sort(), `${c.args.join(' ')} ${JSON.stringify(c.env ?? {})}`)
        assert.equal(result.stderr.includes(secretish), false, 'the token is never printed')
      }
      assert.equal(existsSync(dataDir), false, 'a refused command creates no data directory')
    })
  })

  describe('mistakes on the command line', { concurrency: 1 }, () => {
    it('careid start on a port already in use (the main one or the metrics one) says which port is taken and how to choose another: exit 1, no stack trace', async () => {
      const port = await freePort()
      const taken = createServer()
      await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve))
      try {
        const result = await runCareid(['start', '--port', String(port), '--host', '127.0.0.1', '--data-dir', tempDir(), '--log-level', 'silent'])
        assert.equal(result.code, 1, result.stderr)
        assert.equal(result.stderr, `careid: port ${port} on 127.0.0.1 is already in use: stop what is using it, or choose another port with --port or CAREID_PORT\n`)
        assert.equal(result.stdout, '', 'nothing says it is running')
        // The metrics port likewise, named as such.
        const metrics = await runCareid(['start', '--port', String(await freePort()), '--host', '127.0.0.1', '--metrics-port', String(port), '--data-dir', tempDir(), '--log-level', 'silent'])
        assert.equal(metrics.code, 1, metrics.stderr)
        assert.equal(metrics.stderr, `careid: port ${port} on 127.0.0.1 is already in use: stop what is using it, or choose another port with --metrics-port or CAREID_METRICS_PORT\n`)
        assert.equal(metrics.stdout, '')
      } finally {
        await new Promise((resolve) => taken.close(resolve))
      }
    })

    it('an unknown command fails the same with --help as without: the same message and exit code, no help on stdout', async () => {
      const [bare, help, subBare, subHelp] = await inTurn(
        [['nosuch'], ['nosuch', '--help'], ['clients', 'nosuch'], ['clients', 'nosuch', '-h']].map((args) => () => runCareid(args)),
        2,
      )
      for (const [withHelp, without, name] of [[help, bare, 'nosuch'], [subHelp, subBare, 'nosuch']] as [CliResult, CliResult, string][]) {
        assert.equal(without.code, 1)
        assert.match(without.stderr, new RegExp(`^error: unknown command '${name}'\n`))
        assert.deepEqual({ code: withHelp.code, stdout: withHelp.stdout, stderr: withHelp.stderr }, { code: without.code, stdout: '', stderr: without.stderr })
      }
      // Help asked for a command that exists is still help.
      const [rootHelp, clientsHelp, helpCommand] = await inTurn([['--help'], ['clients', '--help'], ['help', 'clients']].map((args) => () => runCareid(args)), 2)
      assert.match(ok(rootHelp as CliResult), /^Usage: careid \[options\] \[command\]/)
      assert.match(ok(clientsHelp as CliResult), /^Usage: careid clients \[options\] \[command\]/)
      assert.match(ok(helpCommand as CliResult), /^Usage: careid clients \[options\] \[command\]/)
    })
  })

  describe('careid clients', { concurrency: 1 }, () => {
    const dataDir = tempDir()
    const issuer = `https://am.careid.example.test:443${realmPath}`
    const d = ['--data-dir', dataDir, '--issuer', issuer]
    const clients = (...args: string[]) => runCareid(['clients', ...args, ...d])
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ward-key-1', use: 'sig', alg: 'RS256' }
    const json = (out: string) => JSON.parse(out) as Record<string, unknown>

    let secretClient = ''
    let secret = ''

    it('add (client_secret_post) prints a CIS2-shaped client_id and the secret once; show never prints it', async () => {
      const out = ok(await clients('add', '--name', 'Ward app', '--redirect-uri', 'https://ward.example.test/callback', '--post-logout-redirect-uri', 'https://ward.example.test/bye', '--backchannel-logout-uri', 'https://ward.example.test/bcl'))
      assert.match(out, /^Registered Ward app\.$/m)
      secretClient = /^\s+client_id:\s+(\d{12}\.apps\.national)$/m.exec(out)?.[1] ?? ''
      secret = /^\s+client_secret: ([A-Za-z0-9_-]{43})$/m.exec(out)?.[1] ?? ''
      assert.notEqual(secretClient, '', out)
      assert.notEqual(secret, '', out)
      assert.match(out, /Keep the secret now: Careid stores only a hash of it and cannot show it again\./)
      assert.ok(out.includes(`  issuer:        ${issuer}\n`), 'the issuer verbatim, :443 kept')

      const show = ok(await clients('show', secretClient))
      assert.equal(show.includes(secret), false, 'show never prints the secret')
      assert.equal(show.includes(sha256(secret)), false, 'nor its hash')
      const c = json(show)
      assert.equal('client_secret' in c, false)
      assert.equal('client_secret_hash' in c, false)
      assert.equal(c.client_id, secretClient)
      assert.equal(c.client_name, 'Ward app')
      assert.equal(c.token_endpoint_auth_method, 'client_secret_post')
      assert.deepEqual(c.redirect_uris, ['https://ward.example.test/callback'])
      assert.deepEqual(c.post_logout_redirect_uris, ['https://ward.example.test/bye'])
      assert.equal(c.backchannel_logout_uri, 'https://ward.example.test/bcl')
      assert.equal(c.refresh_tokens, false, 'no refresh tokens unless asked (cis2.md 1.3)')
      assert.deepEqual(c.web_origins, ['https://ward.example.test'], "web origins: the redirect URIs' unless listed")
      assert.match(c.created_at as string, /^\d{4}-\d\d-\d\dT/)
    })

    it('add --web-origin (repeatable) lists the origins allowed CORS instead of the redirect URIs\', and show shows them; a bad one is refused', async () => {
      const added = json(ok(await clients('add', '--name', 'Rota SPA', '--redirect-uri', 'https://rota.example.test/callback', '--auth-method', 'none', '--web-origin', 'https://rota.example.test', '--web-origin', 'http://localhost:5173', '--json')))
      assert.deepEqual(added.web_origins, ['https://rota.example.test', 'http://localhost:5173'])
      const shown = json(ok(await clients('show', added.client_id as string)))
      assert.deepEqual(shown.web_origins, ['https://rota.example.test', 'http://localhost:5173'])
      refused(await clients('add', '--name', 'Bad SPA', '--redirect-uri', 'https://rota.example.test/callback', '--web-origin', 'https://rota.example.test/app'), /^careid: web origin must be scheme:\/\/host\[:port\] alone, as a browser sends it: https:\/\/rota\.example\.test\/app\n$/)
      assert.ok(ok(await clients('remove', added.client_id as string)).includes('Removed'))
    })

    it('add (private_key_jwt) with --jwks-uri or an inline --jwks file gives no secret; --refresh-tokens and --client-id are kept', async () => {
      const jwksFile = join(tempDir(), 'jwks.json')
      writeFileSync(jwksFile, JSON.stringify({ keys: [publicJwk] }))
      const [byUri, byFile, refreshing] = await inTurn([
        () => clients('add', '--name', 'Pharmacy app', '--redirect-uri', 'https://pharmacy.example.test/cb', '--auth-method', 'private_key_jwt', '--jwks-uri', 'https://pharmacy.example.test/jwks.json', '--signing-alg', 'RS512', '--json'),
        () => clients('add', '--name', 'GP app', '--redirect-uri', 'https://gp.example.test/cb', '--auth-method', 'private_key_jwt', '--jwks', jwksFile, '--json'),
        () => clients('add', '--name', 'Rota app', '--redirect-uri', 'http://localhost:3000/cb', '--refresh-tokens', '--client-id', '969567331415.apps.national', '--json'),
      ])
      const uriClient = json(ok(byUri as CliResult))
      assert.equal('client_secret' in uriClient, false)
      assert.equal('client_secret_hash' in uriClient, false)
      assert.equal(uriClient.token_endpoint_auth_method, 'private_key_jwt')
      assert.equal(uriClient.jwks_uri, 'https://pharmacy.example.test/jwks.json')
      assert.equal(uriClient.token_endpoint_auth_signing_alg, 'RS512')
      assert.match(uriClient.client_id as string, /^\d{12}\.apps\.national$/)

      const fileClient = json(ok(byFile as CliResult))
      assert.equal('client_secret' in fileClient, false)
      assert.deepEqual(fileClient.jwks, { keys: [publicJwk] })
      assert.equal(fileClient.token_endpoint_auth_signing_alg, 'RS256', 'RS256 unless told otherwise')
      assert.equal(fileClient.jwks_uri, undefined)

      const rota = json(ok(refreshing as CliResult))
      assert.equal(rota.client_id, '969567331415.apps.national')
      assert.equal(rota.refresh_tokens, true)
      assert.deepEqual(rota.redirect_uris, ['http://localhost:3000/cb'], 'http is fine on localhost')
      assert.match(rota.client_secret as string, /^[A-Za-z0-9_-]{43}$/, '--json shows the new secret once too')
      assert.equal('client_secret_hash' in rota, false)
    })

    it('refuses bad metadata with a clear message (exit 2) and stores nothing', async () => {
      const cases: [string[], RegExp][] = [
        [['--redirect-uri', 'https://ward.example.test/cb#done'], /^careid: redirect URI must not have a fragment: https:\/\/ward\.example\.test\/cb#done\n$/],
        [['--redirect-uri', 'http://ward.example.test/cb'], /^careid: redirect URI must use https \(http is allowed only on localhost\): http:\/\/ward\.example\.test\/cb\n$/],
        [['--redirect-uri', 'https://ward.example.test/cb', '--auth-method', 'private_key_jwt', '--jwks', join(dataDir, 'no-such-file.json')], /^careid: --jwks: cannot read the file .*no-such-file\.json/],
      ]
      const results = await inTurn(cases.map(([args]) => () => clients('add', '--name', 'Bad app', ...args)))
      for (const [i, result] of results.entries()) refused(result, (cases[i] as [string[], RegExp])[1])
      // The list below has exactly the four good clients: none of these was stored.
    })

    it('list shows every client, its authentication method and name, and no secret', async () => {
      const lines = ok(await clients('list')).trim().split('\n')
      assert.equal(lines.length, 4, lines.join('\n'))
      assert.ok(lines.some((l) => l.startsWith(`${secretClient}  client_secret_post`) && l.endsWith('Ward app')), lines.join('\n'))
      assert.equal(lines.filter((l) => /^\d{12}\.apps\.national {2}private_key_jwt +(Pharmacy|GP) app$/.test(l)).length, 2)
      assert.ok(lines.some((l) => /^969567331415\.apps\.national {2}client_secret_post +Rota app$/.test(l)))
      assert.equal(lines.some((l) => l.includes('Bad app')), false)
      assert.equal(lines.join('\n').includes(secret), false)
    })

    it('remove deletes the client; show then says it is not registered (exit 2)', async () => {
      assert.equal(ok(await clients('remove', secretClient)), `Removed ${secretClient}.\n`)
      refused(await clients('show', secretClient), new RegExp(`^careid: no client ${secretClient.replaceAll('.', '\\.')} is registered\n$`))
    })
  })

  describe('careid keys', { concurrency: 1 }, () => {
    const d = ['--data-dir', tempDir()]

    it('list shows one active key; rotate publishes a next key with the time it signs from, the current one still active', async () => {
      const first = ok(await runCareid(['keys', 'list', ...d])).trim().split('\n')
      assert.equal(first.length, 1)
      const active = /^(\S+) {2}RS256 {2}active {3}created \S+ {2}signs from \S+ {2}published until -$/.exec(first[0] as string)
      assert.ok(active, first[0])
      const kid = active[1] as string

      const before = Date.now()
      const rotated = ok(await runCareid(['keys', 'rotate', ...d]))
      const announced = /^New signing key (\S+) is published now and signs from (\S+)\.$/m.exec(rotated)
      assert.ok(announced, rotated)
      const [, nextKid, signsFrom] = announced as unknown as [string, string, string]
      assert.notEqual(nextKid, kid)
      assert.ok(Date.parse(signsFrom) > before, 'the new key signs only later, once relying parties have fetched it')
      assert.match(rotated, /The current key keeps signing until then/)

      const lines = ok(await runCareid(['keys', 'list', ...d])).trim().split('\n')
      assert.equal(lines.length, 2)
      assert.ok(lines.some((l) => l.startsWith(`${kid}  RS256  active `)), lines.join('\n'))
      const next = lines.find((l) => l.startsWith(`${nextKid}  `))
      assert.ok(next, lines.join('\n'))
      assert.match(next, / next {5}created /)
      assert.ok(next.includes(`signs from ${signsFrom}`), next)
    })
  })
})
