/**
 * Discovery and the JWKS are the same bytes for every caller and by far the most requested
 * documents (relying parties and API gateways poll them). They are answered from prebuilt bytes
 * and headers before Fastify's router, which is most of the cost of such a small response; the
 * routes in routes/protocol.ts still answer anything this fast path does not take (other methods,
 * query strings). The headers are exactly those the router path sends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Counter, type Registry } from 'prom-client'
import { securityHeaders } from './security_headers.ts'

export interface StaticDocument {
  path: string
  contentType: string
  /** The current body; compared by identity, so a new string (key rotation) rebuilds the bytes. */
  body: () => string
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

export function staticDocumentHandler(documents: StaticDocument[], options: { https: boolean; registry: Registry }, next: Handler): Handler {
  const served = new Counter({
    name: 'careid_static_document_requests_total',
    help: 'Discovery and JWKS requests answered from prebuilt bytes',
    labelNames: ['path'] as const,
    registers: [options.registry],
  })
  const entries = new Map(
    documents.map((d) => [d.path, { doc: d, source: '', bytes: Buffer.alloc(0), counter: served.labels({ path: d.path }) }]),
  )
  const headers = { ...securityHeaders(options.https), 'cache-control': 'public, max-age=300' }

  return (req, res) => {
    const entry = req.method === 'GET' ? entries.get(req.url ?? '') : undefined
    if (entry === undefined) return next(req, res)
    const body = entry.doc.body()
    if (body !== entry.source) {
      entry.source = body
      entry.bytes = Buffer.from(body)
    }
    res.writeHead(200, { ...headers, 'content-type': entry.doc.contentType, 'content-length': entry.bytes.length })
    res.end(entry.bytes)
    entry.counter.inc()
  }
}
