/**
 * Runs code in headless Chromium, for the browser tests and `npm run bench:backends`: esbuild
 * bundles an entry module for the browser (the `browser` condition picks the portable crypto
 * backend, as it does for any bundler), and puppeteer-core drives the Chromium that the npm
 * package @sparticuz/chromium carries (no system browser, no download at run time, no root).
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'
import chromium from '@sparticuz/chromium'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** esbuild targets what the project's own code needs (private fields, `??=`). */
const TARGET = 'es2022'

export interface BundleOptions {
  minify?: boolean
  /** Module to load for `#crypto-backend` instead of the one the `browser` condition picks (for the candidate comparison). */
  backendModule?: string
  /** Extra import aliases, module → file. */
  alias?: Record<string, string>
  /** The global the IIFE assigns the entry's exports to. */
  globalName?: string
  /** Resolve `#crypto-backend` to src/ (the default, for tests and benches) or, with false, to dist/ as an installed package does. */
  source?: boolean
  /** With false, ignore tsconfig.json (its `paths` map the package name to src/): resolve the package name through package.json `exports`, as an app does. */
  tsconfig?: boolean
}

export interface Bundle {
  code: string
  bytes: number
  gzippedBytes: number
}

/** One self-contained browser script (IIFE) from `entry`, built in memory. */
export async function bundle (entry: string, options: BundleOptions = {}): Promise<Bundle> {
  const plugins: esbuild.Plugin[] = []
  const backendModule = options.backendModule
  if (backendModule !== undefined) {
    plugins.push({
      name: 'crypto-backend',
      setup (build) {
        build.onResolve({ filter: /^#crypto-backend$/ }, () => ({ path: path.resolve(ROOT, backendModule) }))
      }
    })
  }
  const result = await esbuild.build({
    entryPoints: [path.resolve(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    globalName: options.globalName ?? 'shsBundle',
    target: TARGET,
    // `shs-source` maps `#crypto-backend` to src/ rather than dist/; `browser` is implied by the platform.
    conditions: options.source === false ? [] : ['shs-source'],
    minify: options.minify === true,
    legalComments: 'none',
    logLevel: 'silent',
    alias: options.alias ?? {},
    ...(options.tsconfig === false ? { tsconfigRaw: '{}' } : {}),
    plugins
  })
  const output = result.outputFiles[0]
  if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`)
  return { code: output.text, bytes: output.contents.byteLength, gzippedBytes: gzipSync(output.contents, { level: 9 }).byteLength }
}

const HOW_TO_FIX = 'The browser tests use the headless Chromium inside the npm package @sparticuz/chromium ' +
  '(a dev dependency; it unpacks itself to the system temp folder on first use). Run `npm install` in the ' +
  'project (or `npm ci`), check that node_modules/@sparticuz/chromium/bin holds chromium.br, that the temp ' +
  'folder has about 300 MB free and allows executing files, and that this is x86-64 or arm64 Linux.'

/** Starts headless Chromium (with extra command-line switches if given); when it cannot, the error says why and how to fix it. */
export async function launchChromium (extraArgs: string[] = []): Promise<Browser> {
  let executablePath: string
  try {
    executablePath = await chromium.executablePath()
  } catch (err) {
    throw new Error(`headless Chromium could not be unpacked: ${String(err)}. ${HOW_TO_FIX}`, { cause: err })
  }
  try {
    return await puppeteer.launch({ executablePath, args: [...chromium.args, ...extraArgs], headless: true })
  } catch (err) {
    throw new Error(`headless Chromium (${executablePath}) could not start: ${String(err)}. ${HOW_TO_FIX}`, { cause: err })
  }
}

/** A blank page with `bundle` loaded; page errors are collected so a test can report them. */
export async function pageWith (browser: Browser, code: string): Promise<{ page: Page, errors: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => { errors.push(String(err)) })
  await page.goto('about:blank')
  await page.addScriptTag({ content: code })
  return { page, errors }
}
