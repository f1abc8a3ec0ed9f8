import { Readable } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, processRegularResult, type FetchAPI, type Plugin } from 'graphql-yoga';

const HEADERS = { 'Content-Type': 'text/event-stream', Connection: 'keep-alive', 'Cache-Control': 'no-cache', 'Content-Encoding': 'none' };
const PING = Buffer.from(':\n\n');
const COMPLETE = Buffer.from('event: complete\ndata:\n\n');
/** yoga's own SSE processor, which this one stands in for (its function name is how it is recognised). */
const YOGA_SSE_PROCESSOR = 'processSSEResult';

type Result = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

/**
 * A result's `event: next` frame, encoded once per result object: subscriptions that share a result
 * (shared-subscription-events.ts) share its bytes too. A result with errors or extensions goes
 * through yoga's own serialiser, which strips internal error details.
 */
const frames = new WeakMap<object, Buffer | Promise<Buffer>>();
function frameOf(result: Result, fetchAPI: FetchAPI): Buffer | Promise<Buffer> {
  let frame = frames.get(result);
  if (frame) return frame;
  if (result.errors?.length || result.extensions) {
    frame = Promise.resolve(processRegularResult(result, fetchAPI, 'application/json'))
      .then((response) => response.text())
      .then((json) => Buffer.from(`event: next\ndata: ${json}\n\n`));
  } else {
    frame = Buffer.from(`event: next\ndata: ${(result.stringify ?? JSON.stringify)(result)}\n\n`);
  }
  frames.set(result, frame);
  return frame;
}

/**
 * The server-sent-event stream of a subscription, as yoga writes it (a ping first and every 12 s,
 * `event: next` per result, `event: complete` at the end), but written as one chunk per result
 * straight from a Node stream: with a thousand subscribers of one conversation, yoga's web-stream
 * layers and two writes per result were most of what an event cost after the socket writes.
 */
function streamResults(results: AsyncIterable<Result>, fetchAPI: FetchAPI): Response {
  const iterator = results[Symbol.asyncIterator]();
  let reading = false;
  let finished = false;
  const body = new Readable({
    read() {
      if (reading || finished) return;
      reading = true;
      void pump();
    },
    // Destroyed when the response closes (the client left). Errors end here, as in yoga's stream:
    // the response is this stream's only reader and has no use for them.
    destroy(_error, callback) {
      clearInterval(ping);
      const wasFinished = finished;
      finished = true;
      if (wasFinished || !iterator.return) return callback(null);
      Promise.resolve(iterator.return()).then(() => callback(null), () => callback(null));
    },
  });
  const pingMs = process.env.NODE_ENV === 'test' ? 300 : 12_000; // as yoga's own processor
  const ping = setInterval(() => {
    if (!finished && body.readableLength === 0) body.push(PING);
  }, pingMs);
  ping.unref();
  // Some browsers only hand over the response once a byte of its body has arrived.
  body.push(PING);

  async function pump(): Promise<void> {
    try {
      for (;;) {
        const step = await iterator.next();
        if (finished) return;
        if (step.done) {
          finished = true;
          clearInterval(ping);
          body.push(COMPLETE);
          body.push(null);
          return;
        }
        const frame = await frameOf(step.value, fetchAPI);
        if (finished) return;
        if (!body.push(frame)) break; // the socket is full: read() resumes
      }
    } catch {
      // yoga turns a subscription's failures into results; what is left is an abort: the client is gone.
      body.destroy();
    } finally {
      reading = false;
    }
  }

  // A copy each time: the fetch implementation writes headers set later (CORS, say) into this object.
  return new fetchAPI.Response(body as unknown as BodyInit, { status: 200, headers: { ...HEADERS } });
}

/** Subscriptions over SSE use streamResults instead of yoga's processor; anything else is left to yoga. */
export function leanSseResults(): Plugin {
  return {
    onResultProcess({ result, resultProcessor, setResultProcessor }) {
      if (resultProcessor?.name !== YOGA_SSE_PROCESSOR || !isAsyncIterable(result)) return;
      const yogas = resultProcessor;
      setResultProcessor((results, fetchAPI, mediaType) => (fetchAPI.Response === globalThis.Response
        ? yogas(results, fetchAPI, mediaType) // the platform's own fetch takes no Node stream as a body
        : streamResults(results as AsyncIterable<Result>, fetchAPI)), 'text/event-stream');
    },
  };
}
