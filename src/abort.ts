/**
 * AbortSignal handling and caller stacks for the geometry and metrics Promises (the same
 * semantics as computeLossAsync: an already-aborted signal rejects with an AbortError and
 * computes nothing; a call that has started runs to the end).
 */
import { is, typeError } from './validate';

/** An `AbortError` (name 'AbortError', code 'ABORT_ERR', the signal's reason as `cause`). */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/** `options.signal` when given (TypeError unless an AbortSignal). */
export function checkSignal(options: unknown): AbortSignal | undefined {
  if (!is.object(options) || options.signal === undefined) return undefined;
  const signal = options.signal;
  if (!(signal instanceof AbortSignal)) throw typeError('an AbortSignal', 'signal', signal);
  return signal;
}

/** Throws the AbortError when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Awaits a native promise, re-attaching the caller's stack (captured before the call) to its error. */
export async function withCallerStack<T>(promise: Promise<T>, callerStack: string | undefined): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof Error && callerStack) {
      const frames = callerStack.split('\n').slice(1).join('\n');
      error.stack = `${error.name}: ${error.message}\n${frames}`;
    }
    throw error;
  }
}
