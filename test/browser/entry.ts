/** The browser test bundle: the shared checks, run on whatever backend the bundle was built with. */
export { runSharedChecks } from '../helpers/shared-checks.ts'
