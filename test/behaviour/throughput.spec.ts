import { Injectable } from '@nestjs/common';
import { InvalidJobQueryError, JobHandler, UnrecoverableJobError } from '../../lib';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { FAST_WORKER, useQueueApps } from '../support/queue-app';

@Injectable()
class CountedHandlers {
  @JobHandler('counted.work')
  work(payload: { fail?: boolean }) {
    if (payload.fail) throw new UnrecoverableJobError('no');
  }
}

describe('throughput()', () => {
  const apps = useQueueApps();
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
    apps.defer(() => db.close());
  });

  it('counts the jobs each worker completed and failed, per minute and type, summed over workers', async () => {
    const producer = await apps.start(db, { worker: { enabled: false } });
    const workers = [
      await apps.start(db, { providers: [CountedHandlers], worker: FAST_WORKER }),
      await apps.start(db, { providers: [CountedHandlers], worker: FAST_WORKER }),
    ];
    await producer.queue.enqueueMany([
      ...Array.from({ length: 30 }, () => ({ type: 'counted.work', payload: {} })),
      ...Array.from({ length: 4 }, () => ({ type: 'counted.work', payload: { fail: true } })),
    ]);
    await waitFor(async () => (await producer.queue.countJobs({ status: ['pending', 'running'] })) === 0);
    // A worker writes its counts every ten seconds, and when it stops.
    for (const worker of workers) await worker.close();
    const points = await producer.queue.throughput();
    const sum = (key: 'completed' | 'failed') => points.reduce((total, point) => total + point[key], 0);
    expect({ completed: sum('completed'), failed: sum('failed') }).toEqual({ completed: 30, failed: 4 });
    expect(points.every((point) => point.type === 'counted.work' && point.minute instanceof Date)).toBe(true);
    expect(points.every((point) => point.minute.getUTCSeconds() === 0)).toBe(true);
    await expect(producer.queue.throughput(0)).rejects.toThrow(InvalidJobQueryError);
  });
});
