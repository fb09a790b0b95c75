import { describe, expect, it, vi } from 'vitest';
import { loadConfig, traceLink } from './config';

describe('config', () => {
  it('takes collector and Zipkin UI from the gateway, trimming slashes', async () => {
    const fetchMock = vi.fn<typeof fetch>().mockResolvedValue(
      new Response(JSON.stringify({ collectorUrl: 'http://c:9411/', zipkinUiUrl: 'http://z/zipkin/', serviceName: 'web' })),
    );
    const cfg = await loadConfig({ VITE_GATEWAY_URL: 'http://gw:8222/' }, fetchMock);
    expect(fetchMock).toHaveBeenCalledWith('http://gw:8222/web-config.json');
    expect(cfg).toEqual({ gatewayUrl: 'http://gw:8222', collectorUrl: 'http://c:9411', zipkinUiUrl: 'http://z/zipkin', serviceName: 'web' });
    expect(traceLink(cfg, 'ab12')).toBe('http://z/zipkin/traces/ab12');
  });

  it('keeps working without the gateway config (tracing off, no links)', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const cfg = await loadConfig({}, vi.fn<typeof fetch>().mockRejectedValue(new TypeError('offline')));
    expect(cfg.collectorUrl).toBeNull();
    expect(traceLink(cfg, 'ab12')).toBeNull();
  });
});
