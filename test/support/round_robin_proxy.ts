/**
 * A round-robin HTTP reverse proxy for tests of several Careid nodes, as a load balancer would
 * sit in front of them: each request goes to the next upstream in turn, and when an upstream
 * cannot be reached (a dead node) the request goes to the one after, like nginx's
 * `proxy_next_upstream error`. As nginx does, a request that may have reached a node that then
 * failed is retried elsewhere only if its method is idempotent; otherwise the client gets 502.
 * Every request is logged with the upstream that answered it, so a test can say which node
 * served what.
 */
import { request as httpRequest, createServer, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ProxiedRequest {
  method: string
  /** Path and query as the client sent them. */
  url: string
  /** Index into the upstreams of the node that answered; undefined if none did. */
  upstream: number | undefined
  status: number
  /** The Retry-After and Location headers of the answer, if any. */
  retryAfter: string | undefined
  location: string | undefined
  /** When the answer came (ms since the epoch). */
  at: number
  /** Upstreams tried first that could not be reached. */
  skipped: number[]
}

export interface RoundRobinProxy {
  origin: string
  log: ProxiedRequest[]
  close(): Promise<void>
}

/** An upstream's failure before it answered: `sent` if the request may have reached it. */
type UpstreamError = Error & { sent: boolean }

/** Forwards one buffered request to `upstream`; resolves with its response (headers in). */
function forward(upstream: URL, method: string, url: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let connected = false
    // No keep-alive: a connection pooled to a node that has since died must not be reused.
    const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method, path: url, headers, agent: false }, resolve)
    outgoing.on('socket', (socket) => socket.once('connect', () => (connected = true)))
    outgoing.on('error', (error) => reject(Object.assign(error, { sent: connected }) as UpstreamError))
    outgoing.end(body)
  })
}

export async function startRoundRobinProxy(upstreams: string[], host = '127.0.0.1'): Promise<RoundRobinProxy> {
  const targets = upstreams.map((u) => new URL(u))
  const log: ProxiedRequest[] = []
  let turn = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', async () => {
      const body = Buffer.concat(chunks)
      const method = req.method ?? 'GET'
      const url = req.url ?? '/'
      // The Host header stays the proxy's, as the issuer names it.
      const headers: OutgoingHttpHeaders = { ...req.headers, connection: 'close', 'x-forwarded-for': req.socket.remoteAddress }
      const first = turn++ % targets.length
      const skipped: number[] = []
      for (let i = 0; i < targets.length; i++) {
        const index = (first + i) % targets.length
        try {
          const response = await forward(targets[index] as URL, method, url, headers, body)
          const { 'retry-after': retryAfter, location } = response.headers
          log.push({ method, url, upstream: index, status: response.statusCode ?? 0, retryAfter, location, at: Date.now(), skipped })
          res.writeHead(response.statusCode ?? 502, response.headers)
          response.pipe(res)
          return
        } catch (error) {
          skipped.push(index)
          if ((error as UpstreamError).sent && method !== 'GET' && method !== 'HEAD') break
        }
      }
      log.push({ method, url, upstream: undefined, status: 502, retryAfter: undefined, location: undefined, at: Date.now(), skipped })
      res.writeHead(502, { 'content-type': 'text/plain' }).end('no upstream answered')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    origin: `http://${host}:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
