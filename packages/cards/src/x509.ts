/**
 * @peculiar/x509, ready to use: its dependency injection needs the Reflect metadata API loaded
 * first, and it is pointed at Node's WebCrypto. Everything here imports X.509 through this module.
 */
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export * from '@peculiar/x509'
