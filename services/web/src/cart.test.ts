import { describe, expect, it } from 'vitest';
import type { Product } from './api';
import { addToCart, canAdd, cartCount, cartTotal, orderRequest, refreshCart, setQuantity } from './cart';

const product = (id: number, price: number, stock: number): Product => ({
  id,
  name: `P${id}`,
  description: '',
  price,
  availableQuantity: stock,
});

describe('cart', () => {
  it('adds up to the stock and no further', () => {
    const p = product(1, 10, 2);
    let cart = addToCart([], p);
    cart = addToCart(cart, p);
    expect(canAdd(cart, p)).toBe(false);
    cart = addToCart(cart, p);
    expect(cart).toEqual([{ product: p, quantity: 2 }]);
  });

  it('never adds an out-of-stock product', () => {
    const p = product(1, 10, 0);
    expect(canAdd([], p)).toBe(false);
    expect(addToCart([], p)).toEqual([]);
  });

  it('removes a line at quantity 0 and ignores nonsense input', () => {
    const p = product(1, 10, 5);
    const cart = setQuantity([], p, 3);
    expect(setQuantity(cart, p, 0)).toEqual([]);
    expect(setQuantity(cart, p, Number('abc'))).toEqual([]);
    expect(setQuantity(cart, p, 2.7)[0].quantity).toBe(2);
  });

  it('totals in cents without float drift', () => {
    const cart = setQuantity(setQuantity([], product(1, 0.1, 9), 3), product(2, 19.99, 9), 3);
    expect(cartTotal(cart)).toBe(60.27);
    expect(cartCount(cart)).toBe(6);
  });

  it('re-clamps to fresh stock and drops vanished products', () => {
    const a = product(1, 10, 5);
    const cart = setQuantity(setQuantity([], a, 4), product(2, 5, 5), 1);
    const fresh = refreshCart(cart, [{ ...a, availableQuantity: 2, price: 12 }]);
    expect(fresh).toHaveLength(1);
    expect(fresh[0].quantity).toBe(2);
    expect(fresh[0].product.price).toBe(12);
  });

  it('builds the order request the order service expects', () => {
    const cart = setQuantity([], product(51, 19.99, 9), 2);
    expect(orderRequest(cart, 'c-1', 'VISA')).toEqual({
      customerId: 'c-1',
      paymentMethod: 'VISA',
      amount: 39.98,
      products: [{ productId: 51, quantity: 2 }],
    });
  });
});
