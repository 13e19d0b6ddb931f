import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef, useState } from 'preact/hooks';

// Only the pieces the console draws, so the bundle carries no more of Chart.js than it uses.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export interface Series {
  label: string;
  values: (number | null)[];
}

interface Props {
  /** What the chart shows, for screen readers (the page's table carries the same numbers). */
  summary: string;
  labels: string[];
  series: Series[];
  unit: string;
  horizontal?: boolean;
  /** Counts (requests, tokens): the value axis has whole-number ticks only. */
  integer?: boolean;
}

/** A bar chart in the console's colours, light or dark as the system is. The caller sets its height. */
export function BarChart({ summary, labels, series, unit, horizontal = false, integer = false }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const scheme = useColorScheme();
  useEffect(() => {
    const style = getComputedStyle(document.documentElement);
    const color = (name: string) => style.getPropertyValue(name).trim();
    const palette = [color('--chart-1'), color('--chart-2'), color('--chart-3')];
    const chart = new Chart(canvas.current!, {
      type: 'bar',
      data: {
        labels,
        datasets: series.map((one, i) => ({
          label: one.label, data: one.values, backgroundColor: palette[i % palette.length], borderRadius: 3,
        })),
      },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        maintainAspectRatio: false,
        animation: false,
        color: color('--text-muted'),
        scales: {
          x: { ticks: { color: color('--text-muted'), precision: integer && horizontal ? 0 : undefined },
            grid: { color: color('--border') } },
          y: { ticks: { color: color('--text-muted'), precision: integer && !horizontal ? 0 : undefined },
            grid: { color: color('--border') } },
        },
        plugins: {
          tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.formattedValue} ${unit}` } },
        },
      },
    });
    return () => chart.destroy();
  }, [labels, series, unit, horizontal, integer, scheme]);   // callers memoize labels and series
  return <canvas ref={canvas} role="img" aria-label={summary} />;
}

const DARK = window.matchMedia('(prefers-color-scheme: dark)');

function useColorScheme(): 'light' | 'dark' {
  const [dark, setDark] = useState(DARK.matches);
  useEffect(() => {
    const changed = (event: MediaQueryListEvent) => setDark(event.matches);
    DARK.addEventListener('change', changed);
    return () => DARK.removeEventListener('change', changed);
  }, []);
  return dark ? 'dark' : 'light';
}
