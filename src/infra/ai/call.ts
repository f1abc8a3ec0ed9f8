// One HTTP attempt at a provider, shared by the hand-written OpenAI-compatible adapter and the call
// policy of the SDK-based ones: an abort controller linked to the caller's signal, the connect/idle
// timers, and (through `fetch`, for an SDK) the last response seen.

export type Phase = 'connect' | 'stream';

/** One HTTP attempt: an abort controller linked to the caller's signal, its timers and its last response. */
export class Call {
  readonly controller = new AbortController();
  phase: Phase = 'connect';
  timedOut: 'connect' | 'idle' | null = null;
  /** The last HTTP response seen through `fetch` (for the status and headers of an error). */
  response: Response | null = null;
  #timer: NodeJS.Timeout | undefined;
  #callerSignal: AbortSignal | undefined;
  #onCallerAbort = (): void => this.controller.abort();

  constructor(callerSignal: AbortSignal | undefined) {
    this.#callerSignal = callerSignal;
    callerSignal?.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A fetch for the SDK: aborted with this attempt, whatever signal the SDK passes of its own. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ? AbortSignal.any([init.signal, this.controller.signal]) : this.controller.signal;
    const response = await fetch(input, { ...init, signal });
    this.response = response;
    return response;
  };

  arm(kind: 'connect' | 'idle', ms: number): void {
    this.disarm();
    this.#timer = setTimeout(() => {
      this.timedOut = kind;
      this.controller.abort();
    }, ms);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.disarm();
    this.#callerSignal?.removeEventListener('abort', this.#onCallerAbort);
    this.controller.abort();
  }
}
