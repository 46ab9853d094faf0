// The reference netcat-like client for `shs conformance client --cmd`.
import { runClient } from './reference.ts'

runClient()
