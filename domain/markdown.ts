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

/**
 * The same subset as plain text for the text part of an email, from the same parse: markers go,
 * paragraphs are separated by a blank line, list items read "- item" / "3. item" with their
 * continuation lines indented under the item's text, and a link reads "label <url>" (just the
 * address when the label is the address). One pass over the token stream.
 */
export function renderMarkdownText(text: string): string {
  const out: string[] = [];
  const lists: { ordered: boolean; indent: string }[] = [];
  let indent = '';
  /** The marker line of a list item whose text has not come yet. */
  let marker: string | undefined;
  const blankLine = () => {
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
  };
  for (const token of markdown.parse(text, {})) {
    switch (token.type) {
      case 'bullet_list_open':
      case 'ordered_list_open':
        if (lists.length === 0) blankLine();
        lists.push({ ordered: token.type === 'ordered_list_open', indent });
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        indent = lists.pop()?.indent ?? '';
        break;
      case 'list_item_open': {
        const list = lists[lists.length - 1]!;
        const bullet = list.ordered ? `${token.info}${token.markup}` : '-';
        if (marker !== undefined) out.push(marker); // an item whose first block is a list
        marker = `${list.indent}${bullet} `;
        indent = list.indent + ' '.repeat(bullet.length + 1);
        break;
      }
      case 'list_item_close':
        if (marker !== undefined) out.push(marker.trimEnd()); // an empty item
        marker = undefined;
        indent = lists[lists.length - 1]!.indent;
        break;
      case 'paragraph_open':
        if (!token.hidden) blankLine(); // a paragraph, or an item of a loose list
        break;
      case 'inline':
        for (const line of inlineText(token.children ?? []).split('\n')) {
          out.push(marker === undefined ? indent + line : marker + line);
          marker = undefined;
        }
        break;
    }
  }
  return out.map((line) => line.trimEnd()).join('\n');
}

function inlineText(tokens: MarkdownIt.Token[]): string {
  let text = '';
  const links: { href: string; labelStart: number }[] = [];
  for (const token of tokens) {
    switch (token.type) {
      case 'text':
      case 'code_inline':
        text += token.content;
        break;
      case 'softbreak':
      case 'hardbreak':
        text += '\n';
        break;
      case 'link_open':
        links.push({ href: String(token.attrGet('href') ?? ''), labelStart: text.length });
        break;
      case 'link_close': {
        const link = links.pop();
        if (link === undefined) break;
        const address = link.href.replace(/^mailto:/i, '');
        if (text.slice(link.labelStart).trim() !== address) text += ` <${address}>`;
        break;
      }
    }
  }
  return text;
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
