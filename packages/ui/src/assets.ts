import { join } from 'node:path'
import { nhsukDist, uiPackageDir } from './render.ts'

/**
 * The static files the pages link to, for the HTTP layer to serve: `careid.css` (built from
 * `styles/careid.scss` by `scripts/build_css.js`) at `/assets/`, and nhsuk-frontend's favicons and
 * icons at `/assets/nhsuk/`. Page models' `common.assets` must be `/assets` to match.
 */
export function assetsDirectories(): Array<{ prefix: string; root: string }> {
  return [
    { prefix: '/assets/nhsuk/', root: join(nhsukDist, 'nhsuk', 'assets') },
    { prefix: '/assets/', root: join(uiPackageDir, 'public') },
  ]
}
