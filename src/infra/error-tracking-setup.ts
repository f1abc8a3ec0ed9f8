// Loaded only when SENTRY_DSN is set (src/infra/error-tracking.ts), and left out of the server bundle.
import * as Sentry from '@sentry/node';

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[a-z]{2,}/gi;
const BEARER = /\b(bearer\s+)[\w.~+/=-]+/gi;
const scrubText = (text: string) => text.replace(EMAIL, '[email]').replace(BEARER, '$1[token]');

/**
 * Sentry without its default integrations (no HTTP, console or request capture, no OpenTelemetry of its
 * own beside ours) and without personal data: beforeSend drops request, user, breadcrumbs and
 * contexts that could hold them, and masks e-mail addresses and bearer tokens in messages.
 */
export function startSentry(dsn: string, environment: string) {
  Sentry.init({
    dsn, environment, defaultIntegrations: false, enableOpenTelemetrySetup: false, tracesSampleRate: 0,
    integrations: [Sentry.linkedErrorsIntegration()],
    beforeBreadcrumb: () => null,
    beforeSend(event) {
      delete event.request;
      delete event.user;
      delete event.breadcrumbs;
      delete event.extra;
      delete event.server_name;
      if (event.contexts) event.contexts = { os: event.contexts.os, runtime: event.contexts.runtime };
      if (event.message) event.message = scrubText(event.message);
      for (const exception of event.exception?.values ?? []) {
        if (exception.value) exception.value = scrubText(exception.value);
        for (const frame of exception.stacktrace?.frames ?? []) delete frame.vars;
      }
      return event;
    },
  });
  return {
    capture: (error: unknown, tags: Record<string, string>) => { Sentry.captureException(error, { tags }); },
    flush: async () => { await Sentry.flush(2_000); },
  };
}
