// muxrpc calls Buffer as a global; a page has none, so the polyfill becomes one.
import { Buffer } from 'buffer'

(globalThis as { Buffer?: unknown }).Buffer ??= Buffer
