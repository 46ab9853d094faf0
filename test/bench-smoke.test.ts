/**
 * `npm run bench` still runs: the throughput, size and handshake modules at a tiny size, once,
 * and the report and plot come out complete. No timing is asserted: that is the bench's job,
 * not the tests'. (The memory module, which needs many fresh processes, only runs in the bench:
 * `npm run bench -- --quick --only memory`.)
 */
import assert from 'node:assert/strict'
import { parseConfig } from '../scripts/bench/config.ts'
import { measureTcpHandshakes } from '../scripts/bench/handshake-tcp.ts'
import { measureHandshakes } from '../scripts/bench/handshake.ts'
import { Results } from '../scripts/bench/model.ts'
import { Progress } from '../scripts/bench/progress.ts'
import { evaluateGoals, formatReport, runInfo } from '../scripts/bench/report.ts'
import { measureSizes } from '../scripts/bench/sizes.ts'
import { renderSvg } from '../scripts/bench/svg.ts'
import { measureThroughput } from '../scripts/bench/throughput.ts'

/** Keeps the bench's progress lines out of the test output. */
class QuietProgress extends Progress {
  override log (): void {}
}

describe('bench (smoke)', function () {
  this.timeout(60_000)

  it('runs the modules at a tiny size and reports every metric', async () => {
    const config = parseConfig(['--quick', '--mib', '1', '--runs', '1'])
    const results = new Results()
    const progress = new QuietProgress()
    await measureThroughput(config, results, progress)
    await measureSizes(config, results, progress)
    await measureHandshakes({ ...config, inMemoryHandshakes: 3 }, results, progress)
    await measureTcpHandshakes({ ...config, sequentialHandshakes: 3, loadWindowMs: 100, loadWarmupMs: 50 }, results, progress)

    for (const metric of results.metrics.values()) {
      assert.ok(Number.isFinite(metric.summary.median), `${metric.id} has no value`)
    }
    const goals = evaluateGoals(results)
    const unmeasured = goals.filter((goal) => goal.ratio === undefined).map((goal) => goal.numerator)
    assert.deepEqual(unmeasured.filter((id) => !id.startsWith('libp2p.') && !id.startsWith('memory.')), [])
    const table = formatReport(results, config, runInfo(0, 0), goals)
    assert.match(table, /one-thread floor/)
    assert.match(renderSvg(results, 'smoke'), /<polyline/)
  })
})
