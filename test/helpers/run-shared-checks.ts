/** Child process: runs the shared checks on the backend its conditions select, prints the report as JSON. */
import { runSharedChecks } from './shared-checks.ts'

process.stdout.write(JSON.stringify(runSharedChecks()))
