/** Placing an order: one user action, one trace (customer creation, order, payment behind it). */

import { ApiError, type NewCustomer, type OrderOutcome, type PaymentMethod, type ShopApi } from './api';
import { cartCount, cartTotal, orderRequest, type Cart } from './cart';
import { inRootSpan, traceIdOf } from './tracing';

export type Buyer = { customerId: string } | { newCustomer: NewCustomer };

export interface CheckoutResult {
  customerId: string;
  /** What the order costs (the server recomputes it and refuses a mismatch). */
  amount: number;
  outcome: OrderOutcome;
}

/** Which form a failure belongs to, so its field errors land next to the right fields. */
export class CheckoutError extends Error {
  constructor(
    readonly stage: 'customer' | 'order',
    readonly apiError: ApiError,
    readonly customerId: string | null,
  ) {
    super(apiError.message);
    this.name = 'CheckoutError';
  }
}

/**
 * Create the customer if asked, then place the order, all under one root span `checkout`.
 * The outcome's trace id is the gateway's `X-Trace-Id`, else the span's own.
 */
export function checkout(
  api: ShopApi,
  cart: Cart,
  buyer: Buyer,
  paymentMethod: PaymentMethod,
): Promise<CheckoutResult> {
  const attributes = {
    'app.cart.items': cartCount(cart),
    'app.order.amount': cartTotal(cart),
    'app.payment.method': paymentMethod,
  };
  return inRootSpan('checkout', attributes, async (ctx, span) => {
    let customerId: string | null = 'customerId' in buyer ? buyer.customerId : null;
    try {
      if (customerId === null) customerId = await api.createCustomer((buyer as { newCustomer: NewCustomer }).newCustomer, ctx);
    } catch (err) {
      throw err instanceof ApiError ? new CheckoutError('customer', err, null) : err;
    }
    try {
      const outcome = await api.placeOrder(orderRequest(cart, customerId, paymentMethod), ctx);
      span.setAttribute('app.order.id', String(outcome.orderId));
      const traceId = outcome.traceId ?? traceIdOf(span);
      return { customerId, amount: cartTotal(cart), outcome: { ...outcome, traceId } };
    } catch (err) {
      throw err instanceof ApiError ? new CheckoutError('order', err, customerId) : err;
    }
  });
}
