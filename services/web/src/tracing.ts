/** Browser tracing: spans of user actions and their fetches, exported to the Zipkin collector. */

import { context, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { ShopConfig } from './config';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Start the tracer provider and the fetch instrumentation; false when no collector is set. */
export function startTracing(config: ShopConfig): boolean {
  if (!config.collectorUrl) return false;
  const exporter = new ZipkinExporter({
    url: `${config.collectorUrl}/api/v2/spans`,
    // Headers make the exporter use XHR (JSON, CORS-checked) instead of sendBeacon's text/plain.
    headers: {},
  });
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  });
  provider.register();
  const propagateTo = config.gatewayUrl ? [new RegExp(`^${escapeRegExp(config.gatewayUrl)}/`)] : [];
  registerInstrumentations({
    instrumentations: [
      new FetchInstrumentation({
        propagateTraceHeaderCorsUrls: propagateTo,
        ignoreUrls: [new RegExp(`^${escapeRegExp(config.collectorUrl)}/`)],
        clearTimingResources: true,
      }),
    ],
  });
  addEventListener('pagehide', () => void provider.forceFlush());
  return true;
}

const tracer = () => trace.getTracer('web-shop');

/**
 * Run `work` inside a new root span named `name` (a user action): fetches made through
 * `inContext(ctx, ...)` become its children, so the action and its backend chain are one trace.
 */
export async function inRootSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  work: (ctx: Context, span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(name, { attributes, root: true });
  const ctx = trace.setSpan(context.active(), span);
  try {
    return await work(ctx, span);
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/** Call `fn` with `ctx` active (a no-op without a context); the fetch span takes it as parent. */
export function inContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx ? context.with(ctx, fn) : fn();
}

/** Trace id of a span, or null for the no-op span of disabled tracing. */
export function traceIdOf(span: Span): string | null {
  const ctx = span.spanContext();
  return trace.isSpanContextValid(ctx) ? ctx.traceId : null;
}
