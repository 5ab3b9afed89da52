// An operator opens a run whose HTTP action was retried before it received
// a PDF: the retries read as a table, and the PDF downloads byte for byte.
// Run by workflows_test.go with BASE, OPERATOR_KEY, PDF_BASE64 and SHOTS.
import { launchBrowser, openConsole } from "./launch.mjs";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const { BASE, OPERATOR_KEY, PDF_BASE64, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const { page, failures } = await openConsole(browser, BASE, OPERATOR_KEY);
  await page.goto(BASE + "/console/#/workflows/statement");
  await page.click("span.badge.Succeeded >> nth=0");
  await page.waitForSelector(".g-graph", { timeout: 5000 }).catch(async (e) => {
    throw new Error(`no run graph: ${await page.locator("#page").innerText()} ${failures.join("; ")}`);
  });
  await page.click(".g-graph .g-node[data-action='Fetch_statement']");
  const detail = page.locator(".g-detail");

  // The retries: one row per failed attempt, in order, with its code and error.
  assert.match(await detail.innerText(), /Retries \(2\)/);
  const rows = await detail.locator("table tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())));
  assert.equal(rows.length, 2);
  for (const [i, r] of rows.entries()) {
    assert.equal(r[0], String(i + 1));
    assert.match(r[2], /^\d+\.\d{3} s$/, "took: " + r);
    assert.equal(r[3], "ServiceUnavailable", "code: " + r);
    assert.match(r[4], /503|Service Unavailable|busy/i, "error: " + r);
  }

  // The binary body is offered as a download, not shown as base64.
  assert.doesNotMatch(await detail.innerText(), new RegExp(PDF_BASE64.slice(0, 16).replace(/[+/]/g, "\\$&")));
  const want = Buffer.from(PDF_BASE64, "base64");
  const button = detail.locator("button.download");
  assert.equal(await button.innerText(), `Download body (${want.length} bytes, application/pdf)`);
  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  assert.equal(download.suggestedFilename(), "Fetch_statement-body.pdf");
  const got = await readFile(await download.path());
  assert.ok(got.equals(want), `downloaded ${got.length} bytes, want the ${want.length} the server sent`);
  await page.screenshot({ path: SHOTS + "/console-action-detail.png", fullPage: true });
  assert.deepEqual(failures, []);
  console.log("console action detail: ok");
} finally {
  await browser.close();
}
