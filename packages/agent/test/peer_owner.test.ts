/**
 * Who is at the other end of a loopback connection, from Linux's socket table: the agent's user or
 * another, over IPv4, IPv6 and an IPv6 socket speaking IPv4 (listed in /proc/net/tcp6 while the
 * agent's end is in /proc/net/tcp); and a caller that has already closed its socket proves nothing.
 * Callers of another user are real processes run as `nobody`, so these tests need Linux and root.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { endianness } from 'node:os'
import { after, before, describe, it } from 'node:test'
import { addressBytes, peerOwner, tableAddressBytes, type PeerOwner } from '../src/peer_owner.ts'

const nobody = 65534
const linuxAsRoot = process.platform === 'linux' && process.getuid?.() === 0 ? false : 'needs Linux and root, to run a caller as another user'

/** Connects from a separate node process (as `uid`, default this user) to host:port; `close`: at once, then exits; else holds it until killed. */
function caller(host: string, port: number, options: { uid?: number; close?: boolean } = {}) {
  const script = `const s = require('node:net').connect(${port}, ${JSON.stringify(host)}, () => { ${options.close === true ? 's.destroy(); process.exit(0)' : "console.log('connected')"} }); s.on('error', (e) => { console.error(e.code); process.exit(1) })`
  return spawn(process.execPath, ['-e', script], { cwd: '/', env: { PATH: process.env.PATH ?? '' }, ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }) })
}

describe('the owner of a loopback connection', { skip: linuxAsRoot }, () => {
  const servers: Server[] = []
  /** Each accepted connection's owner, as the agent asks it: when the connection is accepted, or (`onEnd`) once the caller has closed it. */
  let owners: Array<Promise<PeerOwner>> = []
  let onEnd = false

  async function listen(host: string): Promise<number> {
    const server = createServer((socket: Socket) => {
      if (onEnd) {
        socket.resume()
        owners.push(once(socket, 'end').then(() => peerOwner(socket)))
      } else owners.push(peerOwner(socket))
    })
    servers.push(server)
    server.listen(0, host)
    await once(server, 'listening')
    return (server.address() as AddressInfo).port
  }

  async function ownerOf(host: string, port: number, uid?: number): Promise<PeerOwner> {
    owners = []
    const child = caller(host, port, { uid })
    await once(child.stdout, 'data')
    while (owners.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const owner = await (owners[0] as Promise<PeerOwner>)
    child.kill()
    await once(child, 'close')
    return owner
  }

  let v4: number
  let v6: number
  before(async () => {
    v4 = await listen('127.0.0.1')
    v6 = await listen('::1')
  })
  after(() => {
    for (const server of servers) server.close()
  })

  it('is this user or another user, over IPv4, IPv6 and IPv4 through an IPv6 socket', async () => {
    for (const [host, port] of [['127.0.0.1', v4], ['::ffff:127.0.0.1', v4], ['::1', v6]] as const) {
      assert.equal(await ownerOf(host, port), 'this_user', host)
      assert.equal(await ownerOf(host, port, nobody), 'another_user', host)
    }
  })

  it('is unknown once the caller has closed its socket: the kernel then lists it as uid 0, held by no process', async () => {
    onEnd = true
    owners = []
    const child = caller('127.0.0.1', v4, { uid: nobody, close: true })
    const [code] = (await once(child, 'close')) as [number]
    assert.equal(code, 0)
    while (owners.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(await owners[0], 'unknown')
    onEnd = false
  })

  it('reads the socket table as the kernel prints it: 32-bit words in the machine byte order, IPv4 as IPv4-mapped', () => {
    const le = (hex: string) => tableAddressBytes(hex)?.toString('hex')
    const loopback4 = addressBytes('127.0.0.1')?.toString('hex')
    assert.equal(loopback4, '00000000000000000000ffff7f000001')
    assert.equal(addressBytes('::ffff:127.0.0.1')?.toString('hex'), loopback4)
    assert.equal(addressBytes('::1')?.toString('hex'), '00000000000000000000000000000001')
    assert.equal(addressBytes('fe80::1%lo')?.toString('hex'), 'fe800000000000000000000000000001')
    assert.equal(addressBytes('not an address'), undefined)
    if (endianness() === 'LE') {
      assert.equal(le('0100007F'), loopback4)
      assert.equal(le('0000000000000000FFFF00000100007F'), loopback4)
      assert.equal(le('00000000000000000000000001000000'), addressBytes('::1')?.toString('hex'))
    }
    assert.equal(tableAddressBytes('0100007'), undefined)
    assert.equal(tableAddressBytes('0100007G'), undefined)
  })
})
