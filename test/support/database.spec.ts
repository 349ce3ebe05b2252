import { Client } from 'pg';
import { adminTag, createTestDatabase, fileTag, testDatabaseUrl, type TestDatabase, waitFor, withApplicationName } from './database';

describe('test database helpers', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.close();
  });

  it('publishes the server URL to the workers', () => {
    expect(testDatabaseUrl()).toMatch(/^postgres(ql)?:\/\//);
  });

  it('gives a unique, valid, not yet created schema name', async () => {
    expect(db.schema).toMatch(/^[a-z_][a-z0-9_]{0,47}$/);
    const other = await createTestDatabase();
    try {
      expect(other.schema).not.toBe(db.schema);
    } finally {
      await other.close();
    }
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [db.schema]);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('tags connections made through url with this file’s application_name', async () => {
    const tag = fileTag();
    expect(tag.length).toBeLessThanOrEqual(63);
    expect(new URL(db.url).searchParams.get('application_name')).toBe(tag);

    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('SELECT current_setting($1) AS name', ['application_name']);
      expect(rows[0].name).toBe(tag);
    } finally {
      await client.end();
    }
    const [admin] = await db.query<{ name: string }>('SELECT current_setting($1) AS name', ['application_name']);
    expect(admin.name).toBe(adminTag(tag));
  });

  it('sets application_name on any libpq URL, replacing an existing one', () => {
    expect(withApplicationName('postgres://u:p%40ss@h:1/d?sslmode=disable&application_name=old', 'x')).toBe(
      'postgres://u:p%40ss@h:1/d?sslmode=disable&application_name=x',
    );
    expect(withApplicationName('postgres://u@/d?host=/run/postgresql&application_name=old', 'x')).toBe(
      'postgres://u@/d?host=/run/postgresql&application_name=x',
    );
    expect(withApplicationName('postgres://u@/d', 'x')).toBe('postgres://u@/d?application_name=x');
  });

  it('lets a test create the schema, and close() drops it', async () => {
    const scratch = await createTestDatabase();
    const exists = async (): Promise<boolean> => {
      const rows = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [scratch.schema]);
      return rows.length === 1;
    };
    await scratch.query(`CREATE SCHEMA ${scratch.schema}`);
    await scratch.query(`CREATE TABLE ${scratch.schema}.t (id int PRIMARY KEY)`);
    await scratch.query(`INSERT INTO ${scratch.schema}.t VALUES (1)`);
    expect(await exists()).toBe(true);

    await scratch.close();
    await scratch.close(); // idempotent
    expect(await exists()).toBe(false);
    await expect(scratch.query('SELECT 1')).rejects.toThrow();
  });

  describe('waitFor', () => {
    it('resolves as soon as the condition holds', async () => {
      let calls = 0;
      await waitFor(() => ++calls >= 3, { intervalMs: 1 });
      expect(calls).toBe(3);
    });

    it('accepts async conditions and retries conditions that throw', async () => {
      let calls = 0;
      await waitFor(
        async () => {
          calls += 1;
          if (calls < 3) throw new Error('not yet');
          return true;
        },
        { intervalMs: 1 },
      );
      expect(calls).toBe(3);
    });

    it('times out with its message', async () => {
      const started = Date.now();
      await expect(waitFor(() => false, { timeoutMs: 100, intervalMs: 10, message: 'the moon to turn blue' })).rejects.toThrow(
        /waitFor timed out after \d+ ms \(\d+ attempts\): the moon to turn blue/,
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(2_000);
    });

    it('reports the last error of a throwing condition', async () => {
      await expect(
        waitFor(
          () => {
            throw new Error('relation "jobs" does not exist');
          },
          { timeoutMs: 50, intervalMs: 10, message: 'jobs table' },
        ),
      ).rejects.toThrow(/jobs table; last attempt threw: relation "jobs" does not exist/);
    });

    it('keeps real time under fake timers', async () => {
      jest.useFakeTimers();
      try {
        let calls = 0;
        await waitFor(() => ++calls >= 2, { intervalMs: 1, timeoutMs: 1_000 });
        expect(calls).toBe(2);
      } finally {
        jest.useRealTimers();
      }
    });
  });
});
