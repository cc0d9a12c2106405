/** The `careid` command line. */
import { Command, Option } from 'commander'
import { openContext, StartupError } from './context.ts'
import { defaultAgentPort, defaultProvider, ejectCard, insertCard, type AgentFlags } from './commands/agent.ts'
import type { IssueCardFlags } from './commands/cards.ts'
import { addApp, listApps, removeApp, showApp, type AddAppFlags } from './commands/apps.ts'
import { addClient, listClients, removeClient, showClient, type AddClientFlags } from './commands/clients.ts'
import { listKeys, rotateKeys } from './commands/keys.ts'
import { migrate } from './commands/migrate.ts'
import { enrolPerson, listPeople, showPerson, unlockPerson, type EnrolFlags } from './commands/people.ts'
import { UsageError } from './commands/usage_error.ts'
import { resolveSettings, SettingsError, type SettingsInput } from './settings.ts'

const out = (s: string) => process.stdout.write(`${s}\n`)
const collect = (value: string, previous: string[] = []) => [...previous, value]

const program = new Command('careid').description('Careid: an open implementation of NHS CIS2 authentication').showHelpAfterError()

function withData(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'where Careid keeps its data (env CAREID_DATA_DIR)', undefined)
    .option('--issuer <url>', 'the issuer identifier, used verbatim (env CAREID_ISSUER)')
    .option('--port <port>', 'port the server listens on (env CAREID_PORT)')
    .option('--host <host>', 'host name to listen on (env CAREID_HOST)')
    .option('--database-url <url>', 'PostgreSQL shared by every node, instead of the embedded store (env DATABASE_URL)')
    .option('--database-schema <name>', 'the PostgreSQL schema of Careid\'s tables; also names its Redis keys (env CAREID_DATABASE_SCHEMA)')
    .option('--redis-url <url>', 'Redis for the short-lived data; needs --database-url (env REDIS_URL)')
    .option('--db-pool-size <n>', 'PostgreSQL connections per node, default 10 (env CAREID_DB_POOL_SIZE)')
}

/** Runs an admin action against the data directory, then closes it. */
function admin<A extends unknown[]>(action: (ctx: Awaited<ReturnType<typeof openContext>>, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command
    const ctx = await openContext(resolveSettings(command.optsWithGlobals() as SettingsInput))
    try {
      await action(ctx, ...args)
    } finally {
      await ctx.close()
    }
  }
}

withData(program.command('start').description('run Careid (on the embedded store unless --database-url)'))
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env CAREID_LOG_LEVEL)')
  // Declaring --demo too leaves the value unset unless a flag is given, so CAREID_DEMO can decide.
  .addOption(new Option('--demo').hideHelp())
  .option('--no-demo', 'start without the demo workforce and demo application, as in production (env CAREID_DEMO=false)')
  .option('--sign-in-rate-limit <n>', 'password and authenticator-app code posts per username and client IP per minute, default 10 (env CAREID_SIGN_IN_RATE_LIMIT)')
  .option('--token-rate-limit <n>', 'token requests per client and client IP per minute, default 6000 (env CAREID_TOKEN_RATE_LIMIT)')
  .option('--agent-origin <origin>', 'where sign-in pages reach the Identity Agent, default http://127.0.0.1:4445 (env CAREID_AGENT_ORIGIN)')
  .option(
    '--agent-handoff <when>',
    'when a sign-in goes straight to the Identity Agent by redirect, with no page: hinted (default: browsers where an agent ticket worked before), always (every workstation runs the agent) or never (env CAREID_AGENT_HANDOFF)',
  )
  .option('--metrics-port <port>', 'serve /metrics on this port only, not on --port (env CAREID_METRICS_PORT)')
  .option('--metrics-host <host>', 'host the metrics port listens on, default 127.0.0.1 (env CAREID_METRICS_HOST)')
  .option('--metrics-token-file <file>', 'a file holding the bearer token /metrics requires (env CAREID_METRICS_TOKEN_FILE, or the token in CAREID_METRICS_TOKEN)')
  .option('--api-port <port>', 'port of the API Platform\'s OAuth service, its own origin; default --port + 1 (env CAREID_API_PORT)')
  .option('--api-base-url <url>', 'where the API Platform\'s service is reached, default http://<host>:<api-port> (env CAREID_API_BASE_URL)')
  .option('--api-environment <name>', 'the API Platform environment played: outside live, the test parameters that shorten token lifetimes are honoured (default int; env CAREID_API_ENVIRONMENT)')
  .option('--api-rate-limit <n>', 'each application\'s calls to each API per second before 429 (default 5; env CAREID_API_RATE_LIMIT)')
  .option('--trust-test-authenticators', "trust Chromium's virtual authenticators' attestation for AAL3 (their key is public; default with the demo only; env CAREID_TRUST_TEST_AUTHENTICATORS)")
  .option('--no-trust-test-authenticators', 'do not trust the test authenticators, even with the demo')
  .option('--fido-metadata <file>', 'a FIDO Metadata Service (MDS3) blob file: the hardware authenticators trusted for AAL3, verified at start (env CAREID_FIDO_METADATA)')
  .addOption(new Option('--only <part>', 'serve only the provider or only the API Platform, on the same store (env CAREID_ONLY)').choices(['provider', 'api']))
  // Loaded on demand: the admin commands need none of the server stack.
  .action(async (flags: SettingsInput) => (await import('./commands/start.ts')).startCommand(flags))

program
  .command('migrate')
  .description('bring the PostgreSQL schema to the latest version (the embedded store migrates itself)')
  .option('--database-url <url>', 'the PostgreSQL database (env DATABASE_URL)')
  .option('--database-schema <name>', 'the PostgreSQL schema of Careid\'s tables (env CAREID_DATABASE_SCHEMA)')
  .action((flags: SettingsInput) => migrate(resolveSettings(flags), out))

const clients = withData(program.command('clients').description('manage registered relying parties'))
clients
  .command('add')
  .description('register a relying party')
  .requiredOption('--name <name>', 'name shown to people signing in')
  .requiredOption('--redirect-uri <uri>', 'a redirect URI (repeat for more)', collect)
  .option('--post-logout-redirect-uri <uri>', 'a post-logout redirect URI (repeat for more)', collect)
  .option('--backchannel-logout-uri <uri>', 'where to send back-channel logout tokens')
  .addOption(new Option('--auth-method <method>', 'token endpoint authentication').choices(['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'none']).default('client_secret_post'))
  .option('--jwks-uri <uri>', 'private_key_jwt: where the client publishes its keys')
  .option('--jwks <file-or-json>', 'private_key_jwt: the client\'s public keys inline')
  .addOption(new Option('--signing-alg <alg>', 'private_key_jwt: the assertion signing algorithm').choices(['RS256', 'RS512', 'PS256', 'ES256']))
  .option('--refresh-tokens', 'issue rotating refresh tokens to this client', false)
  .option('--web-origin <origin>', "an origin whose pages may call the token, userinfo and revocation endpoints (CORS; repeat for more; default: the redirect URIs' origins)", collect)
  .option('--client-id <id>', 'a client id of the form 123456789012.apps.national (generated if absent)')
  .option('--json', 'print the result as JSON', false)
  .action(admin((ctx, flags: AddClientFlags) => addClient(ctx, flags, out)))
clients.command('list').description('list relying parties').action(admin((ctx) => listClients(ctx, out)))
clients.command('show <client-id>').description('show a relying party').action(admin((ctx, id: string) => showClient(ctx, id, out)))
clients.command('remove <client-id>').description('remove a relying party').action(admin((ctx, id: string) => removeClient(ctx, id, out)))

const apps = withData(program.command('apps').description('manage applications registered with the API Platform (API keys, callback URLs, product scopes)'))
apps
  .command('add')
  .description('register an application: prints its API key (its client_id) and its secret, once')
  .requiredOption('--name <name>', 'the application\'s name')
  .requiredOption('--callback-url <url>', 'where the platform sends the browser back (repeat for more)', collect)
  .requiredOption('--product <scope>', 'a product scope it subscribes to, e.g. urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service (repeat for more)', collect)
  .option('--jwks-uri <url>', 'where the application publishes its public keys, for signed JWTs (RS512)')
  .option('--jwks <file-or-json>', 'the application\'s public keys inline, for signed JWTs (RS512)')
  .option('--json', 'print the result as JSON', false)
  .action(admin((ctx, flags: AddAppFlags) => addApp(ctx, flags, out)))
apps.command('list').description('list applications').action(admin((ctx) => listApps(ctx, out)))
apps.command('show <api-key>').description('show an application (never its secret)').action(admin((ctx, key: string) => showApp(ctx, key, out)))
apps.command('remove <api-key>').description('remove an application').action(admin((ctx, key: string) => removeApp(ctx, key, out)))

const keys = withData(program.command('keys').description('manage signing keys'))
keys.command('list').description('list signing keys and their states').action(admin((ctx) => listKeys(ctx, out)))
keys.command('rotate').description('publish a new signing key; it signs after the publication lead time').action(admin((ctx) => rotateKeys(ctx, out)))

const people = withData(program.command('people').description('look at the workforce; unlock a password (Registration Authority)'))
people.command('list').description('list people').action(admin((ctx) => listPeople(ctx, out)))
people.command('show <uid-or-username>').description('show a person, their roles and authenticator-app code').action(admin((ctx, who: string) => showPerson(ctx, who, out)))
people
  .command('unlock <uid-or-username>')
  .description('unlock a password locked after 100 failed attempts in a row, keeping the password')
  .action(admin((ctx, who: string) => unlockPerson(ctx, who, out)))
people
  .command('enrol <uid-or-username>')
  .description('issue a one-time enrolment code for a person to set up a sign-in method at {issuer}/account/enrol')
  .requiredOption('--method <method-id>', 'the sign-in method it sets up, e.g. totp (authenticator app)')
  .option('--hours <hours>', 'how long the code lasts, at most and by default 72')
  .action(admin((ctx, who: string, flags: EnrolFlags) => enrolPerson(ctx, who, flags, out)))

const sessions = withData(program.command('sessions').description('sign-ins (SSO sessions)'))
sessions
  .command('end <uid>')
  .description("end every sign-in of a person: their applications are logged out and their tokens stop working")
  .action(admin(async (ctx, uid: string) => (await import('./commands/sessions.ts')).endSessions(ctx, uid, out)))

const agent = program.command('agent').description('the Identity Agent: smartcard sign-in on this computer')
const agentDirOption = ['--agent-dir <dir>', 'where the agent keeps its reader and its socket (env CAREID_AGENT_DIR, default .careid-agent)'] as const
agent
  .command('start')
  .description('run the Identity Agent: card reader, terminal prompts and the local API for sign-in pages')
  .option('--provider <issuer>', `the Careid issuer (env CAREID_AGENT_PROVIDER, default ${defaultProvider})`)
  .addOption(new Option('--mode <mode>', 'identity-agent: sign in once per card; smartcard-connect: passcode for each sign-in').choices(['identity-agent', 'smartcard-connect']).default('identity-agent'))
  .option('--port <port>', `local API port on 127.0.0.1 (env CAREID_AGENT_PORT, default ${defaultAgentPort})`)
  .option(...agentDirOption)
  .option('--pkcs11-module <path>', 'use a PKCS#11 token instead of the virtual reader, e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so')
  .option('--token-label <label>', 'with --pkcs11-module: the card\'s token label')
  .option('--single-user-machine', 'outside Linux, where the agent cannot tell which user connects: answer every local caller (only if one person uses this computer at a time)')
  .action(async (flags: AgentFlags) => (await import('./commands/agent_start.ts')).startAgentCommand(flags, out))
agent
  .command('insert <card-file>')
  .description('insert a card file (from careid cards issue) into the virtual reader')
  .option(...agentDirOption)
  .action((file: string, flags: AgentFlags) => insertCard(flags, file, out))
agent
  .command('eject')
  .description('take the card out of the virtual reader (a running agent signs out)')
  .option(...agentDirOption)
  .action((flags: AgentFlags) => ejectCard(flags, out))

// Loaded on demand: X.509 and the PKCS#11 library take a moment to load, and only these commands need them.
const cardCommands = () => import('./commands/cards.ts')
const cards = withData(program.command('cards').description('smartcards: issue them, and unlock or revoke them (Registration Authority)'))
cards
  .command('issue <uid>')
  .description('issue a smartcard to a person: a virtual card file sealed under a passcode, or a key and certificate on a PKCS#11 token')
  .option('--passcode <digits>', 'the card passcode, 6 to 8 digits (env CAREID_CARD_PASSCODE); generated and printed once if absent')
  .option('--out <file>', 'where to write the virtual card file (default ./card-<uid>.json)')
  .option('--pkcs11-module <path>', 'issue onto a PKCS#11 token instead: the key is made on the token (e.g. /usr/lib/softhsm/libsofthsm2.so)')
  .option('--token-label <label>', 'with --pkcs11-module: the token\'s label; --passcode is its user PIN')
  .option('--json', 'print the result as JSON', false)
  .action(admin(async (ctx, uid: string, flags: IssueCardFlags) => (await cardCommands()).issueCard(ctx, uid, flags, out)))
cards
  .command('list')
  .description('list issued cards and their state')
  .option('--uid <uid>', 'only this person\'s cards')
  .action(admin(async (ctx, flags: { uid?: string }) => (await cardCommands()).listCards(ctx, flags, out)))
cards
  .command('unlock <serial>')
  .description('unlock a card locked by wrong passcodes')
  .action(admin(async (ctx, serial: string) => (await cardCommands()).unlockCard(ctx, serial, out)))
cards
  .command('revoke <serial>')
  .description('revoke a card (lost, stolen, or its holder has left)')
  .action(admin(async (ctx, serial: string) => (await cardCommands()).revokeCard(ctx, serial, out)))

// Commander shows the help for `careid <unknown> --help` (and exits 0) before it checks the command:
// a mistyped command must fail the same whether or not --help follows it.
program.addHelpText('beforeAll', ({ command, error }) => {
  const word = command.args[0]
  const known = (name: string) => name === 'help' || command.commands.some((c) => c.name() === name || c.aliases().includes(name))
  if (!error && command.commands.length > 0 && word !== undefined && !word.startsWith('-') && !known(word)) {
    // Commander's own refusal, so the message (and its "Did you mean" suggestion) and the exit code are the same.
    ;(command as unknown as { unknownCommand(): never }).unknownCommand()
  }
  return ''
})

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof UsageError || error instanceof SettingsError) {
    process.stderr.write(`careid: ${error.message}\n`)
    process.exit(2)
  }
  if (error instanceof StartupError) {
    process.stderr.write(`careid: ${error.message}\n`)
    process.exit(1)
  }
  throw error
}
