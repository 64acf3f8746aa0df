/** What a client sees of a failed statement: node-postgres's DatabaseError fields. */
export interface Failure {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** The error a statement fails with; a statement that succeeds fails the test. */
export async function failureOf(statement: Promise<unknown>): Promise<Failure> {
  try {
    await statement;
  } catch (err) {
    return err as Failure;
  }
  throw new Error('the statement succeeded');
}
