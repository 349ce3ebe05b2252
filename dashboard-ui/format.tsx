import type { Job } from './api';

export function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function StatusBadge({ status }: { status: Job['status'] }) {
  return <span class={`status status-${status}`}>{status}</span>;
}

/** A value as JSON text (rendered as text, never as markup); long ones start collapsed. */
export function JsonBlock({ label, value }: { label: string; value: unknown }) {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  const long = text.length > 2000 || text.split('\n').length > 30;
  return (
    <details class="block" open={!long}>
      <summary>
        {label}
        {long ? ` (${text.length.toLocaleString()} characters)` : ''}
      </summary>
      <pre>{text}</pre>
    </details>
  );
}
