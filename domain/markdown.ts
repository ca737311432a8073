import MarkdownIt from 'markdown-it';

/**
 * A small, safe Markdown subset for task descriptions: paragraphs, line breaks, bold, emphasis,
 * code spans, bullet and numbered lists, and http(s)/mailto links. Everything else (headings,
 * images, tables, quotes, code blocks, raw HTML, entities, other link schemes) stays text.
 *
 * markdown-it with `html: false` escapes every character of the input it does not turn into one
 * of these elements, so the only markup in the output is its own.
 */
export function renderMarkdownSafe(text: string): string {
  return markdown.render(text);
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

// 'zero' starts with paragraphs and plain text only; each element above is switched on by name.
const markdown = new MarkdownIt('zero', { html: false, breaks: true, linkify: false }).enable([
  'list',
  'newline',
  'escape',
  'backticks',
  'emphasis',
  'link',
]);
// Gets the destination with its entities and backslash escapes already decoded.
markdown.validateLink = (url: string): boolean => /^(?:https?:\/\/|mailto:)/i.test(url);
