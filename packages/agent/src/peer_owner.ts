/**
 * Which user is at the other end of a loopback TCP connection to the local API.
 *
 * A loopback port is open to every process on the computer, whoever runs it; on a shared computer
 * (a terminal server) that includes other people's. Linux's socket table says who made each
 * socket: /proc/net/tcp and /proc/net/tcp6 list every TCP socket with its local and remote
 * address:port and the uid of its creator. The caller's socket is the entry whose local end is the
 * connection's remote end and whose remote end is the agent's end. An entry held by no process
 * (inode 0: a closed socket waiting out TIME_WAIT or FIN_WAIT2) shows uid 0 whoever made it, so it
 * proves nothing. Other systems publish no such table to an unprivileged program: there the owner
 * is unknown.
 */
import { readFile } from 'node:fs/promises'
import { isIPv4, isIPv6, type Socket } from 'node:net'
import { endianness } from 'node:os'

/** `this_user`: the agent's own user; `another_user`: anyone else; `unknown`: not found, or no socket table. */
export type PeerOwner = 'this_user' | 'another_user' | 'unknown'

/** Whether this system lets the agent see who owns a loopback connection's other end. */
export const peerOwnerVisible = process.platform === 'linux' && typeof process.getuid === 'function'

const socketTables = ['/proc/net/tcp', '/proc/net/tcp6']

/** The 16 bytes of an IPv6 address; an IPv4 address as its IPv4-mapped form (::ffff:a.b.c.d), as a dual-stack socket sees it. */
export function addressBytes(address: string): Buffer | undefined {
  const bare = address.replace(/%.*$/, '')
  if (isIPv4(bare)) return Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bare.split('.').map(Number)])
  if (!isIPv6(bare)) return undefined
  // A trailing dotted IPv4 (::ffff:127.0.0.1) is the last two groups.
  let text = bare
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1]
  if (dotted !== undefined) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number]
    text = `${bare.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const groups = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'))
  const before = groups(head)
  const after = groups(tail)
  const all = tail === undefined ? before : [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after]
  const bytes = Buffer.alloc(16)
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2))
  return bytes
}

/**
 * The bytes of an address as the socket table prints it: each 32-bit word of the address in
 * hexadecimal, in the machine's own byte order (so 127.0.0.1 is `0100007F` on x86).
 */
export function tableAddressBytes(hex: string): Buffer | undefined {
  if (!/^[0-9A-F]{8}([0-9A-F]{24})?$/i.test(hex)) return undefined
  const words: Buffer[] = []
  for (let i = 0; i < hex.length; i += 8) {
    const word = Buffer.from(hex.slice(i, i + 8), 'hex')
    words.push(endianness() === 'LE' ? word.reverse() : word)
  }
  const raw = Buffer.concat(words)
  return raw.length === 4 ? Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), raw]) : raw
}

interface End {
  address: Buffer
  port: number
}

function endOf(address: string | undefined, port: number | undefined): End | undefined {
  const bytes = address === undefined ? undefined : addressBytes(address)
  return bytes === undefined || port === undefined ? undefined : { address: bytes, port }
}

function tableEnd(field: string | undefined): End | undefined {
  const [hex, port] = (field ?? '').split(':')
  const address = tableAddressBytes(hex ?? '')
  return address === undefined || port === undefined || !/^[0-9A-F]{4}$/i.test(port) ? undefined : { address, port: parseInt(port, 16) }
}

const same = (a: End | undefined, b: End) => a !== undefined && a.port === b.port && a.address.equals(b.address)

/** The owner of the process that made the other end of `socket`, a connection accepted on loopback. */
export async function peerOwner(socket: Socket): Promise<PeerOwner> {
  if (!peerOwnerVisible) return 'unknown'
  const caller = endOf(socket.remoteAddress, socket.remotePort)
  const agent = endOf(socket.localAddress, socket.localPort)
  if (caller === undefined || agent === undefined) return 'unknown'
  const tables = await Promise.all(socketTables.map((path) => readFile(path, 'latin1').catch(() => '')))
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/)
      if (!same(tableEnd(fields[1]), caller) || !same(tableEnd(fields[2]), agent)) continue
      if (fields[9] === undefined || fields[9] === '0' || !/^\d+$/.test(fields[7] ?? '')) return 'unknown'
      return Number(fields[7]) === process.getuid?.() ? 'this_user' : 'another_user'
    }
  }
  return 'unknown'
}
