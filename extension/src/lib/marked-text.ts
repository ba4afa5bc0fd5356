/**
 * @module Text from a prompt as DOM nodes: ordinary runs as text nodes, each invisible, bidi or
 * control character as a `<mark class="hidden-char">` showing its escape (`\u{202E}`), named in
 * the tooltip. Nothing is parsed as HTML.
 */
import { displaySegments } from '../../../shared/visible-text';
import { h } from './dom';

export const marked = (text: string): (Node | string)[] =>
  displaySegments(text).map((s) => (s.hidden ? h('mark', { class: 'hidden-char', title: s.label, text: s.text }) : s.text));
