import { useCallback, useEffect, useMemo, useState } from 'react';
import { ShopApi, type Order, type Product } from './api';
import { addToCart, cartCount, refreshCart, type Cart } from './cart';
import type { CheckoutResult } from './checkout';
import { Catalog } from './components/Catalog';
import { Checkout } from './components/Checkout';
import { OrderHistory } from './components/OrderHistory';
import type { ShopConfig } from './config';
import { orderTraces, saveCustomerId, savedCustomerId, saveOrderTrace } from './storage';

const VIEWS = { catalog: 'Catalog', checkout: 'Checkout', orders: 'Order history' } as const;
type View = keyof typeof VIEWS;

function viewFromHash(): View {
  const name = location.hash.replace(/^#\/?/, '');
  return name in VIEWS ? (name as View) : 'catalog';
}

export function App({ config }: { config: ShopConfig }) {
  const api = useMemo(() => new ShopApi(config.gatewayUrl), [config.gatewayUrl]);
  const [view, setView] = useState<View>(viewFromHash);
  const [products, setProducts] = useState<Product[] | null>(null);
  const [productsError, setProductsError] = useState<unknown>(null);
  const [cart, setCart] = useState<Cart>([]);
  const [customerId, setCustomerId] = useState(savedCustomerId);
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [ordersError, setOrdersError] = useState<unknown>(null);
  const [traces, setTraces] = useState(orderTraces);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = `${VIEWS[view]} · traceaudit shop`;
    document.getElementById('main')?.focus();
  }, [view]);

  const loadProducts = useCallback(() => {
    setProductsError(null);
    api.listProducts().then((fresh) => {
      setProducts(fresh);
      setCart((c) => refreshCart(c, fresh));
    }, setProductsError);
  }, [api]);
  useEffect(loadProducts, [loadProducts]);

  const loadOrders = useCallback(() => {
    setOrders(null);
    setOrdersError(null);
    if (customerId) api.listOrders(customerId).then(setOrders, setOrdersError);
  }, [api, customerId]);
  useEffect(loadOrders, [loadOrders]);

  const chooseCustomer = (id: string) => {
    saveCustomerId(id);
    setCustomerId(id);
  };

  const onPlaced = ({ customerId: buyer, outcome }: CheckoutResult) => {
    if (outcome.traceId) saveOrderTrace(outcome.orderId, outcome.traceId);
    setTraces(orderTraces());
    setCart([]);
    if (buyer === customerId) loadOrders();
    else chooseCustomer(buyer); // the effect on customerId reloads the history
    loadProducts();
  };

  return (
    <>
      <a
        className="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault(); // the hash is the router's
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <h1>traceaudit shop</h1>
        <nav aria-label="Main">
          <ul>
            {(Object.keys(VIEWS) as View[]).map((v) => (
              <li key={v}>
                <a href={`#/${v}`} aria-current={v === view ? 'page' : undefined}>
                  {VIEWS[v]}
                  {v === 'checkout' && cart.length > 0 && (
                    <span className="pill" aria-label={`${cartCount(cart)} items in cart`}>
                      {cartCount(cart)}
                    </span>
                  )}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {view === 'catalog' && (
          <Catalog
            products={products}
            error={productsError}
            onRetry={loadProducts}
            cart={cart}
            onAdd={(p) => setCart((c) => addToCart(c, p))}
          />
        )}
        {view === 'checkout' && (
          <Checkout
            api={api}
            config={config}
            cart={cart}
            onCartChange={setCart}
            customerId={customerId}
            onCustomerChange={chooseCustomer}
            onPlaced={onPlaced}
          />
        )}
        {view === 'orders' && (
          <OrderHistory
            config={config}
            customerId={customerId}
            orders={orders}
            error={ordersError}
            onRefresh={loadOrders}
            products={products}
            traces={traces}
          />
        )}
      </main>
    </>
  );
}
