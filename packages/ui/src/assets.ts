import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { nhsukDist, uiPackageDir } from './render.ts'

/**
 * @simplewebauthn/browser's browser bundle (a UMD script defining `SimpleWebAuthnBrowser`), found
 * from the package's CommonJS entry (`script/index.js`: its package.json is not exported).
 */
const simpleWebAuthnBundle = join(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle')

/**
 * The static files the pages link to, for the HTTP layer to serve: `careid.css` (built from
 * `styles/careid.scss` by `scripts/build_css.js`) at `/assets/`, and nhsuk-frontend's favicons and
 * icons at `/assets/nhsuk/`, and @simplewebauthn/browser's bundle at
 * `/assets/simplewebauthn/index.umd.min.js` for every page that runs a WebAuthn ceremony (loaded
 * as a file under the strict CSP, never inline). Page models' `common.assets` must be `/assets`.
 */
export function assetsDirectories(): Array<{ prefix: string; root: string }> {
  return [
    { prefix: '/assets/nhsuk/', root: join(nhsukDist, 'nhsuk', 'assets') },
    { prefix: '/assets/simplewebauthn/', root: simpleWebAuthnBundle },
    { prefix: '/assets/', root: join(uiPackageDir, 'public') },
  ]
}
