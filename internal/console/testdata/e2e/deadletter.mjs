// An operator finds a dead-lettered message from the overview, reads why it
// failed, and resubmits it. Run by messaging_test.go.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, OPERATOR_KEY, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));
  page.on("dialog", (d) => d.accept());
  await page.goto(BASE + "/console/");
  await page.fill("#key", OPERATOR_KEY);
  await page.click("button[type=submit]");

  // The overview says something is failing, and links to it.
  await page.click("text=1 dead-lettered message(s) in case-updates");
  await page.waitForSelector("h3 >> text=Dead-letter queue (1)");
  await page.waitForSelector("td >> text=ValidationFailed");
  await page.waitForSelector("td >> text=status 'unknown-status' is not a Case status");
  // The message opens as tables of its fields: the body's fields each on a
  // row, the raw JSON one click away.
  await page.click("td >> text=ValidationFailed");
  const detail = page.locator(".msg-detail .card");
  const row = async (name) => (await detail.locator("table.fields tr", { has: page.locator(`th:text-is("${name}")`) }).locator("td").innerText()).trim();
  assert.equal(await row("messageId"), "case-42");
  assert.equal(await row("deadLetterReason"), "ValidationFailed");
  assert.equal(await row("ticketnumber"), "CAS-01042");
  assert.equal(await row("status"), "unknown-status");
  assert.equal(await detail.locator("details.raw pre").isVisible(), false);
  await detail.locator("details.raw summary").click();
  assert.match(await detail.locator("details.raw pre").innerText(), /"messageId": "case-42"/);
  await page.screenshot({ path: SHOTS + "/console-deadletter.png" });

  await page.click("td >> button:has-text('Resubmit')");
  await page.waitForSelector("#flash >> text=Resubmitted message");
  await page.waitForSelector("h3 >> text=Dead-letter queue (0)");
  await page.waitForSelector("h3 >> text=Messages (peek, 1)");
  assert.deepEqual(failures, []);
  console.log("console dead-letter resubmit: ok");
} finally {
  await browser.close();
}
