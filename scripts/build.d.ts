// Types of scripts/build.js, for the benchmark that compiles its servers with it and its test.
export declare const distDir: string
export declare const entryFile: string
export declare function bundle(entryPoints: Record<string, string>, outdir: string): Promise<void>
export declare function isStale(dir?: string): boolean
export declare function buildCareid(): Promise<void>
