/** The shop's REST API behind the gateway: typed calls, honest errors, trace ids. */

import type { Context } from '@opentelemetry/api';
import { inContext } from './tracing';

export interface Product {
  id: number | string;
  name: string;
  description: string;
  availableQuantity: number;
  price: number;
  categoryId?: number | string | null;
  categoryName?: string | null;
}

export interface Address {
  street?: string | null;
  houseNumber?: string | null;
  zipCode?: string | null;
}

export interface Customer {
  id: string;
  firstname: string;
  lastname: string;
  email: string;
  address?: Address | null;
}

export type NewCustomer = Omit<Customer, 'id'>;

export interface OrderLine {
  productId: number | string;
  quantity: number;
  price?: number | null;
}

export interface Order {
  id: number | string;
  reference: string;
  amount?: number | null;
  paymentMethod: string;
  customerId: string;
  status?: string | null;
  createdDate?: string | null;
  lines?: OrderLine[];
}

export const PAYMENT_METHODS = ['PAYPAL', 'CREDIT_CARD', 'VISA', 'MASTER_CARD', 'BITCOIN'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface OrderRequest {
  customerId: string;
  paymentMethod: PaymentMethod;
  amount: number;
  products: { productId: number | string; quantity: number }[];
}

/** 200: paid and confirmed; 202: the order stands but payment is still pending. */
export type OrderOutcome =
  | { kind: 'confirmed'; orderId: number | string; traceId: string | null }
  | {
      kind: 'pending';
      orderId: number | string;
      reference: string | null;
      message: string;
      traceId: string | null;
    };

/** A non-2xx answer, read from the shop's JSON error envelope (or its plain text). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly fieldErrors: Record<string, string> = {},
    readonly traceId: string | null = null,
    readonly upstream: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const TRACE_HEADER = 'X-Trace-Id';

export async function readError(res: Response): Promise<ApiError> {
  const text = await res.text();
  const traceId = res.headers.get(TRACE_HEADER);
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (body && typeof body === 'object') {
      const errors = (body.errors ?? {}) as Record<string, string>;
      const message =
        typeof body.message === 'string' && body.message
          ? body.message
          : `${res.status} ${res.statusText}`.trim();
      return new ApiError(
        message,
        res.status,
        errors,
        (body.traceId as string | null) ?? traceId,
        (body.upstream as string | null) ?? null,
      );
    }
  } catch {
    // not JSON: fall through to the text
  }
  return new ApiError(text.trim() || `${res.status} ${res.statusText}`.trim(), res.status, {}, traceId);
}

const toNumber = (value: unknown): number => (typeof value === 'number' ? value : Number(value));

/** Products as the product service sends them (a list, or a page of one), prices as numbers. */
export function normaliseProducts(body: unknown): Product[] {
  const page = body as { content?: unknown; items?: unknown };
  const list = Array.isArray(body) ? body : (page?.content ?? page?.items ?? []);
  return (list as Product[]).map((p) => ({
    ...p,
    price: toNumber(p.price),
    availableQuantity: toNumber(p.availableQuantity),
  }));
}

export function normaliseOrder(order: Order): Order {
  return {
    ...order,
    amount: order.amount == null ? null : toNumber(order.amount),
    lines: (order.lines ?? []).map((l) => ({
      ...l,
      quantity: toNumber(l.quantity),
      price: l.price == null ? null : toNumber(l.price),
    })),
  };
}

export class ShopApi {
  constructor(
    private readonly baseUrl: string,
    // Looked up at call time: the fetch instrumentation patches the global after start-up.
    private readonly fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args),
  ) {}

  private async call(path: string, init: RequestInit = {}, ctx?: Context): Promise<Response> {
    const headers = { Accept: 'application/json', ...(init.body ? { 'Content-Type': 'application/json' } : {}) };
    let res: Response;
    try {
      res = await inContext(ctx, () =>
        this.fetchImpl(`${this.baseUrl}${path}`, { ...init, headers: { ...headers, ...init.headers } }),
      );
    } catch (err) {
      // fetch rejects only when no answer came: network down, gateway down, or CORS refused
      throw new ApiError(`The shop could not be reached (${(err as Error).message}).`, 0);
    }
    if (!res.ok) throw await readError(res);
    return res;
  }

  async listProducts(ctx?: Context): Promise<Product[]> {
    const res = await this.call('/api/v1/products?size=500', {}, ctx);
    return normaliseProducts(await res.json());
  }

  async listCustomers(ctx?: Context): Promise<Customer[]> {
    return (await (await this.call('/api/v1/customers', {}, ctx)).json()) as Customer[];
  }

  /** Creates the customer and returns its id. */
  async createCustomer(customer: NewCustomer, ctx?: Context): Promise<string> {
    const res = await this.call('/api/v1/customers', { method: 'POST', body: JSON.stringify(customer) }, ctx);
    return String(await res.json());
  }

  async placeOrder(order: OrderRequest, ctx?: Context): Promise<OrderOutcome> {
    const res = await this.call('/api/v1/orders', { method: 'POST', body: JSON.stringify(order) }, ctx);
    const traceId = res.headers.get(TRACE_HEADER);
    const body = (await res.json()) as unknown;
    if (res.status === 202) {
      const pending = body as { orderId: number | string; reference?: string; message?: string };
      return {
        kind: 'pending',
        orderId: pending.orderId,
        reference: pending.reference ?? null,
        message: pending.message ?? 'Payment is pending; the order will be paid as soon as possible.',
        traceId,
      };
    }
    const id = typeof body === 'object' && body !== null ? (body as { id: number | string }).id : body;
    return { kind: 'confirmed', orderId: id as number | string, traceId };
  }

  async listOrders(customerId: string, ctx?: Context): Promise<Order[]> {
    const res = await this.call(`/api/v1/orders?customerId=${encodeURIComponent(customerId)}`, {}, ctx);
    return ((await res.json()) as Order[]).map(normaliseOrder);
  }
}
