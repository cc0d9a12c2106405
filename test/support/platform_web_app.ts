/**
 * A server-side browser application of a supplier, on an origin of its own, that uses the API
 * Platform's combined pattern (cis2.md 6.2) as a supplier's code would, knowing only the platform's
 * base URL: `GET /start` sends the browser to `{apiOrigin}/oauth2/authorize` with a fresh state;
 * `GET /callback` checks that state, redeems the code at `{apiOrigin}/oauth2/token` with its API key
 * and secret (form post), searches the Patient API by family name and birth date, reads the one
 * patient found by NHS number (with the worker's role in `NHSD-Session-URID` and a new
 * `X-Request-ID` each call), and shows a small page with the patient's name. What it received at
 * each step is kept, for the test to check.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export interface ApiAnswer {
  status: number
  headers: Record<string, string>
  body: unknown
  /** The X-Request-ID the application sent. */
  requestId: string
}

export interface AppJourney {
  token: { status: number; body: Record<string, unknown> }
  search?: ApiAnswer | undefined
  read?: ApiAnswer | undefined
}

export interface PlatformWebApp {
  origin: string
  startUrl: string
  callbackUrl: string
  /** Each callback the application completed, in order. */
  journeys: AppJourney[]
  /** A call to the Patient API as the application makes it. */
  callPatientApi(path: string, accessToken: string, roleId: string): Promise<ApiAnswer>
  close(): Promise<void>
}

export interface PlatformWebAppOptions {
  apiOrigin: string
  apiKey: string
  secret: string
  /** The role the worker chose at sign-in, which the application sends as NHSD-Session-URID. */
  roleId: () => string
  /** The patient to look for. */
  patient: { family: string; birthDate: string }
  /** Where the application listens: the callback URL registered for it is `{origin}/callback`. */
  port: number
}

const pdsPath = '/personal-demographics/FHIR/R4'

export async function startPlatformWebApp(options: PlatformWebAppOptions): Promise<PlatformWebApp> {
  const origin = `http://127.0.0.1:${options.port}`
  const callbackUrl = `${origin}/callback`
  const states = new Set<string>()
  const journeys: AppJourney[] = []

  async function callPatientApi(path: string, accessToken: string, roleId: string): Promise<ApiAnswer> {
    const requestId = randomUUID()
    const response = await fetch(`${options.apiOrigin}${pdsPath}${path}`, {
      headers: { authorization: `Bearer ${accessToken}`, 'nhsd-session-urid': roleId, 'x-request-id': requestId, accept: 'application/fhir+json' },
    })
    const text = await response.text()
    return { status: response.status, headers: Object.fromEntries(response.headers), body: text === '' ? undefined : JSON.parse(text), requestId }
  }

  async function callback(url: URL, res: ServerResponse): Promise<void> {
    const state = url.searchParams.get('state') ?? ''
    if (!states.delete(state)) return page(res, 400, 'Unknown state')
    const code = url.searchParams.get('code')
    if (code === null) return page(res, 400, `Sign-in failed: ${url.searchParams.get('error') ?? 'no code'}`)
    const tokenResponse = await fetch(`${options.apiOrigin}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl, client_id: options.apiKey, client_secret: options.secret }),
    })
    const journey: AppJourney = { token: { status: tokenResponse.status, body: (await tokenResponse.json()) as Record<string, unknown> } }
    journeys.push(journey)
    const accessToken = journey.token.body['access_token']
    if (tokenResponse.status !== 200 || typeof accessToken !== 'string') return page(res, 502, 'The platform gave no token')

    const query = new URLSearchParams({ family: options.patient.family, birthdate: `eq${options.patient.birthDate}` })
    journey.search = await callPatientApi(`/Patient?${query}`, accessToken, options.roleId())
    const entries = (journey.search.body as { entry?: { resource: { id: string } }[] } | undefined)?.entry ?? []
    if (journey.search.status !== 200 || entries.length !== 1) return page(res, 502, 'No single patient found')
    journey.read = await callPatientApi(`/Patient/${entries[0]!.resource.id}`, accessToken, options.roleId())
    if (journey.read.status !== 200) return page(res, 502, 'The patient could not be read')
    const name = (journey.read.body as { name: { given?: string[]; family: string }[] }).name[0]!
    return page(res, 200, `Patient: ${[...(name.given ?? []), name.family].join(' ')}`)
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin)
    if (url.pathname === '/start') {
      const state = randomBytes(16).toString('hex')
      states.add(state)
      const query = new URLSearchParams({ response_type: 'code', client_id: options.apiKey, redirect_uri: callbackUrl, state })
      res.writeHead(302, { location: `${options.apiOrigin}/oauth2/authorize?${query}` }).end()
      return
    }
    if (url.pathname === '/callback') {
      callback(url, res).catch((error: unknown) => page(res, 500, `The application failed: ${String(error)}`))
      return
    }
    res.writeHead(204).end()
  })
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve))
  return {
    origin,
    startUrl: `${origin}/start`,
    callbackUrl,
    journeys,
    callPatientApi,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function page(res: ServerResponse, status: number, text: string): void {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html lang="en"><title>Clinical app</title><h1>${escaped}</h1></html>`)
}
