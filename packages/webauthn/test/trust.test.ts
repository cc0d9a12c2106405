import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { describe, it } from 'node:test'
import { chromiumVirtualAuthenticatorAaguid, decideLevel, testAuthenticatorModels } from '../src/index.ts'

/** An attestation certificate as a Chromium virtual authenticator (ctap2, usb) gave it, measured. */
const chromiumBatchCertificate = `-----BEGIN CERTIFICATE-----
MIIB1DCCAXqgAwIBAgIBATAKBggqhkjOPQQDAjBgMQswCQYDVQQGEwJVUzERMA8G
A1UECgwIQ2hyb21pdW0xIjAgBgNVBAsMGUF1dGhlbnRpY2F0b3IgQXR0ZXN0YXRp
b24xGjAYBgNVBAMMEUJhdGNoIENlcnRpZmljYXRlMB4XDTE3MDcxNDAyNDAwMFoX
DTQ2MTIwMTEzNTU1NFowYDELMAkGA1UEBhMCVVMxETAPBgNVBAoMCENocm9taXVt
MSIwIAYDVQQLDBlBdXRoZW50aWNhdG9yIEF0dGVzdGF0aW9uMRowGAYDVQQDDBFC
YXRjaCBDZXJ0aWZpY2F0ZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI1hfmXJ
UI5kvMVnOsgqZ5naPBRGaCwljEY//99Y39L6Pmw3i1PXlcSk3/tBme3Xhi8jq68C
A7S4kRugVpmU4QGjJTAjMAwGA1UdEwEB/wQCMAAwEwYLKwYBBAGC5RwCAQEEBAMC
BSAwCgYIKoZIzj0EAwIDSAAwRQIgLw44BZnIiHys7Zvt8DtPYheC65DVtG6qdDlx
a9PkXykCIQDpA2GxqZ49Apmc7cE2TwS8lBTukmKaQ1iTJ1h/Xn4IQg==
-----END CERTIFICATE-----`

describe("the test authenticators' metadata", () => {
  const der = Buffer.from(new X509Certificate(chromiumBatchCertificate).raw)
  const facts = { fmt: 'packed', aaguid: chromiumVirtualAuthenticatorAaguid, x5c: [der], backupEligible: false }
  const now = Date.parse('2026-12-06T12:00:00Z')

  it("anchors Chromium's virtual authenticators' attestation: AAL3 when trusted", () => {
    const trust = new Map(testAuthenticatorModels().map((m) => [m.aaguid, m]))
    assert.deepEqual(decideLevel(facts, trust, now), { level: 3, model: "Chromium's virtual authenticator (test only: its attestation key is public)" })
    assert.deepEqual(decideLevel({ ...facts, backupEligible: true }, trust, now), { level: 2, why: 'backup eligible' })
  })

  it('gives AAL2 only when they are not trusted', () => {
    assert.deepEqual(decideLevel(facts, new Map(), now), { level: 2, why: 'no metadata for this AAGUID' })
  })

  it('does not anchor a certificate past its validity', () => {
    const trust = new Map(testAuthenticatorModels().map((m) => [m.aaguid, m]))
    assert.deepEqual(decideLevel(facts, trust, Date.parse('2047-01-01T00:00:00Z')), { level: 2, why: "attestation does not chain to the model's roots" })
  })
})
