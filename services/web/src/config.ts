/** Run-time configuration: where the gateway is, where spans go, where traces are shown. */

export interface ShopConfig {
  /** Base URL of the gateway; '' when the app is served by the gateway itself (one origin). */
  gatewayUrl: string;
  /** Base URL of the span collector (Zipkin v2 API); null leaves browser tracing off. */
  collectorUrl: string | null;
  /** Base URL of the Zipkin UI; a trace is at `${zipkinUiUrl}/traces/<id>`. */
  zipkinUiUrl: string | null;
  serviceName: string;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The gateway's `/web-config.json`, with build-time `VITE_*` values taking precedence. */
export async function loadConfig(
  env: Record<string, string | undefined> = import.meta.env,
  fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args),
): Promise<ShopConfig> {
  const gatewayUrl = trimSlash(env.VITE_GATEWAY_URL ?? '');
  let served: Partial<ShopConfig> = {};
  try {
    const res = await fetchImpl(`${gatewayUrl}/web-config.json`);
    if (res.ok) served = (await res.json()) as Partial<ShopConfig>;
  } catch (err) {
    console.warn('web-config.json not available; browser tracing stays off', err);
  }
  const collectorUrl = env.VITE_COLLECTOR_URL ?? served.collectorUrl ?? null;
  const zipkinUiUrl = env.VITE_ZIPKIN_UI_URL ?? served.zipkinUiUrl ?? null;
  return {
    gatewayUrl,
    collectorUrl: collectorUrl ? trimSlash(collectorUrl) : null,
    zipkinUiUrl: zipkinUiUrl ? trimSlash(zipkinUiUrl) : null,
    serviceName: served.serviceName ?? 'web',
  };
}

/** Link to one trace in the Zipkin UI, or null when no UI is configured. */
export function traceLink(config: Pick<ShopConfig, 'zipkinUiUrl'>, traceId: string): string | null {
  return config.zipkinUiUrl ? `${config.zipkinUiUrl}/traces/${traceId}` : null;
}
