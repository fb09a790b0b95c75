import { describe, expect, it } from 'vitest';
import type { Product } from './api';
import { categories, filterProducts, formatPrice, paginate } from './catalog';

const p = (id: number, name: string, categoryName: string, description = ''): Product => ({
  id,
  name,
  description,
  categoryName,
  price: 1,
  availableQuantity: 1,
});
const products = [
  p(1, 'Mechanical keyboard', 'Keyboards', 'Cherry MX switches'),
  p(2, 'Wireless mouse', 'Mice', 'Ergonomic'),
  p(3, 'Gaming keyboard', 'Keyboards', 'RGB backlight'),
];

describe('catalog', () => {
  it('lists categories once, sorted', () => {
    expect(categories(products)).toEqual(['Keyboards', 'Mice']);
  });

  it('filters by category and by every word of the search, case-insensitively', () => {
    expect(filterProducts(products, 'Keyboards', '').map((x) => x.id)).toEqual([1, 3]);
    expect(filterProducts(products, '', 'KEYBOARD rgb').map((x) => x.id)).toEqual([3]);
    expect(filterProducts(products, 'Mice', 'keyboard')).toEqual([]);
  });

  it('pages and clamps the page number', () => {
    const items = Array.from({ length: 17 }, (_, i) => i);
    expect(paginate(items, 1, 8)).toEqual({ items: [0, 1, 2, 3, 4, 5, 6, 7], page: 1, pages: 3 });
    expect(paginate(items, 9, 8)).toEqual({ items: [16], page: 3, pages: 3 });
    expect(paginate([], 2, 8)).toEqual({ items: [], page: 1, pages: 1 });
  });

  it('formats prices as dollars', () => {
    expect(formatPrice(1234.5)).toBe('$1,234.50');
  });
});
