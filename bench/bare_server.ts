/**
 * Child process: the ceiling of the platform benchmarks for HTTP and JSON on this machine. A bare
 * Fastify server (no logs, no plugins, no auth, no store) answering `GET /Patient/:id` with one
 * fixed Patient resource, the first of the demo population (a Patient's size and shape), serialised
 * per request as any JSON route's answer is. Pinned to one core by the parent; prints its details
 * once listening; SIGTERM closes it.
 */
import { generatePopulation } from '@careid/pds'
import Fastify from 'fastify'
import { announceReady } from './target.ts'

const port = Number(process.env.BENCH_PORT)
const patient = (generatePopulation({ size: 1 }).records[0] as { resource: object }).resource

const app = Fastify({ logger: false })
app.get('/Patient/:id', async (_request, reply) => reply.type('application/fhir+json').send(patient))
await app.listen({ port, host: '127.0.0.1' })

process.once('SIGTERM', () => {
  void app.close().finally(() => process.exit(0))
})

announceReady({ url: `http://127.0.0.1:${port}/Patient/9000000009`, bytes: JSON.stringify(patient).length })
