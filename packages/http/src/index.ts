export { buildServer, type ServerOptions } from './server.ts'
export { createMetrics, type Metrics } from './metrics.ts'
export { createPageRenderer, type PageModel, type PageRenderer } from './pages.ts'
export { contentSecurityPolicy } from './security_headers.ts'
