/**
 * A software WebAuthn authenticator for the plugin's tests: a P-256 key per credential,
 * authenticator data with its flags and signature counter, the client data a browser would make,
 * and an attestation statement (`none`, packed self attestation, or packed full attestation with a
 * certificate from a test CA made here). It answers the JSON options Careid's pages carry, as
 * @simplewebauthn/browser would post them.
 */
import 'reflect-metadata'
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, webcrypto, type KeyObject } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { isoCBOR } from '@simplewebauthn/server/helpers'
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const day = 86_400_000

/** A certificate authority for attestation (or metadata signing) certificates. */
export interface TestCa {
  /** The root, PEM. */
  rootPem: string
  rootDer: Buffer
  /** An end-entity certificate for `keys` (DER), under the root; `attestation` makes it a packed attestation certificate for `aaguid`. */
  issue(publicKey: webcrypto.CryptoKey, options: { subject: string; aaguid?: string; notAfter?: Date; notBefore?: Date }): Promise<Buffer>
}

export async function testCa(name = 'CN=Careid Test Attestation Root, O=Careid Tests, C=GB', validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    name,
    notBefore: validity.notBefore ?? new Date(Date.now() - day),
    notAfter: validity.notAfter ?? new Date(Date.now() + 365 * day),
    keys,
    signingAlgorithm: ecdsa,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  })
  return {
    rootPem: root.toString('pem'),
    rootDer: Buffer.from(root.rawData),
    async issue(publicKey, options) {
      const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)]
      // id-fido-gen-ce-aaguid: the AAGUID the attestation certificate speaks for.
      if (options.aaguid !== undefined) {
        const aaguid = Buffer.from(options.aaguid.replaceAll('-', ''), 'hex')
        extensions.push(new x509.Extension('1.3.6.1.4.1.45724.1.1.4', false, Buffer.concat([Buffer.from([0x04, 0x10]), aaguid])))
      }
      const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
        subject: options.subject,
        issuer: root.subject,
        notBefore: options.notBefore ?? new Date(Date.now() - day),
        notAfter: options.notAfter ?? new Date(Date.now() + 30 * day),
        publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: ecdsa,
        extensions,
      })
      return Buffer.from(certificate.rawData)
    },
  }
}

export interface SoftAuthenticatorOptions {
  aaguid: string
  /** `packed`: full attestation with a certificate from `ca`; `self`: packed self attestation; `none`. */
  attestation: 'packed' | 'self' | 'none'
  ca?: TestCa | undefined
  /** The UV flag it sets (it "verified the user"). */
  userVerified?: boolean | undefined
  backupEligible?: boolean | undefined
  backedUp?: boolean | undefined
  /** The signature counter's step per assertion; 0 keeps it at 0 (as synced passkeys do). */
  counterStep?: number | undefined
}

interface SoftCredential {
  id: string
  privateKey: KeyObject
  publicKey: KeyObject
  userHandle: string
  rpId: string
  counter: number
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = []
  readonly options: SoftAuthenticatorOptions
  constructor(options: SoftAuthenticatorOptions) {
    this.options = options
  }

  /** navigator.credentials.create, as the page's script posts its answer. `origin` is where the page is. */
  async create(options: PublicKeyCredentialCreationOptionsJSON, origin: string, overrides: { rpId?: string } = {}): Promise<RegistrationResponseJSON> {
    const rpId = overrides.rpId ?? options.rp.id ?? new URL(origin).hostname
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const id = randomBytes(32).toString('base64url')
    const credential: SoftCredential = { id, privateKey, publicKey, userHandle: options.user.id, rpId, counter: 0 }
    this.credentials.push(credential)
    const clientDataJSON = clientData('webauthn.create', options.challenge, origin)
    const authData = this.authenticatorData(rpId, 0, { id, publicKey })
    const attStmt = await this.attestationStatement(authData, clientDataJSON, privateKey)
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', this.options.attestation === 'none' ? 'none' : 'packed'], ['attStmt', attStmt], ['authData', authData]]) as never)
    return {
      id,
      rawId: id,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: Buffer.from(attestationObject).toString('base64url'), transports: ['usb'] },
    }
  }

  /** navigator.credentials.get with an empty allowCredentials: the first (or `credentialId`) of its credentials. */
  get(options: PublicKeyCredentialRequestOptionsJSON, origin: string, overrides: { rpId?: string; counter?: number; credentialId?: string } = {}): AuthenticationResponseJSON {
    const credential = this.credentials.find((c) => overrides.credentialId === undefined || c.id === overrides.credentialId)
    if (credential === undefined) throw new Error('no credential')
    credential.counter += this.options.counterStep ?? 1
    const counter = overrides.counter ?? credential.counter
    const clientDataJSON = clientData('webauthn.get', options.challenge, origin)
    const authData = this.authenticatorData(overrides.rpId ?? options.rpId ?? credential.rpId, counter)
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey)
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
    }
  }

  private authenticatorData(rpId: string, counter: number, attested?: { id: string; publicKey: KeyObject }): Buffer {
    const o = this.options
    const flags = 0x01 | (o.userVerified === false ? 0 : 0x04) | (o.backupEligible === true ? 0x08 : 0) | (o.backedUp === true ? 0x10 : 0) | (attested === undefined ? 0 : 0x40)
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    const parts = [sha256(Buffer.from(rpId)), Buffer.from([flags]), count]
    if (attested !== undefined) {
      const id = Buffer.from(attested.id, 'base64url')
      const length = Buffer.alloc(2)
      length.writeUInt16BE(id.length)
      parts.push(Buffer.from(o.aaguid.replaceAll('-', ''), 'hex'), length, id, coseKey(attested.publicKey))
    }
    return Buffer.concat(parts)
  }

  private async attestationStatement(authData: Buffer, clientDataJSON: Buffer, credentialKey: KeyObject): Promise<Map<string, unknown>> {
    const signed = Buffer.concat([authData, sha256(clientDataJSON)])
    if (this.options.attestation === 'none') return new Map()
    if (this.options.attestation === 'self') return new Map<string, unknown>([['alg', -7], ['sig', sign('sha256', signed, credentialKey)]])
    const ca = this.options.ca
    if (ca === undefined) throw new Error('packed attestation needs a CA')
    const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
    const certificate = await ca.issue(keys.publicKey, { subject: 'CN=Careid Test Key, OU=Authenticator Attestation, O=Careid Tests, C=GB', aaguid: this.options.aaguid })
    const privateKey = webcryptoToKeyObject(Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)))
    return new Map<string, unknown>([['alg', -7], ['sig', sign('sha256', signed, privateKey)], ['x5c', [certificate]]])
  }
}

function webcryptoToKeyObject(pkcs8: Buffer): KeyObject {
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

/** The credential public key as COSE_Key (RFC 9053): EC2, ES256, P-256, x, y. */
function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' })
  const map = new Map<number, unknown>([
    [1, 2],
    [3, -7],
    [-1, 1],
    [-2, Buffer.from(jwk.x as string, 'base64url')],
    [-3, Buffer.from(jwk.y as string, 'base64url')],
  ])
  return Buffer.from(isoCBOR.encode(map as never))
}
