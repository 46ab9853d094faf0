/** Child of `npm run bench:backends`: measures the backend its conditions select, prints JSON. */
import { measure } from './bench-entry.ts'

const budgetMs = Number(process.argv[2])
process.stdout.write(JSON.stringify(await measure(budgetMs)))
