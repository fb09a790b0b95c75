import { useEffect, useId, useState, type FormEvent } from 'react';
import { PAYMENT_METHODS, type Customer, type NewCustomer, type PaymentMethod, type ShopApi } from '../api';
import { cartTotal, setQuantity, type Cart } from '../cart';
import { formatPrice } from '../catalog';
import { checkout, CheckoutError, type CheckoutResult } from '../checkout';
import type { ShopConfig } from '../config';
import { ErrorBox, Loading } from './Status';
import { TraceLink } from './TraceLink';

interface Props {
  api: ShopApi;
  config: ShopConfig;
  cart: Cart;
  onCartChange: (cart: Cart) => void;
  customerId: string;
  onCustomerChange: (id: string) => void;
  onPlaced: (result: CheckoutResult) => void;
}

const EMPTY_CUSTOMER = { firstname: '', lastname: '', email: '', street: '', houseNumber: '', zipCode: '' };
type CustomerForm = typeof EMPTY_CUSTOMER;
const CUSTOMER_FIELDS: [keyof CustomerForm, string, string][] = [
  ['firstname', 'First name', 'text'],
  ['lastname', 'Last name', 'text'],
  ['email', 'E-mail', 'email'],
  ['street', 'Street', 'text'],
  ['houseNumber', 'House number', 'text'],
  ['zipCode', 'ZIP code', 'text'],
];
const PAYMENT_LABELS: Record<PaymentMethod, string> = {
  PAYPAL: 'PayPal',
  CREDIT_CARD: 'Credit card',
  VISA: 'Visa',
  MASTER_CARD: 'Mastercard',
  BITCOIN: 'Bitcoin',
};

function toNewCustomer(form: CustomerForm): NewCustomer {
  const { street, houseNumber, zipCode, ...names } = form;
  const address = street || houseNumber || zipCode ? { street, houseNumber, zipCode } : null;
  return { ...names, address };
}

/** `address.zipCode` and `zipCode` both point at the ZIP code field. */
function fieldError(errors: Record<string, string>, field: string): string | undefined {
  return Object.entries(errors).find(([k]) => k === field || k.endsWith(`.${field}`))?.[1];
}

export function Checkout(props: Props) {
  const { api, config, cart, onCartChange, customerId, onCustomerChange, onPlaced } = props;
  const [customers, setCustomers] = useState<Customer[] | null>(null);
  const [customersError, setCustomersError] = useState<unknown>(null);
  const [mode, setMode] = useState<'existing' | 'new'>(customerId ? 'existing' : 'new');
  const [form, setForm] = useState<CustomerForm>(EMPTY_CUSTOMER);
  const [payment, setPayment] = useState<PaymentMethod>('CREDIT_CARD');
  const [placing, setPlacing] = useState(false);
  const [result, setResult] = useState<CheckoutResult | null>(null);
  const [failure, setFailure] = useState<CheckoutError | Error | null>(null);
  const uid = useId();

  const loadCustomers = () => {
    setCustomersError(null);
    api.listCustomers().then(setCustomers, setCustomersError);
  };
  useEffect(loadCustomers, [api]);

  const customerErrors = failure instanceof CheckoutError && failure.stage === 'customer' ? failure.apiError.fieldErrors : {};
  const total = cartTotal(cart);
  const canPlace = cart.length > 0 && !placing && (mode === 'new' || Boolean(customerId));

  /** Switch to the customer just created; listed at once, before the reload answers. */
  function adopt(id: string) {
    setCustomers((list) => [...(list ?? []), { id, ...toNewCustomer(form) }]);
    setMode('existing');
    loadCustomers();
  }

  async function placeOrder(event: FormEvent) {
    event.preventDefault();
    if (!canPlace) return;
    setPlacing(true);
    setFailure(null);
    setResult(null);
    const buyer = mode === 'existing' ? { customerId } : { newCustomer: toNewCustomer(form) };
    try {
      const placed = await checkout(api, cart, buyer, payment);
      setResult(placed);
      if (mode === 'new') {
        adopt(placed.customerId);
        setForm(EMPTY_CUSTOMER);
      }
      onPlaced(placed);
    } catch (err) {
      // a customer created before the order failed is kept: a retry must not create it twice
      if (err instanceof CheckoutError && err.customerId && mode === 'new') {
        onCustomerChange(err.customerId);
        adopt(err.customerId);
      }
      setFailure(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setPlacing(false);
    }
  }

  return (
    <section aria-labelledby="checkout-title">
      <h2 id="checkout-title">Checkout</h2>
      <Outcome config={config} result={result} />
      <form onSubmit={placeOrder} noValidate aria-busy={placing}>
        <fieldset>
          <legend>Cart</legend>
          {cart.length === 0 ? (
            <p>Your cart is empty. Add products from the catalog.</p>
          ) : (
            <ul className="cart">
              {cart.map((line) => {
                const qtyId = `${uid}-qty-${line.product.id}`;
                return (
                  <li key={line.product.id} data-testid="cart-line">
                    <span className="name">{line.product.name}</span>
                    <label htmlFor={qtyId}>Quantity of {line.product.name}</label>
                    <input
                      id={qtyId}
                      type="number"
                      min={0}
                      max={line.product.availableQuantity}
                      value={line.quantity}
                      onChange={(e) => onCartChange(setQuantity(cart, line.product, Number(e.target.value)))}
                    />
                    <span className="price">{formatPrice(line.product.price * line.quantity)}</span>
                    <button
                      type="button"
                      aria-label={`Remove ${line.product.name}`}
                      onClick={() => onCartChange(setQuantity(cart, line.product, 0))}
                    >
                      Remove
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          <p className="total">
            Total: <strong data-testid="cart-total">{formatPrice(total)}</strong>
          </p>
        </fieldset>

        <fieldset>
          <legend>Customer</legend>
          <div className="choice">
            <input
              id={`${uid}-existing`}
              type="radio"
              name="customer-mode"
              checked={mode === 'existing'}
              onChange={() => setMode('existing')}
            />
            <label htmlFor={`${uid}-existing`}>Existing customer</label>
            <input
              id={`${uid}-new`}
              type="radio"
              name="customer-mode"
              checked={mode === 'new'}
              onChange={() => setMode('new')}
            />
            <label htmlFor={`${uid}-new`}>New customer</label>
          </div>
          {mode === 'existing' ? (
            customersError ? (
              <ErrorBox error={customersError} onRetry={loadCustomers} />
            ) : customers === null ? (
              <Loading>Loading customers…</Loading>
            ) : (
              <div className="field">
                <label htmlFor={`${uid}-customer`}>Customer</label>
                <select
                  id={`${uid}-customer`}
                  value={customerId}
                  onChange={(e) => onCustomerChange(e.target.value)}
                >
                  <option value="">Choose a customer…</option>
                  {customers.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.firstname} {c.lastname} ({c.email})
                    </option>
                  ))}
                </select>
              </div>
            )
          ) : (
            CUSTOMER_FIELDS.map(([field, label, type]) => {
              const id = `${uid}-${field}`;
              const error = fieldError(customerErrors, field);
              return (
                <div className="field" key={field}>
                  <label htmlFor={id}>{label}</label>
                  <input
                    id={id}
                    type={type}
                    value={form[field]}
                    required={['firstname', 'lastname', 'email'].includes(field)}
                    aria-invalid={Boolean(error)}
                    aria-describedby={error ? `${id}-error` : undefined}
                    autoComplete={field === 'email' ? 'email' : undefined}
                    onChange={(e) => setForm({ ...form, [field]: e.target.value })}
                  />
                  {error && (
                    <p id={`${id}-error`} className="field-error">
                      {error}
                    </p>
                  )}
                </div>
              );
            })
          )}
        </fieldset>

        <fieldset>
          <legend>Payment</legend>
          <div className="field">
            <label htmlFor={`${uid}-payment`}>Payment method</label>
            <select id={`${uid}-payment`} value={payment} onChange={(e) => setPayment(e.target.value as PaymentMethod)}>
              {PAYMENT_METHODS.map((m) => (
                <option key={m} value={m}>
                  {PAYMENT_LABELS[m]}
                </option>
              ))}
            </select>
          </div>
        </fieldset>

        {failure && <Failure failure={failure} />}
        <button type="submit" className="primary" disabled={!canPlace}>
          {placing ? 'Placing order…' : `Place order (${formatPrice(total)})`}
        </button>
        {placing && <Loading>Placing your order…</Loading>}
      </form>
    </section>
  );
}

function Outcome({ config, result }: { config: ShopConfig; result: CheckoutResult | null }) {
  if (!result) return null;
  const { outcome } = result;
  return (
    <div role="status" className={outcome.kind === 'confirmed' ? 'outcome ok' : 'outcome pending'} data-testid="outcome">
      {outcome.kind === 'confirmed' ? (
        <p>
          <strong>Order #{outcome.orderId} confirmed.</strong> Total paid:{' '}
          <strong data-testid="outcome-total">{formatPrice(result.amount)}</strong>.
        </p>
      ) : (
        <p>
          <strong>Order #{outcome.orderId} received; payment pending.</strong> {outcome.message} Total:{' '}
          <strong data-testid="outcome-total">{formatPrice(result.amount)}</strong>.
        </p>
      )}
      {outcome.traceId && <TraceLink config={config} traceId={outcome.traceId} />}{' '}
      <a href="#/orders">See your order history</a>
    </div>
  );
}

function Failure({ failure }: { failure: Error }) {
  const apiError = failure instanceof CheckoutError ? failure.apiError : null;
  const fields = apiError ? Object.entries(apiError.fieldErrors) : [];
  return (
    <div role="alert" className="error" data-testid="checkout-error">
      <p>
        {failure instanceof CheckoutError && failure.stage === 'customer'
          ? 'The customer could not be created: '
          : 'The order was not placed: '}
        {failure.message}
      </p>
      {fields.length > 0 && (
        <ul>
          {fields.map(([field, message]) => (
            <li key={field}>
              <code>{field}</code>: {message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
