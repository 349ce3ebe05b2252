import { Injectable } from '@nestjs/common';

/** Waits, or rejects as soon as the job's signal aborts (timeout, cancellation, shutdown). */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Stands in for real data access: slow enough to watch the progress move. */
@Injectable()
export class ReportsRepository {
  async load(reportId: string, count: number, signal: AbortSignal, onProgress: (done: number) => Promise<void>) {
    const rows: Array<{ reportId: string; n: number }> = [];
    for (let n = 1; n <= count; n++) {
      await pause(40, signal); // honours ctx.signal: timeout, cancellation and shutdown stop it
      rows.push({ reportId, n });
      await onProgress(n);
    }
    return rows;
  }

  async render(reportId: string, rows: unknown[], signal: AbortSignal) {
    await pause(150, signal);
    return `https://reports.example.com/${reportId}.pdf?rows=${rows.length}`;
  }
}
