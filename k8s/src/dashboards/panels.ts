/**
 * Small helpers over @grafana/grafana-foundation-sdk so each dashboard reads as a list of questions
 * and the PromQL that answers them. Every query goes through {@link query}, which is how the tests
 * find them all (and ask a real Prometheus each one).
 */
import { DashboardBuilder, DatasourceVariableBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel asks the Prometheus the dashboard's `datasource` variable points at. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

export interface Query {
  expr: string;
  legend?: string;
}

function query(q: Query, index: number): DataqueryBuilder {
  return new DataqueryBuilder()
    .expr(q.expr)
    .legendFormat(q.legend ?? '__auto')
    .refId(String.fromCharCode(65 + index));
}

/** A time series panel, full width unless `span` (of 24) says otherwise. */
export function timeseries(
  title: string,
  unit: string,
  queries: Query[],
  options: { span?: number; description?: string } = {},
): TimeseriesBuilder {
  const panel = new TimeseriesBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCE)
    .span(options.span ?? 12)
    .height(8)
    .fillOpacity(10);
  if (options.description !== undefined) panel.description(options.description);
  queries.forEach((q, index) => panel.withTarget(query(q, index)));
  return panel;
}

/** A single number (the latest value of one query). */
export function stat(
  title: string,
  unit: string,
  q: Query,
  options: { span?: number; description?: string } = {},
): StatBuilder {
  const panel = new StatBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCE)
    .span(options.span ?? 6)
    .height(4)
    .withTarget(query({ ...q, legend: q.legend ?? title }, 0));
  if (options.description !== undefined) panel.description(options.description);
  return panel;
}

export function row(title: string): RowBuilder {
  return new RowBuilder(title);
}

/** A dashboard with the chatmesh tag, a Prometheus datasource picker and a 1 h window. */
export function dashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['chatmesh'])
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'));
}
