/** A small hand-built SVG line chart: linear axes from 0, one polyline with dots per series. */
export interface Series {
  name: string;
  color: string;
  points: [x: number, y: number][];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  formatX?: (x: number) => string;
}

const W = 640;
const H = 400;
const PAD = { left: 70, right: 170, top: 40, bottom: 55 };

/** A round step giving about five ticks up to `max`. */
function tickStep(max: number): number {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((step) => step >= rough)!;
}

const ticks = (max: number) => {
  const step = tickStep(max);
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
};

const f = (n: number) => n.toFixed(1);
const text = (x: number, y: number, content: string, attrs = '') => `<text x="${f(x)}" y="${f(y)}" ${attrs}>${content}</text>`;
const line = (x1: number, y1: number, x2: number, y2: number, attrs: string) =>
  `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" ${attrs}/>`;

export function lineChart(spec: ChartSpec): string {
  const points = spec.series.flatMap((s) => s.points);
  const xTicks = ticks(Math.max(...points.map(([x]) => x)));
  const yTicks = ticks(Math.max(...points.map(([, y]) => y)));
  const [xMax, yMax] = [xTicks.at(-1)!, yTicks.at(-1)!];
  const px = (x: number) => PAD.left + (x / xMax) * (W - PAD.left - PAD.right);
  const py = (y: number) => H - PAD.bottom - (y / yMax) * (H - PAD.top - PAD.bottom);
  const formatX = spec.formatX ?? String;

  const grid = [
    ...yTicks.map(
      (y) => line(PAD.left, py(y), px(xMax), py(y), 'stroke="#ddd"') + text(PAD.left - 8, py(y) + 4, String(y), 'text-anchor="end"'),
    ),
    ...xTicks.map(
      (x) => line(px(x), py(0), px(x), py(0) + 5, 'stroke="#333"') + text(px(x), py(0) + 20, formatX(x), 'text-anchor="middle"'),
    ),
    line(PAD.left, py(0), px(xMax), py(0), 'stroke="#333"'),
    line(PAD.left, py(0), PAD.left, py(yMax), 'stroke="#333"'),
  ];
  const lines = spec.series.map((s, i) => {
    const path = s.points.map(([x, y]) => `${f(px(x))},${f(py(y))}`).join(' ');
    // each value written above and to the left of its dot, clear of the legend on the right
    const dots = s.points.map(
      ([x, y]) =>
        `<circle cx="${f(px(x))}" cy="${f(py(y))}" r="4" fill="${s.color}"/>` +
        text(px(x) - 7, py(y) - 7, y.toFixed(1), `text-anchor="end" fill="${s.color}"`),
    );
    const legendY = PAD.top + 10 + i * 22;
    const legend =
      line(W - PAD.right + 20, legendY, W - PAD.right + 40, legendY, `stroke="${s.color}" stroke-width="3"`) +
      text(W - PAD.right + 46, legendY + 4, s.name);
    return `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots.join('')}${legend}`;
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    text(W / 2 - PAD.right / 2 + PAD.left / 2, 22, spec.title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    ...grid,
    ...lines,
    text(px(xMax / 2), H - 12, spec.xLabel, 'text-anchor="middle"'),
    text(18, py(yMax / 2), spec.yLabel, `text-anchor="middle" transform="rotate(-90 18 ${py(yMax / 2)})"`),
    '</svg>',
    '',
  ].join('\n');
}
