/**
 * The request and confirmation emails rendered in headless Chromium, light and dark, with
 * screenshots in .stack/screenshots/ (git-ignored). Needs no mail stack: Debian's chromium only
 * (see test/helpers/browser.ts); skipped, with the reason, when it is missing and cannot be
 * installed (not root).
 *
 * Each page is loaded with setContent and every request is aborted: the emails must fetch
 * nothing, run nothing, and show both buttons, readable, with exactly the mailto replies.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { parseMailto } from '../../domain/mailto';
import {
  COMMENT_PROMPT,
  TOKEN_MARKER,
  renderConfirmationEmail,
  renderRequestEmail,
  type RequestEmailInput,
} from '../../domain/request-email';
import { runTag } from '../../domain/run-tag';
import { findTokens, keyring, signToken, verifyToken, type Action } from '../../domain/token';
import { contrastRatio, ensureChromium, launchChromium, parseRgb } from '../helpers/browser';

const screenshots = path.join(__dirname, '..', '..', '.stack', 'screenshots');
const WIDTH = 700;
const NARROW = 375;
/** WCAG AA for normal text; the buttons' 16px bold is not "large" text. */
const MIN_CONTRAST = 4.5;

const keys = keyring(['a-test-secret-of-enough-length']);
const expiresAt = Date.UTC(2030, 0, 31, 17, 0);
const workflowId = 'remote-completion/T-2026-11';
const runId = 'run-1';
const recipient = 'alice@example.test';
const completionAddress = 'completion@example.test';
const messageId = '<request.T-2026-11.alice@example.test>';
const token = (action: Action): string =>
  signToken({ workflowId, runId, action, recipient, expiresAt }, keys);

const DESCRIPTION = [
  '**Release 2026.11** goes to production tonight. Before you approve, check that:',
  '',
  '- the [runbook](https://wiki.example.test/runbook) steps 1 to 4 are done',
  '- `npm test` is green on the release branch',
  '- there is _no_ open incident',
].join('\n');
const HOSTILE_TITLE = 'Deploy 2026.11 <script>alert(1)</script> to production';

function requestInput(title: string, description: string): RequestEmailInput {
  return {
    taskId: 'T-2026-11',
    workflowId,
    title,
    description,
    recipient: { address: recipient, name: 'Alice' },
    completionAddress,
    completeToken: token('complete'),
    failToken: token('fail'),
    expiresAt,
    requester: 'Carol (release manager)',
    context: { Release: '2026.11', Environment: 'production' },
    messageId,
  };
}

/** The hostile title, plus markup and remote images in the description. */
const hostile = requestInput(
  HOSTILE_TITLE,
  `${DESCRIPTION}\n\n![pixel](https://tracker.example.test/p.png) <img src="https://tracker.example.test/q.png" onerror="alert(2)">`,
);
/** What a reader sees in the docs. */
const plain = requestInput('Approve the 2026.11 production deploy', DESCRIPTION);

// --- the browser ---------------------------------------------------------------------------

let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser.catch(() => undefined))?.close();
});

/** The shared browser, or undefined once the test is marked skipped (no chromium, not root). */
async function openBrowser(t: TestContext): Promise<Browser | undefined> {
  const chromium = await ensureChromium();
  if (!chromium.ok) {
    t.skip(chromium.reason);
    return undefined;
  }
  if (!browser && chromium.installedMs !== undefined)
    t.diagnostic(`installed chromium with apt-get in ${chromium.installedMs} ms`);
  browser ??= launchChromium(chromium.executablePath);
  return browser;
}

interface Rendered {
  page: Page;
  /** Every request the page attempted (all are aborted). */
  requests: string[];
  /** Every alert/confirm/prompt the page opened. */
  dialogs: string[];
  close(): Promise<void>;
}

async function render(
  b: Browser,
  html: string,
  opts: { dark?: boolean; width?: number } = {},
): Promise<Rendered> {
  const context = await b.newContext({
    viewport: { width: opts.width ?? WIDTH, height: 600 },
    deviceScaleFactor: 1,
    colorScheme: opts.dark ? 'dark' : 'light',
    javaScriptEnabled: true, // so a script that slipped through would run and be caught
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const dialogs: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  await context.route('**/*', (route) => route.abort());
  await page.setContent(html, { waitUntil: 'load' });
  return { page, requests, dialogs, close: () => context.close() };
}

async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshots, { recursive: true });
  const file = path.join(screenshots, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// --- what the page shows -------------------------------------------------------------------

/** An element that has text of its own (not only in its children). */
interface Paint {
  text: string;
  color: string;
  /** The first opaque background at or above the element, else the page canvas. */
  background: string;
}

/**
 * In-page code is passed as text: tsx compiles this file with keepNames, whose helper calls
 * would not exist in the page.
 */
const PAINT = `(selector) => {
  const probe = document.createElement('div');
  probe.style.cssText = 'position:absolute;width:0;height:0;background-color:Canvas';
  document.body.append(probe);
  const canvas = getComputedStyle(probe).backgroundColor;
  probe.remove();
  const ownText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
  return [...document.querySelectorAll(selector)].filter(ownText).map((el) => {
    let background = canvas;
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (!/^rgba\\(.*[,/]\\s*0\\)$/.test(c) && c !== 'transparent') { background = c; break; }
    }
    return { text: el.textContent.trim(), color: getComputedStyle(el).color, background };
  });
}`;

function paint(page: Page, selector: string): Promise<Paint[]> {
  return page.evaluate<Paint[]>(`(${PAINT})(${JSON.stringify(selector)})`);
}

/** Nothing ran, nothing was fetched, no markup of the input became live, nothing scrolls sideways. */
async function assertInert(r: Rendered, label: string): Promise<void> {
  const { page } = r;
  assert.deepEqual(r.dialogs, [], `${label}: no dialog opened`);
  assert.deepEqual(r.requests, [], `${label}: no request attempted`);
  assert.equal(await page.evaluate<number>('document.scripts.length'), 0, `${label}: no script element`);
  assert.equal(
    await page.locator('img, iframe, object, embed, form, link, style, base').count(),
    0,
    `${label}: no active elements`,
  );
  const handlers = await page.evaluate<string[]>(
    `[...document.querySelectorAll('*')].flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)).map((a) => el.tagName + ' ' + a.name))`,
  );
  assert.deepEqual(handlers, [], `${label}: no event handler or javascript: attribute`);
}

async function assertReadable(page: Page, selector: string, label: string): Promise<void> {
  const painted = await paint(page, selector);
  assert.ok(painted.length > 0, `${label}: ${selector} found`);
  for (const p of painted) {
    const ratio = contrastRatio(p.color, p.background);
    assert.ok(
      ratio >= MIN_CONTRAST,
      `${label}: "${p.text.slice(0, 40)}" ${p.color} on ${p.background}: contrast ${ratio.toFixed(2)} < ${MIN_CONTRAST}`,
    );
  }
}

const BUTTONS = [
  { label: 'Complete task', action: 'complete' },
  { label: 'Fail task', action: 'fail' },
] as const;

/** Both buttons: visible, inside the viewport's width, clickable, readable, with exactly their mailto reply. */
async function assertButtons(page: Page, input: RequestEmailInput, label: string): Promise<void> {
  const width = page.viewportSize()?.width ?? WIDTH;
  const mailtoLinks = page.locator('a[href^="mailto:"]');
  assert.equal(await mailtoLinks.count(), 2, `${label}: exactly two mailto links`);
  for (const { label: name, action } of BUTTONS) {
    const what = `${label}: ${name}`;
    const button = page.getByRole('link', { name, exact: true });
    assert.equal(await button.count(), 1, `${what}: one link`);
    assert.ok(await button.isVisible(), `${what}: visible`);
    const box = await button.boundingBox();
    assert.ok(box, `${what}: has a box`);
    assert.ok(box.width >= 100 && box.height >= 40, `${what}: a real button, ${box.width}x${box.height}`);
    assert.ok(
      box.x >= 0 && box.x + box.width <= width,
      `${what}: inside the viewport width (${box.x}+${box.width} > ${width})`,
    );
    await button.click({ trial: true, timeout: 5_000 }); // not covered, receives the click (trial: nothing is sent)

    const own = action === 'complete' ? input.completeToken : input.failToken;
    const href = await button.getAttribute('href');
    assert.ok(href, `${what}: has an href`);
    const mailto = parseMailto(href);
    assert.deepEqual(mailto.to, [completionAddress], `${what}: to the completion address`);
    assert.equal(mailto.subject, `${name}: ${input.title} [${own}]`, `${what}: subject`);
    assert.equal(
      mailto.body,
      ['', '', COMMENT_PROMPT, TOKEN_MARKER, `Token: ${own}`, ''].join('\r\n'),
      `${what}: body`,
    );
    assert.equal(mailto.headers['in-reply-to'], messageId, `${what}: threads under the request`);
    assert.deepEqual(
      Object.keys(mailto.headers).sort(),
      ['body', 'in-reply-to', 'subject'],
      `${what}: no other header`,
    );
    assert.deepEqual(findTokens(`${mailto.subject}\n${mailto.body}`), [own], `${what}: only its own token`);
    const verified = verifyToken(own, keys, Date.now(), recipient);
    assert.ok(verified.ok, `${what}: token verifies`);
    assert.deepEqual(
      verified.claims,
      { version: 'rc2', workflowId, runTag: runTag(runId), action, recipient, expiresAt },
      `${what}: token claims`,
    );
  }
  await assertReadable(page, 'a[href^="mailto:"]', `${label} buttons`);
}

async function assertRequestEmail(r: Rendered, input: RequestEmailInput, label: string): Promise<void> {
  await assertInert(r, label);
  assert.equal(await r.page.locator('h1').textContent(), input.title, `${label}: the title is shown as text`);
  await assertButtons(r.page, input, label);
  await assertReadable(r.page, 'body *', `${label} text`);
}

// --- tests ---------------------------------------------------------------------------------

void test('the harness notices a fetch, a script and a dialog', async (t) => {
  const b = await openBrowser(t);
  if (!b) return;
  const r = await render(
    b,
    '<!DOCTYPE html><p>x</p><img src="https://remote.example.test/p.png"><script>alert(1)</script>',
  );
  try {
    assert.deepEqual(r.requests, ['https://remote.example.test/p.png']);
    assert.deepEqual(r.dialogs, ['alert: 1']);
    assert.equal(await r.page.evaluate<number>('document.scripts.length'), 1);
    await assert.rejects(assertInert(r, 'control'));
  } finally {
    await r.close();
  }
});

void test('request email, light: both buttons visible with their mailto replies; nothing runs or is fetched', async (t) => {
  const b = await openBrowser(t);
  if (!b) return;
  for (const [input, name] of [
    [hostile, 'request-email-light.png'],
    [plain, 'request-email-plain-light.png'],
  ] as const) {
    const email = renderRequestEmail(input);
    const r = await render(b, email.html);
    try {
      assert.equal(
        await r.page.evaluate<boolean>(`matchMedia('(prefers-color-scheme: dark)').matches`),
        false,
      );
      await assertRequestEmail(r, input, name);
      assert.equal(await r.page.title(), email.subject);
      // The DOM text of each details row is what viewers without table layout show.
      const rows = await r.page.evaluate<string[]>(
        `[...document.querySelectorAll('tr')].filter((tr) => tr.cells.length === 2 && !tr.querySelector('table')).map((tr) => tr.textContent)`,
      );
      assert.ok(rows.includes(`Task id: ${input.taskId}`), `${name}: ${JSON.stringify(rows)}`);
      assert.ok(rows.includes(`Workflow id: ${input.workflowId}`), `${name}: ${JSON.stringify(rows)}`);
      t.diagnostic(`screenshot ${path.relative(process.cwd(), await screenshot(r.page, name))}`);
    } finally {
      await r.close();
    }
  }
});

void test('request email, dark colour scheme: buttons and text stay visible and readable', async (t) => {
  const b = await openBrowser(t);
  if (!b) return;
  const r = await render(b, renderRequestEmail(hostile).html, { dark: true });
  try {
    assert.equal(await r.page.evaluate<boolean>(`matchMedia('(prefers-color-scheme: dark)').matches`), true);
    // The email opts into dark mode (meta color-scheme), so the canvas itself turns dark.
    const [h1] = await paint(r.page, 'h1');
    assert.ok(h1);
    const canvas = parseRgb(h1.background);
    assert.ok(canvas.r + canvas.g + canvas.b < 3 * 64, `dark canvas, got ${h1.background}`);
    await assertRequestEmail(r, hostile, 'dark');
    t.diagnostic(
      `screenshot ${path.relative(process.cwd(), await screenshot(r.page, 'request-email-dark.png'))}`,
    );
  } finally {
    await r.close();
  }
});

void test(`request email on a ${NARROW}px phone screen: buttons inside the screen`, async (t) => {
  const b = await openBrowser(t);
  if (!b) return;
  for (const dark of [false, true]) {
    const r = await render(b, renderRequestEmail(hostile).html, { width: NARROW, dark });
    try {
      await assertRequestEmail(r, hostile, `${NARROW}px ${dark ? 'dark' : 'light'}`);
      const file = await screenshot(r.page, `request-email-narrow-${dark ? 'dark' : 'light'}.png`);
      t.diagnostic(`screenshot ${path.relative(process.cwd(), file)}`);
    } finally {
      await r.close();
    }
  }
});

void test('request email does not scroll sideways', async (t) => {
  const b = await openBrowser(t);
  if (!b) return;
  for (const width of [WIDTH, NARROW]) {
    const r = await render(b, renderRequestEmail(plain).html, { width });
    try {
      const scrollWidth = await r.page.evaluate<number>('document.documentElement.scrollWidth');
      assert.equal(scrollWidth, width, `${width}px viewport: page is ${scrollWidth}px wide`);
    } finally {
      await r.close();
    }
  }
});

void test('confirmation email, light and dark: readable, comment and title shown as text, inert', async (t) => {
  const b = await openBrowser(t);
  if (!b) return;
  const comment = 'Deployed, all green.\n<img src="https://tracker.example.test/c.png" onerror="alert(3)">';
  const email = renderConfirmationEmail({
    title: HOSTILE_TITLE,
    taskId: 'T-2026-11',
    outcome: 'completed',
    decidedBy: recipient,
    comment,
    channel: 'email',
    decidedAt: Date.UTC(2026, 10, 24, 9, 30),
  });
  for (const dark of [false, true]) {
    const r = await render(b, email.html, { dark });
    const label = `confirmation ${dark ? 'dark' : 'light'}`;
    try {
      await assertInert(r, label);
      assert.equal(await r.page.locator('h1').textContent(), `Completed: ${HOSTILE_TITLE}`);
      const text = await r.page.locator('body').innerText();
      for (const line of comment.split('\n'))
        assert.ok(text.includes(line), `${label}: comment line shown: ${line}`);
      assert.equal(await r.page.locator('a').count(), 0, `${label}: no links`);
      await assertReadable(r.page, 'body *', label);
      assert.equal(
        await r.page.evaluate<number>('document.documentElement.scrollWidth'),
        WIDTH,
        `${label}: no sideways scrolling`,
      );
      const file = await screenshot(r.page, `confirmation-email-${dark ? 'dark' : 'light'}.png`);
      t.diagnostic(`screenshot ${path.relative(process.cwd(), file)}`);
    } finally {
      await r.close();
    }
  }
});
