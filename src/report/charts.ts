/**
 * The report's plots: Vega-Lite specs compiled and rendered to SVG in Node (vega's headless
 * renderer, no canvas), so that the report holds them inline and opens offline.
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** One row of a plot's data. */
export type Row = Record<string, string | number | null>;

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { font: 'sans-serif', labelFont: 'sans-serif', titleFont: 'sans-serif' };
const LEGEND = { ...FONT, labelLimit: 320 };

/** Lines of `value` against `x`, one per `series` (the loss curves per term). */
export function lineChart(rows: readonly Row[], o: { x: string; xTitle: string; yTitle: string; title: string; logY?: boolean }): vegaLite.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: 520,
    height: 260,
    config: { axis: FONT, legend: LEGEND, title: { font: 'sans-serif' } },
    data: { values: rows.filter((r) => typeof r.value === 'number' && Number.isFinite(r.value)) as Row[] },
    mark: { type: 'line', point: rows.length <= 400 },
    encoding: {
      x: { field: o.x, type: 'quantitative', title: o.xTitle },
      y: { field: 'value', type: 'quantitative', title: o.yTitle, scale: o.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** Grouped bars: a bar per (class, metric). */
export function classBars(rows: readonly Row[], o: { title: string; yTitle: string; domain?: [number, number] }): vegaLite.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: { step: 14 },
    height: 240,
    config: { axis: FONT, legend: LEGEND, title: { font: 'sans-serif' } },
    data: { values: rows.filter((r) => typeof r.value === 'number' && Number.isFinite(r.value)) as Row[] },
    mark: 'bar',
    encoding: {
      x: { field: 'class', type: 'nominal', sort: null, title: null, axis: { labelAngle: -40 } },
      xOffset: { field: 'metric', type: 'nominal' },
      y: { field: 'value', type: 'quantitative', title: o.yTitle, ...(o.domain ? { scale: { domain: o.domain } } : {}) },
      color: { field: 'metric', type: 'nominal', title: null },
    },
  };
}
