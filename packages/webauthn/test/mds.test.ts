import assert from 'node:assert/strict'
import { createPrivateKey, sign, webcrypto, X509Certificate } from 'node:crypto'
import { describe, it } from 'node:test'
import { decideLevel, fidoMdsRoots, loadMdsBlob, MetadataError } from '../src/index.ts'
import { modelAaguid, softKey, world } from './support/setup.ts'
import { testCa, type TestCa } from './support/soft_authenticator.ts'

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' }
const day = 86_400_000

/** An MDS3 blob signed by a signing certificate under `signer`, with one entry for `aaguid` whose attestation root is `attestationRoot`. */
async function blob(signer: TestCa, attestationRoot: Buffer, options: { nextUpdate?: string; status?: string; tamper?: boolean } = {}): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const leaf = await signer.issue(keys.publicKey, { subject: 'CN=Metadata Signer, O=Careid Tests, C=GB' })
  const header = { alg: 'ES256', typ: 'JWT', x5c: [leaf.toString('base64')] }
  const payload = {
    legalHeader: 'test',
    no: 42,
    nextUpdate: options.nextUpdate ?? new Date(Date.now() + 30 * day).toISOString().slice(0, 10),
    entries: [
      { aaik: 'ffff#0001' },
      {
        aaguid: modelAaguid,
        metadataStatement: { aaguid: modelAaguid, description: 'Test Key 5 from MDS', attestationTypes: ['basic_full'], attestationRootCertificates: [attestationRoot.toString('base64')] },
        statusReports: [{ status: options.status ?? 'FIDO_CERTIFIED_L1', effectiveDate: '2026-01-01' }],
        timeOfLastStatusChange: '2026-01-01',
      },
    ],
  }
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  const key = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' })
  const signature = sign('sha256', Buffer.from(options.tamper === true ? `${input}x` : input), { key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

describe('FIDO metadata (MDS3) blobs, loaded offline', () => {
  it("loads a blob whose chain reaches the given root: its models' attestation roots make a key AAL3", async () => {
    const mdsRoot = await testCa('CN=Test MDS Root, O=Careid Tests, C=GB')
    const w = await world({ trusted: false })
    const loaded = loadMdsBlob(await blob(mdsRoot, w.ca.rootDer), Date.now(), [mdsRoot.rootPem])
    assert.equal(loaded.no, 42)
    assert.deepEqual(loaded.models.map((m) => [m.aaguid, m.description, m.anchors.length, m.compromised]), [[modelAaguid, 'Test Key 5 from MDS', 1, false]])
    for (const model of loaded.models) w.trust.set(model.aaguid, model)
    const result = await w.register('security_key', softKey({ ca: w.ca }))
    assert.equal(result.type === 'registered' && result.aal, 3)
  })

  it('marks a model reported compromised, which then proves AAL2 only', async () => {
    const mdsRoot = await testCa()
    const w = await world({ trusted: false })
    const [model] = loadMdsBlob(await blob(mdsRoot, w.ca.rootDer, { status: 'ATTESTATION_KEY_COMPROMISE' }), Date.now(), [mdsRoot.rootPem]).models
    assert.equal(model?.compromised, true)
    assert.deepEqual(decideLevel({ fmt: 'packed', aaguid: modelAaguid, x5c: [w.ca.rootDer], backupEligible: false }, new Map([[modelAaguid, model!]]), Date.now()), { level: 2, why: 'metadata reports this model compromised' })
  })

  it('refuses a blob whose signature does not verify', async () => {
    const mdsRoot = await testCa()
    const text = await blob(mdsRoot, mdsRoot.rootDer, { tamper: true })
    assert.throws(() => loadMdsBlob(text, Date.now(), [mdsRoot.rootPem]), new MetadataError("the FIDO metadata BLOB's signature does not verify with its signing certificate"))
  })

  it("refuses a blob signed under another root, and by default requires the FIDO Alliance's", async () => {
    const mdsRoot = await testCa()
    const other = await testCa('CN=Other Root, O=Careid Tests, C=GB')
    const text = await blob(mdsRoot, mdsRoot.rootDer)
    const message = "the FIDO metadata BLOB's signing certificate chain does not reach the FIDO Alliance's root (or a certificate in it has expired)"
    assert.throws(() => loadMdsBlob(text, Date.now(), [other.rootPem]), new MetadataError(message))
    assert.throws(() => loadMdsBlob(text, Date.now()), new MetadataError(message))
    assert.ok(fidoMdsRoots().some((pem) => new X509Certificate(pem).subject.includes('OU=GlobalSign Root CA - R3')))
  })

  it('refuses a blob whose nextUpdate has passed', async () => {
    const mdsRoot = await testCa()
    const today = new Date().toISOString().slice(0, 10)
    const text = await blob(mdsRoot, mdsRoot.rootDer, { nextUpdate: today })
    const tomorrow = Date.parse(`${today}T00:00:00Z`) + day
    assert.throws(() => loadMdsBlob(text, tomorrow, [mdsRoot.rootPem]), new MetadataError(`the FIDO metadata BLOB (no 42) is out of date: its nextUpdate, ${today}, has passed; download a current one from the FIDO Metadata Service`))
    // Until the end of that day it is current.
    assert.equal(loadMdsBlob(text, tomorrow - 1, [mdsRoot.rootPem]).no, 42)
  })

  it('refuses what is not a blob, saying so', () => {
    assert.throws(() => loadMdsBlob('<html>', Date.now(), []), new MetadataError('the FIDO metadata file is not a metadata BLOB (a JWS in compact form: three dot-separated parts)'))
    assert.throws(() => loadMdsBlob('a.b.c', Date.now(), []), new MetadataError("the FIDO metadata BLOB's header is not a JSON object"))
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')
    assert.throws(() => loadMdsBlob(`${header}.e30.`, Date.now(), []), new MetadataError('the FIDO metadata BLOB is signed with "none", not one of ES256, ES384, RS256'))
  })
})
