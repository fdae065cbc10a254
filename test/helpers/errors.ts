// The error a call throws (undefined when it returns), for tests that assert name, message and code.
export type CodedError = Error & { code?: string };

export function thrownBy(call: () => unknown): CodedError | undefined {
  try {
    call();
  } catch (e) {
    return e as CodedError;
  }
  return undefined;
}
