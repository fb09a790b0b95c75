import { describe, expect, it, vi } from 'vitest';
import { ApiError, ShopApi, normaliseProducts, readError } from './api';

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('api', () => {
  it('reads the error envelope with its field errors and trace id', async () => {
    const err = await readError(
      json(
        { status: 400, error: 'Bad Request', message: 'Invalid request', errors: { email: 'not an email' }, traceId: 'abc' },
        400,
      ),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.fieldErrors).toEqual({ email: 'not an email' });
    expect(err.traceId).toBe('abc');
  });

  it('names the upstream of a gateway error and reads plain-text bodies', async () => {
    const gw = await readError(json({ status: 502, message: "upstream 'payment' is unavailable", upstream: 'payment' }, 502));
    expect(gw.upstream).toBe('payment');
    const text = await readError(new Response('Insufficient stock', { status: 409 }));
    expect(text.message).toBe('Insufficient stock');
  });

  it('accepts a list or a page of products, with prices as strings', () => {
    const raw = [{ id: 1, name: 'a', description: '', price: '19.99', availableQuantity: '3' }];
    expect(normaliseProducts(raw)[0].price).toBe(19.99);
    expect(normaliseProducts({ content: raw })[0].availableQuantity).toBe(3);
    expect(normaliseProducts({ items: raw })).toHaveLength(1);
  });

  it('tells a paid order from a payment-pending one, keeping the gateway trace id', async () => {
    const fetchMock = vi
      .fn<typeof fetch>()
      .mockResolvedValueOnce(json(7, 200, { 'X-Trace-Id': 't1' }))
      .mockResolvedValueOnce(
        json({ orderId: 8, reference: 'R8', status: 'PAYMENT_PENDING', message: 'payment later' }, 202, { 'X-Trace-Id': 't2' }),
      );
    const api = new ShopApi('http://gw', fetchMock);
    const order = { customerId: 'c', paymentMethod: 'VISA' as const, amount: 1, products: [{ productId: 1, quantity: 1 }] };
    expect(await api.placeOrder(order)).toEqual({ kind: 'confirmed', orderId: 7, traceId: 't1' });
    expect(await api.placeOrder(order)).toEqual({ kind: 'pending', orderId: 8, reference: 'R8', message: 'payment later', traceId: 't2' });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('http://gw/api/v1/orders');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual(order);
  });

  it('says plainly when no answer came at all', async () => {
    const api = new ShopApi('', vi.fn<typeof fetch>().mockRejectedValue(new TypeError('Failed to fetch')));
    await expect(api.listCustomers()).rejects.toMatchObject({ status: 0, message: 'The shop could not be reached (Failed to fetch).' });
  });

  it('throws ApiError on 4xx so the page can show it', async () => {
    const api = new ShopApi('', vi.fn<typeof fetch>().mockResolvedValue(json({ message: 'Out of stock' }, 409)));
    await expect(api.listProducts()).rejects.toMatchObject({ status: 409, message: 'Out of stock' });
  });
});
