import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ShopApi, type Product } from './api';
import { setQuantity } from './cart';
import { checkout, CheckoutError } from './checkout';

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  new WebTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
});

const product: Product = { id: 51, name: 'Mouse', description: '', price: 19.99, availableQuantity: 5 };
const cart = setQuantity([], product, 2);
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('checkout', () => {
  it('runs customer creation and the order under one root span, the click', async () => {
    exporter.reset();
    const seen: string[] = [];
    const fetchMock = vi.fn<typeof fetch>(async (url) => {
      seen.push(trace.getActiveSpan()?.spanContext().traceId ?? 'none');
      return String(url).endsWith('/customers') ? json('cust-1') : json(42, 200, { 'X-Trace-Id': 'gw-trace' });
    });
    const result = await checkout(
      new ShopApi('', fetchMock),
      cart,
      { newCustomer: { firstname: 'A', lastname: 'B', email: 'a@b.example' } },
      'VISA',
    );
    expect(result).toEqual({ customerId: 'cust-1', amount: 39.98, outcome: { kind: 'confirmed', orderId: 42, traceId: 'gw-trace' } });
    const [root] = exporter.getFinishedSpans();
    expect(root.name).toBe('checkout');
    expect(root.parentSpanContext).toBeUndefined();
    expect(seen).toEqual([root.spanContext().traceId, root.spanContext().traceId]);
    expect(root.attributes['app.order.id']).toBe('42');
  });

  it('says which step failed and keeps a customer created before the order failed', async () => {
    const fetchMock = vi
      .fn<typeof fetch>()
      .mockResolvedValueOnce(json('cust-2'))
      .mockResolvedValueOnce(json({ message: 'Insufficient stock', status: 409 }, 409));
    const failure = await checkout(
      new ShopApi('', fetchMock),
      cart,
      { newCustomer: { firstname: 'A', lastname: 'B', email: 'a@b.example' } },
      'PAYPAL',
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CheckoutError);
    expect(failure).toMatchObject({ stage: 'order', customerId: 'cust-2', message: 'Insufficient stock' });
  });

  it('puts customer field errors on the customer step', async () => {
    const fetchMock = vi.fn<typeof fetch>().mockResolvedValue(json({ message: 'Invalid', errors: { email: 'bad' } }, 400));
    const failure = await checkout(new ShopApi('', fetchMock), cart, { newCustomer: { firstname: 'A', lastname: 'B', email: 'x' } }, 'VISA').catch(
      (e: unknown) => e,
    );
    expect(failure).toMatchObject({ stage: 'customer', customerId: null });
    expect((failure as CheckoutError).apiError.fieldErrors).toEqual({ email: 'bad' });
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });
});
