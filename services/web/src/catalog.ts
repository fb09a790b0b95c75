/** Catalog views: category list, search, paging and price formatting (pure). */

import type { Product } from './api';

export const PAGE_SIZE = 8;

export function categoryOf(p: Product): string {
  return p.categoryName ?? (p.categoryId != null ? `Category ${p.categoryId}` : 'Other');
}

export function categories(products: readonly Product[]): string[] {
  return [...new Set(products.map(categoryOf))].sort((a, b) => a.localeCompare(b));
}

/** Products of `category` ('' = all) whose name or description contains every word of `query`. */
export function filterProducts(
  products: readonly Product[],
  category: string,
  query: string,
): Product[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return products.filter((p) => {
    if (category && categoryOf(p) !== category) return false;
    const text = `${p.name} ${p.description}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

export interface Page<T> {
  items: T[];
  page: number;
  pages: number;
}

/** Page `page` (1-based, clamped) of `items`; an empty list has one empty page. */
export function paginate<T>(items: readonly T[], page: number, size = PAGE_SIZE): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, page), pages);
  return { items: items.slice((current - 1) * size, current * size), page: current, pages };
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

export function formatPrice(amount: number): string {
  return money.format(amount);
}
