/**
 * The figures of one k6 run, read from the summary its scenario scripts write (`handleSummary`, the
 * `data` object of k6: `metrics.<name>.values` and `.thresholds`).
 */

export interface TrendFigures {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface K6Figures {
  readonly sent: number;
  readonly resent: number;
  /** Distinct sends the server acked (each has exactly one recipient device: the peer). */
  readonly acked: number;
  readonly rejected: number;
  /** Distinct messages received by their peer. */
  readonly delivered: number;
  /** Acked but never received: must be 0. */
  readonly lost: number;
  readonly duplicates: number;
  readonly echoes: number;
  readonly errorFrames: number;
  readonly unexpectedCloses: number;
  readonly connectFailures: number;
  readonly errorRate: number;
  readonly delivery: TrendFigures | null;
  readonly replayDelivery: TrendFigures | null;
  readonly sendAck: TrendFigures | null;
  readonly connectHello: TrendFigures | null;
  readonly connectSyncDone: TrendFigures | null;
  readonly reconnectHello: TrendFigures | null;
  readonly reconnectSyncDone: TrendFigures | null;
  /** Every threshold expression by metric, and whether it held. */
  readonly thresholds: ReadonlyArray<{ metric: string; expression: string; ok: boolean }>;
  readonly thresholdsOk: boolean;
}

interface SummaryMetric {
  readonly values?: Readonly<Record<string, number>>;
  readonly thresholds?: Readonly<Record<string, { ok: boolean }>>;
}

/** The subset of k6's summary data these figures use. */
export interface K6Summary {
  readonly metrics: Readonly<Record<string, SummaryMetric>>;
}

function countOf(summary: K6Summary, name: string): number {
  return summary.metrics[name]?.values?.['count'] ?? 0;
}

function trendOf(summary: K6Summary, name: string): TrendFigures | null {
  const values = summary.metrics[name]?.values;
  if (values === undefined || !(values['count'] ?? 0)) return null;
  const round = (value: number | undefined): number => Math.round((value ?? Number.NaN) * 10) / 10;
  return {
    count: values['count'] ?? 0,
    p50: round(values['med']),
    p95: round(values['p(95)']),
    p99: round(values['p(99)']),
    max: round(values['max']),
  };
}

export function figuresOf(summary: K6Summary): K6Figures {
  const acked = countOf(summary, 'chat_acked');
  const delivered = countOf(summary, 'chat_delivered');
  const thresholds = Object.entries(summary.metrics).flatMap(([metric, m]) =>
    Object.entries(m.thresholds ?? {}).map(([expression, t]) => ({ metric, expression, ok: t.ok })),
  );
  return {
    sent: countOf(summary, 'chat_sent'),
    resent: countOf(summary, 'chat_resent'),
    acked,
    rejected: countOf(summary, 'chat_rejected'),
    delivered,
    lost: Math.max(0, acked - delivered),
    duplicates: countOf(summary, 'chat_duplicates'),
    echoes: countOf(summary, 'chat_echoes'),
    errorFrames: countOf(summary, 'chat_error_frames'),
    unexpectedCloses: countOf(summary, 'chat_unexpected_closes'),
    connectFailures: countOf(summary, 'chat_connect_failures'),
    errorRate: summary.metrics['chat_errors']?.values?.['rate'] ?? 0,
    delivery: trendOf(summary, 'chat_delivery_ms'),
    replayDelivery: trendOf(summary, 'chat_replay_delivery_ms'),
    sendAck: trendOf(summary, 'chat_send_ack_ms'),
    connectHello: trendOf(summary, 'chat_connect_hello_ms'),
    connectSyncDone: trendOf(summary, 'chat_connect_syncdone_ms'),
    reconnectHello: trendOf(summary, 'chat_reconnect_hello_ms'),
    reconnectSyncDone: trendOf(summary, 'chat_reconnect_syncdone_ms'),
    thresholds,
    thresholdsOk: thresholds.every((t) => t.ok),
  };
}

/** `p50 / p95 / p99 / max ms (n)`, or `—`. */
export function formatTrend(trend: TrendFigures | null): string {
  if (trend === null) return '—';
  return `${trend.p50} / ${trend.p95} / ${trend.p99} / ${trend.max} ms (n ${trend.count})`;
}
