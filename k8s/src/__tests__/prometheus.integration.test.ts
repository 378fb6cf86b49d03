/**
 * The rules and dashboards against a real Prometheus (Debian's 2.42, installed on first use):
 * - `promtool check rules` on the rules file and on every dashboard query (each wrapped in a rule);
 * - `promtool test rules`: the unit tests in k8s/prometheus-tests/;
 * - a Prometheus scraping a running embedded chatmesh (`npm start`'s launcher, its ops server's
 *   /metrics) while the SDK drives traffic through it, evaluating the rules file: every recording rule
 *   and every dashboard query must answer with at least one sample that is a number.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { parse, stringify } from 'yaml';

import { dashboardQueries } from '../dashboards/index.js';
import { RULE_TESTS_DIR, RULES_FILE, ensurePrometheus } from '../tools.js';
import { driveTraffic, freePort, startEmbedded, type EmbeddedSystem } from './embedded-system.js';

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ record?: string; alert?: string; expr: string }> }>;
}
const rules = parse((await import('node:fs')).readFileSync(RULES_FILE, 'utf8')) as RuleFile;
const recordingRules = rules.groups.flatMap((group) =>
  group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
);

let promtool: string;
let prometheusBinary: string;
const workDir = mkdtempSync(join(tmpdir(), 'chatmesh-prometheus-'));

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Prometheus rules and dashboards', { timeout: 600_000 }, () => {
  before(async () => {
    ({ promtool, prometheus: prometheusBinary } = await ensurePrometheus());
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  test('promtool check rules accepts the rules file', () => {
    const { status, output } = run(promtool, ['check', 'rules', RULES_FILE]);
    assert.equal(status, 0, output);
  });

  test('promtool test rules: every alert fires on its situation and not on a healthy one', () => {
    const { status, output } = run(promtool, ['test', 'rules', join(RULE_TESTS_DIR, 'chatmesh.rules.test.yaml')]);
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS/);
  });

  test('every dashboard query is valid PromQL', () => {
    const file = join(workDir, 'dashboard-queries.rules.yaml');
    const queries = dashboardQueries();
    writeFileSync(
      file,
      stringify({
        groups: [
          {
            name: 'dashboards',
            rules: queries.map((q, index) => ({ record: `chatmesh_dashboard_query_${index}`, expr: q.expr })),
          },
        ],
      }),
    );
    const { status, output } = run(promtool, ['check', 'rules', file]);
    assert.equal(status, 0, output);
  });

  describe('a real Prometheus scraping an embedded chatmesh', () => {
    let system: EmbeddedSystem;
    let server: ChildProcess | undefined;
    let serverOutput = '';
    let apiUrl: string;

    async function instant(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
      const response = await fetch(`${apiUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: unknown };
      };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
      const result = body.data?.result;
      if (body.data?.resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
      return result as Array<{ metric: Record<string, string>; value: [number, string] }>;
    }

    /** A sample that is a number (histogram quantiles of nothing are NaN). */
    const answers = async (expr: string): Promise<boolean> =>
      (await instant(expr)).some((sample) => !Number.isNaN(Number(sample.value[1])));

    before(async () => {
      system = await startEmbedded();
      const port = await freePort();
      apiUrl = `http://127.0.0.1:${port}`;
      const target = system.opsUrl.replace('http://', '');
      const config = join(workDir, 'prometheus.yml');
      writeFileSync(
        config,
        stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          rule_files: [RULES_FILE],
          scrape_configs: [{ job_name: 'chatmesh-embedded', static_configs: [{ targets: [target] }] }],
        }),
      );
      server = spawn(
        prometheusBinary,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(workDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const keep = (chunk: Buffer): void => {
        serverOutput = (serverOutput + chunk.toString()).slice(-10_000);
      };
      server.stdout?.on('data', keep);
      server.stderr?.on('data', keep);
      // Scraping before the traffic, so that the counters move inside the rate windows.
      const deadline = Date.now() + 60_000;
      while (!(await answers('up{job="chatmesh-embedded"} == 1').catch(() => false))) {
        if (server.exitCode !== null) throw new Error(`prometheus exited:\n${serverOutput}`);
        if (Date.now() > deadline) throw new Error(`prometheus never scraped ${target}:\n${serverOutput}`);
        await sleep(250);
      }
      // Labelled series appear at their first observation, so a rate needs them scraped once before they
      // move: a first round creates them, the second moves them inside the windows.
      await driveTraffic(system.gatewayUrl, 3);
      await sleep(3_000);
      await driveTraffic(system.gatewayUrl, 20);
      await sleep(2_000);
    });

    after(async () => {
      server?.kill('SIGTERM');
      await system?.stop();
    });

    test('every recording rule answers', async () => {
      let missing: string[] = recordingRules;
      const deadline = Date.now() + 60_000;
      while (missing.length > 0 && Date.now() < deadline) {
        const checked = await Promise.all(missing.map(async (name) => ((await answers(name)) ? undefined : name)));
        missing = checked.filter((name): name is string => name !== undefined);
        if (missing.length > 0) await sleep(1_000);
      }
      assert.deepEqual(missing, [], `recording rules without a numeric answer after traffic:\n${serverOutput}`);
      assert.ok(recordingRules.length >= 20);
    });

    test('every dashboard query answers', async () => {
      const silent: string[] = [];
      for (const q of dashboardQueries()) {
        if (!(await answers(q.expr))) silent.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
      }
      assert.deepEqual(silent, []);
    });

    test('no alert is firing or pending on a healthy system', async () => {
      const firing = await instant('ALERTS');
      assert.deepEqual(
        firing.map((sample) => sample.metric['alertname']),
        [],
      );
    });
  });
});
