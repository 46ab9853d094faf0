// The reference echo server for `shs conformance server --cmd`.
import { runServer } from './reference.ts'

runServer()
