/** What this browser remembers: the chosen customer and the trace id of each order it placed. */

const CUSTOMER_KEY = 'shop.customerId';
const TRACES_KEY = 'shop.orderTraces';

export function savedCustomerId(): string {
  return localStorage.getItem(CUSTOMER_KEY) ?? '';
}

export function saveCustomerId(id: string): void {
  if (id) localStorage.setItem(CUSTOMER_KEY, id);
  else localStorage.removeItem(CUSTOMER_KEY);
}

export function orderTraces(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(TRACES_KEY) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

export function saveOrderTrace(orderId: number | string, traceId: string): void {
  localStorage.setItem(TRACES_KEY, JSON.stringify({ ...orderTraces(), [String(orderId)]: traceId }));
}
