// launchBrowser starts the Chromium the console's browser tests drive
// (installed by scripts/deps/console.sh), headless, quiet on the network.
import { chromium } from "playwright-core";

export function launchBrowser() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
}

// openConsole opens a page of the console at width × height, signed in with
// key, and returns it with the list of script errors it collects.
export async function openConsole(browser, base, key, width = 1366, height = 900) {
  const page = await browser.newPage({ viewport: { width, height }, acceptDownloads: true });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));
  await page.goto(base + "/console/");
  await page.fill("#key", key);
  await page.click("button[type=submit]");
  await page.waitForSelector("#who >> text=·");
  return { page, failures };
}
