/** The dashboard's SVG chart (edge/pages/svg-chart.ts) for known data: bar geometry, titles, the table fallback, escaping. */
import { describe, expect, it } from 'vitest';
import { chartTable, niceMax, stackedBarChart } from '../../edge/pages/svg-chart';

describe('the SVG chart', () => {
  const chart = {
    id: 'c',
    title: 'Step-ups',
    unit: 'step-ups',
    categories: ['2026-03-01', '2026-03-02', '2026-03-03'],
    series: [
      { name: 'shop', values: [2, 0, 5] },
      { name: 'wiki <beta>', values: [1, 0, 3] },
    ],
  };

  it('stacks known data into bars of the right height, titled and described for screen readers', async () => {
    const svg = String(await stackedBarChart(chart));
    // Totals 3, 0, 8: the axis tops at 10; the plot is 180 high from y=12, 3 bars in 588 wide.
    expect(niceMax(8)).toBe(10);
    expect(svg).toContain('<svg role="img" aria-labelledby="c-title c-desc" viewBox="0 0 640 220"');
    expect(svg).toContain('<title id="c-title">Step-ups</title>');
    expect(svg).toContain('<desc id="c-desc">11 step-ups from 2026-03-01 to 2026-03-03, most on 2026-03-03 (8).');
    expect(svg).toContain('<rect class="s0" x="69.4" y="156" width="137.2" height="36"><title>2026-03-01, shop: 2 step-ups</title></rect>');
    expect(svg).toContain(
      '<rect class="s1" x="69.4" y="138" width="137.2" height="18"><title>2026-03-01, wiki &lt;beta&gt;: 1 step-ups</title></rect>',
    );
    expect(svg).toContain(
      '<rect class="s0" x="461.4" y="102" width="137.2" height="90"><title>2026-03-03, shop: 5 step-ups</title></rect>',
    );
    expect(svg).toContain('<rect class="s1" x="461.4" y="48" width="137.2" height="54">');
    // Nothing is drawn for a zero; the empty day still has its label.
    expect(svg.match(/<rect /g)).toHaveLength(4);
    expect(svg).toContain('>03-02</text>');
    expect(svg).toContain('<span class="swatch s1" aria-hidden="true"></span>wiki &lt;beta&gt;');
    expect(svg).not.toMatch(/style=|<script/);
  });

  it('has every number in its table, and says when there is nothing', async () => {
    const table = String(await chartTable(chart));
    expect(table).toContain('<tr><th scope="row">2026-03-03</th><td class="num">5</td><td class="num">3</td><td class="num">8</td></tr>');
    expect(table).toContain('<th scope="col">wiki &lt;beta&gt;</th>');
    const empty = String(await stackedBarChart({ ...chart, series: [] }));
    expect(empty).toContain('No step-ups from 2026-03-01 to 2026-03-03.');
    expect(empty).not.toContain('<rect');
    expect([niceMax(0), niceMax(1), niceMax(3), niceMax(7), niceMax(11), niceMax(250)]).toEqual([1, 1, 5, 10, 20, 500]);
  });
});
