/** Where the command writes: the process's streams, or a test's buffers. */
export interface Output {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The options that name the schema again in a suggested command (none for the default schema). */
export function schemaFlag(schema: string): string {
  return schema === 'pgqueue' ? '' : ` --schema ${schema}`;
}
