/** `careid start`: runs Careid and prints how to use it. */
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { resolveSettings, type Settings, type SettingsInput } from '../settings.ts'
import { startApiNode, startCareid } from '../start.ts'

export async function startCommand(flags: SettingsInput): Promise<void> {
  const settings = resolveSettings(flags)
  if (settings.only === 'api') return startApiOnly(settings)
  const running = await startCareid(settings)
  const issuer = settings.issuer
  const rows = demoWorkforce.map((p) => `  ${p.username.padEnd(22)} ${(demoCredentials[p.uid]?.password ?? '').padEnd(20)} ${String(p.positions.length).padStart(2)} role(s)  ${p.display_name}`)
  // Where the data is, without the URLs themselves: they may hold passwords.
  const where =
    settings.databaseUrl === undefined
      ? `data in ${settings.dataDir}`
      : `data in PostgreSQL${settings.databaseSchema === undefined ? '' : ` schema ${settings.databaseSchema}`}${settings.redisUrl === undefined ? '' : ', short-lived data in Redis'}`
  const metrics =
    settings.metricsPort !== undefined
      ? `http://${settings.metricsHost.includes(':') ? `[${settings.metricsHost}]` : settings.metricsHost}:${settings.metricsPort}/metrics${settings.metricsToken === undefined ? '' : ' (bearer token)'}`
      : settings.metricsToken !== undefined
        ? `${settings.baseUrl}/metrics (bearer token)`
        : 'not served (see --metrics-port)'
  const demo = settings.demo
    ? [
        'Demo people (username, password, roles):',
        ...rows,
        '',
        'Sign in with a password (AAL1_USERPASS) or add the authenticator app step (AAL2_TOTP):',
        '  npx careid people show <username>   prints the TOTP secret and the current 6-digit code.',
        'Add a security key, Windows Hello or a passkey (AAL3_FIDO2, AAL3_PASSKEY) with a one-time code:',
        '  npx careid people enrol <username> --method security_key|windows_hello|passkey',
        'Register a tablet or phone for the mobile app (AAL3_IOS):',
        '  npx careid devices register <username>   prints a link and QR code to open on the device.',
      ]
    : []
  process.stdout.write(
    [
      '',
      `Careid is running (${where}).`,
      '',
      ...(settings.demo ? [`  Try it:      ${settings.baseUrl}/demo/   (the demo clinical app)`] : []),
      `  Issuer:      ${issuer}`,
      `  Discovery:   ${issuer}/.well-known/openid-configuration`,
      `  Sign-in methods: ${issuer}/account   (with an enrolment code: ${issuer}/account/enrol)`,
      `  Mobile app:  ${issuer}/mobile/`,
      `  Health:      ${settings.baseUrl}/health   Metrics: ${metrics}`,
      ...(running.api === undefined ? [] : [`  API Platform: ${running.api.baseUrl}/oauth2   (its own origin; health ${running.api.baseUrl}/oauth2/_ping)`]),
      '',
      ...demo,
      'Register your own application: npx careid clients add --help',
      '',
    ].join('\n'),
  )
  const shutdown = async () => {
    await running.stop()
    process.exit(0)
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}

/** A node serving only the API Platform's OAuth service, beside provider nodes on the same store. */
async function startApiOnly(settings: Settings): Promise<void> {
  const running = await startApiNode(settings)
  process.stdout.write(
    ['', 'Careid API Platform node is running.', '', `  OAuth 2.0:   ${running.api.baseUrl}/oauth2`, `  CIS2:        ${settings.issuer}`, `  Health:      ${running.api.baseUrl}/oauth2/_ping`, ''].join('\n'),
  )
  const shutdown = async () => {
    await running.stop()
    process.exit(0)
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
