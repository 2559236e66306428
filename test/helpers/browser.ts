/**
 * Headless Chromium for the web page's tests, screenshots and benchmark: the system's browser
 * (Debian's `chromium`, which .ci/run installs), driven by playwright-core, which downloads no
 * browser of its own. Every flag that would make the browser reach the internet is set.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.DBS_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/** Why the browser cannot run here, or null when it can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}
