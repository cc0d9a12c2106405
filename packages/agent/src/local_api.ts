/**
 * The agent's local API, on 127.0.0.1 only, for the provider's sign-in page:
 * - `POST /ticket` `{challenge}`: a ticket for that challenge (getTicket: prompts at the agent when
 *   there is no card session); `POST /ticket?noauth=1`: only from an existing card session
 *   (getTicketNoAuth), else 404 `no_session`.
 * - `GET /status`: card and sign-in state, no secrets.
 *
 * Only the provider's pages may use it: a request whose Origin is not the provider's origin is
 * refused (403 `wrong_origin`, no CORS headers), and CORS headers name that one origin. `/ticket`
 * needs the Origin (a browser page); `/status` also answers local tools that send none.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Agent } from './agent.ts'

export interface LocalApiOptions {
  agent: Agent
  /** The provider's origin, e.g. `http://localhost:8080`. */
  providerOrigin: string
  port: number
  host?: string | undefined
}

const maxBody = 4096

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

export async function startLocalApi(options: LocalApiOptions): Promise<{ server: Server; origin: string; close(): Promise<void> }> {
  const { agent, providerOrigin } = options

  function send(response: ServerResponse, status: number, body: unknown, cors: boolean): void {
    response.statusCode = status
    response.setHeader('content-type', 'application/json')
    response.setHeader('cache-control', 'no-store')
    response.setHeader('vary', 'Origin')
    if (cors) response.setHeader('access-control-allow-origin', providerOrigin)
    response.end(JSON.stringify(body))
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const origin = request.headers.origin
    const fromProvider = origin === providerOrigin
    if (origin !== undefined && !fromProvider) return send(response, 403, { error: 'wrong_origin' }, false)

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
    if (url.pathname === '/ticket' && request.method === 'POST') {
      if (!fromProvider) return send(response, 403, { error: 'wrong_origin' }, false)
      const body = await readBody(request)
      let challenge: unknown
      try {
        challenge = (JSON.parse(body ?? '') as { challenge?: unknown }).challenge
      } catch {
        challenge = undefined
      }
      if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{16,100}$/.test(challenge)) return send(response, 400, { error: 'invalid_request' }, true)
      const result = await agent.ticket(challenge, url.searchParams.get('noauth') === '1')
      if (result.ok) return send(response, 200, { ticket: result.ticket }, true)
      return send(response, refusalStatus[result.error] ?? 403, { error: result.error }, true)
    }
    return send(response, 404, { error: 'not_found' }, fromProvider)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, { error: 'agent_error' }, false)
      else response.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    server,
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
