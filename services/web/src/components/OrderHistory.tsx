import type { Order, Product } from '../api';
import { formatPrice } from '../catalog';
import type { ShopConfig } from '../config';
import { ErrorBox, Loading } from './Status';
import { TraceLink } from './TraceLink';

interface Props {
  config: ShopConfig;
  customerId: string;
  orders: Order[] | null;
  error: unknown;
  onRefresh: () => void;
  products: Product[] | null;
  traces: Record<string, string>;
}

export const RECENT_ORDERS = 10;

/** Most recent first: by creation date when both have one, else by id. */
export function recentOrders(orders: readonly Order[], limit = RECENT_ORDERS): Order[] {
  const key = (o: Order) => o.createdDate ?? '';
  return [...orders]
    .sort((a, b) => key(b).localeCompare(key(a)) || Number(b.id) - Number(a.id))
    .slice(0, limit);
}

function statusLabel(status: string | null | undefined): string {
  return (status ?? 'UNKNOWN').replace(/_/g, ' ').toLowerCase();
}

export function OrderHistory({ config, customerId, orders, error, onRefresh, products, traces }: Props) {
  const nameOf = (id: Order['id']) => products?.find((p) => String(p.id) === String(id))?.name ?? `Product ${id}`;
  let body;
  if (!customerId) body = <p>Choose or create a customer at checkout to see their orders.</p>;
  else if (error) body = <ErrorBox error={error} onRetry={onRefresh} />;
  else if (!orders) body = <Loading>Loading orders…</Loading>;
  else if (orders.length === 0) body = <p>No orders yet.</p>;
  else
    body = (
      <ol className="orders">
        {recentOrders(orders).map((o) => (
          <li key={o.id} className="order" data-testid="order" data-order-id={o.id}>
            <h3>
              Order #{o.id} <span className={`badge ${String(o.status).toLowerCase()}`}>{statusLabel(o.status)}</span>
            </h3>
            <p className="meta">
              {o.reference}
              {o.createdDate && ` · ${new Date(o.createdDate).toLocaleString()}`} · {o.paymentMethod}
            </p>
            <ul className="lines">
              {(o.lines ?? []).map((l, i) => (
                <li key={i}>
                  {l.quantity} × {nameOf(l.productId)}
                  {l.price != null && ` @ ${formatPrice(l.price)}`}
                </li>
              ))}
            </ul>
            <p className="total">
              Total: <strong>{o.amount == null ? '—' : formatPrice(o.amount)}</strong>
            </p>
            <p>
              {traces[String(o.id)] ? (
                <TraceLink config={config} traceId={traces[String(o.id)]} />
              ) : (
                <span className="trace muted">Trace id not recorded in this browser</span>
              )}
            </p>
          </li>
        ))}
      </ol>
    );
  return (
    <section aria-labelledby="orders-title">
      <h2 id="orders-title">Order history</h2>
      {customerId && (
        <button type="button" onClick={onRefresh}>
          Refresh orders
        </button>
      )}
      {body}
    </section>
  );
}
