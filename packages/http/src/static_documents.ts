/**
 * Discovery and the JWKS are the same bytes for every caller and by far the most requested
 * documents (relying parties and API gateways poll them). They are answered from prebuilt headers
 * before Fastify's router, which is most of the cost of such a small response; the
 * routes in routes/protocol.ts still answer anything this fast path does not take (other methods,
 * query strings). The headers are exactly those the router path sends, CORS's included (cors.ts).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { Counter, type Registry } from 'prom-client'
import { publicDocumentCors } from './cors.ts'
import { securityHeaders } from './security_headers.ts'

export interface StaticDocument {
  path: string
  contentType: string
  /** The current body; compared by identity, so a new string (key rotation) rebuilds the headers. */
  body: () => string
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

export function staticDocumentHandler(documents: StaticDocument[], options: { https: boolean; registry: Registry }, next: Handler): Handler {
  const common = { ...securityHeaders(options.https), ...publicDocumentCors, 'cache-control': 'public, max-age=300' }
  // The body is written as the string it is: Node then sends the head and body in one write, where
  // a Buffer body would take a writev of two. Its headers are built once for each body.
  const entries = new Map(documents.map((d) => [d.path, { doc: d, source: undefined as string | undefined, headers: {} as OutgoingHttpHeaders, served: 0 }]))
  // Counted in a plain number per path and added to the counter when it is scraped: the counter's
  // own increment (label checks and hashing) cost more than the rest of such a response.
  new Counter({
    name: 'careid_static_document_requests_total',
    help: 'Discovery and JWKS requests answered from prebuilt bytes',
    labelNames: ['path'] as const,
    registers: [options.registry],
    collect() {
      for (const entry of entries.values()) {
        if (entry.served === 0) continue
        this.inc({ path: entry.doc.path }, entry.served)
        entry.served = 0
      }
    },
  })

  return (req, res) => {
    const entry = req.method === 'GET' ? entries.get(req.url ?? '') : undefined
    if (entry === undefined) return next(req, res)
    const body = entry.doc.body()
    if (body !== entry.source) {
      entry.source = body
      entry.headers = { ...common, 'content-type': entry.doc.contentType, 'content-length': Buffer.byteLength(body) }
    }
    res.writeHead(200, entry.headers)
    res.end(body)
    entry.served++
  }
}
