// What tools/run_with_stack.py tells the end-to-end tests about the running services.

/** A variable run_with_stack.py sets; a clear error when the tests were started without it. */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tools/run_with_stack.py (it starts the services)`);
  }
  return value;
}
