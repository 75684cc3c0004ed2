// What main.ts needs of a view: its section, and what to do when the address (#<id>?...) shows it.
export interface View {
  id: string;
  title: string;
  section: HTMLElement;
  show(params: URLSearchParams): void;
}

/** A link to a view with parameters: `#events?partition=1&from=sequence&value=5`. */
export function viewHref(id: string, params: Record<string, string | number> = {}): string {
  const query = new URLSearchParams(Object.entries(params).map(([name, value]) => [name, String(value)]));
  const text = query.toString();
  return `#${id}${text ? `?${text}` : ''}`;
}

/**
 * Rows that stay in place while their text changes every second: a keyboard user's focus on a link in
 * the table is not lost to a re-render. `cells` returns the row's texts; `extra` adds the row's
 * controls once, when the row is created.
 */
export function keyedRows<T>(
  tbody: HTMLTableSectionElement,
  items: T[],
  key: (item: T) => string,
  cells: (item: T) => string[],
  extra?: (item: T) => HTMLElement[],
): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const row of Array.from(tbody.rows)) existing.set(row.dataset.key ?? '', row);
  const order: HTMLTableRowElement[] = [];
  for (const item of items) {
    const id = key(item);
    const texts = cells(item);
    let row = existing.get(id);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.key = id;
      texts.forEach((_, index) => row!.appendChild(document.createElement(index === 0 ? 'th' : 'td')));
      row.cells[0].setAttribute('scope', 'row');
      for (const control of extra?.(item) ?? []) {
        const cell = document.createElement('td');
        cell.appendChild(control);
        row.appendChild(cell);
      }
    }
    texts.forEach((text, index) => {
      if (row!.cells[index].textContent !== text) row!.cells[index].textContent = text;
    });
    existing.delete(id);
    order.push(row);
  }
  for (const row of existing.values()) row.remove();
  order.forEach((row, index) => {
    if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] ?? null);
  });
}
