// Signs in to the console, checks what an admin and an operator see, creates a
// key, and takes screenshots. Run by console_test.go with BASE, ADMIN_KEY,
// OPERATOR_KEY and SHOTS in the environment.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, ADMIN_KEY, OPERATOR_KEY, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));

  await page.goto(BASE + "/console/");
  await page.fill("#key", "not-a-key");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=That key is not valid.");

  await page.fill("#key", ADMIN_KEY);
  await page.click("button[type=submit]");
  await page.waitForSelector("#who >> text=admin");
  await page.waitForSelector("h3 >> text=Last hour");
  await page.screenshot({ path: SHOTS + "/console-overview.png" });

  // Tables: find a row with an OData filter, open it, read its history.
  await page.click("nav >> text=Tables");
  await page.click("td >> text=account");
  await page.fill("input[aria-label='filter']", "startswith(name,'Fabri')");
  await page.click("text=Apply");
  await page.waitForSelector("text=1 row(s)");
  await page.click("td >> text=Fabrikam");
  await page.waitForSelector("h3 >> text=Change history");
  await page.waitForSelector("span.badge.Update");
  await page.waitForSelector("span.badge.Create");
  await page.screenshot({ path: SHOTS + "/console-row.png" });

  await page.click("nav >> text=API keys");
  await page.fill("input[aria-label='key name']", "browser-made");
  await page.selectOption("select[aria-label='role']", "listener");
  await page.click("text=Create key");
  const secret = await page.inputValue("input[aria-label='new key']");
  assert.match(secret, /^jk_/);
  await page.waitForSelector("td >> text=browser-made");
  // The secret is never part of the page's text, only of the one field, and
  // it is gone once the page is left.
  assert.ok(!(await page.textContent("body")).includes(secret));
  await page.click("nav >> text=Overview");
  await page.click("nav >> text=API keys");
  await page.waitForSelector("td >> text=browser-made");
  assert.equal(await page.locator("input[aria-label='new key']").count(), 0);
  await page.screenshot({ path: SHOTS + "/console-keys.png" });

  await page.click("#signout");
  await page.fill("#key", OPERATOR_KEY);
  await page.click("button[type=submit]");
  await page.waitForSelector("#who >> text=operator");
  const nav = await page.textContent("#nav");
  assert.ok(!nav.includes("API keys"), "an operator must not see key management: " + nav);
  assert.deepEqual(failures, []);
  console.log("console sign-in: ok");
} finally {
  await browser.close();
}
