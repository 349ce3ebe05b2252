import { cappedBackoff } from '../../lib/services/capped-backoff';

describe('cappedBackoff', () => {
  it('waits the minimum before the first retry, then doubles', () => {
    expect([0, 1, 2, 3, 4].map((attempt) => cappedBackoff(attempt, 100, 60_000))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('never waits longer than the maximum', () => {
    expect(cappedBackoff(5, 100, 1000)).toBe(1000); // 3200 uncapped
    expect(cappedBackoff(3, 125, 1000)).toBe(1000); // exactly the cap
    expect(cappedBackoff(2, 125, 1000)).toBe(500);
  });

  it('grows with the attempt until the cap, and then stays there', () => {
    const waits = Array.from({ length: 40 }, (_, attempt) => cappedBackoff(attempt, 250, 30_000));
    waits.slice(1).forEach((wait, i) => expect(wait).toBeGreaterThanOrEqual(waits[i]));
    expect(waits.indexOf(30_000)).toBe(7); // 250 * 2^7 = 32000 is the first over
    expect(waits.at(-1)).toBe(30_000);
  });

  it('stops doubling after 2^30, so a huge attempt count stays finite', () => {
    expect(cappedBackoff(1_000_000, 1, Number.MAX_SAFE_INTEGER)).toBe(2 ** 30);
    expect(cappedBackoff(Number.POSITIVE_INFINITY, 1, Number.MAX_SAFE_INTEGER)).toBe(2 ** 30);
    expect(cappedBackoff(31, 1, Number.MAX_SAFE_INTEGER)).toBe(cappedBackoff(30, 1, Number.MAX_SAFE_INTEGER));
  });

  it('gives the maximum when it is below the minimum, and 0 for a minimum of 0', () => {
    expect(cappedBackoff(0, 5000, 1000)).toBe(1000);
    expect(cappedBackoff(10, 0, 1000)).toBe(0);
  });
});
