/** The error of type `type` that `run` throws; fails the test when it throws nothing or something else. */
export function refusal<E extends Error>(run: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    run();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected ${type.name}, but nothing was thrown`);
}
