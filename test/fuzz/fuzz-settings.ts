import * as fc from "fast-check";
import { isWharfError } from "../../src/lib/errors";

/**
 * Bounded fuzzing for CI: each property runs WHARF_FUZZ_RUNS cases (a few hundred by default)
 * and stops early at WHARF_FUZZ_SECONDS. A failure prints fast-check's seed and path;
 * WHARF_FUZZ_SEED replays it. Raise the runs for a longer hunt on a quiet machine.
 */
export function fuzzParams<T>(defaultRuns = 300): fc.Parameters<T> {
  const runs = Number(process.env.WHARF_FUZZ_RUNS ?? defaultRuns);
  const seconds = Number(process.env.WHARF_FUZZ_SECONDS ?? 60);
  const seed = process.env.WHARF_FUZZ_SEED;
  return {
    numRuns: runs,
    interruptAfterTimeLimit: seconds * 1000,
    // the failing assertion's own message in the report, not only the counterexample
    includeErrorInReport: true,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
  };
}

/** Runs `fn`; a throw is fine only if it is one of the engine's Docker-shaped errors. */
export function onlyDockerShapedErrors<T>(fn: () => T, allowed: Array<new (...args: never[]) => Error> = []): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (isWharfError(err) || allowed.some((cls) => err instanceof cls)) return undefined;
    throw err;
  }
}

/** Strings drawn from a small alphabet, so that the interesting characters meet often. */
export function stringFrom(alphabet: string[], maxLength: number): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...alphabet), { maxLength }).map((parts) => parts.join(""));
}
