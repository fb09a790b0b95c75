import { useId, useMemo, useState } from 'react';
import type { Product } from '../api';
import { canAdd, quantityInCart, type Cart } from '../cart';
import { categories, categoryOf, filterProducts, formatPrice, paginate } from '../catalog';
import { ErrorBox, Loading } from './Status';

interface Props {
  products: Product[] | null;
  error: unknown;
  onRetry: () => void;
  cart: Cart;
  onAdd: (product: Product) => void;
}

export function Catalog({ products, error, onRetry, cart, onAdd }: Props) {
  const [query, setQuery] = useState('');
  const [category, setCategory] = useState('');
  const [page, setPage] = useState(1);
  const searchId = useId();
  const categoryId = useId();
  const all = useMemo(() => products ?? [], [products]);
  const shown = useMemo(() => filterProducts(all, category, query), [all, category, query]);
  const current = paginate(shown, page);

  if (error && !products) return <ErrorBox error={error} onRetry={onRetry} />;
  if (!products) return <Loading>Loading products…</Loading>;

  return (
    <section aria-labelledby="catalog-title">
      <h2 id="catalog-title">Catalog</h2>
      <div className="filters">
        <label htmlFor={searchId}>Search products</label>
        <input
          id={searchId}
          type="search"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setPage(1);
          }}
        />
        <label htmlFor={categoryId}>Category</label>
        <select
          id={categoryId}
          value={category}
          onChange={(e) => {
            setCategory(e.target.value);
            setPage(1);
          }}
        >
          <option value="">All categories</option>
          {categories(all).map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <p role="status" className="count">
        {shown.length} {shown.length === 1 ? 'product' : 'products'}
      </p>
      <ul className="products">
        {current.items.map((p) => {
          const inCart = quantityInCart(cart, p.id);
          const outOfStock = p.availableQuantity <= 0;
          return (
            <li key={p.id} className="product" data-testid="product">
              <h3>{p.name}</h3>
              <p className="category">{categoryOf(p)}</p>
              <p>{p.description}</p>
              <p className="price">{formatPrice(p.price)}</p>
              <p className={outOfStock ? 'stock out' : 'stock'}>
                {outOfStock ? 'Out of stock' : `${p.availableQuantity} in stock`}
                {inCart > 0 && ` · ${inCart} in cart`}
              </p>
              <button
                type="button"
                disabled={!canAdd(cart, p)}
                onClick={() => onAdd(p)}
                aria-label={`Add ${p.name} to cart`}
              >
                {outOfStock ? 'Out of stock' : 'Add to cart'}
              </button>
            </li>
          );
        })}
      </ul>
      <nav className="pager" aria-label="Catalog pages">
        <button type="button" disabled={current.page <= 1} onClick={() => setPage(current.page - 1)}>
          Previous page
        </button>
        <span>
          Page {current.page} of {current.pages}
        </span>
        <button
          type="button"
          disabled={current.page >= current.pages}
          onClick={() => setPage(current.page + 1)}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
