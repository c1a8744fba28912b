import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SM_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Real headless Chromium (Debian's, installed by .ci/run) with a fresh profile, closed after the test.
 * Loopback only: no QUIC, no background or component traffic.
 */
export async function startBrowser(t: TestContext): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'sm-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return ctx;
}

/** A page that records console errors, uncaught exceptions and every URL it asked for. */
export async function openPage(ctx: BrowserContext): Promise<{ page: Page; errors: string[]; urls: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  const urls: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => urls.push(r.url()));
  return { page, errors, urls };
}
