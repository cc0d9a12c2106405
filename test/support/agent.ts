/**
 * `careid agent start` as a child process, driven through its stdin the way a person types at its
 * terminal prompts (no TTY: the agent reads the same prompts line by line).
 */
import { spawn } from 'node:child_process'
import { careidBin, cliEnv, repoRoot } from './cli.ts'

export interface AgentProcess {
  stdout(): string
  /** Resolves once `text` has appeared `count` times on stdout (rejects after `ms`, with what was printed). */
  waitFor(text: string, count?: number, ms?: number): Promise<void>
  /** Types a line at the agent's prompt. */
  type(line: string): void
  stop(): Promise<void>
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1
}

export function startAgentProcess(args: string[], env: Record<string, string> = {}): AgentProcess {
  const child = spawn(process.execPath, [careidBin, 'agent', 'start', ...args], { cwd: repoRoot, env: cliEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const listeners = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    for (const listener of listeners) listener()
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    stdout: () => stdout,
    waitFor(text, count = 1, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (occurrences(stdout, text) < count) return
          listeners.delete(check)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`the agent did not print "${text}" (${count}x)\nstdout:\n${stdout}\nstderr:\n${stderr}`))
        }, ms)
        listeners.add(check)
        check()
      })
    },
    type(line) {
      child.stdin.write(`${line}\n`)
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}
