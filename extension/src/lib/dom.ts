/**
 * @module Building the extension's pages without innerHTML: elements from tag, properties and
 * children, where every string becomes a text node. Whatever a site or a prompt says stays text.
 */

type Child = Node | string | null | undefined | false;
type Props = { [k: string]: string | boolean | number | undefined | ((e: Event) => void) };

/**
 * An element. `on*` props become listeners, `class`/`text` are shortcuts, booleans toggle
 * attributes, other strings are attributes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

/** Replace an element's children. */
export const mount = (parent: Element, ...children: Child[]): void => {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
};

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

/** A date as the person's clock shows it. */
export const when = (iso: string | number): string => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** "in 4 min 10 s" / "2 min ago". */
export const relative = (ms: number): string => {
  const s = Math.round(Math.abs(ms) / 1000);
  const t = s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  return ms >= 0 ? `in ${t}` : `${t} ago`;
};
