/**
 * The results chart, drawn with Chart.js on a canvas in the benchmark page and returned as a PNG
 * data URL (Node writes the file). The series are built in Node; this only draws them.
 */
import { Chart, registerables, type Plugin } from 'chart.js';

Chart.register(...registerables);

/** One line of the chart. */
export interface ChartSeries {
  label: string;
  points: { x: number; y: number }[];
  color: string;
  dashed: boolean;
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** The x values to label (the batch sizes). */
  xTicks: number[];
  width: number;
  height: number;
}

/** Paint the canvas white first (a PNG is transparent otherwise). */
const whiteBackground: Plugin<'line'> = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Draw `spec` and return the PNG as a data URL. */
export async function renderChart(spec: ChartSpec): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.width = spec.width;
  canvas.height = spec.height;
  canvas.style.width = `${spec.width}px`;
  canvas.style.height = `${spec.height}px`;
  document.body.appendChild(canvas);
  const chart = new Chart(canvas, {
    type: 'line',
    data: {
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.points,
        borderColor: s.color,
        backgroundColor: 'rgba(255, 255, 255, 0)',
        pointBackgroundColor: s.color,
        borderDash: s.dashed ? [6, 4] : [],
        pointStyle: s.dashed ? 'triangle' : 'circle',
        borderWidth: 2,
        pointRadius: 4,
        tension: 0,
      })),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      parsing: false,
      plugins: {
        title: { display: true, text: spec.title, font: { size: 16 } },
        subtitle: { display: true, text: spec.subtitle },
        legend: { position: 'right', labels: { usePointStyle: true } },
      },
      scales: {
        x: {
          type: 'logarithmic',
          title: { display: true, text: spec.xLabel },
          afterBuildTicks: (axis) => {
            axis.ticks = spec.xTicks.map((value) => ({ value }));
          },
          ticks: { callback: (v) => String(v) },
        },
        y: { type: 'logarithmic', title: { display: true, text: spec.yLabel } },
      },
    },
    plugins: [whiteBackground],
  });
  const url = canvas.toDataURL('image/png');
  chart.destroy();
  canvas.remove();
  return url;
}
