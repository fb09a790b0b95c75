/** The cart: pure functions over an immutable list of lines, never above the stock. */

import type { OrderRequest, Product } from './api';

export interface CartLine {
  product: Product;
  quantity: number;
}

export type Cart = readonly CartLine[];

const sameId = (a: Product['id'], b: Product['id']) => String(a) === String(b);

export function quantityInCart(cart: Cart, productId: Product['id']): number {
  return cart.find((l) => sameId(l.product.id, productId))?.quantity ?? 0;
}

/** True when one more of `product` can go into the cart. */
export function canAdd(cart: Cart, product: Product): boolean {
  return quantityInCart(cart, product.id) < product.availableQuantity;
}

/** Set the quantity of a product (added if new), clamped to 0..stock; 0 removes the line. */
export function setQuantity(cart: Cart, product: Product, quantity: number): Cart {
  const wanted = Math.max(0, Math.min(Math.floor(quantity) || 0, product.availableQuantity));
  const rest = cart.filter((l) => !sameId(l.product.id, product.id));
  if (wanted === 0) return rest;
  const index = cart.findIndex((l) => sameId(l.product.id, product.id));
  const line = { product, quantity: wanted };
  return index < 0 ? [...cart, line] : cart.map((l, i) => (i === index ? line : l));
}

export function addToCart(cart: Cart, product: Product, quantity = 1): Cart {
  return setQuantity(cart, product, quantityInCart(cart, product.id) + quantity);
}

/** Lines re-priced and re-clamped against a fresh catalog; lines of vanished products drop. */
export function refreshCart(cart: Cart, products: readonly Product[]): Cart {
  return cart.reduce<Cart>((next, line) => {
    const fresh = products.find((p) => sameId(p.id, line.product.id));
    return fresh ? setQuantity(next, fresh, line.quantity) : next;
  }, []);
}

export const round2 = (n: number) => Math.round(n * 100) / 100;

export function cartTotal(cart: Cart): number {
  return round2(cart.reduce((sum, l) => sum + l.product.price * l.quantity, 0));
}

export function cartCount(cart: Cart): number {
  return cart.reduce((sum, l) => sum + l.quantity, 0);
}

export function orderRequest(
  cart: Cart,
  customerId: string,
  paymentMethod: OrderRequest['paymentMethod'],
): OrderRequest {
  return {
    customerId,
    paymentMethod,
    amount: cartTotal(cart),
    products: cart.map((l) => ({ productId: l.product.id, quantity: l.quantity })),
  };
}
