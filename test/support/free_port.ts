/** A port free on 127.0.0.1 for a server the tests or the benchmark start. */
import { createServer } from 'node:net'

/**
 * Ports already handed out in this process. The kernel may offer a port again as soon as the probe
 * closes it, so two calls before either server listens (a provider's port and its API Platform's)
 * could get the same one; a port is given once.
 */
const given = new Set<number>()

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probe()
    if (!given.has(port)) {
      given.add(port)
      return port
    }
  }
}
