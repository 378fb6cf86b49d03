/**
 * The Helm chart, proven without a cluster:
 * - `helm lint --strict` and `helm template` of every example profile, and every rendered object decoded
 *   strictly against the Kubernetes v1.37 API types (k8s/validate);
 * - values.schema.json refuses wrong values at install time;
 * - the chart's logic: each value changes what it must (autoscaling modes, the partition ceiling, the
 *   grace period, the external registry, monitoring objects), gateways are a StatefulSet named by pod,
 *   and every CHATMESH_* variable the chart sets is a documented one.
 * helm 4.3.2 and the validator are built with Go on first use (tools cache), several minutes cold.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import { allVariables } from '@chatmesh/config';
import { FAN_OUT_GROUP_ID, INBOX_SEQUENCER_GROUP_ID } from '@chatmesh/fan-out';
import { INGEST_GROUP_ID } from '@chatmesh/ingest';
import { CONFIG_SECTIONS } from '@chatmesh/launcher';
import { PRESENCE_GROUP_ID } from '@chatmesh/presence';
import { RECEIPTS_GROUP_ID } from '@chatmesh/receipts';
import { TOPICS } from '@chatmesh/schemas';
import { parse } from 'yaml';

import { CHART_DIR, PROFILES, PROFILES_DIR, RULES_FILE, ensureHelm, ensureValidator } from '../tools.js';
import { find, podSpec, template, type K8sObject, type Rendered } from './helm.js';

let helm: string;
let validator: string;
const rendered = new Map<string, Rendered>();
const CONSUMERS = ['ingest', 'fan-out', 'receipts', 'push', 'presence'] as const;
const DOCUMENTED = new Set(allVariables(CONFIG_SECTIONS).map((variable) => variable.env));
const defaultValues = parse(readFileSync(`${CHART_DIR}/values.yaml`, 'utf8')) as {
  consumers: Record<string, { partitions: number; lagTopics: Array<{ topic: string; group: string }> }>;
};

function profile(name: string): Rendered {
  const result = rendered.get(name);
  assert.ok(result?.ok, `${name} did not render: ${result?.stderr}`);
  return result;
}

describe('Helm chart k8s/chatmesh', { timeout: 1_200_000 }, () => {
  before(async () => {
    helm = await ensureHelm();
    validator = await ensureValidator();
    for (const name of PROFILES) rendered.set(name, template(helm, name));
  });

  for (const name of PROFILES) {
    test(`profile ${name}: helm lint --strict passes`, () => {
      const lint = spawnSync(helm, ['lint', '--strict', CHART_DIR, '-f', `${PROFILES_DIR}/${name}.yaml`], {
        encoding: 'utf8',
      });
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    });

    test(`profile ${name}: every rendered object decodes strictly as Kubernetes v1.37 types`, () => {
      const check = spawnSync(validator, [], { input: profile(name).text, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.match(check.stdout, / 0 failed/);
    });

    test(`profile ${name}: sets only documented CHATMESH_* variables`, () => {
      const names = new Set<string>();
      for (const object of profile(name).objects) {
        if (object.kind === 'ConfigMap' && object.metadata.name.endsWith('-config'))
          for (const key of Object.keys(object.data ?? {})) names.add(key);
        const containers = object.spec?.template?.spec.containers ?? [];
        for (const container of containers) for (const env of container.env ?? []) names.add(env.name);
      }
      const unknown = [...names].filter((variable) => variable.startsWith('CHATMESH_') && !DOCUMENTED.has(variable));
      assert.deepEqual(unknown, []);
    });
  }

  test('the laptop profile is one pod per component, no autoscalers', () => {
    const laptop = profile('laptop');
    assert.equal(laptop.objects.filter((object) => object.kind === 'HorizontalPodAutoscaler').length, 0);
    for (const name of CONSUMERS) assert.equal(find(laptop, 'Deployment', `-${name}`)?.spec?.['replicas'], 1, name);
  });

  test('gateways: a StatefulSet whose pod name is the gateway id, open files and sysctls, drain that fits', () => {
    const large = profile('large-production');
    const gateway = find(large, 'StatefulSet', '-gateway');
    assert.ok(gateway);
    assert.equal(gateway.spec?.['replicas'], 12);
    const spec = podSpec(gateway);
    const container = spec.containers[0]!;
    assert.deepEqual(container.env?.find((env) => env.name === 'CHATMESH_GATEWAY_ID')?.valueFrom, {
      fieldRef: { fieldPath: 'metadata.name' },
    });
    assert.match(container.command?.join(' ') ?? '', /ulimit -n 1048576 && exec node .*chatmesh\.mjs delivery-gateway/);
    const sysctls = Object.fromEntries((spec.securityContext?.sysctls ?? []).map((s) => [s.name, s.value]));
    assert.equal(sysctls['net.core.somaxconn'], '32768');
    // 30 s shutdown timeout + 10 s preStop sleep: the kubelet must not kill a draining gateway.
    assert.ok((spec.terminationGracePeriodSeconds ?? 0) > 30 + 10, `grace ${spec.terminationGracePeriodSeconds}`);
    assert.equal(container.lifecycle?.preStop?.sleep?.seconds, 10);
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(container.livenessProbe?.httpGet?.path, '/health');
    assert.equal(container.securityContext?.['readOnlyRootFilesystem'], true);
    assert.equal(spec.securityContext?.runAsNonRoot, true);
    assert.ok(find(large, 'PodDisruptionBudget', '-gateway'));
  });

  test('the default grace period follows the shutdown timeout, and a too short one is refused', () => {
    const longer = template(helm, 'small-production', ['shutdownTimeoutMs=45000']);
    assert.ok(longer.ok, longer.stderr);
    assert.equal(podSpec(find(longer, 'StatefulSet', '-gateway')).terminationGracePeriodSeconds, 45 + 5 + 10);
    assert.equal(podSpec(find(longer, 'Deployment', '-ingest')).terminationGracePeriodSeconds, 45 + 10);
    const short = template(helm, 'small-production', ['gateway.terminationGracePeriodSeconds=12']);
    assert.equal(short.ok, false);
    assert.match(short.stderr, /terminationGracePeriodSeconds 12 is shorter than/);
  });

  test('the WebSocket Service has no session affinity and no ops port; ops has its own Service', () => {
    const small = profile('small-production');
    const ws = find(small, 'Service', '-gateway');
    assert.equal(ws?.spec?.['sessionAffinity'], 'None');
    assert.equal(ws?.spec?.['type'], 'LoadBalancer');
    assert.deepEqual(
      (ws?.spec?.['ports'] as Array<{ name: string }>).map((port) => port.name),
      ['ws'],
    );
    const ops = find(small, 'Service', '-gateway-ops');
    assert.deepEqual(
      (ops?.spec?.['ports'] as Array<{ name: string }>).map((port) => port.name),
      ['ops'],
    );
  });

  test('consumers: CPU autoscaling by default, KEDA on lag as an option, never past the partitions', () => {
    const small = profile('small-production');
    const hpas = small.objects
      .filter((object) => object.kind === 'HorizontalPodAutoscaler')
      .map((o) => o.metadata.name);
    assert.deepEqual(hpas.sort(), ['chatmesh-fan-out', 'chatmesh-ingest', 'chatmesh-presence', 'chatmesh-receipts']);
    // An autoscaled Deployment leaves replicas to its autoscaler (an upgrade must not reset them).
    assert.equal(find(small, 'Deployment', '-ingest')?.spec?.['replicas'], undefined);

    const large = profile('large-production');
    assert.equal(large.objects.filter((object) => object.kind === 'HorizontalPodAutoscaler').length, 0);
    const scaled = find(large, 'ScaledObject', '-fan-out') as K8sObject & {
      spec: { maxReplicaCount: number; triggers: Array<{ metadata: Record<string, string> }> };
    };
    assert.equal(scaled.spec.maxReplicaCount, 12);
    assert.deepEqual(
      scaled.spec.triggers.map((trigger) => [trigger.metadata['topic'], trigger.metadata['consumerGroup']]),
      [
        ['prod.chat.events', `prod.${FAN_OUT_GROUP_ID}`],
        ['prod.user.inbox', `prod.${INBOX_SEQUENCER_GROUP_ID}`],
      ],
    );

    const tooMany = template(helm, 'small-production', ['consumers.receipts.autoscaling.maxReplicas=7']);
    assert.equal(tooMany.ok, false);
    assert.match(tooMany.stderr, /consumers\.receipts\.autoscaling\.maxReplicas 7 exceeds its partitions \(6\)/);
  });

  test("the chart's partitions and lag groups are the topic table's and the services' own", () => {
    const expected: Record<string, { partitions: number; lag: Array<[string, string]> }> = {
      ingest: { partitions: TOPICS.chatCommands.partitions, lag: [[TOPICS.chatCommands.name, INGEST_GROUP_ID]] },
      'fan-out': {
        partitions: TOPICS.chatEvents.partitions,
        lag: [
          [TOPICS.chatEvents.name, FAN_OUT_GROUP_ID],
          [TOPICS.userInbox.name, INBOX_SEQUENCER_GROUP_ID],
        ],
      },
      receipts: { partitions: TOPICS.receipts.partitions, lag: [[TOPICS.receipts.name, RECEIPTS_GROUP_ID]] },
      push: { partitions: TOPICS.pushRequests.partitions, lag: [] },
      presence: {
        partitions: TOPICS.presenceEvents.partitions,
        lag: [[TOPICS.presenceEvents.name, PRESENCE_GROUP_ID]],
      },
    };
    assert.equal(TOPICS.userInbox.partitions, TOPICS.chatEvents.partitions);
    for (const [name, want] of Object.entries(expected)) {
      const values = defaultValues.consumers[name]!;
      assert.equal(values.partitions, want.partitions, name);
      assert.deepEqual(
        values.lagTopics.map((lag) => [lag.topic, lag.group]),
        want.lag,
        name,
      );
    }
  });

  test('an external schema registry replaces the deployed one', () => {
    const large = profile('large-production');
    assert.equal(find(large, 'Deployment', '-schema-registry'), undefined);
    assert.equal(
      find(large, 'ConfigMap', '-config')?.data?.['SCHEMA_REGISTRY_URL'],
      'http://schema-registry.kafka:8081',
    );
    const small = profile('small-production');
    assert.ok(find(small, 'Deployment', '-schema-registry'));
    assert.equal(
      find(small, 'ConfigMap', '-config')?.data?.['SCHEMA_REGISTRY_URL'],
      'http://chatmesh-schema-registry:8081',
    );
    const missing = template(helm, 'large-production', ['schemaRegistry.url=']);
    assert.equal(missing.ok, false);
    assert.match(missing.stderr, /schemaRegistry\.url is required/);
  });

  test('secrets: the JWKS URL and Redis URL come from Secrets, push credentials are mounted', () => {
    const small = profile('small-production');
    const gateway = podSpec(find(small, 'StatefulSet', '-gateway')).containers[0]!;
    assert.deepEqual(gateway.env?.find((env) => env.name === 'CHATMESH_AUTH_JWKS_URL')?.valueFrom, {
      secretKeyRef: { name: 'chatmesh-auth', key: 'jwks-url' },
    });
    const push = podSpec(find(small, 'Deployment', '-push'));
    assert.ok(JSON.stringify(push).includes('/var/run/secrets/chatmesh/push'));
    const laptop = profile('laptop');
    const secret = find(laptop, 'Secret', '-secrets') as K8sObject & { stringData: Record<string, string> };
    assert.deepEqual(Object.keys(secret.stringData).sort(), [
      'jwks-url',
      'redis-url',
      's3-access-key-id',
      's3-secret-access-key',
    ]);
    const noJwks = template(helm, 'laptop', ['auth.jwksUrl=']);
    assert.equal(noJwks.ok, false);
    assert.match(noJwks.stderr, /auth\.jwksUrl or auth\.existingSecret is required/);
  });

  test('attachments: an S3 store for every pod that touches it, its keys from a Secret, only where needed', () => {
    const small = profile('small-production');
    const config = find(small, 'ConfigMap', '-config')?.data ?? {};
    assert.equal(config['CHATMESH_ATTACHMENT_STORE'], 's3');
    assert.equal(config['S3_REGION'], 'eu-west-1');
    assert.equal(config['S3_BUCKET'], 'example-chatmesh-attachments');
    assert.equal(config['S3_CREATE_BUCKET'], 'false');
    assert.equal(config['S3_ENDPOINT'], undefined, 'no endpoint: AWS S3 of the region');
    const keyRef = (spec: ReturnType<typeof podSpec>) =>
      spec.containers[0]!.env?.find((env) => env.name === 'S3_SECRET_ACCESS_KEY')?.valueFrom;
    // The gateways presign, ingest checks references; nobody else holds the keys.
    assert.deepEqual(keyRef(podSpec(find(small, 'StatefulSet', '-gateway'))), {
      secretKeyRef: { name: 'chatmesh-s3', key: 's3-secret-access-key' },
    });
    assert.deepEqual(keyRef(podSpec(find(small, 'Deployment', '-ingest'))), {
      secretKeyRef: { name: 'chatmesh-s3', key: 's3-secret-access-key' },
    });
    for (const name of ['fan-out', 'receipts', 'push', 'presence'] as const)
      assert.equal(keyRef(podSpec(find(small, 'Deployment', `-${name}`))), undefined, name);
    const laptop = profile('laptop');
    assert.equal(find(laptop, 'ConfigMap', '-config')?.data?.['S3_ENDPOINT'], 'http://localhost:9000');
    assert.deepEqual(keyRef(podSpec(find(laptop, 'StatefulSet', '-gateway'))), {
      secretKeyRef: { name: 'chatmesh-secrets', key: 's3-secret-access-key' },
    });
    const noKeys = template(helm, 'laptop', ['attachments.s3.secretAccessKey=']);
    assert.equal(noKeys.ok, false);
    assert.match(noKeys.stderr, /attachments\.s3\.accessKeyId and secretAccessKey, or attachments\.s3\.existingSecret/);
  });

  test('migrations run as a pre-install/pre-upgrade hook Job, and can be turned off', () => {
    const job = find(profile('small-production'), 'Job', '-migrate-1');
    assert.equal(job?.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.deepEqual(podSpec(job).containers[0]!.args, ['migrate']);
    const off = template(helm, 'small-production', ['migrations.enabled=false']);
    assert.equal(off.objects.filter((object) => object.kind === 'Job').length, 0);
  });

  test('monitoring: ServiceMonitor, the PrometheusRule from the rules file, one dashboard ConfigMap each', () => {
    const small = profile('small-production');
    assert.ok(find(small, 'ServiceMonitor', 'chatmesh'));
    const rule = find(small, 'PrometheusRule', 'chatmesh');
    assert.deepEqual(rule?.spec, parse(readFileSync(RULES_FILE, 'utf8')));
    const dashboards = small.objects.filter((object) => object.metadata.labels?.['grafana_dashboard'] === '1');
    assert.ok(dashboards.length >= 4, `${dashboards.length} dashboards`);
    const laptop = profile('laptop');
    assert.equal(laptop.objects.filter((object) => object.apiVersion.startsWith('monitoring.coreos.com')).length, 0);
  });

  test('values.schema.json refuses wrong values at install time', () => {
    const wrong = template(helm, 'laptop', [
      'logLevel=loud',
      'gateway.replicas=-1',
      'consumers.ingest.autoscaling.mode=memory',
      'kafka.brokers[0]=no-port',
      'config.NOT_CHATMESH=1',
      'attachments.s3.bucket=Not_A_Bucket',
    ]);
    assert.equal(wrong.ok, false);
    for (const pattern of [
      /logLevel/,
      /gateway\/replicas/,
      /autoscaling\/mode/,
      /kafka\/brokers/,
      /NOT_CHATMESH/,
      /attachments\/s3\/bucket/,
    ])
      assert.match(wrong.stderr, pattern);
  });
});
