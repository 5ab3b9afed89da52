// An operator opens a failed workflow run and reads the failing action's
// error. Run by workflows_test.go.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, OPERATOR_KEY, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));
  await page.goto(BASE + "/console/");
  await page.fill("#key", OPERATOR_KEY);
  await page.click("button[type=submit]");

  await page.click("nav >> text=Workflows");
  await page.click("td >> text=order-intake");
  await page.selectOption("select[aria-label='status']", "Failed");
  await page.click("text=Search");
  await page.click("span.badge.Failed >> nth=0");
  // The failing action is open, with its error; the one before it succeeded.
  const failing = page.locator("li[data-action='Parse_order']");
  await failing.locator("span.badge.Failed").waitFor();
  const text = await failing.textContent();
  assert.match(text, /orderId/, "the error names the missing property: " + text);
  await page.locator("li[data-action='Read_quantity'] span.badge.Succeeded").waitFor();

  // The run as a picture: each action reads its kind and status; the loop
  // shows its iterations, the failed one first.
  const node = (name) => page.locator(`.g-graph .g-node[data-action='${name}']`);
  assert.match(await node("Read_quantity").innerText(), /Read quantity\s+Compose · Succeeded · \d+ ms/);
  assert.match(await node("Parse_order").innerText(), /Parse order\s+ParseJson · Failed/);
  assert.equal(await node("Parse_order").getAttribute("data-status"), "Failed");
  assert.match(await page.locator(".g-graph .g-label", { hasText: "iteration(s)" }).innerText(), /3 iteration\(s\), 1 failed/);
  assert.equal(await page.locator("select[aria-label='Each_line iteration']").inputValue(), "1");
  assert.equal(await node("Share").getAttribute("data-status"), "Failed");
  await page.selectOption("select[aria-label='Each_line iteration']", "2");
  assert.equal(await node("Share").getAttribute("data-status"), "Succeeded");
  // Selecting an action shows its error beside the picture.
  await node("Parse_order").click();
  assert.match(await page.locator(".g-detail").innerText(), /Parse_order[\s\S]*Failed[\s\S]*orderId/);
  await page.screenshot({ path: SHOTS + "/console-failed-run.png", fullPage: true });
  assert.deepEqual(failures, []);
  console.log("console failed run: ok");
} finally {
  await browser.close();
}
