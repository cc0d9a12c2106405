/**
 * The agent's local API, for the provider's sign-in page and for native applications:
 * - `POST /ticket` `{challenge}`: a ticket for that challenge (getTicket: prompts at the agent when
 *   there is no card session); `POST /ticket?noauth=1`: only from an existing card session
 *   (getTicketNoAuth), else 404 `no_session`.
 * - `GET /handoff?challenge=...&interaction=...`: the provider's sign-in journey sends the browser
 *   here instead of showing a page; the agent sends it back, by a 302 to the journey's return URL
 *   (built here from the provider's issuer and the journey's id, so it redirects nowhere else),
 *   with a ticket from the existing card session (getTicketNoAuth: it never prompts), or with
 *   `error` (`no_session`, `no_card`) when it has none to give.
 * - `GET /status`: card and sign-in state, no secrets.
 *
 * A ticket signs its holder in as the worker at the card, so the API answers that worker alone.
 * It listens in two places:
 * - On 127.0.0.1, for the provider's pages in the worker's browser. Every caller must be a process
 *   of the agent's own user (403 `wrong_user`; see peer_owner.ts: checked on Linux, and elsewhere
 *   only trusted with `singleUserMachine`), send a Host of 127.0.0.1 or localhost on the agent's
 *   port (403 `wrong_host`: a page whose own name was re-pointed at 127.0.0.1, DNS rebinding, still
 *   sends its own name), and send the provider's Origin (403 `wrong_origin`). None of these
 *   refusals carries CORS headers; answers carry CORS for the provider's origin alone.
 * - On a Unix domain socket (`socketPath`) for native applications of the same user, which send no
 *   Origin: the socket is mode 0600 in a directory the agent makes 0700, so only its user (and root)
 *   can open it. No page can reach a Unix socket, so neither Origin nor Host is required there (a
 *   foreign Origin is still refused).
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { dirname } from 'node:path'
import type { Agent } from './agent.ts'
import { peerOwner, peerOwnerVisible, type PeerOwner } from './peer_owner.ts'

export interface LocalApiOptions {
  agent: Agent
  /** The provider's origin, e.g. `http://localhost:8080`. */
  providerOrigin: string
  port: number
  host?: string | undefined
  /** Where native applications of this user reach the API, e.g. `<agent dir>/agent.sock`; none when absent. */
  socketPath?: string | undefined
  /**
   * Where the system cannot tell which user opened a loopback connection (not Linux): answer every
   * loopback caller, as the person starting the agent says only one person uses this computer at a
   * time. Without it such a system's loopback callers are all refused. Linux always checks.
   */
  singleUserMachine?: boolean | undefined
}

export interface LocalApi {
  server: Server
  /** The loopback origin, e.g. `http://127.0.0.1:4445`. */
  origin: string
  /** The Unix domain socket for native applications, when there is one. */
  socketPath?: string | undefined
  close(): Promise<void>
}

const maxBody = 4096

/** A provider challenge, as the provider makes them (32 random bytes, base64url). */
const challengePattern = /^[A-Za-z0-9_-]{16,100}$/
/** A sign-in journey's id, as the provider makes them (random, base64url): nothing else goes into the return URL's path. */
const interactionPattern = /^[A-Za-z0-9_-]{16,64}$/

const refusalStatus: Record<string, number> = {
  no_card: 409,
  no_session: 404,
  cancelled: 403,
  card_locked: 403,
  card_refused: 403,
  provider_unreachable: 502,
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    let size = 0
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBody) {
        resolve(undefined)
        request.destroy()
      } else chunks.push(chunk)
    })
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', () => resolve(undefined))
  })
}

/** Listens on a Unix domain socket that only this user can open; a socket left by an agent that died is replaced. */
async function listenPrivately(server: Server, path: string): Promise<void> {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const held = lstatSync(dir)
  if (!held.isDirectory() || held.uid !== process.getuid?.()) throw new Error(`${dir} must be a directory of this user, to hold the agent's socket`)
  // A directory only its owner can enter: the socket's own mode is not honoured by every system.
  chmodSync(dir, 0o700)
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
  try {
    await listen()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    const alive = await new Promise<boolean>((resolve) => {
      const probe = connect(path, () => {
        probe.destroy()
        resolve(true)
      })
      probe.once('error', () => resolve(false))
    })
    if (alive) throw new Error(`another agent is answering on ${path}`)
    rmSync(path, { force: true })
    await listen()
  }
  chmodSync(path, 0o600)
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const { agent, providerOrigin } = options
  let port = options.port
  /** Who opened each loopback connection: asked once, when it is accepted, and read by each of its requests. */
  const callers = new WeakMap<Socket, Promise<PeerOwner>>()

  function send(response: ServerResponse, status: number, body: unknown, cors: boolean): void {
    response.statusCode = status
    response.setHeader('content-type', 'application/json')
    response.setHeader('cache-control', 'no-store')
    response.setHeader('vary', 'Origin')
    if (cors) response.setHeader('access-control-allow-origin', providerOrigin)
    response.end(JSON.stringify(body))
  }

  /** The loopback caller is the agent's user (or, where that cannot be known, the machine is declared single-user). */
  async function fromThisUser(socket: Socket): Promise<boolean> {
    const owner = await (callers.get(socket) ?? 'unknown')
    return owner === 'this_user' || (owner === 'unknown' && !peerOwnerVisible && options.singleUserMachine === true)
  }

  /**
   * Answers a handoff by sending the browser back to the provider's journey: the URL is the
   * issuer's return path for this journey's id, never one taken from the request (no open
   * redirect). The ticket rides in the URL: it is bound to the journey's challenge, lives a minute,
   * and is good once; the provider logs paths only, and no Referer carries it onwards.
   */
  async function handoff(url: URL, response: ServerResponse): Promise<void> {
    const challenge = url.searchParams.get('challenge') ?? ''
    const interaction = url.searchParams.get('interaction') ?? ''
    if (!challengePattern.test(challenge) || !interactionPattern.test(interaction)) return send(response, 400, { error: 'invalid_request' }, false)
    const result = await agent.ticket(challenge, true)
    const back = new URL(`${agent.issuer}/interaction/${interaction}/smartcard/return`)
    back.search = new URLSearchParams(result.ok ? { ticket: result.ticket } : { error: result.error }).toString()
    response.statusCode = 302
    response.setHeader('location', back.href)
    response.setHeader('cache-control', 'no-store')
    response.setHeader('referrer-policy', 'no-referrer')
    response.end()
  }

  /** A Host naming this agent: what a page on the provider sends, never what a rebinding page sends. */
  function isLocalHost(host: string | undefined): boolean {
    const name = host?.toLowerCase()
    return name === `127.0.0.1:${port}` || name === `localhost:${port}` || (port === 80 && (name === '127.0.0.1' || name === 'localhost'))
  }

  async function handle(request: IncomingMessage, response: ServerResponse, on: 'loopback' | 'unix'): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const origin = request.headers.origin
    const fromProvider = origin === providerOrigin
    if (on === 'loopback') {
      if (!(await fromThisUser(request.socket))) {
        response.setHeader('connection', 'close')
        return send(response, 403, { error: 'wrong_user' }, false)
      }
      if (!isLocalHost(request.headers.host)) return send(response, 403, { error: 'wrong_host' }, false)
      // A handoff is a top-level navigation, and a browser sends no Origin on a navigation's GET, so
      // it cannot be asked for one here. Nothing is lost: a page elsewhere may navigate the browser
      // here, but the answer only sends this user's browser (the caller check above) to the
      // provider's own return URL, and the ticket it carries is bound to a challenge the journey
      // accepts only from the browser that started it (its cookie), once. A foreign Origin (a
      // script's request) is still refused.
      const navigation = url.pathname === '/handoff' && request.method === 'GET' && origin === undefined
      // Only the provider's pages: /status too, as the card's serial and holder are no one else's business.
      if (!fromProvider && !navigation) return send(response, 403, { error: 'wrong_origin' }, false)
    } else if (origin !== undefined && !fromProvider) return send(response, 403, { error: 'wrong_origin' }, false)

    if (request.method === 'OPTIONS' && url.pathname === '/ticket' && fromProvider) {
      response.statusCode = 204
      response.setHeader('access-control-allow-origin', providerOrigin)
      response.setHeader('access-control-allow-methods', 'POST')
      response.setHeader('access-control-allow-headers', 'content-type')
      response.setHeader('access-control-max-age', '600')
      response.setHeader('vary', 'Origin')
      // Private Network Access: a page on a public provider may reach this loopback API only if it says so.
      if (request.headers['access-control-request-private-network'] === 'true') response.setHeader('access-control-allow-private-network', 'true')
      response.end()
      return
    }
    if (url.pathname === '/status' && request.method === 'GET') return send(response, 200, agent.status(), fromProvider)
    if (url.pathname === '/handoff' && request.method === 'GET') return handoff(url, response)
    if (url.pathname === '/ticket' && request.method === 'POST') {
      const body = await readBody(request)
      let challenge: unknown
      try {
        challenge = (JSON.parse(body ?? '') as { challenge?: unknown }).challenge
      } catch {
        challenge = undefined
      }
      if (typeof challenge !== 'string' || !challengePattern.test(challenge)) return send(response, 400, { error: 'invalid_request' }, fromProvider)
      const result = await agent.ticket(challenge, url.searchParams.get('noauth') === '1')
      if (result.ok) return send(response, 200, { ticket: result.ticket }, fromProvider)
      return send(response, refusalStatus[result.error] ?? 403, { error: result.error }, fromProvider)
    }
    return send(response, 404, { error: 'not_found' }, fromProvider)
  }

  const serve = (on: 'loopback' | 'unix') =>
    createServer((request, response) => {
      handle(request, response, on).catch(() => {
        if (!response.headersSent) send(response, 500, { error: 'agent_error' }, false)
        else response.end()
      })
    })

  const server = serve('loopback')
  // Asked as soon as the connection is accepted, alongside the request's arrival rather than after it.
  server.on('connection', (socket: Socket) => {
    callers.set(socket, peerOwner(socket).catch(() => 'unknown' as const))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port

  let unix: Server | undefined
  if (options.socketPath !== undefined) {
    unix = serve('unix')
    try {
      await listenPrivately(unix, options.socketPath)
    } catch (error) {
      server.close()
      throw error
    }
  }

  const closing = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections()
      s.close(() => resolve())
    })
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    socketPath: unix === undefined ? undefined : options.socketPath,
    close: async () => {
      await Promise.all([closing(server), ...(unix === undefined ? [] : [closing(unix)])])
    },
  }
}
