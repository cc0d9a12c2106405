/** A relying party's back-channel logout endpoint for tests: records every logout token it gets. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Receiver {
  url: string
  tokens: string[]
  /** Status to answer with (to test retries). */
  status: number
  /** Resolves once `count` tokens have arrived (or rejects after `ms`). */
  waitFor(count: number, ms?: number): Promise<string[]>
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  const tokens: string[] = []
  const waiters: Array<() => boolean> = []
  const receiver: Receiver = {
    url: '',
    tokens,
    status: 200,
    waitFor(count, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (tokens.length >= count) {
            clearTimeout(timer)
            resolve(tokens)
            return true
          }
          return false
        }
        const timer = setTimeout(() => reject(new Error(`expected ${count} logout token(s), got ${tokens.length}`)), ms)
        if (!check()) waiters.push(check)
      })
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      const ok = receiver.status >= 200 && receiver.status < 300
      if (ok && req.headers['content-type'] === 'application/x-www-form-urlencoded') {
        const token = new URLSearchParams(body).get('logout_token')
        if (token !== null) tokens.push(token)
      }
      res.statusCode = receiver.status
      res.end()
      const pending = waiters.splice(0).filter((check) => !check())
      waiters.push(...pending)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`
  return receiver
}
