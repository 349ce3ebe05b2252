const tails = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `work` on a caller's client after the statements this module already sent on it. A caller may enqueue
 * several jobs at once inside one transaction (`Promise.all` over `enqueue(..., { client })`), and a pg client must
 * not be given a query while another is in progress (deprecated in pg 8, an error in pg 9); nor do TypeORM's query
 * runners and Knex transactions queue them. Any handle can be the key.
 */
export function serialized<T>(client: object, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(client) ?? Promise.resolve();
  const result = previous.then(work, work);
  const tail = result.catch(() => undefined);
  tails.set(client, tail);
  void tail.then(() => tails.get(client) === tail && tails.delete(client));
  return result;
}
