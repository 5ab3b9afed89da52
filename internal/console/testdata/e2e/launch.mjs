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
