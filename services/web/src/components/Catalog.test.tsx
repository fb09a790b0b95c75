// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Product } from '../api';
import { Catalog } from './Catalog';

afterEach(cleanup);

const products: Product[] = Array.from({ length: 10 }, (_, i) => ({
  id: i + 1,
  name: `Keyboard ${i + 1}`,
  description: 'keys',
  categoryName: i < 5 ? 'Keyboards' : 'Mice',
  price: 10 + i,
  availableQuantity: i === 0 ? 0 : 5,
}));

describe('<Catalog>', () => {
  it('cannot add an out-of-stock product', () => {
    const onAdd = vi.fn();
    render(<Catalog products={products} error={null} onRetry={() => {}} cart={[]} onAdd={onAdd} />);
    const soldOut = screen.getByRole('button', { name: 'Add Keyboard 1 to cart' });
    expect(soldOut).toHaveProperty('disabled', true);
    fireEvent.click(soldOut);
    expect(onAdd).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Add Keyboard 2 to cart' }));
    expect(onAdd).toHaveBeenCalledWith(products[1]);
  });

  it('labels its filters and pages through the results', () => {
    render(<Catalog products={products} error={null} onRetry={() => {}} cart={[]} onAdd={() => {}} />);
    expect(screen.getByText('Page 1 of 2')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Category'), { target: { value: 'Mice' } });
    expect(screen.getByText('5 products')).toBeTruthy();
    expect(screen.getByText('Page 1 of 1')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Search products'), { target: { value: 'keyboard 10' } });
    expect(screen.getAllByTestId('product')).toHaveLength(1);
  });

  it('shows loading, then an error with a retry', () => {
    const onRetry = vi.fn();
    const { rerender } = render(<Catalog products={null} error={null} onRetry={onRetry} cart={[]} onAdd={() => {}} />);
    expect(screen.getByRole('status').textContent).toContain('Loading');
    rerender(<Catalog products={null} error={new Error('gateway down')} onRetry={onRetry} cart={[]} onAdd={() => {}} />);
    expect(screen.getByRole('alert').textContent).toContain('gateway down');
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(onRetry).toHaveBeenCalled();
  });
});
