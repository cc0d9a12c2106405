#!/usr/bin/env node
// The `careid` command. Careid is written in TypeScript and runs through tsx's loader, so there is
// no build step between a checkout and a running server.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
