/**
 * `careid start --fido-metadata <file>`: the operator's FIDO Metadata Service (MDS3) blob is
 * verified when Careid starts, offline; one that cannot be read or does not verify against the FIDO
 * Alliance's root stops the start with a message that says which file and why.
 */
import assert from 'node:assert/strict'
import { createPrivateKey, sign, webcrypto } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { testCa } from '../../packages/webauthn/test/support/soft_authenticator.ts'
import { startTestCareid } from '../support/careid.ts'

describe('the FIDO metadata blob at start', () => {
  let work: string
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'careid-mds-'))
  })
  after(() => rmSync(work, { recursive: true, force: true }))

  async function refused(file: string): Promise<string> {
    try {
      const careid = await startTestCareid({ settings: { fidoMetadata: file } })
      await careid.close()
    } catch (error) {
      return (error as Error).message
    }
    assert.fail('Careid started')
  }

  it('stops on a file it cannot read', async () => {
    const file = join(work, 'missing.jwt')
    assert.equal(await refused(file), `--fido-metadata ${file}: cannot read the file (ENOENT)`)
  })

  it('stops on a file that is not a blob', async () => {
    const file = join(work, 'page.html')
    writeFileSync(file, '<html>Service unavailable</html>')
    assert.equal(await refused(file), `--fido-metadata ${file}: the FIDO metadata file is not a metadata BLOB (a JWS in compact form: three dot-separated parts)`)
  })

  it("stops on a well-formed blob signed under a root other than the FIDO Alliance's", async () => {
    const root = await testCa('CN=Not FIDO, O=Careid Tests, C=GB')
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
    const leaf = await root.issue(keys.publicKey, { subject: 'CN=Metadata Signer, O=Careid Tests, C=GB' })
    const input = [{ alg: 'ES256', typ: 'JWT', x5c: [leaf.toString('base64')] }, { no: 1, nextUpdate: '2999-01-01', entries: [] }].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.')
    const key = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' })
    const file = join(work, 'blob.jwt')
    writeFileSync(file, `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`)
    assert.equal(await refused(file), `--fido-metadata ${file}: the FIDO metadata BLOB's signing certificate chain does not reach the FIDO Alliance's root (or a certificate in it has expired)`)
  })
})
