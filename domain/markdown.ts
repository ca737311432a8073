/**
 * A small, safe Markdown subset for task descriptions: paragraphs, line breaks, bold, emphasis,
 * code spans, bullet and numbered lists, and http(s)/mailto links.
 *
 * All HTML is escaped before any Markdown is read, so no tag or entity of the input survives and
 * the only markup in the output is what this module writes.
 */
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

type Block = { kind: 'p'; lines: string[] } | { kind: 'ul' | 'ol'; start: number; items: string[][] };

export function renderMarkdownSafe(text: string): string {
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (const line of escapeHtml(text).split(/\r\n|\r|\n/)) {
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    const numbered = /^\s*(\d{1,9})[.)]\s+(.*)$/.exec(line);
    const kind = bullet ? 'ul' : numbered ? 'ol' : undefined;
    if (line.trim() === '') {
      current = undefined;
    } else if (kind) {
      const item = (bullet?.[1] ?? numbered?.[2] ?? '').trim();
      if (current?.kind === kind) {
        current.items.push([item]);
      } else {
        current = { kind, start: Number(numbered?.[1] ?? 1), items: [[item]] };
        blocks.push(current);
      }
    } else if (current && current.kind !== 'p' && /^\s/.test(line)) {
      current.items.at(-1)?.push(line.trim()); // an indented line continues the list item
    } else if (current?.kind === 'p') {
      current.lines.push(line.trim());
    } else {
      current = { kind: 'p', lines: [line.trim()] };
      blocks.push(current);
    }
  }
  return blocks.map(renderBlock).join('\n');
}

function renderBlock(block: Block): string {
  if (block.kind === 'p') return `<p>${renderLines(block.lines)}</p>`;
  const start = block.kind === 'ol' && block.start !== 1 ? ` start="${block.start}"` : '';
  const items = block.items.map((lines) => `<li>${renderLines(lines)}</li>`).join('');
  return `<${block.kind}${start}>${items}</${block.kind}>`;
}

function renderLines(lines: string[]): string {
  return lines.map(renderInline).join('<br>\n');
}

// Input is already escaped: a URL holds no `"` or `<` and its `&` are entities, so it is safe in
// an attribute once its scheme is checked.
const INLINE =
  /`([^`]+)`|\*\*(?=\S)(.+?)(?<=\S)\*\*|\[([^\]]+)\]\(([^\s()]+)\)|\*(?=\S)(.+?)(?<=\S)\*|(?<![\p{L}\p{N}])_(?=\S)(.+?)(?<=\S)_(?![\p{L}\p{N}])/gu;

function renderInline(text: string): string {
  return text.replace(
    INLINE,
    (
      whole,
      code?: string,
      strong?: string,
      label?: string,
      url?: string,
      em?: string,
      underscored?: string,
    ) => {
      if (code !== undefined) return `<code>${code}</code>`;
      if (strong !== undefined) return `<strong>${renderInline(strong)}</strong>`;
      if (label !== undefined && url !== undefined) {
        return /^(?:https?:\/\/|mailto:)/i.test(url) ? `<a href="${url}">${renderInline(label)}</a>` : whole;
      }
      return `<em>${renderInline(em ?? underscored ?? '')}</em>`;
    },
  );
}
