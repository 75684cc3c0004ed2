// A few lines instead of a front-end library: build elements with attributes and children, replace
// an element's content. Text always goes in as text nodes (never HTML), so event bodies, properties
// and log lines cannot inject markup.

type Child = Node | string | number | null | undefined | false | Child[];
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/**
 * A two-column table of names and values. Values are JSON (a string "1" and a number 1 differ in a
 * property), or as they are with `raw` (headers).
 */
export function propertyTable(caption: string, values: Record<string, unknown>, raw = false): HTMLElement {
  const entries = Object.entries(values);
  if (entries.length === 0) return h('p', { class: 'muted' }, `${caption}: none`);
  return h(
    'table',
    { class: 'properties' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
    h(
      'tbody',
      {},
      entries.map(([name, value]) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, name),
          h('td', {}, h('code', {}, raw ? String(value) : JSON.stringify(value))),
        ),
      ),
    ),
  );
}
