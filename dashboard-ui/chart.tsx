/** One minute's jobs, every type together. */
export interface MinuteCounts {
  minute: number;
  completed: number;
  failed: number;
}

const WIDTH = 600;
const HEIGHT = 72;

/**
 * Jobs per minute over the last hour as bars (completed, failed on top), in an inline SVG: no library, nothing that
 * the page's Content-Security-Policy would refuse, and a fixed size so it never moves the page while data arrives.
 */
export function ThroughputChart({ minutes }: { minutes: MinuteCounts[] }) {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const byMinute = new Map(minutes.map((m) => [m.minute, m]));
  const slots = Array.from({ length: 60 }, (_, i) => byMinute.get(now - (59 - i) * 60_000) ?? { minute: 0, completed: 0, failed: 0 });
  const peak = Math.max(1, ...slots.map((s) => s.completed + s.failed));
  const bar = WIDTH / 60;
  const total = slots.reduce((sum, s) => sum + s.completed, 0);
  const failed = slots.reduce((sum, s) => sum + s.failed, 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Last hour: ${total} completed, ${failed} failed`}
        preserveAspectRatio="none"
      >
        {slots.map((slot, i) => {
          const done = (slot.completed / peak) * HEIGHT;
          const bad = (slot.failed / peak) * HEIGHT;
          return (
            <g key={i}>
              <rect class="done" x={i * bar + 1} width={bar - 2} y={HEIGHT - done} height={done} />
              <rect class="bad" x={i * bar + 1} width={bar - 2} y={HEIGHT - done - bad} height={bad} />
            </g>
          );
        })}
      </svg>
      <figcaption>
        {total + failed === 0 ? (
          'No job finished in the last hour.'
        ) : (
          <>
            Last hour: {total.toLocaleString()} completed,{' '}
            <span class={failed > 0 ? 'failed-count' : ''}>{failed.toLocaleString()} failed</span>, at most {peak.toLocaleString()} a minute
          </>
        )}
      </figcaption>
    </figure>
  );
}
