// An operator opens the Storage page and reads what takes the space: the
// account table's rows, the dead letter of a queue, the retention in force,
// the disk, and the change log reader that lost its place. Run by storage_test.go with BASE, OPERATOR_KEY and SHOTS in the
// environment.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, OPERATOR_KEY, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));

  await page.goto(BASE + "/console/");
  await page.fill("#key", OPERATOR_KEY);
  await page.click("button[type=submit]");
  await page.waitForSelector("#who >> text=operator");
  await page.click("nav >> text=Storage");
  await page.waitForSelector("h3 >> text=By component");

  // rowText is what a person reads in the row of a table whose first cell is first.
  const rowText = async (first) => (await page.locator("tr", { has: page.locator(`td:first-child:text-is("${first}")`) }).first().innerText()).replace(/\s+/g, " ");

  assert.match(await rowText("workflow runs"), /workflow runs \d+ [\d.]+ [KM]?B kept 90d wf_actions, wf_runs/);
  assert.match(await rowText("broker"), /until purged/);
  assert.match(await rowText("job runs"), /kept 30d/);
  // The three accounts made by the test, in the table of tables.
  assert.match(await rowText("account"), /^account 3 [\d.]+ KB/);
  // The poisoned queue: no active message, one dead letter.
  assert.match(await rowText("case-updates"), /^case-updates 0 0 1 \d+ B/);
  // The settings in force, as flags and junction.yaml name them.
  assert.match(await rowText("functionInvocations"), /functionInvocations 7d/);
  assert.match(await rowText("eventDeadLetters"), /eventDeadLetters until purged/);
  // The reader that lost its place: the alert at the top, and its row.
  assert.equal((await page.locator("p[role=alert]", { hasText: "change log" }).innerText()).replace(/\s+/g, " "),
    "rowtrigger:contact-sync/When_a_row_changes lost its place in the change log: " +
    "retention deleted changes not yet read, so a full resync follows.");
  assert.match(await rowText("rowtrigger:contact-sync/When_a_row_changes"), /^rowtrigger:contact-sync\/When_a_row_changes 1 \d+ lost$/);
  const body = await page.textContent("body");
  assert.match(body, /Disk of the data folder/);
  assert.match(body, /Database file/);
  assert.match(body, /free to give back/);
  await page.screenshot({ path: SHOTS + "/console-storage.png", fullPage: true });

  // A table's row leads to the table.
  await page.click('td:text-is("account")');
  await page.waitForSelector("td >> text=Contoso");
  assert.deepEqual(failures, []);
  console.log("console storage: ok");
} finally {
  await browser.close();
}
